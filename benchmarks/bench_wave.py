"""Benchmark: the 08:00 wave. When a contact window opens, every account whose first contact the
policy moved to that opening wakes; this measures what that does to the worker and to an agent's
outcome on an account that has nothing to do with the wave.

    PATH=.venv/bin:$PATH .venv/bin/python benchmarks/bench_wave.py [--accounts 10000] \
        [--spread 0min,30min] [--database postgresql+psycopg://postgres@127.0.0.1:5432/test]

For each spread (a fresh stack each: Temporal's dev server in memory, one `worker.py`, the API
under uvicorn, as in benchmarks/bench_launch.py):

1. Picks the window's opening a few minutes ahead (enough for the launch, `--lead`), at a whole
   minute, and a time zone in which that minute is a working morning or midday, so the window
   is hours long and the spread is never cut by its end.
2. Publishes strategies/cl-consumer.yaml with its CL policy's hours overridden to that one
   window (from the opening, three hours, that weekday only) and the spread under test, imports
   N accounts in that zone (email and phone, consent given) and launches them. Every account's
   first contact is outside the window, so the policy moves it: to the opening, or to the
   opening plus the account's offset within the spread.
3. Launches probe accounts (a strategy of one repeated agent task, no contact rules) and, from
   the end of the launch until the wave has drained, records a `no_answer` outcome on one probe
   after another through the workflow update the API sends (`record_outcome`), one at a time.
4. Reports: the wave's sends (first to last, per second at the peak, how late each was against
   the instant it was moved to), the schedule-to-start latency of workflow and activity tasks in
   a sample of wave accounts' histories, and the outcome update's p50/p99 before the opening
   (the baseline, same run) and during the wave.

Prints figures; asserts nothing. The launch must end before the window opens (it is refused
otherwise: the figures would mix the two); raise `--lead` on a slow or busy machine.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import json
import math
import random
import sys
import tempfile
import time
import urllib.request
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import holidays  # noqa: E402
from live_stack import live_stack  # noqa: E402
from sqlalchemy import func, select, text  # noqa: E402
from temporalio.api.enums.v1 import EventType  # noqa: E402
from temporalio.client import Client, WorkflowHistory  # noqa: E402
from workers import product_converter  # noqa: E402

from api.auth import issue_key  # noqa: E402
from config import Settings  # noqa: E402
from db.migrate import upgrade  # noqa: E402
from db.models import AccountState, Communication  # noqa: E402
from db.session import make_engine, make_session_factory, normalize_url  # noqa: E402
from domain import events as ev  # noqa: E402
from domain.types import Outcome  # noqa: E402
from domain.zone_rules import use_pinned_zone_rules  # noqa: E402
from workflows.contracts import AccountView, debtor_workflow_id  # noqa: E402

WAVE, PROBE = "wave", "probe"
WINDOW_HOURS = 3
# Zones a whole number of hours apart around the world: one of them has any given minute in its
# working morning. Santiago first, the strategy's own.
ZONES = (
    "America/Santiago",
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Los_Angeles",
    "America/Anchorage",
    "Pacific/Honolulu",
    "America/Sao_Paulo",
    "Atlantic/South_Georgia",
    "Atlantic/Azores",
    "Europe/London",
    "Europe/Paris",
    "Europe/Athens",
    "Europe/Moscow",
    "Asia/Dubai",
    "Asia/Karachi",
    "Asia/Dhaka",
    "Asia/Bangkok",
    "Asia/Shanghai",
    "Asia/Tokyo",
    "Australia/Brisbane",
    "Pacific/Noumea",
    "Pacific/Auckland",
)
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
SENT = ("sent", "unknown", "delivered", "opened", "clicked", "replied", "bounced")

PROBE_STRATEGY = """\
id: wave-probe
name: Outcome probe for the wave benchmark
locale: es-CL
currency: CLP
timezone: America/Santiago
policy:
  preset: NONE
queues: [probes]
segments:
  - name: all
    start: call
steps:
  call:
    stage: contact
    do:
      - agent_task:
          queue: probes
          due_within: 30d
          outcomes: {no_answer: call, right_party_contact: call}
