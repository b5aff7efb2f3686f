"""The suite's clock: no test depends on the day it runs.

Every test runs on one fixed day, `TEST_TODAY`: 2026-11-30 (the day a journey first met a
different calendar than the one it was written on), or the day `COLLECT_TEST_TODAY=YYYY-MM-DD`
names, so the suite can be checked on holidays, DST changes and month and year ends
(tests/test_clock.py runs the calendar-sensitive tests on several such days). Each clock a test
or the code under test reads starts there:

- the time-skipping Temporal server is started under libfaketime at `TEST_NOW` (noon UTC of that
  day, the same date in every zone the strategies use), so `workflow.now()` and every skip of
  virtual time begin on the fixed day; it then runs on like a real clock;
- workers' activities and the API ask that server for the time (`server_clock`), never the machine;
- tests compute their starts from `TEST_TODAY` or from the server's time, never from the machine's.

tests/test_no_real_clock.py keeps reads of the machine's clock out of tests/.
"""

from __future__ import annotations

import asyncio
import logging
import os
import stat
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import libfaketime
from temporalio.api.testservice.v1 import SleepRequest
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

TODAY_ENV = "COLLECT_TEST_TODAY"
DEFAULT_TODAY = date(2026, 11, 30)


def suite_today() -> date:
    raw = os.environ.get(TODAY_ENV, "").strip()
    if not raw:
        return DEFAULT_TODAY
    try:
        return date.fromisoformat(raw)
    except ValueError as exc:
        raise ValueError(f"{TODAY_ENV}={raw!r} is not a date (YYYY-MM-DD)") from exc


TEST_TODAY = suite_today()
TEST_NOW = datetime.combine(TEST_TODAY, time(12, 0), tzinfo=UTC)


def faketime_library() -> Path:
    path = Path(libfaketime.__file__).parent / "vendor" / "libfaketime" / "src" / "libfaketime.so.1"
    assert path.is_file(), f"libfaketime's library is missing at {path}: reinstall the libfaketime package"
    return path


def pinned_server(real: str, folder: Path, start: datetime = TEST_NOW) -> str:
    """A launcher for the test server `real` whose clock starts at `start`: a script the SDK runs
    in its place, preloading libfaketime (the server is a native image calling the C library's
    clock). Monotonic clocks are shifted too: with them left real, the server's timed waits
    (heartbeat and task timeouts) never fired and a stopped worker's activity was never retried."""
    script = folder / f"temporal-test-server-at-{start:%Y%m%dT%H%M%S}"
    script.write_text(
        "#!/bin/sh\n"
        f"export LD_PRELOAD='{faketime_library()}'\n"
        f"export FAKETIME='@{start.astimezone(UTC):%Y-%m-%d %H:%M:%S}'\n"
        f"exec '{real}' \"$@\"\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return str(script)


def server_clock(env: WorkflowEnvironment) -> Callable[[], datetime]:
    """The test server's time for code running in worker threads (activities), which must not
    read the machine's clock. Call it only off the event loop's thread."""
    loop = asyncio.get_running_loop()

    def now() -> datetime:
        return asyncio.run_coroutine_threadsafe(env.get_current_time(), loop).result(timeout=60)

    return now


def async_server_clock(env: WorkflowEnvironment) -> Callable[[], Awaitable[datetime]]:
    """The test server's time for code on the event loop (the API under test)."""
    return env.get_current_time


# A skip of virtual time (to the next timer or event) answers well within a second here. Now and
# then the time-skipping server loses a skip request and never answers it: the suite sat idle
# for 15 minutes, the server's clock creeping in real time past a timer that never fired, while
# a fresh request moved it at once. Some server processes lose one skip in three. The SDK's
# env.sleep has no deadline and cannot be cancelled, so skips go through `skip_to`, which gives
# each request a deadline and asks again for what is left (safe: it reads the clock first).
SKIP_DEADLINE = timedelta(seconds=5)
SKIP_ATTEMPTS = 10


async def skip_to(env: WorkflowEnvironment, moment: datetime) -> None:
    """Skip the test server's virtual time to `moment` (no-op when it is already there)."""
    stalled = 0
    while stalled < SKIP_ATTEMPTS:
        now = await env.get_current_time()
        if now >= moment:
            return
        request = SleepRequest()
        request.duration.FromTimedelta(moment - now)
        try:
            await env.client.test_service.unlock_time_skipping_with_sleep(request, timeout=SKIP_DEADLINE)
        except RPCError as exc:
            # Lost, or dropped ("h2 protocol error"), or slow (many timers firing on a loaded
            # machine): ask again for what is left. A request counts as stalled unless it moved
            # the clock further than real time did (a locked server's clock runs in real time).
            logging.getLogger(__name__).warning("skip to %s not answered (%s); asking again", moment, exc)
            stalled += await env.get_current_time() - now <= SKIP_DEADLINE
            continue
        return
    raise AssertionError(f"the test server never skipped to {moment}")


async def skip(env: WorkflowEnvironment, duration: timedelta) -> None:
    """Skip `duration` of virtual time (the bounded replacement of env.sleep)."""
    await skip_to(env, await env.get_current_time() + duration)
