"""Debtor commitments: promises to pay and payment plans with their installments."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from db.base import Base, utcnow
from db.models._checks import one_of
from db.models._money import currency_digits

PROMISE_STATUSES = ("open", "kept", "broken", "cancelled")
PLAN_STATUSES = ("active", "completed", "broken", "cancelled")
INSTALLMENT_STATUSES = ("due", "paid", "missed")


class Promise(Base):
    """A promise to pay `amount` (minor units of `currency`) by `due_date`."""

    __tablename__ = "promises"
    __table_args__ = (CheckConstraint(one_of("status", PROMISE_STATUSES), name="status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String, unique=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    currency_digits: Mapped[int] = currency_digits()  # the exponent its amounts were written with
    due_date: Mapped[date]
    status: Mapped[str] = mapped_column(String, default="open")
    agent: Mapped[str | None] = mapped_column(String)
    made_at: Mapped[datetime] = mapped_column(default=utcnow)
    settled_at: Mapped[datetime | None]


class PaymentPlan(Base):
    """An agreed plan: a down payment then `installments` instalments every `frequency`."""

    __tablename__ = "payment_plans"
    __table_args__ = (CheckConstraint(one_of("status", PLAN_STATUSES), name="status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String, unique=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    installments: Mapped[int]
    down_payment: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    currency_digits: Mapped[int] = currency_digits()  # the exponent its amounts were written with
    frequency: Mapped[str] = mapped_column(String)
    status: Mapped[str] = mapped_column(String, default="active")
    agreed_at: Mapped[datetime] = mapped_column(default=utcnow)

    schedule: Mapped[list[PlanInstallment]] = relationship(
        back_populates="plan", order_by="PlanInstallment.number", cascade="all, delete-orphan", passive_deletes=True
    )


class PlanInstallment(Base):
    """One instalment of a plan; `number` starts at 1 and is unique within the plan."""

    __tablename__ = "plan_installments"
    __table_args__ = (
        UniqueConstraint("plan_id", "number"),
        CheckConstraint(one_of("status", INSTALLMENT_STATUSES), name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("payment_plans.id", ondelete="CASCADE"))
    number: Mapped[int]
    due_date: Mapped[date]
    amount: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String, default="due")

    plan: Mapped[PaymentPlan] = relationship(back_populates="schedule")