templates: {}
"""


# ---- helpers ---------------------------------------------------------------------------------


def request(method: str, url: str, key: str, body: bytes | None = None, content_type: str = "application/json") -> dict:
    req = urllib.request.Request(
        url, data=body, method=method, headers={"X-API-Key": key, "Content-Type": content_type}
    )
    with urllib.request.urlopen(req, timeout=600) as response:
        return json.loads(response.read())


def quantile(values: list[float], q: float) -> float:
    """The q-quantile by the nearest rank (no interpolation: p99 of 100 samples is the 99th)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def ms(seconds: float) -> str:
    return "-" if math.isnan(seconds) else f"{seconds * 1000:,.0f} ms"


def spread_seconds(text: str) -> int:
    from strategies.schema import parse_duration

    return parse_duration(text)


@contextmanager
def fresh_database(url: str | None, work: Path) -> Iterator[str]:
    """A SQLite file in `work`, or a throwaway schema on the PostgreSQL server `url` names."""
    if url is None or url.startswith("sqlite"):
        yield url or f"sqlite:///{work / 'collect.db'}"
        return
    schema = f"wave_{uuid.uuid4().hex[:10]}"
    admin = make_engine(url)
    try:
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        yield (
            normalize_url(url)
            .update_query_dict({"options": f"-csearch_path={schema}"})
            .render_as_string(hide_password=False)
        )
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


# ---- the window ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Window:
    opens: datetime  # UTC, a whole minute
    zone: str
    preset: str  # CL with its hours overridden, or NONE on a Chilean holiday in that zone

    @property
    def local(self) -> datetime:
        return self.opens.astimezone(ZoneInfo(self.zone))


def choose_window(lead_s: float) -> Window:
    """The first whole minute `lead_s` from now, in a zone where it is between 08:00 and 14:00."""
    opens = datetime.now(UTC) + timedelta(seconds=lead_s)
    opens = opens.replace(second=0, microsecond=0) + timedelta(minutes=1)
    for zone in ZONES:
        local = opens.astimezone(ZoneInfo(zone))
        if 8 <= local.hour < 14:
            cl_holiday = local.date() in holidays.country_holidays("CL", years=local.year)
            return Window(opens=opens, zone=zone, preset="NONE" if cl_holiday else "CL")
    raise RuntimeError(f"no zone has {opens.isoformat()} between 08:00 and 14:00")


def wave_strategy(window: Window, spread: str) -> bytes:
    """strategies/cl-consumer.yaml, its hours overridden to the one window under test."""
    local = window.local
    until = f"{local.hour + WINDOW_HOURS:02d}:{local:%M}"
    hours = f'{{days: [{WEEKDAYS[local.weekday()]}], from: "{local:%H:%M}", to: "{until}"}}'
    source = (ROOT / "strategies" / "cl-consumer.yaml").read_text(encoding="utf-8")
    if window.preset == "CL":
        policy = (
            "policy:\n  preset: CL\n"
            f"  spread: {spread}\n"
            "  override:\n"
            "    reason: the wave benchmark opens the window at a minute it picks when it runs\n"
            f"    windows: [{hours}]\n"
        )
    else:  # a Chilean holiday in that zone: the CL calendar would block the whole day
        policy = f"policy:\n  preset: NONE\n  spread: {spread}\n  windows: [{hours}]\n"
    assert "policy:\n  preset: CL\n" in source
    source = source.replace("policy:\n  preset: CL\n", policy, 1)
    return source.replace("id: cl-consumer", "id: cl-consumer-wave", 1).encode()


def accounts_csv(prefix: str, n: int, zone: str) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            "account_id",
            "debtor_name",
            "country",
            "currency",
            "balance",
            "due_date",
            "email",
            "phone",
            "consent",
            "timezone",
        ]
    )
    due = (datetime.now(UTC) - timedelta(days=15)).date().isoformat()
    for i in range(n):
        writer.writerow(
            [
                f"{prefix}-{i:06d}",
                f"Deudor {i}",
                "CL",
                "CLP",
                150000 + i,
                due,
                f"{prefix.lower()}{i}@example.cl",
                f"9 8{i:07d}",
                "si",
                zone,
            ]
        )
    return out.getvalue().encode()


# ---- measurements ----------------------------------------------------------------------------


@dataclass
class Updates:
    """Outcome updates on the probes: (started, seconds, ok), started in UTC."""

    samples: list[tuple[datetime, float, bool]] = field(default_factory=list)
    stop: asyncio.Event = field(default_factory=asyncio.Event)


