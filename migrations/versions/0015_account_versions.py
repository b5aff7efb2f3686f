"""Account versions: which published strategy version ran an account from when, so the timeline
reads each entry's stage and the origin of its blocking rule in the version that acted on that
turn instead of the one the account runs now.

Accounts that already ran get one row: the version their read-model row names, from their
creation (what the timeline showed for all their entries before; which version ran their turns
before a move was never recorded).

Revision ID: 0015_account_versions
Revises: 0014_custom_outcomes
Create Date: 2026-12-01 13:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015_account_versions"
down_revision: str | None = "0014_custom_outcomes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "account_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("strategy_hash", sa.String(length=64), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_account_versions_account_id_accounts"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_versions")),
    )
    op.create_index(
        op.f("ix_account_versions_account_id_since"), "account_versions", ["account_id", "since"], unique=False
    )
    op.execute(
        "INSERT INTO account_versions (account_id, strategy_hash, since) "
        "SELECT s.account_id, s.strategy_hash, a.created_at FROM account_states s "
        "JOIN accounts a ON a.id = s.account_id"
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_account_versions_account_id_since"), table_name="account_versions")
    op.drop_table("account_versions")
