"""Why a campaign's launch stopped: `campaigns.launch_error`, and the launch status `failed`.

A launch that cannot start an account (its workflow input is larger than Temporal accepts, or
the server refuses it for good) stops retrying and says why on the campaign.

Revision ID: 0004_launch_error
Revises: 0003_currency_exponent
Create Date: 2026-11-30 17:10:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_launch_error"
down_revision: str | None = "0003_currency_exponent"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.add_column(sa.Column("launch_error", sa.String(), nullable=True))
        batch_op.drop_constraint(batch_op.f("ck_campaigns_launch_status"), type_="check")
        batch_op.create_check_constraint(
            "launch_status", "launch_status IN ('not_started', 'running', 'done', 'failed')"
        )


def downgrade() -> None:
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.execute("UPDATE campaigns SET launch_status = 'done' WHERE launch_status = 'failed'")
        batch_op.drop_constraint(batch_op.f("ck_campaigns_launch_status"), type_="check")
        batch_op.create_check_constraint("launch_status", "launch_status IN ('not_started', 'running', 'done')")
        batch_op.drop_column("launch_error")
