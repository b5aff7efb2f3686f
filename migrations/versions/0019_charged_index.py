"""The charged KPI (fees and interest a campaign added to its accounts' debts) answered from an
index: a partial index of the accounts charged anything, with the totals it sums among its columns,
so PostgreSQL reads it alone (an index-only scan) instead of every read-model row of the campaign.

Revision ID: 0019_charged_index
Revises: 0018_charged_totals
Create Date: 2026-12-01 16:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019_charged_index"
down_revision: str | None = "0018_charged_totals"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHARGED = sa.text("fees_total > 0 OR interest_total > 0")


def upgrade() -> None:
    op.create_index(
        "ix_account_states_charged",
        "account_states",
        ["campaign_id", "currency", "fees_total", "interest_total"],
        unique=False,
        postgresql_where=CHARGED,
        sqlite_where=CHARGED,
    )


def downgrade() -> None:
    op.drop_index("ix_account_states_charged", table_name="account_states")
