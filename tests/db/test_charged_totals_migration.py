"""Revision 0018 gives the read model each account's fees and interest charged so far; rows
projected before it take the sums of their account's fee and interest facts, on SQLite and
PostgreSQL (an account with none reads 0), and the downgrade drops them again."""

from __future__ import annotations

from datetime import UTC, date, datetime

from revision_data import Insert, upgraded_session
from sqlalchemy import inspect, select

from db.migrate import downgrade
from db.models import AccountState as AccountStateRow

BEFORE = "0017_past_due_since"
AT = datetime(2026, 12, 1, 12, tzinfo=UTC)


def _write_before(insert: Insert) -> None:
    """Three projected accounts as revision 0017 holds them: with fees and interest, with a fee
    only, with neither."""
    insert(
        "campaigns",
        {
            "id": "c",
            "name": "c",
            "strategy_hash": "h" * 64,
            "creditor_name": "Acme",
            "status": "running",
            "created_at": AT,
            "launch_status": "done",
            "launched": 3,
        },
    )
    insert(
        "debtors",
        {"id": 1, "external_id": "D1", "name": "D", "country": "CL", "timezone": "America/Santiago"}
        | {"locale": "es-CL", "created_at": AT},
    )
    money = {"currency": "CLP", "currency_digits": 0}
    insert(
        "accounts",
        *(
            {"id": n, "campaign_id": "c", "external_id": f"A{n}", "debtor_id": 1, "workflow_id": f"wf-{n}"}
            | {"balance": 100_000, "original_amount": 100_000, "snapshot_json": {}, "created_at": AT}
            | {"due_date": date(2026, 10, 1), **money}
            for n in (1, 2, 3)
        ),
    )
    state = {"campaign_id": "c", "stage": "contact", "step": "s", "segment": "g", "strategy_hash": "h" * 64}
    insert(
        "account_states",
        *(
            {"account_id": n, "workflow_id": f"wf-{n}", "balance": 100_000, "paid_total": 0, **state}
            | {"currency": "CLP", "days_past_due": 60, "contacts": 1, "version": 3, "updated_at": AT}
            for n in (1, 2, 3)
        ),
    )
    fee = {"step": "s", "applied_at": AT, **money}
    insert(
        "fees",
        {"key": "f1", "account_id": 1, "amount": 2_000, "requested": 2_000, **fee},
        {"key": "f2", "account_id": 1, "amount": 500, "requested": 900, "rule": "cap", **fee},
        {"key": "f3", "account_id": 2, "amount": 700, "requested": 700, **fee},
    )
    charge = {"account_id": 1, "step": "s", "applied_at": AT, **money}
    insert(
        "interest_charges",
        {"key": "i1", "amount": 100, "total": 100, "through": date(2026, 11, 2), **charge},
        {"key": "i2", "amount": 250, "total": 350, "through": date(2026, 11, 4), **charge},
    )


def test_rows_projected_before_take_their_accounts_fees_and_interest(database_url: str) -> None:
    with upgraded_session(database_url, BEFORE, _write_before) as session:
        totals = session.execute(
            select(AccountStateRow.account_id, AccountStateRow.fees_total, AccountStateRow.interest_total).order_by(
                AccountStateRow.account_id
            )
        ).all()
        assert [tuple(t) for t in totals] == [(1, 2_500, 350), (2, 700, 0), (3, 0, 0)]
        session.close()
        downgrade(database_url, BEFORE)
        columns = {c["name"] for c in inspect(session.get_bind()).get_columns("account_states")}
        assert not {"fees_total", "interest_total"} & columns
