"""Charged totals in the read model: `account_states.fees_total` and `interest_total`, the fees and
interest the campaign charged each account so far, so the account pages, the supervisors' list and
the campaign's KPIs show them without asking the workflows.

Rows projected before this revision take the sums of their account's fee and interest facts (the
rows the turns wrote); the next turn of each account writes the interpreter's own figures over them.

Revision ID: 0018_charged_totals
Revises: 0017_past_due_since
Create Date: 2026-12-01 15:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018_charged_totals"
down_revision: str | None = "0017_past_due_since"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("account_states", schema=None) as batch_op:
        batch_op.add_column(sa.Column("fees_total", sa.BigInteger(), server_default=sa.text("0"), nullable=False))
        batch_op.add_column(sa.Column("interest_total", sa.BigInteger(), server_default=sa.text("0"), nullable=False))
    op.execute(
        "UPDATE account_states SET fees_total = COALESCE("
        "(SELECT SUM(fees.amount) FROM fees WHERE fees.account_id = account_states.account_id), 0)"
    )
    op.execute(
        "UPDATE account_states SET interest_total = COALESCE("
        "(SELECT SUM(interest_charges.amount) FROM interest_charges"
        " WHERE interest_charges.account_id = account_states.account_id), 0)"
    )


def downgrade() -> None:
    with op.batch_alter_table("account_states", schema=None) as batch_op:
        batch_op.drop_column("interest_total")
        batch_op.drop_column("fees_total")
