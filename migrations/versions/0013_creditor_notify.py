"""The strategy's `notify` action: a campaign's notify URL and signing secret, and
`creditor_notifications`, one row per webhook sent to the creditor's systems with the receiver's
answer (the account's timeline reads it).

Revision ID: 0013_creditor_notify
Revises: 0012_account_events
Create Date: 2026-12-01 12:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013_creditor_notify"
down_revision: str | None = "0012_account_events"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "creditor_notifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.String(length=64), nullable=False),
        sa.Column("step", sa.String(), nullable=False),
        sa.Column("event", sa.String(length=64), nullable=False),
        sa.Column("balance", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("currency_digits", sa.SmallInteger(), nullable=False),
        sa.Column("url", sa.String(), nullable=True),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("response_status", sa.Integer(), nullable=True),
        sa.Column("response_excerpt", sa.String(), nullable=True),
        sa.Column("error", sa.String(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('retrying', 'delivered', 'rejected', 'failed', 'not_configured', 'refused')",
            name=op.f("ck_creditor_notifications_status"),
        ),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_creditor_notifications_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_creditor_notifications")),
        sa.UniqueConstraint("key", name=op.f("uq_creditor_notifications_key")),
    )
    with op.batch_alter_table("creditor_notifications", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_creditor_notifications_account_id"), ["account_id"], unique=False)

    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.add_column(sa.Column("notify_url", sa.String(), nullable=True))
        batch_op.add_column(sa.Column("notify_secret", sa.String(), nullable=True))
        batch_op.add_column(sa.Column("notify_secret_rotated_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.drop_column("notify_secret_rotated_at")
        batch_op.drop_column("notify_secret")
        batch_op.drop_column("notify_url")

    with op.batch_alter_table("creditor_notifications", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_creditor_notifications_account_id"))

    op.drop_table("creditor_notifications")
