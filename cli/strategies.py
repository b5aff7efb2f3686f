"""`collect strategy`: the strategist's commands. Offline, on this machine: validate, simulate and
schema. Over the API: publish, list and diff published versions.

A version is named by its hash, by a prefix of it (at least 4 hex digits, unique among the
published versions), or by a YAML file whose content is published (`version_hash`); campaign
create and move take the same references.
"""

from __future__ import annotations

import os
import re
import sys
import time
from dataclasses import dataclass
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
    from domain.strategy import CompiledStrategy
    from services.whatif import WhatIf
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
    portfolio: Annotated[
        Path | None, typer.Option(help="Monte Carlo: portfolio YAML (balances, days past due, channels, behaviour)")
    ] = None,
    accounts_csv: Annotated[
        Path | None, typer.Option("--accounts-csv", help="Monte Carlo: run the accounts of an import file (CSV)")
    ] = None,
    compare: Annotated[
        Path | None, typer.Option(help="Monte Carlo: another strategy YAML run on the same accounts and draws")
    ] = None,
    baseline: Annotated[bool, typer.Option(help="Monte Carlo: show the no-contact (self-cure) baseline")] = True,
    processes: Annotated[int, typer.Option(help="Monte Carlo: worker processes (0: one per core)")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Monte Carlo: print the report as JSON")] = False,
    chart: Annotated[Path | None, typer.Option(help="Monte Carlo: write the recovery curves to this SVG file")] = None,
) -> None:
    """Run one scripted account (or many synthetic ones) through a strategy on a virtual clock.

    With --accounts (or --accounts-csv) it is a what-if analysis: recovery by variant and segment,
    a recovery curve, costs (the configured channel costs), the self-cure baseline, and with
    --compare the difference from another strategy with its 95% confidence interval. Monte Carlo
    chances left out take the portfolio's, else the simulator's defaults (simulator/portfolio.py).

    Example: collect strategy simulate strategies/cl-consumer.yaml --start "2026-11-02 09:00" --days 60
    """
    from pydantic import ValidationError

    from domain.errors import DomainError
    from simulator.engine import simulate
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
    if not as_json:
        for override in strategy.policy.overrides:
            out.print(f"[yellow]policy override in force:[/] {override}")
    if accounts > 0 or accounts_csv is not None or compare is not None or portfolio is not None:
        chances = {"answer": answer, "promise": promise, "keep": keep, "pay_after_message": pay_after_message}
        _what_if(
            strategy,
            WhatIfArgs(
                accounts=accounts,
                days=span,
                start=begin,
                seed=seed,
                portfolio=portfolio,
                accounts_csv=accounts_csv,
                compare=compare,
                baseline=baseline,
                processes=processes,
                as_json=as_json,
                chances={name: value for name, value in chances.items() if value is not None},
                chart=chart,
            ),
        )
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


@app.command(name="compare")
def compare_cmd(
    file: Annotated[Path, typer.Argument(help="strategy YAML file (the reference)")],
    other: Annotated[Path, typer.Argument(help="the other strategy (or version) YAML file")],
    accounts: Annotated[int, typer.Option(help="synthetic accounts (ignored with --accounts-csv)")] = 10_000,
    days: Annotated[int, typer.Option(help="days to simulate")] = 120,
    seed: Annotated[int, typer.Option(help="random seed")] = 1,
    start: Annotated[str | None, typer.Option(help="start, debtor's local time, e.g. '2026-11-02 09:00'")] = None,
    portfolio: Annotated[Path | None, typer.Option(help="portfolio YAML")] = None,
    accounts_csv: Annotated[Path | None, typer.Option("--accounts-csv", help="the accounts of an import file")] = None,
    baseline: Annotated[bool, typer.Option(help="show the no-contact (self-cure) baseline")] = True,
    processes: Annotated[int, typer.Option(help="worker processes (0: one per core)")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="print the report as JSON")] = False,
    chart: Annotated[Path | None, typer.Option(help="write the recovery curves to this SVG file")] = None,
) -> None:
    """Two strategies (or two versions of one) side by side on the same accounts and random draws:
    each one's figures, and the difference in recovery rate and cost per account with its 95%
    confidence interval.

    Example: collect strategy compare strategies/cl-consumer.yaml new-cl-consumer.yaml --accounts 20000
    """
    from simulator.scenario import parse_start

    strategy = _compile_or_exit(file).strategy
    try:
        begin = parse_start(start, strategy.timezone, datetime.now(UTC).replace(second=0, microsecond=0))
    except ValueError:
        err.print(f"cannot read start {start!r}; expected a local date and time like '2026-11-02 09:00'")
        raise typer.Exit(1) from None
    _what_if(
        strategy,
        WhatIfArgs(
            accounts=accounts,
            days=days,
            start=begin,
            seed=seed,
            portfolio=portfolio,
            accounts_csv=accounts_csv,
            compare=other,
            baseline=baseline,
            processes=processes,
            as_json=as_json,
            chances={},
            chart=chart,
        ),
    )


