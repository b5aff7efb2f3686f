"""API access, idempotency, webhook receipts, agent notes, launch progress.

API keys (hashed) with roles, the Idempotency-Key replay store, provider events already handled,
agents' notes, and the columns the campaign launcher writes its progress to.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 20:52:18.574026
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subject", sa.String(), nullable=False),
        sa.Column("role", sa.String(), nullable=False),
        sa.Column("queues", sa.JSON(), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("role IN ('admin', 'strategist', 'supervisor', 'agent')", name=op.f("ck_api_keys_role")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_keys_key_hash")),
        sa.UniqueConstraint("prefix", name=op.f("uq_api_keys_prefix")),
    )
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_keys_subject"), ["subject"], unique=False)

    op.create_table(
        "idempotency_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("principal", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("content_type", sa.String(), nullable=True),
        sa.Column("body", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_idempotency_records")),
        sa.UniqueConstraint("principal", "key", name=op.f("uq_idempotency_records_principal_key")),
    )
    op.create_table(
        "webhook_receipts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("event_id", sa.String(length=255), nullable=False),
        sa.Column("payload", sa.Text(), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_receipts")),
        sa.UniqueConstraint("source", "event_id", name=op.f("uq_webhook_receipts_source_event_id")),
    )
    op.create_table(
        "agent_notes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("author", sa.String(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name=op.f("fk_agent_notes_account_id_accounts")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agent_notes")),
    )
    with op.batch_alter_table("agent_notes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_agent_notes_account_id"), ["account_id"], unique=False)

    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("launched_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f("ix_accounts_launched_at"), ["launched_at"], unique=False)

    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.add_column(sa.Column("created_by", sa.String(), nullable=True))
        # Server defaults fill the rows that exist already.
        batch_op.add_column(sa.Column("launch_status", sa.String(), nullable=False, server_default="not_started"))
        batch_op.add_column(sa.Column("launched", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("launch_started_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("launch_finished_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_check_constraint("launch_status", "launch_status IN ('not_started', 'running', 'done')")


def downgrade() -> None:
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_campaigns_launch_status"), type_="check")
        batch_op.drop_column("launch_finished_at")
        batch_op.drop_column("launch_started_at")
        batch_op.drop_column("launched")
        batch_op.drop_column("launch_status")
        batch_op.drop_column("created_by")

    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_accounts_launched_at"))
        batch_op.drop_column("launched_at")

    with op.batch_alter_table("agent_notes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_agent_notes_account_id"))

    op.drop_table("agent_notes")
    op.drop_table("webhook_receipts")
    op.drop_table("idempotency_records")
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_keys_subject"))

    op.drop_table("api_keys")
