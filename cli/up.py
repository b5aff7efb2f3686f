"""`collect up` and `collect logs`: the whole product on this machine in one command, and the
logs of its parts. Thin: the sequence lives in stack/up.py, the logs in stack/logs.py."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

import strategies
from config import get_settings
from stack import logs
from stack.data_dir import PARTS, DataDir, NotADataDir

# Lines are not wrapped (keys and URLs are copied from them); piped output is wide, like a log's.
out = Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True, highlight=False, soft_wrap=True)
SHIPPED = Path(strategies.__file__).parent

# Paragraphs on one line each: typer keeps the line breaks of every paragraph but the first.
UP_HELP = "\n\n".join(
    (
        "Start the whole product here: Temporal's dev server, the worker and the API, each its own process, "
        "with a demo campaign of synthetic Chilean accounts on the first start. It runs until Ctrl-C (or SIGTERM), "
        "which stops every part; the next start resumes where this one stopped.",
        "Everything lives in the data folder (.collect/): the SQLite database, Temporal's state, the logs "
        "(collect logs) and the API keys printed at start (keys.json, mode 0600).",
        "With COLLECT_TEMPORAL_ADDRESS or COLLECT_DATABASE_URL set, that Temporal or database is used and only "
        "the worker and the API start here, without the demo unless --demo.",
        "Examples:",
        "collect up                      # bin/run does this after setting up .venv\n"
        "collect up --api-port 8010 --ui-port 8240 --data-dir /tmp/try\n"
        "collect up --reset --yes        # start over with a fresh demo",
    )
)

DataDirOption = Annotated[
    Path | None,
    typer.Option(help="the data folder (default: COLLECT_DATA_DIR, else .collect in this directory)"),
]


def _data_dir(option: Path | None) -> DataDir:
    return DataDir.at(option if option is not None else get_settings().data_dir)


def up_command(
    data_dir: DataDirOption = None,
    api_port: Annotated[int, typer.Option(help="the API's port")] = 8000,
    temporal_port: Annotated[int, typer.Option(help="Temporal's gRPC port (local dev server only)")] = 7233,
    ui_port: Annotated[int, typer.Option(help="Temporal's Web UI port (local dev server only)")] = 8233,
    host: Annotated[str, typer.Option(help="the address the API and Temporal listen on")] = "127.0.0.1",
    demo: Annotated[
        bool | None,
        typer.Option(
            "--demo/--no-demo",
            help="seed the demo campaign (default: on a local stack, not on external infrastructure)",
        ),
    ] = None,
    demo_accounts: Annotated[int, typer.Option(min=1, max=100_000, help="accounts in the demo portfolio")] = 300,
    reset: Annotated[bool, typer.Option("--reset", help="delete the data folder first (asks unless --yes)")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="do not ask before --reset deletes")] = False,
) -> None:
    """Start the whole product here (see UP_HELP)."""
    settings = get_settings()
    data = _data_dir(data_dir)
    if reset and data.exists():
        if not yes:
            if not sys.stdin.isatty():
                err.print(f"--reset would delete {data.root}; add --yes to confirm without a terminal")
                raise typer.Exit(2)
            typer.confirm(
                f"Delete {data.root} (the database, Temporal's state, logs and API keys)?", abort=True, err=True
            )
        try:
            data.wipe()
        except (NotADataDir, RuntimeError) as exc:
            err.print(f"error: {exc}", markup=False)
            raise typer.Exit(1) from None
        out.print(f"Deleted {data.root}")
    from stack import up  # here: the stack's modules cost every other command a second of start-up

    options = up.UpOptions(
        data_dir=data.root,
        strategies=SHIPPED,
        host=host,
        api_port=api_port,
        temporal_port=temporal_port,
        ui_port=ui_port,
        demo=demo,
        demo_accounts=demo_accounts,
    )
    raise typer.Exit(up.run(settings, options, out))


def logs_command(
    part: Annotated[str | None, typer.Argument(help=f"one of {', '.join(PARTS)} (default: all)")] = None,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="keep printing new lines")] = False,
    lines: Annotated[int, typer.Option("--lines", "-n", min=0, help="how many of the last lines")] = 20,
    data_dir: DataDirOption = None,
) -> None:
    """Print the last lines of the parts' logs (the data folder's logs/), or follow them.

    Example:

        collect logs worker -f
    """
    if part is not None and part not in PARTS:
        err.print(f"error: no part {part!r}; expected one of {', '.join(PARTS)}")
        raise typer.Exit(2)
    data = _data_dir(data_dir)
    if not data.logs.is_dir():
        err.print(f"error: {data.logs} does not exist: nothing has run with this data folder yet (collect up)")
        raise typer.Exit(1)

    def write(line: str) -> None:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()

    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C ends -f
        logs.tail(data, part, lines, follow, write, stop=lambda: False)
