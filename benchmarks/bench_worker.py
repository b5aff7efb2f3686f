"""Benchmark: the worker's memory per cached account, the latency of an agent's outcome update, and
the history each account writes in a month, each beside a bare baseline measured in the same run.

    PATH=.venv/bin:$PATH .venv/bin/python benchmarks/bench_worker.py \\
        [--accounts 1000] [--latency-accounts 300] [--clients 10] [--database URL] \\
        [--baseline-code DIR] [--phases memory,latency,history]

`--baseline-code DIR` is another checkout of the project (e.g. `git worktree add --detach DIR main`):
every phase then runs twice, once on that code ("before") and once on this one ("after"), against
the same servers. Each phase runs in its own process with its code first on `sys.path`.

- memory: Temporal's dev server (in memory); `worker.py` as a process on a fresh database; W
  warm-up accounts of the shipped Chilean strategy, then N more started with their input as a
  launch builds it; once every account's first turn is in the read model, the growth of the
  worker's resident set (VmRSS) over the N accounts, per account. Beside it, a sandboxed worker of
  `bare_workflow.BareWorkflow` caching N workflows whose input is a string as large as one
  debtor's encoded input.
- latency: M accounts of tests/api/strategies/calls.yaml (an agent task at once); `--clients`
  concurrent clients each send `record_outcome` (a promise) to the next account, against
  `touch` updates on bare workflows from the same number of clients, in alternating halves.
- history: one simulated month (30 days, the journey driver of the workflow tests on the
  time-skipping server) per shipped strategy and scenario; the run's history in bytes (protobuf,
  as Temporal stores and bills it) and events.

Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
WARM_UP = 20
SCENARIOS: dict[str, dict[str, Any]] = {
    "nobody answers": {"days": 30},
    "promise broken": {"days": 30, "calls": ["no_answer", {"code": "promise_to_pay", "amount": 50_000, "in_days": 5}]},
}


# ---- helpers shared by the phases (run in the phase's process, after its code is on sys.path) ----


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


def fresh_database(url: str | None, work: Path) -> str:
    """A new empty database: a SQLite file in `work`, or a new schema on the PostgreSQL `url`."""
    from sqlalchemy import text

    from db.migrate import upgrade
    from db.session import make_engine, normalize_url

    if url is None:
        fresh = f"sqlite:///{work / f'bench-{uuid.uuid4().hex[:8]}.db'}"
    else:
        schema = f"bench_{uuid.uuid4().hex[:10]}"
        admin = make_engine(url)
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))

        def drop() -> None:  # when the phase's process ends, its workers stopped
            with admin.begin() as connection:
                connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            admin.dispose()

        atexit.register(drop)
        scoped = normalize_url(url).update_query_dict({"options": f"-csearch_path={schema}"})
        fresh = scoped.render_as_string(hide_password=False)
    upgrade(fresh)
    return fresh


def publish(sessions: Any, strategy: Any, source: str) -> None:

    from db.repositories import strategies as strategies_repo

    with sessions() as session:
        strategies_repo.publish(session, strategy, source_yaml=source, published_by="bench")
        session.commit()


def spawn(args: list[str], cwd: Path, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(args, cwd=cwd, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)


def stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class Workers:
    """The product's worker.py (from the code under test) and a bare worker, as processes."""

    def __init__(self, code: Path, address: str, database: str, work: Path, cached: int) -> None:
        from workers import payload_environment

        self.queue = f"bench-{uuid.uuid4().hex[:6]}"
        env = {
            **os.environ,
            "COLLECT_DATABASE_URL": database,
            "COLLECT_TEMPORAL_ADDRESS": address,
            "COLLECT_TEMPORAL_TASK_QUEUE": self.queue,
            "COLLECT_WORKER_MAX_CACHED_WORKFLOWS": str(cached),
            "COLLECT_PAYMENT_RECONCILE_INTERVAL_S": "0",
            "COLLECT_LOG_LEVEL": "WARNING",
            **payload_environment(),
        }
        python = sys.executable
        self.product = spawn([python, str(code / "worker.py")], code, env, work / f"worker-{self.queue}.log")
        self.bare = spawn(
            [python, str(Path(__file__)), "--phase", "bare-worker", "--address", address, "--queue", self.queue],
            HERE,
            {**os.environ, "BENCH_MAX_CACHED": str(cached)},
            work / f"bare-{self.queue}.log",
        )

    def close(self) -> None:
        stop(self.product)
        stop(self.bare)


