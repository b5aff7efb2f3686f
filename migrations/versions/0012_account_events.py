"""Account events: what the interpreter reported that no other fact holds (a task that expired
unworked, an offer that expired), for the account timeline.

Revision ID: 0012_account_events
Revises: 0011_statement_attachments
Create Date: 2026-12-01 05:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_account_events"
down_revision: str | None = "0011_statement_attachments"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "account_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("step", sa.String(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.CheckConstraint("kind IN ('task_expired', 'offer_expired')", name=op.f("ck_account_events_kind")),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name=op.f("fk_account_events_account_id_accounts")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_events")),
        sa.UniqueConstraint("key", name=op.f("uq_account_events_key")),
    )
    op.create_index(op.f("ix_account_events_account_id"), "account_events", ["account_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_account_events_account_id"), table_name="account_events")
    op.drop_table("account_events")
