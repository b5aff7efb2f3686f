"""Timeouts and retry policies of every activity the debtor workflow runs, in one place.

Channel sends retry throttling, server and network errors with backoff; a permanent provider
error comes back as a `failed` result (not an exception), so the workflow can follow the
strategy's failure route. Database activities retry quickly: they are idempotent by key.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio.common import RetryPolicy

# Errors no retry can fix: a payload the activity refuses. Raised as ApplicationError(type=...).
BAD_INPUT = "BadActivityInput"


def send(timeout_s: int) -> dict[str, Any]:
    return {"start_to_close_timeout": timedelta(seconds=timeout_s), "retry_policy": SEND_RETRY}


SEND_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=5),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=10),
    non_retryable_error_types=[BAD_INPUT],
)

DATABASE: dict[str, Any] = {
    "start_to_close_timeout": timedelta(seconds=30),
    "retry_policy": RetryPolicy(
        initial_interval=timedelta(seconds=1),
        backoff_coefficient=2.0,
        maximum_interval=timedelta(minutes=1),
        non_retryable_error_types=[BAD_INPUT],
    ),
}
