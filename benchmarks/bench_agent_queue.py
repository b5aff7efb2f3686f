"""Benchmark: the agents' queue and the supervisors' lists on a large PostgreSQL portfolio, over
HTTP, beside `GET /health` in the same run (issue 10's goals are ratios to it).

    PATH=.venv/bin:$PATH .venv/bin/python benchmarks/bench_agent_queue.py [--accounts 100000] \
        [--database postgresql+psycopg://postgres@127.0.0.1:5432/test] [--seconds 20] [--clients 10,50]

Seeds a throwaway schema with tests/db/portfolio.py (100,000 accounts: about 104,000 tasks of
which 4,000 open, 67,000 outcomes, 300,000 communications...), then runs Temporal's dev server,
one `worker.py` and the API under one uvicorn process, like tests/live_stack.py. Each of
`--clients` threads (keep-alive connections) cycles through the same list of requests, so every
kind is measured under the same load and interleaved with `/health`:

* health: `GET /health`;
* next: `GET /agent/tasks/next` as one of 30 agents of the `calls` queue;
* list: `GET /accounts?campaign_id=...&stage=...` as a supervisor, first page;
* deep: the same campaign's list from a cursor 90% of the way in;
* mine: `GET /accounts` as an agent (their own accounts only);
* account: `GET /accounts/{id}` (facts, live state from Temporal, tasks, timeline);
* timeline: `GET /accounts/{id}/timeline` as a supervisor.

Then claiming: every thread alternates `POST /agent/tasks/next/claim` and `/health` (the claimed
tasks are reopened afterwards). Prints p50 and p99 per kind and p99 over `/health`'s p99; the
load client shares the machine's cores with everything else. Asserts nothing.
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import random
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "tests" / "db")]

from clock import TEST_NOW  # noqa: E402
from live_stack import live_stack  # noqa: E402
from portfolio import seed  # noqa: E402
from sqlalchemy import text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from api.auth import issue_key  # noqa: E402
from api.pagination import encode_cursor  # noqa: E402
from db.migrate import upgrade  # noqa: E402
from db.session import make_engine, normalize_url  # noqa: E402
from services import task_priority  # noqa: E402

Request = tuple[str, str, str, dict[str, str]]  # kind, method, path, headers


def prepare(server: str, accounts: int) -> tuple[str, str, dict[str, str]]:
    """A seeded schema: its URL, its name, and API keys (`supervisor`, `agent0`..`agent29`)."""
    schema = f"bench_queue_{uuid.uuid4().hex[:8]}"
    admin = make_engine(server)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    url = normalize_url(server).update_query_dict({"options": f"-csearch_path={schema}"})
    rendered = url.render_as_string(hide_password=False)
    upgrade(rendered)
    engine = make_engine(url)
    started = time.perf_counter()
    with engine.begin() as connection:
        seed(connection, TEST_NOW, accounts)
    with Session(engine) as session:
        task_priority.rescore_all(session)
        keys = {"supervisor": issue_key(session, "marta", "supervisor").key}
        for n in range(30):
            keys[f"agent{n}"] = issue_key(session, f"agent{n}", "agent", ["calls"]).key
        session.commit()
    with engine.begin() as connection:
        connection.execute(text("ANALYZE"))
    engine.dispose()
    print(f"seeded {accounts:,} accounts in {time.perf_counter() - started:.1f} s (schema {schema})")
    return rendered, schema, keys


def drop(server: str, schema: str) -> None:
    admin = make_engine(server)
    with admin.begin() as connection:
        connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    admin.dispose()


def reads(keys: dict[str, str], accounts: int) -> Callable[[int], list[Request]]:
    supervisor = {"X-API-Key": keys["supervisor"]}

    def cycle(client: int) -> list[Request]:
        agent = {"X-API-Key": keys[f"agent{client % 30}"]}
        account = random.Random(client).randrange(1, accounts)
        deep = encode_cursor(accounts * 9 // 10)
        return [
            ("health", "GET", "/health", {}),
            ("next", "GET", "/agent/tasks/next", agent),
            ("health", "GET", "/health", {}),
            ("list", "GET", "/accounts?campaign_id=bench-a&stage=legal&limit=50", supervisor),
            ("health", "GET", "/health", {}),
            ("deep", "GET", f"/accounts?campaign_id=bench-a&limit=50&cursor={deep}", supervisor),
            ("health", "GET", "/health", {}),
            ("mine", "GET", "/accounts?limit=50", agent),
            ("health", "GET", "/health", {}),
            ("account", "GET", f"/accounts/{account}", supervisor),
            ("health", "GET", "/health", {}),
            ("timeline", "GET", f"/accounts/{account}/timeline", supervisor),
        ]

    return cycle


def claims(keys: dict[str, str]) -> Callable[[int], list[Request]]:
    def cycle(client: int) -> list[Request]:
        agent = {"X-API-Key": keys[f"agent{client % 30}"]}
        return [("health", "GET", "/health", {}), ("claim", "POST", "/agent/tasks/next/claim", agent)]

    return cycle


def load(base: str, clients: int, seconds: float, cycle: Callable[[int], list[Request]]) -> dict[str, list[float]]:
    """`clients` threads repeating their cycle for `seconds`; milliseconds per kind (2xx/204/404)."""
    times: dict[str, list[float]] = defaultdict(list)
    failures: dict[str, int] = defaultdict(int)
    lock = threading.Lock()
    deadline = time.monotonic() + seconds
    host = urlsplit(base)

    def run(client: int) -> None:
        connection = http.client.HTTPConnection(host.hostname, host.port, timeout=60)
        mine: dict[str, list[float]] = defaultdict(list)
        for kind, method, path, headers in itertools.cycle(cycle(client)):
            if time.monotonic() > deadline:
                break
            started = time.perf_counter()
            connection.request(method, path, headers=headers)
            response = connection.getresponse()
            response.read()
            elapsed = (time.perf_counter() - started) * 1000
            if response.status >= 500 or response.status in (401, 403):
                with lock:
                    failures[f"{kind} {response.status}"] += 1
            mine[kind].append(elapsed)
        connection.close()
        with lock:
            for kind, values in mine.items():
                times[kind].extend(values)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        print(f"  failures: {dict(failures)}")
    return times


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def report(clients: int, seconds: float, times: dict[str, list[float]]) -> None:
    health = percentile(times["health"], 0.99)
    for kind, values in times.items():
        print(
            f"  {clients:>3} clients  {kind:<9} n={len(values):>6}  {len(values) / seconds:7.1f} req/s  "
            f"p50 {statistics.median(values):8.1f} ms  p99 {percentile(values, 0.99):8.1f} ms  "
            f"p99/health p99 {percentile(values, 0.99) / health:5.2f}"
        )


def reopen(url: str) -> None:
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(
            text(
                # The portfolio's own claimed tasks have no claim time; the benchmark's do.
                "UPDATE agent_tasks SET status = 'open', assigned_agent = NULL, claimed_at = NULL "
                "WHERE status = 'claimed' AND claimed_at IS NOT NULL"
            )
        )
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--database", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--clients", default="10,50")
    args = parser.parse_args()
    url, schema, keys = prepare(args.database, args.accounts)
    try:
        with tempfile.TemporaryDirectory() as workdir, live_stack(url, Path(workdir)) as stack:
            load(stack.base_url, 4, 3, reads(keys, args.accounts))  # warm-up: connections, plans
            for clients in (int(c) for c in args.clients.split(",")):
                print(f"reads, {clients} clients, {args.seconds:.0f} s")
                report(clients, args.seconds, load(stack.base_url, clients, args.seconds, reads(keys, args.accounts)))
            for clients in (int(c) for c in args.clients.split(",")):
                print(f"claim the next task, {clients} clients, {args.seconds:.0f} s")
                report(clients, args.seconds, load(stack.base_url, clients, args.seconds, claims(keys)))
                reopen(url)
    finally:
        drop(args.database, schema)


if __name__ == "__main__":
    main()
