"""The money ledger: payments received, fees applied and interest charged, all in integer minor units."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, utcnow
from db.models._checks import one_of
from db.models._money import currency_digits

# Where a payment stands with its account's workflow: `pending` until the workflow has accepted its
# signal (`delivered`), or until its workflow is found finished (`closed`: nothing will take it).
DELIVERY_STATES = ("pending", "delivered", "closed")
# `allocated_to` of a payment towards a promise: this prefix, then the promise's key.
TOWARDS_PROMISE = "promise:"


class Payment(Base):
    """A payment as reported by a provider; (provider, provider_payment_id) makes re-imports harmless.
    `delivery` says whether the account's workflow has it; the reconciler (reconciler.py) finds
    pending ones through a partial index that holds only them."""

    __tablename__ = "payments"
    __table_args__ = (
        UniqueConstraint("provider", "provider_payment_id"),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint(one_of("delivery", DELIVERY_STATES), name="delivery"),
        Index(
            "ix_payments_pending_delivery",
            "id",
            postgresql_where=text("delivery = 'pending'"),
            sqlite_where=text("delivery = 'pending'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    provider: Mapped[str] = mapped_column(String)
    provider_payment_id: Mapped[str] = mapped_column(String)
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    currency_digits: Mapped[int] = currency_digits()  # the exponent its amounts were written with
    received_at: Mapped[datetime]
    # What the payment settled, e.g. a promise or plan key; empty until allocated.
    allocated_to: Mapped[str | None] = mapped_column(String)
    delivery: Mapped[str] = mapped_column(String(16), default="pending", server_default="pending")
    # When `delivery` stopped being pending.
    delivered_at: Mapped[datetime | None]


class Fee(Base):
    """A fee a step applied; `requested` is what the strategy asked for, `amount` what the caps allowed."""

    __tablename__ = "fees"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String, unique=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    requested: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    currency_digits: Mapped[int] = currency_digits()  # the exponent its amounts were written with
    # The cap rule that reduced the fee, if any.
    rule: Mapped[str | None] = mapped_column(String)
    step: Mapped[str] = mapped_column(String)
    applied_at: Mapped[datetime] = mapped_column(default=utcnow)


class InterestCharge(Base):
    """Interest a turn charged to the balance (domain/interest.py): `amount` accrued since the turn
    before, counted to the local day `through` (exclusive); `total` charged so far, this included."""

    __tablename__ = "interest_charges"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String, unique=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    total: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    currency_digits: Mapped[int] = currency_digits()  # the exponent its amounts were written with
    step: Mapped[str] = mapped_column(String)
    through: Mapped[date]
    applied_at: Mapped[datetime] = mapped_column(default=utcnow)