async def record_outcomes(client: Client, probes: list[str], pause_s: float, updates: Updates) -> None:
    """One outcome at a time, round robin over the probes, until told to stop."""
    index = 0
    while not updates.stop.is_set():
        handle = client.get_workflow_handle(debtor_workflow_id(PROBE, probes[index % len(probes)]))
        index += 1
        started, t0 = datetime.now(UTC), time.perf_counter()
        try:
            await handle.execute_update(
                "record_outcome", ev.AgentOutcome(code=Outcome.NO_ANSWER, agent="bench"), result_type=AccountView
            )
            ok = True
        except Exception as exc:
            ok = False
            print(f"  outcome update failed: {type(exc).__name__}: {exc}"[:300], flush=True)
        updates.samples.append((started, time.perf_counter() - t0, ok))
        await asyncio.sleep(pause_s)


@dataclass
class Wave:
    sends: int
    first: datetime | None
    last: datetime | None
    peak_per_s: float
    lateness: list[float]  # seconds each send went out after the instant it was moved to
    moved_to: list[datetime]


def wave_sends(sessions, n: int) -> int:  # type: ignore[no-untyped-def]
    with sessions() as session:
        return (
            session.scalar(
                select(func.count())
                .select_from(Communication)
                .where(Communication.workflow_id.like(f"debtor:{WAVE}:%"), Communication.status.in_(SENT))
            )
            or 0
        )


def read_wave(sessions) -> Wave:  # type: ignore[no-untyped-def]
    with sessions() as session:
        rows = session.execute(
            select(
                Communication.workflow_id, Communication.status, Communication.sent_at, Communication.moved_to
            ).where(Communication.workflow_id.like(f"debtor:{WAVE}:%"))
        ).all()
    moved = {wf: datetime.fromisoformat(m) for wf, status, _, m in rows if status == "blocked" and m}
    sent = sorted(
        (s.replace(tzinfo=UTC) if s.tzinfo is None else s, wf) for wf, status, s, _ in rows if status in SENT and s
    )
    per_second = Counter(int(s.timestamp()) for s, _ in sent)
    window = 10  # the peak over 10 s, so one lucky second does not make it
    peak = max((sum(per_second.get(t + k, 0) for k in range(window)) / window for t in per_second), default=0.0)
    lateness = [(s - moved[wf].astimezone(UTC)).total_seconds() for s, wf in sent if wf in moved]
    return Wave(
        sends=len(sent),
        first=sent[0][0] if sent else None,
        last=sent[-1][0] if sent else None,
        peak_per_s=peak,
        lateness=lateness,
        moved_to=sorted(moved.values()),
    )


def event_time(event) -> datetime:  # type: ignore[no-untyped-def]
    return event.event_time.ToDatetime().replace(tzinfo=UTC)


@dataclass
class Latencies:
    """Schedule-to-start of tasks in histories: (scheduled at, seconds until a worker took it)."""

    workflow_tasks: list[tuple[datetime, float]] = field(default_factory=list)
    activities: list[tuple[datetime, float]] = field(default_factory=list)

    @staticmethod
    def between(samples: list[tuple[datetime, float]], since: datetime, until: datetime) -> list[float]:
        return [s for at, s in samples if since <= at < until]


def read_history(history: WorkflowHistory, into: Latencies) -> None:
    scheduled: dict[int, datetime] = {}
    for event in history.events:
        if event.event_type in (
            EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
            EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED,
        ):
            scheduled[event.event_id] = event_time(event)
        elif event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED:
            at = scheduled.get(event.workflow_task_started_event_attributes.scheduled_event_id)
            if at is not None:
                into.workflow_tasks.append((at, (event_time(event) - at).total_seconds()))
        elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
            at = scheduled.get(event.activity_task_started_event_attributes.scheduled_event_id)
            if at is not None:
                into.activities.append((at, (event_time(event) - at).total_seconds()))


async def read_histories(client: Client, ids: list[str]) -> Latencies:
    found = Latencies()
    gate = asyncio.Semaphore(8)

    async def one(workflow_id: str) -> None:
        async with gate:
            history = await client.get_workflow_handle(workflow_id).fetch_history()
        read_history(history, found)

    await asyncio.gather(*(one(i) for i in ids))
    return found


# ---- one run ---------------------------------------------------------------------------------


