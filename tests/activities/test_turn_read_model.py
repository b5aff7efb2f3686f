"""The read model's `days_past_due` counts as the turn's strategy does (activities/turns.py):
from the oldest unpaid due for a second-edition strategy, from the first due for a first-edition
one (domain/conditions.edition_days_past_due), whichever edition the account's version is, on
SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from live_account import one_email, open_account, publish, snapshot, strategy, turn
from sqlalchemy.orm import Session, sessionmaker

from activities.turns import TurnActivities
from db.models import AccountState as AccountStateRow
from db.session import session_scope

NOW = datetime(2026, 12, 2, 15, 0, tzinfo=UTC)  # December 2 in Santiago
STRATEGY = one_email("read-model", stage="outreach")
# Two monthly invoices; the November one was paid during the campaign.
DUES = {"dues": [{"due_date": "2026-11-01", "amount": 100_000}, {"due_date": "2026-12-01", "amount": 100_000}]}


@pytest.mark.parametrize(("edition", "days", "since"), [(2, 1, date(2026, 12, 1)), (1, 31, date(2026, 11, 1))])
def test_days_past_due_as_the_versions_edition_counts_them(
    sessions: sessionmaker[Session], edition: int, days: int, since: date
) -> None:
    version = strategy(STRATEGY, edition=edition)
    publish(sessions, version)
    snap = snapshot("D-1", **DUES)
    account_id = open_account(sessions, "c-dpd", snap, version.hash)
    TurnActivities(sessions).record_turn(turn("c-dpd", snap, version.hash, 1, NOW, step="aviso", paid_total=100_000))
    with session_scope(sessions) as session:
        row = session.get(AccountStateRow, account_id)
        assert row is not None
        assert row.days_past_due == days
        assert row.past_due_since == since  # what lists count from until the next turn
