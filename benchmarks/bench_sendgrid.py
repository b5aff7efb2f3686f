"""Benchmark: one signed SendGrid Event Webhook batch of 50,000 events, over HTTP, beside the
app's `/health` round trip as a baseline.

    PATH=.venv/bin:$PATH .venv/bin/python benchmarks/bench_sendgrid.py [--events 50000] [--accounts 100] \
        [--database URL]

Runs Temporal's dev server, one `worker.py` and the API under uvicorn as separate processes, like
tests/live_stack.py. Two batches are timed:

* unknown: events for messages that are not ours (no matching `collect_key`): the database path
  alone (claims, stored events);
* ours: events spread over the emails the workflows of `--accounts` launched accounts (the
  shipped Chilean strategy) have sent: each `delivered`/`open`/`click` also signals the account's
  workflow, so this adds one Temporal signal per event.

Prints figures; asserts nothing. Issue 9 measured the first batch at over 120 s before the bulk
rewrite (one query per event).
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "tests" / "api")]

from bench_launch import accounts_csv, request  # noqa: E402
from live_stack import live_stack  # noqa: E402
from signing import SendGridKey, sendgrid_body  # noqa: E402
from sqlalchemy import select  # noqa: E402
from sqlalchemy.orm import Session, sessionmaker  # noqa: E402

from api.auth import issue_key  # noqa: E402
from db.migrate import upgrade  # noqa: E402
from db.models import Communication  # noqa: E402
from db.session import make_engine, make_session_factory  # noqa: E402

STAMP = 1_764_000_000  # the events' own time (2025-11-24), irrelevant to the timing


def health_ms(base: str, n: int = 200) -> tuple[float, float]:
    """Median and 95th percentile of GET /health, in milliseconds."""
    times = []
    for _ in range(n):
        started = time.perf_counter()
        with urllib.request.urlopen(f"{base}/health", timeout=10) as response:
            response.read()
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95)]


def post_batch(base: str, key: SendGridKey, events: list[dict[str, object]]) -> tuple[float, dict[str, int]]:
    body = sendgrid_body(events)
    req = urllib.request.Request(
        f"{base}/webhooks/sendgrid/events", data=body, method="POST", headers=key.headers(body)
    )
    started = time.perf_counter()
    with urllib.request.urlopen(req, timeout=1200) as response:
        answer = json.loads(response.read())
    return time.perf_counter() - started, answer


def launched_emails(api: str, admin: str, accounts: int, sessions: sessionmaker[Session]) -> list[str]:
    """Launch `accounts` accounts of the shipped Chilean strategy (its first step sends an email)
    and return the keys of the emails sent within two minutes."""
    strategy = (ROOT / "strategies" / "cl-consumer.yaml").read_bytes()
    published = request("POST", f"{api}/strategies", admin, strategy, "application/yaml")
    campaign = {"id": "bench", "name": "bench", "strategy_hash": published["hash"], "creditor_name": "Bench"}
    request("POST", f"{api}/campaigns", admin, json.dumps(campaign).encode())
    request("POST", f"{api}/campaigns/bench/accounts", admin, accounts_csv(accounts), "text/csv")
    request("POST", f"{api}/campaigns/bench/launch", admin, json.dumps({}).encode())
    deadline = time.monotonic() + 120
    keys: list[str] = []
    while time.monotonic() < deadline and len(keys) < accounts:
        with sessions() as session:
            keys = list(session.scalars(select(Communication.key).where(Communication.channel == "email")))
        time.sleep(0.5)
    return keys


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--accounts", type=int, default=100)
    parser.add_argument("--database", default=None, help="default: a SQLite file in a temporary directory")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-sendgrid-"))
    url = args.database or f"sqlite:///{work / 'collect.db'}"
    upgrade(url)
    sessions = make_session_factory(make_engine(url))
    with sessions() as session:
        admin = issue_key(session, "bench", "admin").key
        session.commit()
    key = SendGridKey.generate()
    env = {"COLLECT_SENDGRID_WEBHOOK_PUBLIC_KEY": key.public_b64}

    with live_stack(url, work, env) as stack:
        api = stack.base_url
        health_p50, health_p95 = health_ms(api)

        unknown = [
            {"sg_event_id": f"u-{n}", "event": "delivered", "email": f"x{n}@example.cl", "timestamp": STAMP}
            for n in range(args.events)
        ]
        unknown_s, unknown_answer = post_batch(api, key, unknown)

        keys = launched_emails(api, admin, args.accounts, sessions) if args.accounts > 0 else []
        kinds = itertools.cycle(["processed", "delivered", "open", "click", "open"])
        ours: list[dict[str, object]] = [
            {"sg_event_id": f"o-{n}", "event": next(kinds), "collect_key": keys[n % len(keys)], "timestamp": STAMP}
            for n in range(args.events if keys else 0)
        ]
        ours_s, ours_answer = post_batch(api, key, ours) if ours else (0.0, {})

    print(f"database: {url.split(':')[0]}   events per batch: {args.events:,}")
    print(f"GET /health: p50 {health_p50:.1f} ms, p95 {health_p95:.1f} ms")
    print(f"batch of unknown messages: {unknown_s:.2f} s  ({args.events / unknown_s:,.0f} events/s)  {unknown_answer}")
    if ours:
        print(
            f"batch over {len(keys)} of our emails: {ours_s:.2f} s  ({args.events / ours_s:,.0f} events/s, "
            f"{ours_answer.get('signalled', 0):,} signals)  {ours_answer}"
        )
    else:
        print("no email was sent within 120 s of the launch: the second batch was not run")


if __name__ == "__main__":
    main()
