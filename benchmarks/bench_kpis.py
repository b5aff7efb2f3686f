"""Benchmark: the campaign KPI endpoints over a seeded portfolio, in process, beside `GET /health`.

    PATH=.venv/bin:$PATH .venv/bin/python benchmarks/bench_kpis.py [--accounts 50000] \
        [--database postgresql+psycopg://postgres@127.0.0.1:5432/test] [--schema bench_kpis] [--reuse] \
        [--clients 1,10] [--rounds 5]

Seeds a portfolio (benchmarks/seed_portfolio.py) into its own PostgreSQL schema (`--reuse` keeps
one already seeded there), then runs the app in this process (httpx over ASGI, no network) with
`--clients` concurrent clients. Each client repeats `--rounds` times: the campaign's KPIs, /health,
the per-agent KPIs, /health, so the baseline is measured in the same run, interleaved. Prints
latency percentiles and throughput per endpoint; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

import httpx  # noqa: E402
from seed_portfolio import seed  # noqa: E402
from sqlalchemy import text  # noqa: E402

from api.app import create_app  # noqa: E402
from api.auth import issue_key  # noqa: E402
from config import Settings  # noqa: E402
from db.migrate import upgrade  # noqa: E402
from db.session import make_engine, make_session_factory, normalize_url  # noqa: E402

CAMPAIGN = "portfolio"


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


async def clock() -> datetime:
    return datetime.now(UTC)


async def run(http: httpx.AsyncClient, key: str, clients: int, rounds: int) -> dict[str, list[float]]:
    paths = {
        "kpis": f"/kpis/campaigns/{CAMPAIGN}",
        "health": "/health",
        "agents": f"/kpis/campaigns/{CAMPAIGN}/agents",
    }
    times: dict[str, list[float]] = defaultdict(list)

    async def client() -> None:
        for _ in range(rounds):
            for name in ("kpis", "health", "agents", "health"):
                started = time.perf_counter()
                response = await http.get(paths[name], headers={"X-API-Key": key})
                times[name].append((time.perf_counter() - started) * 1000)
                assert response.status_code == 200, response.text

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    times["_wall"] = [(time.perf_counter() - started) * 1000]
    return times


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=50_000)
    parser.add_argument("--database", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--schema", default="bench_kpis")
    parser.add_argument("--reuse", action="store_true", help="keep the portfolio already seeded in --schema")
    parser.add_argument("--clients", default="1,10")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    admin = make_engine(args.database)
    url = normalize_url(args.database).update_query_dict({"options": f"-csearch_path={args.schema}"})
    if not args.reuse:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{args.schema}" CASCADE'))
            connection.execute(text(f'CREATE SCHEMA "{args.schema}"'))
    admin.dispose()
    rendered = url.render_as_string(hide_password=False)
    upgrade(rendered)
    engine = make_engine(rendered)
    if not args.reuse:
        seeded = seed(engine, accounts=args.accounts, campaign_id=CAMPAIGN)
        print(f"seeded {args.accounts:,} accounts: {seeded.summary()}")
    sessions = make_session_factory(engine)
    with sessions() as session:
        key = issue_key(session, "bench", "supervisor").key
        session.commit()
    settings = Settings(database_url=rendered, channel_costs={"sms": 8, "whatsapp": 5, "email": 0, "letter": 900})
    app = create_app(settings, sessions=sessions, clock=clock)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench", timeout=600) as http:
        await run(http, key, 1, 1)  # warm-up: imports, first connections, plan caches
        for clients in (int(c) for c in args.clients.split(",")):
            times = await run(http, key, clients, args.rounds)
            wall = times.pop("_wall")[0]
            print(f"\n{clients} client(s), {args.rounds} rounds each, wall {wall / 1000:.1f} s")
            for name, values in times.items():
                print(
                    f"  {name:7s} n={len(values):4d}  p50 {statistics.median(values):8.1f} ms  "
                    f"p99 {percentile(values, 0.99):8.1f} ms  max {max(values):8.1f} ms  "
                    f"{len(values) / (wall / 1000):7.2f} req/s"
                )
    engine.dispose()


if __name__ == "__main__":
    asyncio.run(main())
