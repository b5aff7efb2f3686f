"""Calendar dates in request bodies and query strings: `YYYY-MM-DD` and nothing else.

Pydantic's lax date parsing takes `2026-12-01T00:00:00Z` (a timestamp at midnight) for the date
2026-12-01, and a number for days since 1970. A promise date is a day in the debtor's calendar; a
timestamp names an instant whose day depends on the zone, so it is refused, not guessed.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any

from pydantic import BeforeValidator, Field

_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _calendar_day(value: Any) -> Any:
    if isinstance(value, date) and not hasattr(value, "hour"):
        return value  # already a date (from Python callers)
    if isinstance(value, str) and _ISO_DAY.fullmatch(value):
        return value  # pydantic checks that the day exists
    raise ValueError(f"expected a calendar date like 2026-12-01 (YYYY-MM-DD), got {str(value)[:40]!r}")


Day = Annotated[
    date,
    BeforeValidator(_calendar_day),
    Field(strict=False, description="A calendar date, YYYY-MM-DD (a timestamp is refused)."),
]


def years_from(day: date, years: int) -> date:
    """The same calendar day `years` later (or earlier), within the calendar's years 1 to 9999;
    29 February becomes the 28th."""
    year = min(max(day.year + years, 1), 9999)
    return day.replace(year=year, day=28) if (day.month, day.day) == (2, 29) else day.replace(year=year)
