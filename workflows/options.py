"""Timeouts and retry policies of every activity the debtor workflow runs, in one place.

Channel sends retry throttling, server and network errors with backoff; a permanent provider
error comes back as a `failed` result (not an exception), so the workflow can follow the
strategy's failure route. Database activities retry quickly: they are idempotent by key.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio.common import RetryPolicy

SEND_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=5),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=10),
)


def send(timeout_s: int) -> dict[str, Any]:
    """Options of one send; `timeout_s` is how long before a send on a dead worker is retried."""
    return {"start_to_close_timeout": timedelta(seconds=timeout_s), "retry_policy": SEND_RETRY}


# Reading the installed holiday calendar: local, pure and quick; retried like any activity.
LOCAL: dict[str, Any] = {"start_to_close_timeout": timedelta(seconds=30)}

DATABASE_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=1),
)

DATABASE: dict[str, Any] = {"start_to_close_timeout": timedelta(seconds=30), "retry_policy": DATABASE_RETRY}

# The database write an update's answer waits for (`record_update`): local, so the answer costs
# no round trip through the server; retried like any database activity (never given up, so an
# update is never refused after its event was applied).
LOCAL_DATABASE: dict[str, Any] = {"start_to_close_timeout": timedelta(seconds=30), "retry_policy": DATABASE_RETRY}

# Webhooks to the creditor's systems (`notify`): a short timeout per attempt, then retries with
# backoff for about an hour and a half (10 s, 30 s, 90 s, ... capped at 30 min, 8 attempts); the
# last attempt records the failure instead of raising, so the account goes on either way.
NOTIFY_ATTEMPTS = 8
NOTIFY_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=10),
    backoff_coefficient=3.0,
    maximum_interval=timedelta(minutes=30),
    maximum_attempts=NOTIFY_ATTEMPTS,
)
NOTIFY: dict[str, Any] = {"start_to_close_timeout": timedelta(seconds=30), "retry_policy": NOTIFY_RETRY}