async def bounded(limit: int, jobs: list[Any]) -> list[Any]:
    gate = asyncio.Semaphore(limit)

    async def one(job: Any) -> Any:
        async with gate:
            return await job()

    return await asyncio.gather(*(one(j) for j in jobs))


async def wait_for_rows(sessions: Any, count: int, what: str, timeout_s: float = 1800) -> None:
    from sqlalchemy import func, select

    from db.models import AccountState

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with sessions() as session:
            if (session.scalar(select(func.count()).select_from(AccountState)) or 0) >= count:
                return
        await asyncio.sleep(0.5)
    raise TimeoutError(f"{what}: fewer than {count} first turns after {timeout_s} s")


def debtor_input(strategy: Any, account_id: str, campaign: str) -> Any:
    """A debtor's input as the launch builds it (published, where the code knows that)."""
    from simulator.scenario import default_account
    from workflows.contracts import CampaignInfo, DebtorInput

    acct = default_account(
        strategy,
        date.today() - timedelta(days=1),  # noqa: DTZ011 (a benchmark on today's server clock)
        {"account_id": account_id, "phone": "+56912345678", "email": f"{account_id.lower()}@example.cl"},
    )
    extra = {"strategy_published": True} if "strategy_published" in DebtorInput.model_fields else {}
    return DebtorInput(
        campaign=CampaignInfo(id=campaign, creditor_name="Bench"), account=acct, strategy=strategy, **extra
    )


async def start_debtors(client: Any, queue: str, inputs: list[Any], campaign: str) -> list[str]:
    from workflows.contracts import debtor_workflow_id

    ids = [debtor_workflow_id(campaign, i.account.account_id) for i in inputs]

    def starter(wf_id: str, inp: Any) -> Any:
        return lambda: client.start_workflow("DebtorWorkflow", inp, id=wf_id, task_queue=queue)

    await bounded(20, [starter(w, i) for w, i in zip(ids, inputs, strict=True)])
    return ids


async def start_bare(client: Any, queue: str, n: int, size: int, prefix: str) -> list[str]:
    ids = [f"{prefix}-{k}" for k in range(n)]

    def starter(wf_id: str) -> Any:
        return lambda: client.start_workflow("BareWorkflow", "x" * size, id=wf_id, task_queue=f"{queue}-bare")

    await bounded(20, [starter(w) for w in ids])

    def toucher(wf_id: str) -> Any:  # answered only once the workflow runs, cached, in the worker
        return lambda: client.get_workflow_handle(wf_id).execute_update("touch", 0, result_type=int)

    await bounded(20, [toucher(w) for w in ids])
    return ids


async def connect(address: str) -> tuple[Any, Any]:
    from temporalio.client import Client
    from workers import product_converter

    product = await Client.connect(address, data_converter=product_converter())
    bare = await Client.connect(address)  # bare Temporal
    return product, bare


def quantiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    cut = statistics.quantiles(ordered, n=100, method="inclusive")
    return {"n": len(ordered), "p50": cut[49], "p99": cut[98], "mean": statistics.fmean(ordered)}


# ---- phases ------------------------------------------------------------------------------------


