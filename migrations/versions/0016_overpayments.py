"""Overpayments: a payment beyond what an account owed no longer turns its balance negative; the
read model keeps the excess as `account_states.overpaid` (a refund or credit the creditor owes),
with partial indexes holding only such accounts (the supervisors' list filter and the KPI's sum),
and the account timeline's events gain the `overpaid` kind. Also the index the supervisors'
approvals queue (`status = 'pending' ORDER BY id`) lacked.

Rows projected before this revision with a negative balance are the overpayments made until now:
their balance becomes 0 and the excess `overpaid`, as the interpreter now keeps them.

Revision ID: 0016_overpayments
Revises: 0015_account_versions
Create Date: 2026-12-01 14:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016_overpayments"
down_revision: str | None = "0015_account_versions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KINDS_BEFORE = ("task_expired", "offer_expired")
OVERPAID = sa.text("overpaid > 0")


def _kinds_check(kinds: Sequence[str]) -> str:
    return "kind IN (" + ", ".join(f"'{kind}'" for kind in kinds) + ")"


def upgrade() -> None:
    with op.batch_alter_table("account_states", schema=None) as batch_op:
        batch_op.add_column(sa.Column("overpaid", sa.BigInteger(), server_default=sa.text("0"), nullable=False))
    op.execute("UPDATE account_states SET overpaid = -balance, balance = 0 WHERE balance < 0")
    op.execute("UPDATE accounts SET balance = 0 WHERE balance < 0 AND id IN (SELECT account_id FROM account_states)")
    op.create_index(
        "ix_account_states_overpaid_campaign",
        "account_states",
        ["campaign_id", "account_id"],
        unique=False,
        postgresql_where=OVERPAID,
        sqlite_where=OVERPAID,
    )
    op.create_index(
        "ix_account_states_overpaid",
        "account_states",
        ["account_id"],
        unique=False,
        postgresql_where=OVERPAID,
        sqlite_where=OVERPAID,
    )
    with op.batch_alter_table("account_events", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_account_events_kind"), type_="check")
        batch_op.create_check_constraint("kind", _kinds_check((*KINDS_BEFORE, "overpaid")))
    op.create_index(op.f("ix_approvals_status_id"), "approvals", ["status", "id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_approvals_status_id"), table_name="approvals")
    op.execute("DELETE FROM account_events WHERE kind = 'overpaid'")
    with op.batch_alter_table("account_events", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_account_events_kind"), type_="check")
        batch_op.create_check_constraint("kind", _kinds_check(KINDS_BEFORE))
    op.drop_index("ix_account_states_overpaid", table_name="account_states")
    op.drop_index("ix_account_states_overpaid_campaign", table_name="account_states")
    with op.batch_alter_table("account_states", schema=None) as batch_op:
        batch_op.drop_column("overpaid")
