"""A plan's installment dates: the month arithmetic, and a plan that runs off the calendar refused
with a reason a person understands (not a bare "unreachable")."""

from __future__ import annotations

from datetime import date

import pytest

from domain.errors import EventRejected
from domain.interpreter import add_period


@pytest.mark.parametrize(
    ("day", "frequency", "n", "expected"),
    [
        (date(2026, 1, 31), "monthly", 1, date(2026, 2, 28)),
        (date(2028, 1, 31), "monthly", 1, date(2028, 2, 29)),
        (date(2026, 1, 31), "monthly", 3, date(2026, 4, 30)),
        (date(2026, 11, 30), "monthly", 2, date(2027, 1, 30)),
        (date(2026, 12, 1), "weekly", 2, date(2026, 12, 15)),
        (date(2026, 12, 1), "biweekly", 2, date(2026, 12, 29)),
    ],
)
def test_periods(day: date, frequency: str, n: int, expected: date) -> None:
    assert add_period(day, frequency, n) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize("frequency", ["weekly", "biweekly", "monthly"])
@pytest.mark.parametrize("day", [date(9999, 12, 1), date(9999, 12, 31), date(9990, 1, 1)])
def test_a_plan_beyond_the_calendar_is_refused_with_the_limit_named(day: date, frequency: str) -> None:
    with pytest.raises(EventRejected) as caught:
        add_period(day, frequency, 1000)  # type: ignore[arg-type]
    message = str(caught.value)
    assert "9999-12-31" in message
    assert day.isoformat() in message
    assert "unreachable" not in message
