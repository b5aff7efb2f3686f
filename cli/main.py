"""`collect`: the strategist's command line.

collect strategy validate FILE...     exit 0, or 1 with one `file:line:col: message` per error
collect strategy simulate FILE        one account's timeline in the debtor's local time
collect strategy simulate FILE --accounts 10000   Monte Carlo distributions
collect strategy schema               the JSON Schema for editors
collect db upgrade                    migrate the database (COLLECT_DATABASE_URL) to the latest schema
collect api-key create SUBJECT --role R [--queue Q]   print a new key once
collect api-key list | revoke PREFIX  keys by prefix; revoking takes effect on the next request
collect api serve [--host H --port P] serve the HTTP API
collect api openapi                   print the OpenAPI description (committed as openapi.json)
collect up [--reset]                  the whole product here: Temporal, worker, API and a demo (cli/up.py)
collect logs [PART] [-f]              the logs of `collect up`'s parts
collect demo portfolio > accounts.csv synthetic accounts for the import (cli/demo.py)
"""

from __future__ import annotations

import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from api.auth import issue_key, revoke_key
from cli.demo import demo_app
from cli.up import UP_HELP, logs_command, up_command
from config import get_settings
from db.migrate import current_revision, upgrade
from db.models import ROLES, ApiKey
from db.session import make_engine, make_session_factory, session_scope
from domain.errors import DomainError
from domain.zone_rules import use_pinned_zone_rules
from simulator.engine import simulate
from simulator.montecarlo import Behaviour, Summary, run_many
from simulator.report import print_timeline
from simulator.scenario import ScenarioDoc, ScriptedResponder, default_account, parse_start, to_events
from strategies.compiler import Compiled, compile_file
from strategies.jsonschema import strategy_schema_json
from strategies.loader import StrategyInvalid, parse, translate

app = typer.Typer(help="Collection campaign orchestrator.", no_args_is_help=True)
strategy_app = typer.Typer(help="Write, check and simulate strategies.", no_args_is_help=True)
app.add_typer(strategy_app, name="strategy")
db_app = typer.Typer(help="The database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")
keys_app = typer.Typer(help="API keys: one per person, with a role.", no_args_is_help=True)
app.add_typer(keys_app, name="api-key")
api_app = typer.Typer(help="The HTTP API.", no_args_is_help=True)
app.add_typer(api_app, name="api")
app.command(name="up", help=UP_HELP)(up_command)
app.command(name="logs")(logs_command)
app.add_typer(demo_app, name="demo")