@dataclass(frozen=True)
class WhatIfArgs:
    accounts: int
    days: int
    start: datetime
    seed: int
    portfolio: Path | None
    accounts_csv: Path | None
    compare: Path | None
    baseline: bool
    processes: int
    as_json: bool
    chances: dict[str, float]
    chart: Path | None = None


def _what_if(strategy: CompiledStrategy, args: WhatIfArgs) -> None:
    """Run and print a what-if analysis; every refusal names the file or option and exits 1."""
    from pydantic import TypeAdapter, ValidationError

    from config import get_settings
    from services.errors import ServiceError
    from services.whatif import MAX_CLI_ACCOUNTS, WhatIf, imported_accounts, read_portfolio, run
    from simulator.montecarlo import SHARD, Job
    from simulator.portfolio import Behaviour

    try:
        doc = read_portfolio(_read_text(args.portfolio)) if args.portfolio else read_portfolio("")
        if args.chances:
            chances = {**doc.behaviour.model_dump(), **args.chances}
            doc = doc.model_copy(update={"behaviour": Behaviour.model_validate(chances)})
        population: int | tuple[Any, ...] = args.accounts
        if args.accounts_csv is not None:
            population = imported_accounts(_read_bytes(args.accounts_csv), strategy, args.start.date())
        other = _compile_or_exit(args.compare).strategy if args.compare else None
        job = Job(
            strategy=strategy,
            portfolio=doc,
            accounts=population,
            days=args.days,
            start=args.start,
            seed=args.seed,
            other=other,
            baseline=args.baseline,
            unit_costs=dict(get_settings().channel_costs),
        )
        processes = args.processes or (os.cpu_count() or 1) if job.size > SHARD else 1
        began = time.perf_counter()
        report = run(job, get_settings().channel_costs, processes=processes, max_accounts=MAX_CLI_ACCOUNTS)
        elapsed = time.perf_counter() - began
    except ServiceError as exc:
        where = args.portfolio if args.portfolio and any(f.line for f in exc.fields) else args.accounts_csv
        err.print(f"{exc.detail}", markup=False)
        for f in exc.fields:
            spot = f"{where}:{f.line}:{f.column}: " if f.line else f"{(f.pointer or '').lstrip('/')}: "
            err.print(f"  {spot}{f.detail}", markup=False)
        raise typer.Exit(1) from None
    except ValidationError as exc:  # the chances given as options
        err.print(f"Monte Carlo chances: {exc}", markup=False)
        raise typer.Exit(1) from None
    if args.chart is not None:
        _write_chart(args.chart, report)
    if args.as_json:
        render.print_json(TypeAdapter(WhatIf).dump_python(report, mode="json"))
        return
    _print_what_if(report)
    out.print(f"simulated in {elapsed:.1f} s ({report.accounts / elapsed:.0f} accounts/s, {processes} process(es))")


def _write_chart(path: Path, report: WhatIf) -> None:
    from simulator.report import recovery_svg

    arms = [a for a in (report.strategy, report.other, report.baseline) if a is not None]
    series = [(a.label, [(p.day, float(p.share or 0)) for p in a.overall.recovery_curve]) for a in arms]
    title = f"Share of placed collected by day ({report.accounts:,} accounts, seed {report.seed})"
    try:
        path.write_text(recovery_svg(series, report.days, title), encoding="utf-8")
    except OSError as exc:
        err.print(f"{path}: cannot write the chart: {exc.strerror or exc}", markup=False)
        raise typer.Exit(1) from None


