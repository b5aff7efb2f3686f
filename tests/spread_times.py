"""Expected times in journeys whose contacts the policy moved to a window's opening: such a contact
lands the account's spread later (domain.policy.spread_moved), and so does every wait counted
from it, until the next anchor that is not (a due date, a promise, a time of day)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from domain.policy import spread_offset
from domain.strategy import CompiledStrategy

LOCAL_MINUTE = "%a %Y-%m-%d %H:%M"


def spread_of(strategy: CompiledStrategy, account_id: str) -> timedelta:
    """How far after a window's opening this account's moved contacts land (the window being
    longer than the spread, as every shipped preset's is)."""
    return timedelta(seconds=spread_offset(account_id, strategy.policy.spread_s or 0))


def shifted(text: str, by: timedelta, fmt: str = LOCAL_MINUTE) -> str:
    """A local time written as `fmt` (the tests' timeline format), `by` later, written the same way:
    wall-clock arithmetic (UTC stands for the wall), right while no clock change falls in `by`."""
    return (datetime.strptime(text, fmt).replace(tzinfo=UTC) + by).strftime(fmt)
