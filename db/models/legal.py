"""Human approvals that gate steps, and the case files handed to legal."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, utcnow
from db.models._checks import one_of
from db.models._money import currency_digits

APPROVAL_SUBJECTS = ("step", "legal")
# withdrawn: the account stopped waiting for it undecided (closed, paid, disputed, moved on).
APPROVAL_STATUSES = ("pending", "approved", "rejected", "withdrawn")


class Approval(Base):
    """A request for a supervisor to approve a step (or a legal referral) before the workflow proceeds."""

    __tablename__ = "approvals"
    __table_args__ = (
        CheckConstraint(one_of("subject", APPROVAL_SUBJECTS), name="subject"),
        CheckConstraint(one_of("status", APPROVAL_STATUSES), name="status"),
        # The supervisors' queue (db/repositories/approvals.py): `status = 'pending' ORDER BY id`,
        # a page at a time, reads only pending rows in order however many were decided.
        Index(None, "status", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String, unique=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    workflow_id: Mapped[str] = mapped_column(String, index=True)
    subject: Mapped[str] = mapped_column(String)
    step: Mapped[str] = mapped_column(String)
    status: Mapped[str] = mapped_column(String, default="pending")
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None]
    decided_by: Mapped[str | None] = mapped_column(String)


class LegalReferral(Base):
    """An account referred to legal; `case_json` freezes the account, balance, promises and communications log."""

    __tablename__ = "legal_referrals"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String, unique=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    balance: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    currency_digits: Mapped[int] = currency_digits()  # the exponent its amounts were written with
    case_json: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(String, default="open")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
