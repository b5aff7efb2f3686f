"""Holiday calendars for strategies compiled before compiled strategies carried their dates: the
debtor workflow asks once, through this local activity, so the dates it then decides on are
recorded in its history instead of read from the installed `holidays` package on every replay."""

from __future__ import annotations

from temporalio import activity

from domain.policy import HolidayCalendar, calendar_years, freeze_holidays
from workflows.contracts import FreezeCalendarInput


@activity.defn(name="freeze_holiday_calendar", no_thread_cancel_exception=True)
def freeze_holiday_calendar(input: FreezeCalendarInput) -> HolidayCalendar:
    """The country's holidays for the same years a compile on `input.on` would freeze."""
    return freeze_holidays(input.country, *calendar_years(input.on))