async def phase_memory(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    from db.session import make_engine, make_session_factory
    from strategies.compiler import compile_file

    path = args.code / "strategies" / "cl-consumer.yaml"
    strategy = compile_file(str(path)).strategy
    database = fresh_database(args.database, work)
    sessions = make_session_factory(make_engine(database))
    publish(sessions, strategy, path.read_text(encoding="utf-8"))
    n = args.accounts
    workers = Workers(args.code, args.address, database, work, cached=n + WARM_UP + 100)
    try:
        product, bare = await connect(args.address)
        size = sum(p.ByteSize() for p in await product.data_converter.encode([debtor_input(strategy, "SIZE", "m")]))
        campaign = f"mem-{workers.queue}"  # ids unique on the server shared by every phase
        warm = [debtor_input(strategy, f"W-{k:05d}", campaign) for k in range(WARM_UP)]
        await start_debtors(product, workers.queue, warm, campaign)
        await wait_for_rows(sessions, WARM_UP, "warm-up")
        await start_bare(bare, workers.queue, WARM_UP, size, f"warm-{campaign}")
        await asyncio.sleep(3)
        product_before, bare_before = rss_kib(workers.product.pid), rss_kib(workers.bare.pid)
        started = time.perf_counter()
        await start_debtors(
            product, workers.queue, [debtor_input(strategy, f"M-{k:05d}", campaign) for k in range(n)], campaign
        )
        await wait_for_rows(sessions, WARM_UP + n, "accounts")
        first_turns_s = time.perf_counter() - started
        await start_bare(bare, workers.queue, n, size, f"bare-{campaign}")
        await asyncio.sleep(3)
        product_after, bare_after = rss_kib(workers.product.pid), rss_kib(workers.bare.pid)
    finally:
        workers.close()
    return {
        "accounts": n,
        "input_bytes": size,
        "first_turns_s": first_turns_s,
        "product_rss_kib": [product_before, product_after],
        "bare_rss_kib": [bare_before, bare_after],
        "product_kib_per_account": (product_after - product_before) / n,
        "bare_kib_per_workflow": (bare_after - bare_before) / n,
    }


async def phase_latency(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    from sqlalchemy import select

    from db.models import AgentTask
    from db.session import make_engine, make_session_factory
    from domain import events as ev
    from strategies.compiler import compile_file
    from workflows.contracts import AccountView

    path = args.code / "tests" / "api" / "strategies" / "calls.yaml"
    strategy = compile_file(str(path)).strategy
    database = fresh_database(args.database, work)
    sessions = make_session_factory(make_engine(database))
    publish(sessions, strategy, path.read_text(encoding="utf-8"))
    m = args.latency_accounts
    workers = Workers(args.code, args.address, database, work, cached=2 * m + 100)
    try:
        product, bare = await connect(args.address)
        campaign = f"lat-{workers.queue}"
        ids = await start_debtors(
            product, workers.queue, [debtor_input(strategy, f"L-{k:05d}", campaign) for k in range(m)], campaign
        )
        await wait_for_rows(sessions, m, "accounts")
        bare_ids = await start_bare(bare, workers.queue, m, 1000, f"bare-{campaign}")
        with sessions() as session:
            seqs = dict(
                session.execute(select(AgentTask.workflow_id, AgentTask.seq).where(AgentTask.status == "open")).all()
            )
        due = datetime.now(UTC).date() + timedelta(days=5)
        promise = ev.PromiseTerms(amount=50_000, due=due)

        async def outcome(wf_id: str) -> float:
            event = ev.AgentOutcome(code="promise_to_pay", task_seq=seqs[wf_id], agent="bench", promise=promise)
            began = time.perf_counter()
            await product.get_workflow_handle(wf_id).execute_update("record_outcome", event, result_type=AccountView)
            return time.perf_counter() - began

        async def touch(wf_id: str) -> float:
            began = time.perf_counter()
            await bare.get_workflow_handle(wf_id).execute_update("touch", 1, result_type=int)
            return time.perf_counter() - began

        async def clients(call: Any, targets: list[str]) -> list[float]:
            queue = list(targets)
            out: list[float] = []

            async def client() -> None:
                while queue:
                    out.append(await call(queue.pop()))

            await asyncio.gather(*(client() for _ in range(args.clients)))
            return out

        half = m // 2
        product_ms: list[float] = []
        bare_ms: list[float] = []
        for part in (slice(0, half), slice(half, m)):
            product_ms += await clients(outcome, ids[part])
            bare_ms += await clients(touch, bare_ids[part])
    finally:
        workers.close()
    return {
        "clients": args.clients,
        "outcome_ms": quantiles([s * 1000 for s in product_ms]),
        "bare_update_ms": quantiles([s * 1000 for s in bare_ms]),
    }


async def phase_history(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    import inspect
    from zoneinfo import ZoneInfo

    from journey import run_journey
    from temporalio.testing import WorkflowEnvironment
    from workers import product_converter, running_worker, test_server_path

    from db.session import make_engine, make_session_factory
    from simulator.scenario import ScenarioDoc, ScriptedResponder, default_account, to_events
    from strategies.compiler import compile_file
    from workflows import search_attributes

    database = fresh_database(None, work)
    sessions = make_session_factory(make_engine(database))
    publishing = "published_in" in inspect.signature(run_journey).parameters
    results: dict[str, Any] = {}
    async with await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=test_server_path(), data_converter=product_converter()
    ) as env:
        await search_attributes.ensure_registered(env.client, "default")
        worker = running_worker(env, sessions, {})
        await anext(worker)
        try:
            for path in sorted((args.code / "strategies").glob("*.yaml")):
                strategy = compile_file(str(path)).strategy
                for name, doc in SCENARIOS.items():
                    now = (await env.get_current_time()).astimezone(ZoneInfo(strategy.timezone))
                    day = now.date() + timedelta(days=7 - now.weekday())  # next Monday
                    start = datetime.combine(
                        day, datetime.min.time().replace(hour=9), tzinfo=ZoneInfo(strategy.timezone)
                    )
                    acct = default_account(strategy, day, {"account_id": f"H-{path.stem}-{len(results)}"})
                    scenario = ScenarioDoc.model_validate(doc)
                    extra = {"published_in": sessions} if publishing else {}
                    run = await run_journey(
                        env,
                        strategy,
                        acct,
                        start,
                        scenario.days,
                        to_events(scenario, acct, start),
                        ScriptedResponder(scenario.calls, scenario.approvals),
                        campaign=f"h{len(results)}",
                        **extra,
                    )
                    history = await run.handle.fetch_history()
                    results[f"{path.stem} / {name}"] = {
                        "bytes": sum(e.ByteSize() for e in history.events),
                        "events": len(history.events),
                        "largest": largest_parts(history.events),
                    }
        finally:
            await worker.aclose()
    return results


def largest_parts(events: list[Any]) -> list[tuple[str, int, int]]:
    """(kind, events, bytes) of the four kinds of event that weigh most; an activity's scheduling
    is told apart by activity type."""
    from temporalio.api.enums.v1 import EventType

    weight: dict[str, list[int]] = {}
    for event in events:
        kind = EventType.Name(event.event_type).removeprefix("EVENT_TYPE_").lower()
        if event.HasField("activity_task_scheduled_event_attributes"):
            kind += ":" + event.activity_task_scheduled_event_attributes.activity_type.name
        entry = weight.setdefault(kind, [0, 0])
        entry[0] += 1
        entry[1] += event.ByteSize()
    ranked = sorted(weight.items(), key=lambda kv: -kv[1][1])[:4]
    return [(kind, count, size) for kind, (count, size) in ranked]


def bare_worker(args: argparse.Namespace) -> None:
    """The bare baseline's worker process: sandboxed, default converter, until SIGTERM."""
    from bare_workflow import BareWorkflow
    from temporalio.client import Client
    from temporalio.worker import Worker

    async def main() -> None:
        client = await Client.connect(args.address)  # bare Temporal
        stopping = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stopping.set)
        async with Worker(
            client,
            task_queue=f"{args.queue}-bare",
            workflows=[BareWorkflow],
            max_cached_workflows=int(os.environ["BENCH_MAX_CACHED"]),
        ):
            await stopping.wait()

    asyncio.run(main())


PHASES = {"memory": phase_memory, "latency": phase_latency, "history": phase_history}


def run_phase(args: argparse.Namespace) -> None:
    """One phase in this process, with `--code` first on sys.path; prints its figures as JSON."""
    code = args.code
    sys.path[:0] = [str(code), str(code / "tests"), str(code / "tests" / "workflows")]
    from domain.zone_rules import use_pinned_zone_rules

    use_pinned_zone_rules()
    import workflows

    assert Path(workflows.__file__).resolve().is_relative_to(code), f"{workflows.__file__} is not from {code}"
    work = Path(tempfile.mkdtemp(prefix=f"bench-{args.phase}-"))
    result = asyncio.run(PHASES[args.phase](args, work))
    print("RESULT " + json.dumps(result))


# ---- the driver: servers, phases per code, the table ----------------------------------------------


def dev_server(work: Path) -> tuple[subprocess.Popen[bytes], str]:
    sys.path[:0] = [str(ROOT / "tests")]
    from live_stack import _port_open, free_port

    from stack import parts

    port = free_port()
    log = work / "temporal.log"
    server = spawn(
        parts.temporal_dev_server(port=port, log=log, env=os.environ, probe=None).argv, ROOT, dict(os.environ), log
    )
    deadline = time.monotonic() + 30
    while not _port_open(port):
        if time.monotonic() > deadline:
            raise TimeoutError("the dev server did not start")
        time.sleep(0.1)
    return server, f"127.0.0.1:{port}"  # worker.py registers the product's search attributes


def child(phase: str, code: Path, address: str, args: argparse.Namespace) -> dict[str, Any]:
    command = [
        sys.executable,
        str(Path(__file__)),
        "--phase",
        phase,
        "--code",
        str(code),
        "--address",
        address,
        "--accounts",
        str(args.accounts),
        "--latency-accounts",
        str(args.latency_accounts),
        "--clients",
        str(args.clients),
    ]
    if args.database:
        command += ["--database", args.database]
    done = subprocess.run(command, cwd=code, capture_output=True, text=True, check=False)
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"phase {phase} on {code} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(lines[-1][len("RESULT ") :])
    return result


def report(results: dict[str, dict[str, Any]]) -> None:
    for label, phases in results.items():
        print(f"\n== {label} code ==")
        if "memory" in phases:
            m = phases["memory"]
            ratio = m["product_kib_per_account"] / m["bare_kib_per_workflow"]
            print(
                f"memory: {m['accounts']} accounts cached (input {m['input_bytes'] / 1024:.1f} KiB each, "
                f"first turns in {m['first_turns_s']:.0f} s): worker RSS {m['product_rss_kib'][0] / 1024:.0f} -> "
                f"{m['product_rss_kib'][1] / 1024:.0f} MiB = {m['product_kib_per_account']:.0f} KiB per account; "
                f"bare sandboxed workflow, same input size: {m['bare_rss_kib'][0] / 1024:.0f} -> "
                f"{m['bare_rss_kib'][1] / 1024:.0f} MiB = {m['bare_kib_per_workflow']:.0f} KiB per workflow; "
                f"ratio {ratio:.2f}x"
            )
        if "latency" in phases:
            lat = phases["latency"]
            o, b = lat["outcome_ms"], lat["bare_update_ms"]
            print(
                f"latency at {lat['clients']} clients: record_outcome p50 {o['p50']:.0f} ms p99 {o['p99']:.0f} ms "
                f"(n={o['n']}); bare update p50 {b['p50']:.0f} ms p99 {b['p99']:.0f} ms (n={b['n']}); "
                f"p99 ratio {o['p99'] / b['p99']:.1f}x"
            )
        if "history" in phases:
            for name, h in phases["history"].items():
                parts = ", ".join(f"{kind} {count}x {size / 1024:.1f} KiB" for kind, count, size in h["largest"])
                print(f"history per account-month, {name}: {h['bytes'] / 1024:.1f} KiB, {h['events']} events ({parts})")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--phase", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--code", type=Path, default=ROOT, help=argparse.SUPPRESS)
    parser.add_argument("--address", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--queue", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--latency-accounts", type=int, default=300)
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--database", default=None, help="PostgreSQL URL (a fresh schema per phase); default SQLite")
    parser.add_argument("--baseline-code", type=Path, default=None)
    parser.add_argument("--phases", default="memory,latency,history")
    args = parser.parse_args()
    if args.phase == "bare-worker":
        bare_worker(args)
        return
    if args.phase is not None:
        run_phase(args)
        return
    work = Path(tempfile.mkdtemp(prefix="bench-worker-"))
    server, address = dev_server(work)
    codes = {"before (baseline)": args.baseline_code.resolve()} if args.baseline_code else {}
    codes["after (this)"] = ROOT
    results: dict[str, dict[str, Any]] = {label: {} for label in codes}
    try:
        for phase in args.phases.split(","):
            for label, code in codes.items():  # before and after back to back, per phase
                results[label][phase] = child(phase, code, address, args)
                print(f"{phase} on {label}: {json.dumps(results[label][phase])}", flush=True)
    finally:
        stop(server)
    print(f"\nmachine: {os.cpu_count()} cores; dev server in memory; database {args.database or 'SQLite'}")
    report(results)


if __name__ == "__main__":
    main()
