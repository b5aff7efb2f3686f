"""Refunds: a supervisor records a refund or credit of an overpayment, and the account timeline's
events gain the `refund` kind (written by the turn record, or by the API for an account whose
workflow has finished; `account_states.overpaid` goes down by its amount).

Revision ID: 0020_refunds
Revises: 0019_charged_index
Create Date: 2026-12-01 13:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0020_refunds"
down_revision: str | None = "0019_charged_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KINDS_BEFORE = ("task_expired", "offer_expired", "overpaid")


def _kinds_check(kinds: Sequence[str]) -> str:
    return "kind IN (" + ", ".join(f"'{kind}'" for kind in kinds) + ")"


def upgrade() -> None:
    with op.batch_alter_table("account_events", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_account_events_kind"), type_="check")
        batch_op.create_check_constraint("kind", _kinds_check((*KINDS_BEFORE, "refund")))


def downgrade() -> None:
    op.execute("DELETE FROM account_events WHERE kind = 'refund'")
    with op.batch_alter_table("account_events", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_account_events_kind"), type_="check")
        batch_op.create_check_constraint("kind", _kinds_check(KINDS_BEFORE))
