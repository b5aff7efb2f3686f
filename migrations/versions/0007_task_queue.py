"""The agents' queue and the supervisors' lists answer from indexes.

* `agent_tasks` keeps each task's score and what it is computed from (`score`, `score_balance`,
  `score_promises_kept`, `score_promises_broken`, `score_calls`, `score_contacts`; see
  services/task_priority.py), and six partial indexes over open tasks read them in the queue's
  two orders. Open and claimed tasks already there are scored here, with the formula as it
  stands at this revision (a revision must not import the code that may change after it).
* `accounts (campaign_id, id)` pages a campaign's accounts; the read model's single-column
  indexes give way to (filter, account_id) ones that serve each list filter in page order, and
  `agent_tasks (assigned_agent)` to `(assigned_agent, status)` (an agent's held tasks).
* `accounts.snapshot_json` becomes jsonb on PostgreSQL, so reading a field no longer re-parses
  the document.

Revision ID: 0007_task_queue
Revises: 0006_payment_delivery
Create Date: 2026-12-01 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007_task_queue"
down_revision: str | None = "0006_payment_delivery"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN_UNASSIGNED = sa.text("status = 'open' AND assigned_agent IS NULL")
OPEN_RESERVED = sa.text("status = 'open' AND assigned_agent IS NOT NULL")
Columns = list[str | sa.TextClause]
BY_DUE: Columns = ["due_at", sa.text("score DESC"), "id"]
BY_SCORE: Columns = [sa.text("score DESC"), "due_at", "id"]
QUEUE_INDEXES: dict[str, tuple[Columns, sa.TextClause]] = {
    "ix_agent_tasks_open_queue_due": (["queue", *BY_DUE], OPEN_UNASSIGNED),
    "ix_agent_tasks_open_queue_score": (["queue", *BY_SCORE], OPEN_UNASSIGNED),
    "ix_agent_tasks_open_due": (BY_DUE, OPEN_UNASSIGNED),
    "ix_agent_tasks_open_score": (BY_SCORE, OPEN_UNASSIGNED),
    "ix_agent_tasks_reserved_due": (["assigned_agent", *BY_DUE], OPEN_RESERVED),
    "ix_agent_tasks_reserved_score": (["assigned_agent", *BY_SCORE], OPEN_RESERVED),
}
SCORE_COLUMNS = (
    ("score", sa.BigInteger()),
    ("score_balance", sa.BigInteger()),
    ("score_promises_kept", sa.Integer()),
    ("score_promises_broken", sa.Integer()),
    ("score_calls", sa.Integer()),
    ("score_contacts", sa.Integer()),
)
STATE_INDEXES = {
    "ix_account_states_campaign_id_stage_account_id": ["campaign_id", "stage", "account_id"],
    "ix_account_states_campaign_id_segment_account_id": ["campaign_id", "segment", "account_id"],
    "ix_account_states_campaign_id_variant_account_id": ["campaign_id", "variant", "account_id"],
    "ix_account_states_stage_account_id": ["stage", "account_id"],
    "ix_account_states_assigned_agent_account_id": ["assigned_agent", "account_id"],
}
OLD_STATE_INDEXES = {
    "ix_account_states_campaign_id": ["campaign_id"],
    "ix_account_states_stage": ["stage"],
    "ix_account_states_assigned_agent": ["assigned_agent"],
}


def _reported(key: str) -> str:
    """A payment-history count the creditor reported at import, from the account's snapshot."""
    if op.get_bind().dialect.name == "postgresql":
        return f"CAST(a.snapshot_json ->> '{key}' AS BIGINT)"
    return f"json_extract(a.snapshot_json, '$.{key}')"


