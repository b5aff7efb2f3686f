"""`collect strategy`: the strategist's commands. Offline, on this machine: validate, simulate and
schema. Over the API: publish, list and diff published versions.

A version is named by its hash, by a prefix of it (at least 4 hex digits, unique among the
published versions), or by a YAML file whose content is published (`version_hash`); campaign
create and move take the same references.
"""

from __future__ import annotations

import re
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from cli import render
from cli.client import Api, ApiProblem
from cli.options import CursorOpt, JsonOpt, LimitOpt, ProfileOpt, answer, connected, usage
from cli.render import err, out

# The offline commands import the compiler and the simulator when they run: at the top, they cost
# every command (an agent's `tasks next` too) most of a second of start-up.
if TYPE_CHECKING:
    from simulator.montecarlo import Summary
    from simulator.scenario import ScenarioDoc
    from strategies.compiler import Compiled

app = typer.Typer(help="Write, check, simulate and publish strategies.", no_args_is_help=True)

FULL_HASH = re.compile(r"[0-9a-f]{64}")
HASH_PREFIX = re.compile(r"[0-9a-f]{4,64}")
YAML = {"Content-Type": "application/yaml"}


# ---- offline ---------------------------------------------------------------------------------------


def _compile_or_exit(path: Path) -> Compiled:
    from strategies.compiler import compile_file
    from strategies.loader import StrategyInvalid

    try:
        return compile_file(str(path))
    except StrategyInvalid as exc:
        for error in exc.errors:
            err.print(str(error), markup=False)
        raise typer.Exit(1) from None


@app.command()
def validate(files: Annotated[list[Path], typer.Argument(help="strategy YAML files")]) -> None:
    """Check strategies on this machine; print one `file:line:col: message` line per error.

    Example: collect strategy validate strategies/*.yaml
    """
    from strategies.compiler import compile_file
    from strategies.loader import StrategyInvalid

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


@app.command()
def schema() -> None:
    """Print the JSON Schema of the strategy language (for editors).

    Example: collect strategy schema > strategy.schema.json
    """
    from strategies.jsonschema import strategy_schema_json

    sys.stdout.write(strategy_schema_json())


@app.command(name="simulate")
def simulate_cmd(
    file: Annotated[Path, typer.Argument(help="strategy YAML file")],
    scenario: Annotated[Path | None, typer.Option(help="scenario YAML: account, calls, events by day")] = None,
    days: Annotated[int | None, typer.Option(help="days to simulate (default 120)")] = None,
    accounts: Annotated[
        int, typer.Option(help="Monte Carlo: number of synthetic accounts (0 = one scripted account)")
    ] = 0,
    seed: Annotated[int, typer.Option(help="Monte Carlo random seed")] = 1,
    answer: Annotated[float | None, typer.Option(help="Monte Carlo: chance a call reaches the debtor")] = None,
    promise: Annotated[float | None, typer.Option(help="Monte Carlo: chance a contact ends in a promise")] = None,
    keep: Annotated[float | None, typer.Option(help="Monte Carlo: chance a promise is kept")] = None,
    pay_after_message: Annotated[
        float | None, typer.Option(help="Monte Carlo: chance a message makes the debtor pay")
    ] = None,
    start: Annotated[str | None, typer.Option(help="start, debtor's local time, e.g. '2026-11-02 09:00'")] = None,
) -> None:
    """Run one scripted account (or many synthetic ones) through a strategy on a virtual clock.

    Monte Carlo chances left out take the simulator's defaults (simulator/montecarlo.py, Behaviour).

    Example: collect strategy simulate strategies/cl-consumer.yaml --start "2026-11-02 09:00" --days 60
    """
    from pydantic import ValidationError

    from domain.errors import DomainError
    from simulator.engine import simulate
    from simulator.montecarlo import Behaviour, run_many
    from simulator.report import print_timeline
    from simulator.scenario import ScenarioDoc, ScriptedResponder, default_account, parse_start, to_events

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
        chances = {"answer": answer, "promise": promise, "keep": keep, "pay_after_message": pay_after_message}
        behaviour = Behaviour(**{name: value for name, value in chances.items() if value is not None})
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
    from pydantic import ValidationError

    from simulator.scenario import ScenarioDoc
    from strategies.loader import StrategyInvalid, parse, translate

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
    collected, placed = summary.money(summary.collected), summary.money(summary.placed)
    out.print(f"recovery rate: {recovery:.1%} (collected {collected} of {placed} placed)")
    out.print(f"contacts moved or blocked by the policy: {summary.blocked / n:.1f} per account")
    out.print(f"simulated in {elapsed:.1f} s ({n / elapsed:.0f} accounts/s)")


# ---- over the API ------------------------------------------------------------------------------------


