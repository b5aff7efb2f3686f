"""`collect login` and `collect whoami`: keep an API URL and key in a profile (checked against the
API before it is saved), and say whose key is in use and where it came from."""

from __future__ import annotations

from typing import Annotated

import typer

from cli import render
from cli.client import DEFAULT_PROFILE, NoProfile, Profile, profile_path, save_profile
from cli.options import JsonOpt, ProfileOpt, connected, usage
from config import ClientSettings


def login(
    url: Annotated[str, typer.Option(help="the API's base URL, e.g. http://127.0.0.1:8000", show_default=False)],
    key: Annotated[
        str, typer.Option(prompt="API key", hide_input=True, help="your API key (asked for when not given)")
    ],
    profile: Annotated[
        str, typer.Option("--profile", metavar="NAME", help="save under this name (to keep several keys)")
    ] = DEFAULT_PROFILE,
    check: Annotated[bool, typer.Option("--check/--no-check", help="ask the API whose key it is first")] = True,
    as_json: JsonOpt = False,
) -> None:
    """Save the API URL and key in a profile (readable by you only) and make it the default.

    Example: collect login --url http://127.0.0.1:8000 --key ck_3f9a01bc_... --profile agent
    """
    settings = ClientSettings()
    candidate = Profile(name=profile, url=url.rstrip("/"), key=key.strip(), source="the command line")
    caller = None
    if check:
        with connected(candidate, as_json=as_json) as api:
            caller = api.get("/me")
    path = profile_path(settings)
    try:
        save_profile(path, profile, candidate.url, candidate.key or "")
    except (NoProfile, OSError) as exc:
        raise usage(f"cannot save the profile in {path}: {exc}") from None
    if as_json:
        render.print_json(caller)
        return
    who = f" as {caller['subject']} ({caller['role']})" if caller else ""
    render.say(f"logged in to {candidate.url}{who}; profile {profile!r} saved in {path}")
    if settings.api_url or settings.api_key:
        render.note("note: COLLECT_API_URL / COLLECT_API_KEY are set and override the profile")


def whoami(as_json: JsonOpt = False, profile: ProfileOpt = None) -> None:
    """Whose key the commands use, its role and queues, and where the URL and key come from.

    Example: collect whoami --profile agent
    """
    with connected(profile, as_json=as_json) as api:
        caller = api.get("/me")
        source, url = api.profile.source, api.profile.url
    if as_json:
        render.print_json(caller)
        return
    queues = f", queues {', '.join(caller['queues'])}" if caller["queues"] else ""
    render.say(f"{caller['subject']} ({caller['role']}{queues}) at {url}")
    render.note(f"from {source}")