@dataclass
class Result:
    spread: str
    accounts: int
    window: Window
    launched_s: float
    idle_before_opening_s: float
    wave: Wave
    updates: Updates
    baseline_since: datetime  # the end of the launch
    wave_accounts: Latencies  # a sample of them
    probes: Latencies


def run(args: argparse.Namespace, spread: str) -> Result:
    work = Path(tempfile.mkdtemp(prefix="bench-wave-"))
    with fresh_database(args.database, work) as url:
        upgrade(url)
        sessions = make_session_factory(make_engine(url))
        with sessions() as session:
            key = issue_key(session, "bench", "admin").key
            session.commit()
        lead = args.lead if args.lead is not None else 120 + args.accounts / 5
        window = choose_window(lead)
        print(
            f"[spread {spread}] window opens {window.opens:%H:%M} UTC = {window.local:%a %H:%M} {window.zone} "
            f"(preset {window.preset}), {(window.opens - datetime.now(UTC)).total_seconds():.0f} s from now",
            flush=True,
        )
        with live_stack(url, work) as stack:
            return asyncio.run(measure(args, spread, stack, key, sessions, window))


async def measure(args, spread, stack, key, sessions, window) -> Result:  # type: ignore[no-untyped-def]
    api = stack.base_url
    n, probes = args.accounts, [f"P-{i:06d}" for i in range(args.probes)]
    for campaign, strategy, content_type in (
        (PROBE, PROBE_STRATEGY.encode(), "application/yaml"),
        (WAVE, wave_strategy(window, spread), "application/yaml"),
    ):
        published = request("POST", f"{api}/strategies", key, strategy, content_type)
        body = {"id": campaign, "name": campaign, "strategy_hash": published["hash"], "creditor_name": "Bench"}
        request("POST", f"{api}/campaigns", key, json.dumps(body).encode())
    for campaign, prefix, count in ((PROBE, "P", args.probes), (WAVE, "W", n)):
        report = request(
            "POST", f"{api}/campaigns/{campaign}/accounts", key, accounts_csv(prefix, count, window.zone), "text/csv"
        )
        assert report["accepted"] == count, report["rejected"][:3]

    launch = json.dumps({"batch_size": args.batch_size, "concurrency": args.concurrency}).encode()
    started = time.perf_counter()
    for campaign in (PROBE, WAVE):
        request("POST", f"{api}/campaigns/{campaign}/launch", key, launch)
    while True:
        with sessions() as session:
            projected = session.scalar(select(func.count()).select_from(AccountState)) or 0
        if projected >= n + args.probes:
            break
        if datetime.now(UTC) >= window.opens - timedelta(seconds=30):
            raise SystemExit(
                f"the launch had written {projected} of {n + args.probes} first turns 30 s before the window opened: "
                "the wave would mix with the launch; run again with a larger --lead"
            )
        time.sleep(1)
    launched_s = time.perf_counter() - started
    idle_s = (window.opens - datetime.now(UTC)).total_seconds()
    print(f"  launch and first turns: {launched_s:.0f} s; {idle_s:.0f} s of baseline before the opening", flush=True)

    client = await Client.connect(stack.temporal_address, data_converter=product_converter())
    baseline_since = datetime.now(UTC)
    updates = Updates()
    outcomes = asyncio.create_task(record_outcomes(client, probes, args.pause, updates))

    expected = n
    deadline = window.opens + timedelta(seconds=spread_seconds(spread) + max(900, n / 2))
    last_report = 0.0
    while True:
        done = await asyncio.to_thread(wave_sends, sessions, n)
        now = datetime.now(UTC)
        if done >= expected or now > deadline:
            break
        if time.perf_counter() - last_report > 30 and now > window.opens:
            print(
                f"  {done} of {expected} wave sends at opening + {(now - window.opens).total_seconds():.0f} s",
                flush=True,
            )
            last_report = time.perf_counter()
        await asyncio.sleep(1)
    await asyncio.sleep(args.tail)  # a few outcomes after the wave, then stop
    updates.stop.set()
    await outcomes

    wave = await asyncio.to_thread(read_wave, sessions)
    sample = random.Random(7).sample([f"W-{i:06d}" for i in range(n)], min(args.sample, n))
    return Result(
        spread=spread,
        accounts=n,
        window=window,
        launched_s=launched_s,
        idle_before_opening_s=idle_s,
        wave=wave,
        updates=updates,
        baseline_since=baseline_since,
        wave_accounts=await read_histories(client, [debtor_workflow_id(WAVE, a) for a in sample]),
        probes=await read_histories(client, [debtor_workflow_id(PROBE, p) for p in probes]),
    )


