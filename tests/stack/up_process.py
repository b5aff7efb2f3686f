"""`collect up` (or bin/run) as a test drives it: a process of its own with a throwaway data folder
and free ports, its output in a file, helpers to wait until it is ready, to read what it wrote in
the data folder, to stop it with a signal, and to tell from /proc whether any process of a group
still runs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from stack.parts import free_port

ROOT = Path(__file__).resolve().parents[2]
READY_WITHIN_S = 150


def environment() -> dict[str, str]:
    """This environment without any COLLECT_* setting (the stack must be local), with the
    virtualenv's bin first on PATH (the `temporal` binary lives there)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("COLLECT_")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


@dataclass
class Up:
    data_dir: Path
    api_port: int = field(default_factory=free_port)
    temporal_port: int = field(default_factory=free_port)
    ui_port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    output_file: Path | None = None

    @property
    def options(self) -> list[str]:
        return [
            "--data-dir",
            str(self.data_dir),
            "--api-port",
            str(self.api_port),
            "--temporal-port",
            str(self.temporal_port),
            "--ui-port",
            str(self.ui_port),
        ]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    def start(self, *extra: str, via_bin_run: bool = False, run: int = 1) -> None:
        command = [str(ROOT / "bin" / "run")] if via_bin_run else [sys.executable, "-m", "cli.main", "up"]
        self.output_file = self.data_dir.parent / f"up-{run}.out"
        with self.output_file.open("wb") as out:
            self.process = subprocess.Popen(
                [*command, *self.options, *extra], cwd=ROOT, env=environment(), stdout=out, stderr=subprocess.STDOUT
            )

    def output(self) -> str:
        assert self.output_file is not None
        return self.output_file.read_text(errors="replace")

    def wait_ready(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + READY_WITHIN_S
        # The banner's last line, not "Ready in": the rest of the banner (campaign, keys, hints)
        # is printed after it, and a test that read it at "Ready in" raced the printing.
        while "Ctrl-C stops everything." not in self.output():
            if self.process.poll() is not None:
                raise AssertionError(f"collect up exited with {self.process.returncode}:\n{self.output()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"collect up was not ready within {READY_WITHIN_S} s:\n{self.output()}")
            time.sleep(0.2)

    def wait_exit(self, timeout: float = 90) -> int:
        assert self.process is not None
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise AssertionError(f"collect up did not exit within {timeout} s:\n{self.output()}") from None

    def interrupt(self, sig: signal.Signals = signal.SIGINT) -> int:
        assert self.process is not None
        self.process.send_signal(sig)
        return self.wait_exit()

    def kill_everything(self) -> None:
        """After a failed test: no process of this stack may outlive it."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
        for pid in self.state().get("processes", {}).values():
            if running_in_group(pid):
                os.killpg(pid, signal.SIGKILL)

    def state(self) -> dict[str, Any]:
        path = self.data_dir / "state.json"
        return json.loads(path.read_text()) if path.exists() else {}

    def keys(self) -> dict[str, Any]:
        keys: dict[str, Any] = json.loads((self.data_dir / "keys.json").read_text())
        return keys

    def api(self, who: str) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, headers={"X-API-Key": self.keys()[who]["key"]}, timeout=30)

    def collect(self, who: str, *args: str) -> subprocess.CompletedProcess[str]:
        """The installed `collect` command, run as `who` (a key in keys.json) against this stack."""
        env = {
            **environment(),
            "COLLECT_API_URL": self.base_url,
            "COLLECT_API_KEY": self.keys()[who]["key"],
            "COLLECT_PROFILE": str(self.data_dir.parent / "profile.json"),
        }
        command = [str(Path(sys.executable).parent / "collect"), *args]
        return subprocess.run(command, env=env, capture_output=True, text=True, timeout=60, check=False)


def running_in_group(pgid: int) -> list[int]:
    """PIDs of the processes of group `pgid` that still run (zombies, already dead, excluded)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        fields = text[text.rindex(")") + 2 :].split()
        if int(fields[2]) == pgid and fields[0] != "Z":
            found.append(int(stat.parent.name))
    return found


def running(pid: int) -> bool:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return text[text.rindex(")") + 2] != "Z"
