"""Child processes run as one stack: each part in its own process group (so a terminal's Ctrl-C
reaches the supervisor alone, which then stops the parts in order), its output appended to its own
log; `start` returns once every part answers; a part that exits is reported with the last lines of
its log; `stop` ends the parts last-started first: SIGTERM to the part's whole group, a grace
period, then SIGKILL to whatever of the group is left, so no process stays behind.

A part's process is reaped only after its group has been signalled: until then its PID (which is
also its group's id) cannot be given to another process, so a late SIGKILL never hits a stranger.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

TAIL_LINES = 20
POLL_S = 0.1
_PR_SET_PDEATHSIG = 1


@dataclass(frozen=True)
class Part:
    """One process of the stack and how to tell it answers."""

    name: str  # names its log and the messages about it: "temporal", "worker", "api"
    title: str  # for people: "Temporal's dev server"
    argv: Sequence[str]
    log: Path
    env: Mapping[str, str]
    # Given the part's PID: True once it answers (a port, a health check, a poller); must not raise.
    ready: Callable[[int], bool]
    cwd: Path | None = None
    ready_within_s: float = 60.0
    stop_within_s: float = 10.0  # SIGTERM, then this long, then SIGKILL


class PartFailed(RuntimeError):
    """A part exited, or never answered; the message carries the end of its log."""

    def __init__(self, part: Part, what: str, tail: list[str]) -> None:
        self.part = part
        self.what = what
        self.tail = tail
        lines = "\n".join(f"  {line}" for line in tail) or "  (nothing)"
        super().__init__(f"{part.title} ({part.name}) {what}. The last lines of {part.log}:\n{lines}")


@dataclass
class _Child:
    part: Part
    process: subprocess.Popen[bytes]
    log_offset: int  # where this run's output starts in the (appended) log
    reaped: bool = field(default=False)

    @property
    def pid(self) -> int:
        return self.process.pid

    def exit_code(self) -> int | None:
        """The exit status once the process has ended, without reaping it (see the module's note)."""
        if self.process.returncode is not None:
            return self.process.returncode
        try:
            info = os.waitid(os.P_PID, self.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            return self.process.poll()
        if info is None:
            return None
        return -info.si_status if info.si_code in (os.CLD_KILLED, os.CLD_DUMPED) else info.si_status

    def tail(self, lines: int = TAIL_LINES) -> list[str]:
        try:
            with self.part.log.open("rb") as log:
                log.seek(self.log_offset)
                text = log.read().decode("utf-8", "replace")
        except OSError:
            return []
        return text.splitlines()[-lines:]


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """Linux: the child gets SIGTERM if the supervisor dies without stopping it (SIGKILL, a crash)."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def _signal_group(pid: int, sig: signal.Signals) -> None:
    # The group is empty (PermissionError: macOS answers so for a zombie leader's group).
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


def group_alive(pgid: int) -> bool:
    """Whether a process of the group `pgid` still runs. Zombies do not count: they are dead and
    only wait for their parent (for a part's orphaned children, init) to collect their status."""
    proc = Path("/proc")
    if not proc.is_dir():  # not Linux: ask the kernel, zombies included
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return False
        return True
    for stat in proc.glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue  # ended while we looked
        state, _ppid, group = text[text.rindex(")") + 2 :].split()[:3]  # after "pid (command) "
        if int(group) == pgid and state != "Z":
            return True
    return False


class Supervisor:
    """Starts parts, waits until they answer, watches them, stops them. A context manager: leaving
    the block stops every part, whatever happened inside it."""

    def __init__(self) -> None:
        self._children: list[_Child] = []
        self._hurry = False

    def __enter__(self) -> Supervisor:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def pids(self) -> dict[str, int]:
        return {child.part.name: child.pid for child in self._children}

    def start(self, *parts: Part) -> None:
        """Start `parts` together and return once each answers; PartFailed if one exits first or
        does not answer in time (the parts already running keep running: stop() ends them)."""
        started = [self._spawn(part) for part in parts]
        waiting = list(started)
        began = time.monotonic()
        while waiting:
            for child in list(waiting):
                code = child.exit_code()
                if code is not None:
                    raise PartFailed(child.part, f"exited with code {code} before it answered", child.tail())
                if child.part.ready(child.pid):
                    waiting.remove(child)
                elif time.monotonic() - began > child.part.ready_within_s:
                    raise PartFailed(
                        child.part, f"did not answer within {child.part.ready_within_s:.0f} s", child.tail()
                    )
            if waiting:
                time.sleep(POLL_S)

    def _spawn(self, part: Part) -> _Child:
        part.log.parent.mkdir(parents=True, exist_ok=True)
        with part.log.open("ab") as log:
            offset = log.tell()  # no banner: a log of JSON lines stays one JSON object per line
            process = subprocess.Popen(
                list(part.argv),
                env=dict(part.env),
                cwd=part.cwd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: signals reach the part and its children only
                # Runs between fork and exec, which is safe here: the supervisor starts parts from
                # its main thread, before any other thread exists.
                preexec_fn=_die_with_parent if sys.platform == "linux" else None,
            )
        child = _Child(part, process, offset)
        self._children.append(child)
        return child

    def check(self) -> None:
        """PartFailed naming the first part that has exited, if any."""
        for child in self._children:
            code = child.exit_code()
            if code is not None:
                raise PartFailed(child.part, f"exited with code {code}", child.tail())

    def watch(self) -> None:
        """Block while every part runs; PartFailed names the first that exits. Return by raising
        from a signal handler (the caller's), then call stop()."""
        while True:
            self.check()
            time.sleep(POLL_S * 2)

    def hurry(self) -> None:
        """Skip the rest of the grace periods: the stop in progress kills what is left at once."""
        self._hurry = True

    def stop(self) -> None:
        """Stop every part, the last started first; each gets SIGTERM, its grace period, then SIGKILL."""
        for child in reversed(self._children):
            if child.reaped:
                continue
            if child.exit_code() is None:
                _signal_group(child.pid, signal.SIGTERM)
                deadline = time.monotonic() + child.part.stop_within_s
                while child.exit_code() is None and time.monotonic() < deadline and not self._hurry:
                    time.sleep(0.05)
            _signal_group(child.pid, signal.SIGKILL)  # the leader if it is still there, and any stragglers
            deadline = time.monotonic() + 2  # SIGKILL cannot be refused; it takes the kernel a moment
            while group_alive(child.pid) and time.monotonic() < deadline:
                time.sleep(0.01)
            child.process.wait()
            child.reaped = True
