"""The outbox keeps the PDF statement a message carries (`send: {attach: <template>}`): the
print vendor encloses it with the letter, and the sandbox keeps what an email would have attached.
Both columns are empty for every message written before.

Revision ID: 0011_statement_attachments
Revises: 0010_interest_charges
Create Date: 2026-12-01 12:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_statement_attachments"
down_revision: str | None = "0010_interest_charges"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("attachment_name", sa.String(), nullable=True))
        batch.add_column(sa.Column("attachment", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("attachment")
        batch.drop_column("attachment_name")
