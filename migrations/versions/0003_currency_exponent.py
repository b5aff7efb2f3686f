"""Record the minor-unit exponent beside every stored amount's currency.

Amounts are integers of minor units; until now their exponent came from the installed Babel
(CLDR), whose COP changed from 2 decimals to 0 between releases. Each table that keeps money gets
`currency_digits`, written from the product's ISO 4217 table (`domain.money`) on insert. Existing
rows are backfilled here from ISO 4217 as of this revision; the figures are written into this file
on purpose, so that a later change of the product's table never rewrites what this step did.

Revision ID: 0003_currency_exponent
Revises: 0002
Create Date: 2026-11-30 17:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_currency_exponent"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("accounts", "payments", "fees", "promises", "payment_plans", "legal_referrals")

# ISO 4217 minor units other than 2 (every other code, including recently withdrawn ones, has 2).
NOT_TWO = {
    0: tuple("BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF".split()),  # noqa: SIM905
    3: ("BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"),
    4: ("CLF", "UYW"),
}


def _digits() -> sa.Case[int]:
    currency = sa.column("currency", sa.String)
    return sa.case(
        *[(currency.in_(codes), digits) for digits, codes in NOT_TWO.items()],
        else_=2,
    )


def upgrade() -> None:
    for name in TABLES:
        with op.batch_alter_table(name, schema=None) as batch_op:
            batch_op.add_column(sa.Column("currency_digits", sa.SmallInteger(), nullable=True))
        table = sa.table(name, sa.column("currency", sa.String), sa.column("currency_digits", sa.SmallInteger))
        op.execute(table.update().values(currency_digits=_digits()))
        with op.batch_alter_table(name, schema=None) as batch_op:
            batch_op.alter_column("currency_digits", existing_type=sa.SmallInteger(), nullable=False)


def downgrade() -> None:
    for name in reversed(TABLES):
        with op.batch_alter_table(name, schema=None) as batch_op:
            batch_op.drop_column("currency_digits")
