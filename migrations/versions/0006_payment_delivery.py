"""Payment delivery: whether each payment has reached its account's workflow.

`payments.delivery` is `pending` until the workflow accepted the payment's signal (`delivered`)
or was found finished (`closed`); `delivered_at` is when it stopped being pending. A partial
index holds only the pending ones, which the worker's reconciler delivers. Payments recorded
before this revision start `pending`: whether a retry ever signalled them is not recorded, and
the workflow counts each payment id once, so delivering them again is harmless.

Revision ID: 0006_payment_delivery
Revises: 0005_read_model
Create Date: 2026-11-30 17:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_payment_delivery"
down_revision: str | None = "0005_read_model"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PENDING = sa.text("delivery = 'pending'")


def upgrade() -> None:
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("delivery", sa.String(length=16), server_default="pending", nullable=False))
        batch_op.add_column(sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_check_constraint(op.f("ck_payments_delivery"), "delivery IN ('pending', 'delivered', 'closed')")
    op.create_index(
        "ix_payments_pending_delivery",
        "payments",
        ["id"],
        unique=False,
        postgresql_where=PENDING,
        sqlite_where=PENDING,
    )


def downgrade() -> None:
    op.drop_index("ix_payments_pending_delivery", table_name="payments", postgresql_where=PENDING, sqlite_where=PENDING)
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_payments_delivery"), type_="check")
        batch_op.drop_column("delivered_at")
        batch_op.drop_column("delivery")
