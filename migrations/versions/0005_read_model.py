"""Approvals can be withdrawn: the account stopped waiting for a request nobody decided (it was
closed, paid, disputed or moved on), so the read model no longer shows it as pending.

Revision ID: 0005_read_model
Revises: 0004_launch_error
Create Date: 2026-11-30 17:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0005_read_model"
down_revision: str | None = "0004_launch_error"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("approvals", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_approvals_status"), type_="check")
        batch_op.create_check_constraint("status", "status IN ('pending', 'approved', 'rejected', 'withdrawn')")


def downgrade() -> None:
    # The older schema has no word for it: an undecided request the account left counts as rejected.
    op.execute("UPDATE approvals SET status = 'rejected' WHERE status = 'withdrawn'")
    with op.batch_alter_table("approvals", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_approvals_status"), type_="check")
        batch_op.create_check_constraint("status", "status IN ('pending', 'approved', 'rejected')")
