"""The launcher's partial index: accounts of a campaign not launched yet, in id order.

Each launch batch asks for the next accounts with `launched_at IS NULL` by id; at 100,000 accounts
the index on `launched_at` alone left PostgreSQL fetching every unlaunched row and sorting it for
each batch. This index holds only the accounts still to start, already in the order asked.

Revision ID: 0008_launch
Revises: 0007_task_queue
Create Date: 2026-11-30 21:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_launch"
down_revision: str | None = "0007_task_queue"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UNLAUNCHED = sa.text("launched_at IS NULL")


def upgrade() -> None:
    op.create_index(
        "ix_accounts_unlaunched",
        "accounts",
        ["campaign_id", "id"],
        unique=False,
        postgresql_where=UNLAUNCHED,
        sqlite_where=UNLAUNCHED,
    )


def downgrade() -> None:
    op.drop_index("ix_accounts_unlaunched", table_name="accounts", postgresql_where=UNLAUNCHED, sqlite_where=UNLAUNCHED)
