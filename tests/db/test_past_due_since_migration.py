"""Revision 0016 gives the read-model rows already written the date their days past due count from:
the account's due date (the first edition's reading; the next turn writes its strategy's), so the
lists show the same days as before the upgrade until then; accounts that have not run get no row.
On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime

from revision_data import Insert, upgraded_session
from sqlalchemy import select

from db.models import AccountState as AccountStateRow

BEFORE = "0015_account_versions"
AT = datetime(2026, 11, 30, 12, tzinfo=UTC)
DUE = {1: date(2026, 10, 1), 2: date(2026, 11, 15), 3: date(2026, 9, 3)}


def _write_before(insert: Insert) -> None:
    """Three accounts as revision 0015 holds them, two of which have run."""
    insert(
        "campaigns",
        {"id": "c", "name": "c", "strategy_hash": "h" * 64, "creditor_name": "Acme", "status": "running"}
        | {"created_at": AT, "launch_status": "done", "launched": 3},
    )
    debtor = {"name": "D", "country": "CL", "timezone": "America/Santiago", "locale": "es-CL", "created_at": AT}
    insert("debtors", {"id": 1, "external_id": "D1", **debtor})
    insert(
        "accounts",
        *(
            {"id": n, "campaign_id": "c", "external_id": f"A{n}", "debtor_id": 1, "workflow_id": f"wf-{n}"}
            | {"currency": "CLP", "currency_digits": 0, "balance": 1_000, "original_amount": 1_000}
            | {"due_date": due, "snapshot_json": {"account_id": f"A{n}"}, "created_at": AT}
            for n, due in DUE.items()
        ),
    )
    state = {"campaign_id": "c", "stage": "contact", "step": "s", "segment": "g", "strategy_hash": "h" * 64}
    state |= {"balance": 1_000, "paid_total": 0, "currency": "CLP", "days_past_due": 60, "contacts": 0}
    insert(
        "account_states",
        *({"account_id": n, "workflow_id": f"wf-{n}", "version": 1, "updated_at": AT, **state} for n in (1, 3)),
    )


def test_rows_that_ran_count_from_their_due_date(database_url: str) -> None:
    with upgraded_session(database_url, BEFORE, _write_before) as session:
        rows = session.execute(select(AccountStateRow.account_id, AccountStateRow.past_due_since)).all()
        assert sorted(rows) == [(1, DUE[1]), (3, DUE[3])]