def _score_existing_tasks() -> None:
    """The stored inputs, then the score, of every open or claimed task: the formula of
    services/task_priority.py at this revision, in SQL."""

    def nonnegative(expression: str) -> str:
        return f"CASE WHEN ({expression}) > 0 THEN ({expression}) ELSE 0 END"

    debtors_accounts = (
        "SELECT d.id FROM accounts d WHERE d.debtor_id = "
        "(SELECT t.debtor_id FROM accounts t WHERE t.id = agent_tasks.account_id)"
    )

    def settled(status: str) -> str:
        return (
            f"(SELECT count(p.id) FROM promises p WHERE p.status = '{status}' AND p.account_id IN ({debtors_accounts}))"
        )

    def reported(key: str) -> str:
        value = f"COALESCE({_reported(key)}, 0)"
        return f"(SELECT {nonnegative(value)} FROM accounts a WHERE a.id = agent_tasks.account_id)"

    calls = f"(SELECT count(o.id) FROM outcomes o WHERE o.account_id IN ({debtors_accounts}))"
    contacts = (
        "(SELECT count(o.id) FROM outcomes o WHERE o.code NOT IN ('no_answer', 'wrong_party') "
        f"AND o.account_id IN ({debtors_accounts}))"
    )
    balance = (
        f"(SELECT {nonnegative('COALESCE(s.balance, a.balance)')} FROM accounts a "
        "LEFT OUTER JOIN account_states s ON s.account_id = a.id WHERE a.id = agent_tasks.account_id)"
    )
    op.execute(
        f"""UPDATE agent_tasks SET score_balance = {balance},
               score_promises_kept = {reported("promises_kept")} + {settled("kept")},
               score_promises_broken = {reported("promises_broken")} + {settled("broken")},
               score_calls = {calls}, score_contacts = {contacts}
           WHERE status IN ('open', 'claimed')"""
    )
    propensity = "10000 * (score_promises_kept + 1) / (score_promises_kept + score_promises_broken + 2)"
    contact = "10000 * (score_contacts + 1) / (score_calls + 2)"
    op.execute(
        f"UPDATE agent_tasks SET score = (score_balance * ({propensity}) / 10000) * ({contact}) / 10000 "
        "WHERE status IN ('open', 'claimed')"
    )


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column(
            "accounts",
            "snapshot_json",
            type_=postgresql.JSONB(),
            existing_type=sa.JSON(),
            existing_nullable=False,
            postgresql_using="snapshot_json::jsonb",
        )
    with op.batch_alter_table("agent_tasks", schema=None) as batch_op:
        for name, type_ in SCORE_COLUMNS:
            batch_op.add_column(sa.Column(name, type_, server_default="0", nullable=False))
    _score_existing_tasks()
    for name, (columns, where) in QUEUE_INDEXES.items():
        op.create_index(name, "agent_tasks", columns, unique=False, postgresql_where=where, sqlite_where=where)
    op.drop_index("ix_agent_tasks_assigned_agent", table_name="agent_tasks")
    op.create_index("ix_agent_tasks_assigned_agent_status", "agent_tasks", ["assigned_agent", "status"], unique=False)
    op.create_index("ix_accounts_campaign_id_id", "accounts", ["campaign_id", "id"], unique=False)
    for name in OLD_STATE_INDEXES:
        op.drop_index(name, table_name="account_states")
    for name, state_columns in STATE_INDEXES.items():
        op.create_index(name, "account_states", state_columns, unique=False)


def downgrade() -> None:
    for name in STATE_INDEXES:
        op.drop_index(name, table_name="account_states")
    for name, columns in OLD_STATE_INDEXES.items():
        op.create_index(name, "account_states", columns, unique=False)
    op.drop_index("ix_accounts_campaign_id_id", table_name="accounts")
    op.drop_index("ix_agent_tasks_assigned_agent_status", table_name="agent_tasks")
    op.create_index("ix_agent_tasks_assigned_agent", "agent_tasks", ["assigned_agent"], unique=False)
    for name, (_, where) in QUEUE_INDEXES.items():
        op.drop_index(name, table_name="agent_tasks", postgresql_where=where, sqlite_where=where)
    with op.batch_alter_table("agent_tasks", schema=None) as batch_op:
        for name, _ in reversed(SCORE_COLUMNS):
            batch_op.drop_column(name)
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column(
            "accounts",
            "snapshot_json",
            type_=sa.JSON(),
            existing_type=postgresql.JSONB(),
            existing_nullable=False,
            postgresql_using="snapshot_json::json",
        )
