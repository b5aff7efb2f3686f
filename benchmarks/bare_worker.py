"""A worker for the bare baselines (benchmarks/bare_workflows.py), with the product worker's
settings: the same sandbox runner, activity thread pool, workflow cache size and data converter
kind. Its one activity writes a row in `bench_bare` (created here) in one transaction, as each of
the product's first-turn activities writes its rows in one.

    python benchmarks/bare_worker.py --queue Q   (COLLECT_* settings as for worker.py)
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

from sqlalchemy import text  # noqa: E402
from temporalio import activity  # noqa: E402
from temporalio.client import Client  # noqa: E402
from temporalio.worker import Worker  # noqa: E402

from config import get_settings  # noqa: E402
from db.session import make_engine, make_session_factory, session_scope  # noqa: E402
from workflows.sandbox import CompiledOnceFinder, workflow_runner  # noqa: E402

TABLE = (
    "CREATE TABLE IF NOT EXISTS bench_bare "
    "(kind varchar(16) NOT NULL, key varchar(200) NOT NULL, PRIMARY KEY (kind, key))"
)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--queue", required=True)
    args = parser.parse_args()
    settings = get_settings()
    sessions = make_session_factory(make_engine(settings.database_url))
    with session_scope(sessions) as session:
        session.execute(text(TABLE))

    @activity.defn(name="bare_write")
    def bare_write(kind: str, key: str) -> None:
        with session_scope(sessions) as session:
            session.execute(
                text("INSERT INTO bench_bare (kind, key) VALUES (:kind, :key) ON CONFLICT DO NOTHING"),
                {"kind": kind, "key": key},
            )

    sys.meta_path.insert(0, CompiledOnceFinder(["bare_workflows"]))  # as the product's worker does for its own
    from bare_workflows import BareTurn

    client = await Client.connect(settings.temporal_address, namespace=settings.temporal_namespace)  # bare Temporal
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    with ThreadPoolExecutor(max_workers=16) as executor:
        worker = Worker(
            client,
            task_queue=args.queue,
            workflows=[BareTurn],
            activities=[bare_write],
            activity_executor=executor,
            workflow_runner=workflow_runner(),
            max_cached_workflows=settings.worker_max_cached_workflows,
        )
        async with worker:
            print("ready", flush=True)
            await stop.wait()


if __name__ == "__main__":
    asyncio.run(main())
