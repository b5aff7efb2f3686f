"""`collect login` and `collect whoami`: a profile file only its owner can read, named profiles,
the environment over the file, and clear errors for a wrong key or an API that is not there."""

from __future__ import annotations

import json
import socket
import stat
from pathlib import Path

from cli_stack import Collect, Stack

NO_ENV = {"COLLECT_API_URL": None, "COLLECT_API_KEY": None}


class TestLogin:
    def test_login_saves_a_private_profile_and_whoami_reads_it(
        self, collect: Collect, stack: Stack, profile_file: Path
    ) -> None:
        result = collect("login", "--url", stack.url, "--key", stack.keys["agent"], as_=None, env=NO_ENV)
        assert result.exit_code == 0, result.output
        assert f"logged in to {stack.url} as ana (agent)" in result.stdout
        assert stat.S_IMODE(profile_file.stat().st_mode) == 0o600
        saved = json.loads(profile_file.read_text())
        assert saved == {"default": "default", "profiles": {"default": {"url": stack.url, "key": stack.keys["agent"]}}}

        who = collect("whoami", as_=None, env=NO_ENV)
        assert who.exit_code == 0, who.output
        assert who.stdout.strip() == f"ana (agent, queues calls) at {stack.url}"
        assert str(profile_file) in who.stderr

    def test_login_json_prints_whose_key_it_is(self, collect: Collect, stack: Stack) -> None:
        result = collect("login", "--url", stack.url, "--key", stack.keys["supervisor"], "--json", as_=None, env=NO_ENV)
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout) == {"subject": "marta", "role": "supervisor", "queues": []}
        who = collect("whoami", "--json", as_=None, env=NO_ENV)
        assert json.loads(who.stdout)["subject"] == "marta"

    def test_a_wrong_key_is_refused_and_not_saved(self, collect: Collect, stack: Stack, profile_file: Path) -> None:
        result = collect("login", "--url", stack.url, "--key", "ck_00000000_not-a-key", as_=None, env=NO_ENV)
        assert result.exit_code == 1
        assert result.stderr.startswith("error: 401 Not authenticated: The API key is unknown or revoked.")
        assert f"(GET {stack.url}/me)" in result.stderr
        assert "log in again" not in result.stderr  # this is the log-in
        assert not profile_file.exists()

    def test_a_saved_key_the_api_no_longer_knows_says_to_log_in_again(
        self, collect: Collect, stack: Stack, profile_file: Path
    ) -> None:
        saved = collect("login", "--profile", "boss", "--url", stack.url, "--key", stack.keys["supervisor"], as_=None)
        assert saved.exit_code == 0, saved.output
        data = json.loads(profile_file.read_text())
        data["profiles"]["boss"]["key"] = "ck_00000000_issued-before-a-reset"  # what `collect up --reset` leaves
        profile_file.write_text(json.dumps(data))
        result = collect("whoami", "--profile", "boss", as_=None, env=NO_ENV)
        assert result.exit_code == 1
        assert result.stderr.startswith("error: 401 Not authenticated: The API key is unknown or revoked.")
        assert f"profile 'boss' in {profile_file}" in result.stderr
        assert f"log in again with `collect login --profile boss --url {stack.url} --key KEY`" in result.stderr

    def test_the_key_is_asked_for_when_not_given(self, collect: Collect, stack: Stack) -> None:
        result = collect("login", "--url", stack.url, as_=None, env=NO_ENV, input=f"{stack.keys['strategist']}\n")
        assert result.exit_code == 0, result.output
        assert stack.keys["strategist"] not in result.output  # typed unseen
        assert "as sofia (strategist)" in result.stdout

    def test_an_unreadable_profile_file_is_named(self, collect: Collect, stack: Stack, profile_file: Path) -> None:
        profile_file.parent.mkdir(parents=True)
        profile_file.write_text("not json")
        result = collect("login", "--url", stack.url, "--key", stack.keys["agent"], as_=None, env=NO_ENV)
        assert result.exit_code == 2
        assert f"cannot read the profile file {profile_file}" in result.stderr
        assert profile_file.read_text() == "not json"

    def test_named_profiles_and_the_environment_over_them(self, collect: Collect, stack: Stack) -> None:
        for name, who in (("agent", "agent"), ("boss", "supervisor")):
            saved = collect(
                "login", "--profile", name, "--url", stack.url, "--key", stack.keys[who], as_=None, env=NO_ENV
            )
            assert saved.exit_code == 0, saved.output
        assert collect("whoami", as_=None, env=NO_ENV).stdout.startswith("marta (supervisor)")  # the last login
        assert collect("whoami", "--profile", "agent", as_=None, env=NO_ENV).stdout.startswith("ana (agent")
        overridden = collect("whoami", "--profile", "agent", as_="strategist", env={"COLLECT_API_URL": None})
        assert overridden.stdout.startswith("sofia (strategist)")
        assert "overridden by COLLECT_API_KEY" in overridden.stderr
        missing = collect("whoami", "--profile", "nobody", as_=None, env=NO_ENV)
        assert missing.exit_code == 2
        assert "no profile 'nobody'" in missing.stderr
        assert "profiles: agent, boss" in missing.stderr


class TestWhoami:
    def test_without_a_profile_it_says_how_to_log_in(self, collect: Collect) -> None:
        result = collect("whoami", as_=None, env=NO_ENV)
        assert result.exit_code == 2
        assert "collect login --url URL --key KEY" in result.stderr
        assert "Traceback" not in result.output

    def test_an_api_that_does_not_answer_names_the_url(self, collect: Collect) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            url = f"http://127.0.0.1:{sock.getsockname()[1]}"  # bound, not listening: refused
            result = collect("whoami", as_="agent", env={"COLLECT_API_URL": url})
        assert result.exit_code == 3
        assert result.stderr.startswith(f"error: cannot reach the API at {url}/me: cannot connect")