def _source(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise usage(f"{path}: cannot read file: {exc.strerror or exc}") from None


def _at(path: Path, exc: ApiProblem) -> ApiProblem:
    """The API's line and column errors, told against the file they came from."""
    exc.source = str(path)
    return exc


def version_hash(api: Api, reference: str) -> str:
    """The published version's full hash for a hash, a unique hash prefix or a YAML file."""
    path = Path(reference)
    if not HASH_PREFIX.fullmatch(reference) or path.is_file():
        if not path.is_file():
            raise usage(f"{reference!r} is neither a strategy hash (or a prefix of 4+ hex digits) nor a file")
        try:
            checked = api.post("/strategies/validate", content=_source(path).encode(), headers=YAML)
        except ApiProblem as exc:
            raise _at(path, exc) from None
        if not checked["published"]:
            raise usage(
                f"{path} ({checked['strategy_id']}, {checked['hash'][:12]}) is not published; "
                f"publish it first: collect strategy publish {path}"
            )
        return str(checked["hash"])
    if FULL_HASH.fullmatch(reference):
        return reference
    matches = sorted(
        {str(v["hash"]) for v in api.pages("/strategies", {"limit": 100}) if v["hash"].startswith(reference)}
    )
    if not matches:
        raise usage(f"no published strategy version's hash starts with {reference!r} (see `collect strategy list`)")
    if len(matches) > 1:
        raise usage(
            f"{reference!r} names {len(matches)} versions ({', '.join(h[:12] for h in matches)}); give more digits"
        )
    return matches[0]


@app.command()
def publish(
    file: Annotated[Path, typer.Argument(help="strategy YAML file", show_default=False)],
    as_json: JsonOpt = False,
    profile: ProfileOpt = None,
) -> None:
    """Publish a strategy as an immutable version (its content hash); the same content again is the same version.

    Example: collect strategy publish strategies/cl-consumer.yaml
    """
    source = _source(file)
    with connected(profile, as_json=as_json) as api:
        try:
            response = api.send("POST", "/strategies", content=source.encode(), headers=YAML)
        except ApiProblem as exc:
            raise _at(file, exc) from None
    version = response.json()
    if as_json:
        render.print_json(version)
        return
    fresh = "published" if response.status_code == 201 else "already published"
    render.say(f"{file}: {fresh}: {version['strategy_id']} ({version['name']}) version {version['hash']}")
    for override in version.get("policy_overrides", []):
        render.note(f"policy override in force: {override}")


@app.command(name="list")
def list_versions(
    strategy_id: Annotated[str | None, typer.Option("--strategy-id", help="only versions of this strategy")] = None,
    limit: LimitOpt = 50,
    cursor: CursorOpt = None,
    as_json: JsonOpt = False,
    profile: ProfileOpt = None,
) -> None:
    """Published versions, oldest first.

    Example: collect strategy list --strategy-id cl-consumer
    """
    page = answer(
        profile,
        as_json,
        lambda api: api.get("/strategies", {"strategy_id": strategy_id, "limit": limit, "cursor": cursor}),
    )
    render.show(
        render.table(
            "published strategy versions",
            ["hash", "strategy", "name", "published", "by", "steps", "policy", "variants"],
            (
                [
                    v["hash"][:12],
                    v["strategy_id"],
                    v["name"],
                    render.when(v["published_at"]),
                    v["published_by"],
                    v["steps"],
                    v["policy"],
                    v["variants"],
                ]
                for v in page["items"]
            ),
        )
    )
    again = "collect strategy list" + (f" --strategy-id {strategy_id}" if strategy_id else "")
    render.next_page(f"{again} --limit {limit}", page.get("next_cursor"))


@app.command()
def diff(
    old: Annotated[str, typer.Argument(help="a version: hash, hash prefix or published YAML file")],
    new: Annotated[str, typer.Argument(help="the other version, likewise")],
    as_json: JsonOpt = False,
    profile: ProfileOpt = None,
) -> None:
    """What changed from one published version to another: steps, templates, settings, and the YAML diff.

    Example: collect strategy diff 1a2b3c4d strategies/cl-consumer.yaml
    """
    change = answer(
        profile, as_json, lambda api: api.get(f"/strategies/{version_hash(api, old)}/diff/{version_hash(api, new)}")
    )
    render.say(f"from {change['from_hash']}\nto   {change['to_hash']}")
    if change["identical"]:
        render.say("identical: the same version")
        return
    for part in ("steps", "templates"):
        named: dict[str, Any] = change[part]
        for verb in ("added", "removed", "changed"):
            if named[verb]:
                render.say(f"{part} {verb}: {', '.join(named[verb])}")
    if change["settings_changed"]:
        render.say(f"settings changed: {', '.join(change['settings_changed'])}")
    sys.stdout.write(change["unified_diff"])
