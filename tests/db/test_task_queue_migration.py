"""Revision 0007 scores the open and claimed tasks already in the database with its own, frozen
SQL copy of the formula; what it stores must be what the product's scoring (services/
task_priority.py) stores for the same rows, on SQLite and PostgreSQL. And the account snapshots
survive the change to jsonb."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from revision_data import Insert, upgraded_session
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from db.models import Account, AgentTask
from services import task_priority

BEFORE = "0006_payment_delivery"
AT = datetime(2026, 11, 30, 12, tzinfo=UTC)
SNAPSHOTS = [
    {"account_id": "A0", "promises_kept": 2, "promises_broken": 1, "tags": ["vip"], "balance": 150_000},
    {"account_id": "A1", "promises_kept": -1, "balance": 90_000},
    {"account_id": "A2", "balance": 400_000},
]


def _stored(session: Session) -> list[tuple[int, str, int, int, int, int, int, int]]:
    session.expire_all()
    return [
        (
            t.id,
            t.status,
            t.score,
            t.score_balance,
            t.score_promises_kept,
            t.score_promises_broken,
            t.score_calls,
            t.score_contacts,
        )
        for t in session.scalars(select(AgentTask).order_by(AgentTask.id))
    ]


def _write_before(insert: Insert) -> None:
    """Rows as revision 0006 holds them: two debtors, three accounts, tasks, outcomes, promises."""
    campaign = {"strategy_hash": "h" * 64, "creditor_name": "Acme", "status": "running", "created_at": AT}
    launch = {"launch_status": "done", "launched": 3}
    insert(
        "campaigns",
        {"id": "c", "name": "c", **campaign, **launch},
        {"id": "d", "name": "d", **campaign, **launch},
    )
    debtor = {"name": "D", "country": "CL", "timezone": "America/Santiago", "locale": "es-CL", "created_at": AT}
    insert("debtors", {"id": 1, "external_id": "D1", **debtor}, {"id": 2, "external_id": "D2", **debtor})
    common = {"currency": "CLP", "currency_digits": 0, "due_date": date(2026, 10, 1), "created_at": AT}
    insert(
        "accounts",
        *(
            {
                "id": n + 1,
                "campaign_id": "c" if n < 2 else "d",
                "external_id": f"A{n}",
                "debtor_id": 1 if n < 2 else 2,
                "workflow_id": f"wf-{n}",
                "balance": snapshot["balance"],
                "original_amount": snapshot["balance"],
                "snapshot_json": snapshot,
                **common,
            }
            for n, snapshot in enumerate(SNAPSHOTS)
        ),
    )
    state = {"stage": "contact", "step": "s", "segment": "g", "strategy_hash": "h" * 64, "paid_total": 0}
    insert(
        "account_states",
        {"account_id": 2, "workflow_id": "wf-1", "campaign_id": "c", "balance": -10, **state}
        | {"currency": "CLP", "days_past_due": 60, "contacts": 1, "version": 3, "updated_at": AT},
    )
    task = {"step": "llamada", "attempt": 1, "allowed_outcomes": ["no_answer"], "priority": 0, "created_at": AT}
    insert(
        "agent_tasks",
        *(
            {
                "key": f"t{n}",
                "account_id": account,
                "workflow_id": f"wf-{account - 1}",
                "seq": n,
                "queue": "calls",
                "status": status,
                "assigned_agent": None if status == "open" else "ana",
                "due_at": AT + timedelta(hours=n),
                **task,
            }
            for n, (account, status) in enumerate([(1, "open"), (2, "claimed"), (3, "open"), (1, "done")])
        ),
    )
    insert(
        "outcomes",
        *(
            {"key": f"o{n}", "account_id": account, "code": code, "recorded_at": AT}
            for n, (account, code) in enumerate([(1, "no_answer"), (2, "right_party_contact"), (3, "refusal")])
        ),
    )
    promise = {"amount": 1_000, "currency": "CLP", "currency_digits": 0, "due_date": date(2026, 12, 1)}
    insert(
        "promises",
        *(
            {"key": f"p{n}", "account_id": account, "status": status, "made_at": AT, **promise}
            for n, (account, status) in enumerate([(2, "kept"), (2, "broken"), (1, "open"), (3, "kept")])
        ),
    )


def test_tasks_waiting_at_the_upgrade_are_scored_as_the_product_scores_them(database_url: str) -> None:
    with upgraded_session(database_url, BEFORE, _write_before) as session:
        migrated = _stored(session)
        assert [row[1] for row in migrated] == ["open", "claimed", "open", "done"]
        assert min(migrated[0][2], migrated[2][2]) > 0, "open and claimed tasks have a score"
        assert migrated[1][3] == 0, "a negative balance counts as none"
        assert migrated[3][2:] == (0, 0, 0, 0, 0, 0), "finished tasks are nobody's next task"
        task_priority.rescore_all(session)
        assert _stored(session) == migrated
        snapshots = session.scalars(select(Account.snapshot_json).order_by(Account.id)).all()
        assert snapshots == SNAPSHOTS
        if session.get_bind().dialect.name == "postgresql":
            kind = session.scalar(text("SELECT pg_typeof(snapshot_json)::text FROM accounts LIMIT 1"))
            assert kind == "jsonb"