# ---- report ----------------------------------------------------------------------------------


def report(result: Result) -> None:
    w, opens = result.wave, result.window.opens
    window = f"{result.window.local:%a %H:%M} {result.window.zone}"
    print(f"\n== spread {result.spread}: {result.accounts:,} accounts, window {window}")
    if w.first is None or w.last is None:
        print("  no wave send was recorded")
        return
    drain = (w.last - w.first).total_seconds()
    print(
        f"  wave sends: {w.sends:,}; first {(w.first - opens).total_seconds():+.1f} s after the opening, "
        f"last {(w.last - opens).total_seconds():+.1f} s; first to last {drain:.1f} s "
        f"({w.sends / max(drain, 1e-9):,.1f} sends/s on average, {w.peak_per_s:,.1f}/s over the busiest 10 s)"
    )
    if w.moved_to:
        span = (w.moved_to[-1] - w.moved_to[0]).total_seconds()
        print(f"  moved to: {len(w.moved_to):,} instants over {span:.0f} s after the opening")
    late = w.lateness
    print(
        f"  each send after the instant it was moved to: p50 {late and quantile(late, 0.5):.1f} s, "
        f"p99 {late and quantile(late, 0.99):.1f} s, max {late and max(late):.1f} s"
    )
    during = (opens, w.last + timedelta(seconds=1))
    before = (result.baseline_since, opens)
    between = Latencies.between
    for name, values in (
        ("wave accounts' workflow tasks, during the wave", between(result.wave_accounts.workflow_tasks, *during)),
        ("wave accounts' activity tasks, during the wave", between(result.wave_accounts.activities, *during)),
        ("probes' workflow tasks, before the opening", between(result.probes.workflow_tasks, *before)),
        ("probes' workflow tasks, during the wave", between(result.probes.workflow_tasks, *during)),
        ("probes' activity tasks, before the opening", between(result.probes.activities, *before)),
        ("probes' activity tasks, during the wave", between(result.probes.activities, *during)),
    ):
        print(
            f"  schedule-to-start, {name} ({len(values):,}): p50 {ms(quantile(values, 0.5))}, "
            f"p99 {ms(quantile(values, 0.99))}, max {ms(max(values) if values else math.nan)}"
        )
    baseline = [s for at, s, ok in result.updates.samples if ok and at < opens]
    wave = [s for at, s, ok in result.updates.samples if ok and opens <= at <= w.last]
    failed = sum(1 for _, _, ok in result.updates.samples if not ok)
    for name, values in (("before the opening (baseline)", baseline), ("during the wave", wave)):
        print(
            f"  outcome update {name} ({len(values)}): p50 {ms(quantile(values, 0.5))}, "
            f"p99 {ms(quantile(values, 0.99))}, max {ms(max(values) if values else math.nan)}"
        )
    if failed:
        print(f"  outcome updates failed: {failed}")


def main() -> None:
    use_pinned_zone_rules()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--spread", default="0min,30min", help="comma-separated spreads, one run each (0min: none)")
    parser.add_argument("--database", default=None, help="default: a SQLite file in a temporary directory")
    parser.add_argument("--lead", type=float, default=None, help="seconds from now to the opening (default 120 + N/5)")
    parser.add_argument("--probes", type=int, default=50, help="accounts that take the outcome updates")
    parser.add_argument("--pause", type=float, default=0.2, help="seconds between two outcome updates")
    parser.add_argument("--sample", type=int, default=300, help="wave accounts whose histories are read")
    parser.add_argument("--tail", type=float, default=10, help="seconds of outcomes after the last wave send")
    parser.add_argument("--batch-size", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=20)
    args = parser.parse_args()
    settings = Settings()
    print(
        f"accounts {args.accounts:,}, probes {args.probes}, database {(args.database or 'sqlite').split(':')[0]}, "
        f"worker cache {settings.worker_max_cached_workflows} workflows",
        flush=True,
    )
    for spread in args.spread.split(","):
        report(run(args, spread.strip()))


if __name__ == "__main__":
    main()
