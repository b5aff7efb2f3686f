"""Benchmark: a campaign as deployed, over HTTP. Imports N Chilean accounts (CSV) into a campaign
of the shipped Chilean strategy, launches it, and times the import, the launch (workflows
started per second) and the first turn of every account (read-model rows written per second).

    PATH=.venv/bin:$PATH .venv/bin/python benchmarks/bench_launch.py [--accounts 2000] [--database URL]

Runs Temporal's dev server (in memory), one `worker.py` and the API under uvicorn as separate
processes on this machine, like tests/live_stack.py. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import resource
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from live_stack import live_stack  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from api.auth import issue_key  # noqa: E402
from db.migrate import upgrade  # noqa: E402
from db.models import AccountState  # noqa: E402
from db.session import make_engine, make_session_factory  # noqa: E402


def request(method: str, url: str, key: str, body: bytes | None = None, content_type: str = "application/json") -> dict:
    req = urllib.request.Request(
        url, data=body, method=method, headers={"X-API-Key": key, "Content-Type": content_type}
    )
    with urllib.request.urlopen(req, timeout=600) as response:
        return json.loads(response.read())


def accounts_csv(n: int) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        ["account_id", "debtor_name", "country", "currency", "balance", "due_date", "email", "phone", "consent"]
    )
    for i in range(n):
        writer.writerow(
            [
                f"B-{i:06d}",
                f"Deudor {i}",
                "CL",
                "CLP",
                150000 + i,
                "2026-10-15",
                f"d{i}@example.cl",
                f"9 8{i:07d}",
                "si",
            ]
        )
    return out.getvalue().encode()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=2000)
    parser.add_argument("--database", default=None, help="default: a SQLite file in a temporary directory")
    parser.add_argument("--batch-size", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=20)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-launch-"))
    url = args.database or f"sqlite:///{work / 'collect.db'}"
    upgrade(url)
    sessions = make_session_factory(make_engine(url))
    with sessions() as session:
        key = issue_key(session, "bench", "admin").key
        session.commit()

    with live_stack(url, work) as stack:
        api = stack.base_url
        strategy = (ROOT / "strategies" / "cl-consumer.yaml").read_bytes()
        published = request("POST", f"{api}/strategies", key, strategy, "application/yaml")
        campaign = {"id": "bench", "name": "bench", "strategy_hash": published["hash"], "creditor_name": "Bench"}
        request("POST", f"{api}/campaigns", key, json.dumps(campaign).encode())

        body = accounts_csv(args.accounts)
        started = time.perf_counter()
        report = request("POST", f"{api}/campaigns/bench/accounts", key, body, "text/csv")
        imported = time.perf_counter() - started
        assert report["accepted"] == args.accounts, report["rejected"][:3]

        started = time.perf_counter()
        launch = {"batch_size": args.batch_size, "concurrency": args.concurrency}
        request("POST", f"{api}/campaigns/bench/launch", key, json.dumps(launch).encode())
        launched_at = None
        while True:
            progress = request("GET", f"{api}/campaigns/bench", key)["launch"]
            if progress["status"] == "done" and launched_at is None:
                launched_at = time.perf_counter() - started
            with sessions() as session:
                projected = session.scalar(select(func.count()).select_from(AccountState)) or 0
            if launched_at is not None and projected >= args.accounts:
                break
            time.sleep(0.25)
        first_turns = time.perf_counter() - started

        worker_rss = subprocess.run(
            ["ps", "-o", "rss=", "-C", "python"], capture_output=True, text=True, check=False
        ).stdout.split()

    n = args.accounts
    print(f"accounts: {n}  database: {url.split(':')[0]}  batch {args.batch_size}  concurrency {args.concurrency}")
    print(f"import (HTTP, CSV, {len(body) / 1024:.0f} KiB): {imported:.2f} s  ({n / imported:,.0f} rows/s)")
    print(f"launch, every workflow started: {launched_at:.2f} s  ({n / launched_at:,.0f} workflows/s)")
    print(f"every account's first turn in the read model: {first_turns:.2f} s  ({n / first_turns:,.0f} accounts/s)")
    print(
        f"peak RSS of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB; "
        f"python processes' RSS at the end (KiB): {' '.join(worker_rss)}"
    )


if __name__ == "__main__":
    main()
