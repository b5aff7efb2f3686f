"""The installed `collect` entry point, run as a real process against the live API, and the help
of every command (each shows an example)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import typer
from cli_stack import Stack
from typer.testing import CliRunner

from cli.main import app

COLLECT = Path(sys.executable).parent / "collect"
EXAMPLE = re.compile(r"Examples?:\s+collect ")


def commands(group: Any, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Any]]:
    """Every leaf command with its words, e.g. ('tasks', 'outcome'); aliases (hidden groups) left out."""
    found = []
    for name, command in group.commands.items():
        if command.hidden:
            continue
        if hasattr(command, "commands"):  # a group (typer's own click)
            found += commands(command, (*path, name))
        else:
            found.append(((*path, name), command))
    return found


def test_every_command_shows_an_example() -> None:
    every = dict(commands(typer.main.get_command(app)))
    assert {("tasks", "outcome"), ("kpis",), ("payment", "simulate"), ("strategy", "validate")} <= set(every)
    # The help text each --help renders (rendering all of them takes seconds; one is shown below).
    missing = [" ".join(words) for words, command in every.items() if not EXAMPLE.search(command.help or "")]
    assert missing == []
    shown = CliRunner().invoke(app, ["tasks", "outcome", "--help"])
    assert "Example: collect tasks outcome 42 promise_to_pay --promise 50000@2026-12-05" in shown.stdout


def test_the_installed_command_talks_to_the_api(stack: Stack, tmp_path: Path) -> None:
    assert COLLECT.is_file(), f"the entry point is not installed at {COLLECT}"
    env = {
        **os.environ,
        "COLLECT_API_URL": stack.url,
        "COLLECT_API_KEY": stack.keys["agent"],
        "COLLECT_PROFILE": str(tmp_path / "profile.json"),
    }
    who = subprocess.run(
        [COLLECT, "whoami", "--json"], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert who.returncode == 0, who.stderr
    assert json.loads(who.stdout) == {"subject": "ana", "role": "agent", "queues": ["calls"]}
    refused = subprocess.run(
        [COLLECT, "strategy", "list"], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert refused.returncode == 1
    assert refused.stderr.startswith("error: 403 Forbidden: The agent role may not do this")
    assert "Traceback" not in refused.stderr