# Wide when piped, so a timeline stays one line per event in files and CI logs.
out = Console(highlight=False, width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def _compile_or_exit(path: Path) -> Compiled:
    try:
        return compile_file(str(path))
    except StrategyInvalid as exc:
        for error in exc.errors:
            err.print(str(error), markup=False)
        raise typer.Exit(1) from None


@strategy_app.command()
def validate(files: Annotated[list[Path], typer.Argument(help="strategy YAML files")]) -> None:
    """Check strategies; print one `file:line:col: message` line per error."""
    failed = False
    for path in files:
        try:
            compiled = compile_file(str(path))
        except StrategyInvalid as exc:
            failed = True
            for error in exc.errors:
                err.print(str(error), markup=False)
            continue
        for warning in compiled.warnings:
            err.print(f"{path}: warning: {warning}", markup=False)
        s = compiled.strategy
        calendar = f", {s.policy.calendar.describe()}" if s.policy.calendar else ""
        out.print(
            f"{path}: ok ({s.id}, {len(s.steps)} steps, policy {s.policy.name}{calendar}, sha256 {s.hash[:12]})",
            markup=False,
        )
    if failed:
        raise typer.Exit(1)


@strategy_app.command()
def schema() -> None:
    """Print the JSON Schema of the strategy language."""
    sys.stdout.write(strategy_schema_json())


@strategy_app.command(name="simulate")
def simulate_cmd(
    file: Annotated[Path, typer.Argument(help="strategy YAML file")],
    scenario: Annotated[Path | None, typer.Option(help="scenario YAML: account, calls, events by day")] = None,
    days: Annotated[int | None, typer.Option(help="days to simulate (default 120)")] = None,
    accounts: Annotated[
        int, typer.Option(help="Monte Carlo: number of synthetic accounts (0 = one scripted account)")
    ] = 0,
    seed: Annotated[int, typer.Option(help="Monte Carlo random seed")] = 1,
    answer: Annotated[float, typer.Option(help="Monte Carlo: chance a call reaches the debtor")] = Behaviour.answer,
    promise: Annotated[float, typer.Option(help="Monte Carlo: chance a contact ends in a promise")] = Behaviour.promise,
    keep: Annotated[float, typer.Option(help="Monte Carlo: chance a promise is kept")] = Behaviour.keep,
    pay_after_message: Annotated[
        float, typer.Option(help="Monte Carlo: chance a message makes the debtor pay")
    ] = Behaviour.pay_after_message,
    start: Annotated[str | None, typer.Option(help="start, debtor's local time, e.g. '2026-11-02 09:00'")] = None,
) -> None:
    """Run one scripted account (or many synthetic ones) through a strategy on a virtual clock."""
    compiled = _compile_or_exit(file)
    strategy = compiled.strategy
    doc = _load_scenario(scenario) if scenario else ScenarioDoc()
    try:
        begin = parse_start(start or doc.start, strategy.timezone, datetime.now(UTC).replace(second=0, microsecond=0))
    except ValueError:
        err.print(f"cannot read start {start or doc.start!r}; expected a local date and time like '2026-11-02 09:00'")
        raise typer.Exit(1) from None
    if days is not None and days < 1:
        err.print(f"--days must be at least 1 (got {days})")
        raise typer.Exit(1)
    span = days if days is not None else doc.days
    for override in strategy.policy.overrides:
        out.print(f"[yellow]policy override in force:[/] {override}")
    if accounts > 0:
        behaviour = Behaviour(answer=answer, promise=promise, keep=keep, pay_after_message=pay_after_message)
        began = time.perf_counter()
        summary = run_many(strategy, accounts, span, begin, behaviour, seed)
        elapsed = time.perf_counter() - began
        _print_summary(summary, elapsed)
        return
    try:
        account = default_account(strategy, begin.date(), doc.account)
        events = to_events(doc, account, begin)
        run = simulate(strategy, account, begin, span, events, ScriptedResponder(doc.calls, doc.approvals))
    except (ValidationError, DomainError, ValueError) as exc:
        err.print(f"{scenario or file}: {exc}", markup=False)
        raise typer.Exit(1) from None
    tz = account.timezone
    print_timeline(
        out,
        run,
        tz,
        f"{strategy.name} — {account.account_id} ({tz}, variant {run.state.variant or '-'}, "
        f"segment {run.state.segment})",
    )


def _load_scenario(path: Path) -> ScenarioDoc:
    """Read a scenario; errors are reported like strategy errors, at file:line:col."""
    try:
        src = parse(path.read_text(encoding="utf-8"), str(path))
        return ScenarioDoc.model_validate(src.data)
    except OSError as exc:
        err.print(f"{path}: cannot read scenario: {exc}", markup=False)
    except StrategyInvalid as exc:
        for error in exc.errors:
            err.print(str(error), markup=False)
    except ValidationError as exc:
        for error in translate(src, exc):
            err.print(str(error), markup=False)
    raise typer.Exit(1)


def _print_summary(summary: Summary, elapsed: float) -> None:
    table = Table(title=f"{summary.accounts} accounts over {summary.days} days")
    for column in ("measure", "mean", "p10", "p50", "p90"):
        table.add_column(column)
    for name, values in (("contacts per account", summary.contacts), ("days to payment", summary.days_to_resolution)):
        p = summary.percentiles(values)
        table.add_row(name, *(f"{p[k]:.1f}" for k in ("mean", "p10", "p50", "p90")))
    out.print(table)
    n = summary.accounts
    shares = ", ".join(f"{k} {v / n:.1%}" for k, v in sorted(summary.resolutions.items()))
    out.print(f"resolutions: {shares}")
    out.print(f"reached legal: {summary.reached_legal / n:.1%}")
    recovery = summary.collected / summary.placed if summary.placed else 0
    out.print(f"recovery rate: {recovery:.1%} (collected {summary.collected} of {summary.placed} placed, minor units)")
    out.print(f"contacts moved or blocked by the policy: {summary.blocked / n:.1f} per account")
    out.print(f"simulated in {elapsed:.1f} s ({n / elapsed:.0f} accounts/s)")


def _sessions() -> sessionmaker[Session]:
    return make_session_factory(make_engine(get_settings().database_url))


@db_app.command(name="upgrade")
def db_upgrade() -> None:
    """Migrate the configured database to the latest revision."""
    url = get_settings().database_url
    before = current_revision(url)
    upgrade(url)
    after = current_revision(url)
    where = make_url(url).render_as_string(hide_password=True)
    if before == after:
        out.print(f"{where}: already at {after}, nothing to do")
    else:
        out.print(f"{where}: migrated from {before or 'an empty database'} to {after}")


@keys_app.command(name="create")
def key_create(
    subject: Annotated[str, typer.Argument(help="who the key is for; an agent's id in tasks and outcomes")],
    role: Annotated[str, typer.Option(help=f"one of {', '.join(ROLES)}")],
    queue: Annotated[list[str] | None, typer.Option(help="an agent queue this person works (repeatable)")] = None,
) -> None:
    """Create a key and print it once; only its hash is stored."""
    try:
        with session_scope(_sessions()) as session:
            issued = issue_key(session, subject, role, queue or [])
    except ValueError as exc:
        err.print(f"error: {exc}", markup=False)
        raise typer.Exit(2) from None
    out.print(issued.key, markup=False)
    err.print(f"key {issued.prefix} for {issued.subject} ({issued.role}); it is not shown again", markup=False)


@keys_app.command(name="revoke")
def key_revoke(prefix: Annotated[str, typer.Argument(help="the key's prefix, as `api-key list` shows it")]) -> None:
    """Revoke a key; requests with it are refused from then on."""
    with session_scope(_sessions()) as session:
        revoked = revoke_key(session, prefix)
    if not revoked:
        err.print(f"error: no live key with prefix {prefix}", markup=False)
        raise typer.Exit(1)
    out.print(f"revoked {prefix}")


@keys_app.command(name="list")
def key_list() -> None:
    """Every key: prefix, subject, role, queues, created, revoked."""
    table = Table("prefix", "subject", "role", "queues", "created", "revoked")
    with session_scope(_sessions()) as session:
        for row in session.scalars(select(ApiKey).order_by(ApiKey.id)):
            revoked = row.revoked_at.isoformat(timespec="seconds") if row.revoked_at else ""
            created = row.created_at.isoformat(timespec="seconds")
            table.add_row(row.prefix, row.subject, row.role, ",".join(row.queues), created, revoked)
    out.print(table)


@api_app.command(name="openapi")
def api_openapi() -> None:
    """Print the OpenAPI description (JSON), e.g. to generate a client."""
    from api.app import create_app

    sys.stdout.write(openapi_json(create_app(get_settings())) + "\n")


def openapi_json(app: Any) -> str:
    """The app's OpenAPI description as stable, diffable JSON."""
    return json.dumps(app.openapi(), indent=2, sort_keys=True, ensure_ascii=False)


@api_app.command(name="serve")
def api_serve(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8000,
) -> None:
    """Serve the API with uvicorn (settings from COLLECT_* variables)."""
    import uvicorn

    uvicorn.run("api.app:create_app", factory=True, host=host, port=port)


def main() -> None:
    use_pinned_zone_rules()  # validate, simulate and serve read the locked tzdata, not the OS's
    app()


if __name__ == "__main__":
    main()
