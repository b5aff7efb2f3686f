"""What every command that talks to the API shares: the `--json` and `--profile` options, paging
options, and `connected()`, which opens the client for the chosen profile and turns its errors
into one clear message and an exit code:

  1  the API refused (4xx: its status, title and detail, then each field it points at)
  2  usage: a bad option, or no profile to use
  3  the API could not be reached (which URL, and why), or failed (5xx, e.g. Temporal unavailable)

With --json, a refusal's problem document is also printed to stdout, as the API sent it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer

from cli import render
from cli.client import Api, ApiProblem, NoProfile, Profile, Unreachable, resolve
from config import ClientSettings

EXIT_REFUSED = 1
EXIT_USAGE = 2
EXIT_UNREACHABLE = 3

JsonOpt = Annotated[bool, typer.Option("--json", help="Print the API's JSON answer as it came (for scripts).")]
ProfileOpt = Annotated[
    str | None,
    typer.Option("--profile", metavar="NAME", help="Use this profile from `collect login` (default: the last one)."),
]
LimitOpt = Annotated[int, typer.Option(min=1, max=100, help="Items per page.")]
CursorOpt = Annotated[str | None, typer.Option(help="Start after the page that printed this cursor.")]


@contextmanager
def connected(profile: str | Profile | None, *, as_json: bool = False, need_key: bool = True) -> Iterator[Api]:
    """The API as `profile` (a saved profile's name, or one not saved yet); its errors end the
    command with a message (and, with `as_json`, the problem document on stdout) and an exit code."""
    chosen: Profile | None = None
    try:
        chosen = profile if isinstance(profile, Profile) else resolve(ClientSettings(), profile, need_key=need_key)
        with Api(chosen) as api:
            yield api
    except NoProfile as exc:
        render.note(f"error: {exc}")
        raise typer.Exit(EXIT_USAGE) from None
    except Unreachable as exc:
        render.note(f"error: cannot reach the API at {exc.url}: {exc.reason}")
        raise typer.Exit(EXIT_UNREACHABLE) from None
    except ApiProblem as exc:
        if as_json and exc.body is not None:
            render.print_json(exc.body)
        render.problem(exc)
        if exc.status == 401 and chosen is not None and chosen.source != "the command line":
            # The usual cause: `collect up --reset` (or a revoked key) after the profile was saved.
            render.note(
                f"  the key comes from {chosen.source}; keys a reset or a revocation made void stay there: "
                f"log in again with `collect login --profile {chosen.name} --url {chosen.url} --key KEY`"
            )
        raise typer.Exit(EXIT_REFUSED if exc.status < 500 else EXIT_UNREACHABLE) from None


def answer(profile: str | Profile | None, as_json: bool, call: Callable[[Api], Any]) -> Any:
    """What `call` gets from the API as `profile`. With --json it is printed as it came and the
    command ends there (exit 0); otherwise the command goes on to show it."""
    with connected(profile, as_json=as_json) as api:
        result = call(api)
    if as_json:
        render.print_json(result)
        raise typer.Exit(0)
    return result


def usage(message: str) -> typer.Exit:
    """A bad argument found by the command itself (not by Click): say so, exit 2."""
    render.note(f"error: {message}")
    return typer.Exit(EXIT_USAGE)
