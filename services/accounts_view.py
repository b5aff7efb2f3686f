"""Days past due as supervisors and agents read them, for every door (the API's account list and
account page, the console's account lists and pages, the lists' days-past-due bucket filter).

They count from the date the account's strategy counts them from, which each turn stores in the
read model (`account_states.past_due_since`, domain/conditions.past_due_since: the oldest unpaid
due for a second-edition strategy, else the first due date); before its first turn, from the
account's due date. They count to today in the debtor's zone, as the strategy does, and they go on
counting between turns, so a list is right even for an account parked on a long wait.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo, available_timezones

from db.models import Account
from db.models import AccountState as AccountStateRow
from db.repositories.accounts import DebtorDates
from services.agent_work import debtor_today, debtor_zone


def past_due_since(account: Account, row: AccountStateRow | None) -> date:
    """The date the account's days past due count from: the read model's (`row`), else its due
    date (an account that has not run, or a row from before the read model kept the date).
    db/repositories/accounts.listing's bucket filter reads the same in SQL."""
    if row is not None and row.past_due_since is not None:
        return row.past_due_since
    return account.due_date


def days_past_due(account: Account, row: AccountStateRow | None, now: datetime) -> int:
    """The account's days past due at `now`, counted in the debtor's zone."""
    return (debtor_today(account, now) - past_due_since(account, row)).days


def debtors_today(now: datetime) -> DebtorDates:
    """Today at `now` in every zone a debtor may be in, for the bucket filter's SQL: UTC's date,
    and the zones where it is already tomorrow or still yesterday. A zone the list does not name
    (none, or an unknown one) counts in UTC, as `debtor_zone` reads it."""
    utc = now.astimezone(UTC).date()
    ahead, behind = [], []
    for name, zone in _zones():
        local = now.astimezone(zone).date()
        if local > utc:
            ahead.append(name)
        elif local < utc:
            behind.append(name)
    return DebtorDates(utc=utc, ahead=tuple(ahead), behind=tuple(behind))


@lru_cache(maxsize=1)
def _zones() -> tuple[tuple[str, ZoneInfo], ...]:
    """Every zone an import accepts (api/account_import.zones), read as `debtor_zone` reads it."""
    return tuple((name, debtor_zone(name)) for name in sorted(available_timezones()))
