"""The read model's `past_due_since`: the date an account's days past due count from, as the
strategy that ran its last turn reads it (domain/conditions.past_due_since), so the account
lists, their days-past-due bucket filter and the account pages count the days to the debtor's
today from it (services/accounts_view.py), with an index for the bucket filter within a campaign.

Backfill: rows that exist already take the account's first due date, the first edition's
reading. Whether their strategy is of the second edition (counting from the oldest unpaid due)
and what was paid of which due is not in the database; their next turn writes the date as their
strategy counts it.

Revision ID: 0017_past_due_since
Revises: 0016_overpayments
Create Date: 2026-12-01 14:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017_past_due_since"
down_revision: str | None = "0016_overpayments"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("account_states", schema=None) as batch_op:
        batch_op.add_column(sa.Column("past_due_since", sa.Date(), nullable=True))
    # The first edition's meaning (see above), before the index: one pass, then one index build.
    op.execute(
        "UPDATE account_states SET past_due_since = "
        "(SELECT a.due_date FROM accounts a WHERE a.id = account_states.account_id)"
    )
    with op.batch_alter_table("account_states", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_account_states_campaign_id_past_due_since_account_id"),
            ["campaign_id", "past_due_since", "account_id"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("account_states", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_account_states_campaign_id_past_due_since_account_id"))
        batch_op.drop_column("past_due_since")
