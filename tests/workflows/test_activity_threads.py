"""Thread activities are never interrupted mid-write.

By default the SDK cancels a thread activity by raising `CancelledError` inside its thread, at
whatever bytecode it is running: when a worker stops (a deploy, a crash drill, a test leaving its
worker) an activity could be interrupted inside a database driver call. That left a PostgreSQL
connection in pipeline mode holding its transaction's locks, which then blocked every later
writer of those rows (seen in CI: a teardown's DROP SCHEMA waited out the 300 s timeout). Our
thread activities are short, one transaction each: they run to completion, and the workflow
decides what their result means."""

from __future__ import annotations

import inspect

from clock import TEST_NOW
from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity
from workers import secret_box

from activities import build_activities


def test_every_thread_activity_runs_to_completion() -> None:
    sessions: sessionmaker[Session] = sessionmaker()  # never used: only the definitions are read
    threaded = []
    for function in build_activities(sessions, {}, clock=lambda: TEST_NOW, secrets=secret_box()):
        definition = activity._Definition.from_callable(function)
        assert definition is not None, function
        if inspect.iscoroutinefunction(function):
            continue  # cancelled at an await: their database work runs in threads that finish
        threaded.append(definition.name)
        assert definition.no_thread_cancel_exception, (
            f"{definition.name} runs in a thread and can be interrupted mid-write: "
            "declare it with @activity.defn(..., no_thread_cancel_exception=True)"
        )
    assert "record_turn" in threaded  # the check saw the thread activities