def _read_text(path: Path) -> str:
    return _read_bytes(path).decode("utf-8-sig", errors="replace")


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        err.print(f"{path}: cannot read: {exc.strerror or exc}", markup=False)
        raise typer.Exit(1) from None


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


def _print_what_if(report: WhatIf) -> None:
    """The what-if report as tables: each arm by group, the recovery curves, the comparison."""
    from decimal import Decimal

    from strategies.amounts import Currency

    title = f"{report.accounts:,} accounts over {report.days} days ({report.portfolio} portfolio, seed {report.seed})"
    out.print(title, markup=False)
    arms = [a for a in (report.strategy, report.other, report.baseline) if a is not None]
    spreads = Table(title="per account")
    for column in ("arm", "measure", "mean", "p10", "p50", "p90"):
        spreads.add_column(column)
    for arm in arms[:2]:
        for name, sp in (("contacts per account", arm.contacts_per_account), ("days to payment", arm.days_to_payment)):
            spreads.add_row(arm.label, name, *(f"{v:.1f}" for v in (sp.mean, sp.p10, sp.p50, sp.p90)))
    out.print(spreads)
    curve_days = [f"day {d}" for d in report.checkpoints]
    for arm in arms:
        groups = Table(title=f"{arm.label}: recovery by group (share of placed collected by day)", title_justify="left")
        for column in ("group", "accounts", "placed", "collected", "recovery", *curve_days, "legal"):
            groups.add_column(column, overflow="fold")
        rows = [("", arm.overall)] + [("variant ", f) for f in arm.by_variant]
        rows += [("segment ", f) for f in arm.by_segment]
        for kind, f in rows:
            groups.add_row(
                kind + f.name,
                f"{f.accounts:,}",
                f.placed.shown,
                f.collected.shown,
                _share(f.recovery_rate),
                *(_share(p.share) for p in f.recovery_curve),
                _share(f.legal_share),
            )
        out.print(groups)
    money = Currency(report.currency, report.locale).shown
    costs = Table(title="cost (the configured channel costs, as the cost KPI counts them)")
    for column in ("arm", "channel", "messages", "unit cost", "cost", "per account", "per amount collected"):
        costs.add_column(column)
    for arm in arms[:2]:
        f = arm.overall
        for line in f.cost_by_channel:
            costs.add_row(arm.label, line.channel, f"{line.messages:,}", line.unit_cost.shown, line.cost.shown, "", "")
        per_account = money(round(Decimal(f.cost_per_account))) if f.cost_per_account else "-"
        costs.add_row(arm.label, "all", "", "", f.cost.shown, per_account, f.cost_per_amount_collected or "-")
    out.print(costs)
    for arm in arms:
        shares = ", ".join(f"{k} {v / max(arm.overall.accounts, 1):.1%}" for k, v in arm.overall.resolutions.items())
        out.print(f"{arm.label} resolutions: {shares}", markup=False)
        if arm.overall.outcomes:
            calls = ", ".join(f"{k} {v:,}" for k, v in arm.overall.outcomes.items())
            out.print(f"{arm.label} calls by outcome: {calls}", markup=False)
    s = report.strategy.overall
    out.print(
        f"recovery rate: {_share(s.recovery_rate)} (collected {s.collected.shown} of {s.placed.shown} placed)",
        markup=False,
    )
    out.print(f"reached legal: {_share(s.legal_share)}", markup=False)
    if report.lift is not None:
        out.print(f"lift over no contact: {_share(report.lift, signed=True)} of placed", markup=False)
    if report.comparison is not None and report.other is not None:
        c = report.comparison
        r, k = c.recovery_rate, c.cost_per_account
        out.print(
            f"{report.other.label} minus {report.strategy.label}: recovery {_share(r.difference, signed=True)} "
            f"(95% CI {_share(r.low, signed=True)} to {_share(r.high, signed=True)}), cost per account "
            f"{k.difference} (95% CI {k.low} to {k.high}) in minor units of {report.currency}",
            markup=False,
        )
        out.print(f"  method: {c.method}", markup=False)


def _share(value: str | None, *, signed: bool = False) -> str:
    """A decimal-string ratio as a percentage for reading ('0.1234' -> '12.3%')."""
    if value is None:
        return "-"
    return f"{float(value):+.1%}" if signed else f"{float(value):.1%}"


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
