"""Interest charges: each turn's interest on an account (domain/interest.py), a fact the account's
timeline shows beside its fees.

Revision ID: 0010_interest_charges
Revises: 0009_kpi_counters
Create Date: 2026-12-01 05:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_interest_charges"
down_revision: str | None = "0009_kpi_counters"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "interest_charges",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("total", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("currency_digits", sa.SmallInteger(), nullable=False),
        sa.Column("step", sa.String(), nullable=False),
        sa.Column("through", sa.Date(), nullable=False),
        sa.Column("applied_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name=op.f("fk_interest_charges_account_id_accounts")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_interest_charges")),
        sa.UniqueConstraint("key", name=op.f("uq_interest_charges_key")),
    )
    op.create_index(op.f("ix_interest_charges_account_id"), "interest_charges", ["account_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_interest_charges_account_id"), table_name="interest_charges")
    op.drop_table("interest_charges")
