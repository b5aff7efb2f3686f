"""Debtors and the ways to reach them, with validity and consent tracked per contact point."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from db.base import Base, utcnow
from db.models._checks import one_of
from domain.types import Channel

CHANNELS = tuple(channel.value for channel in Channel)


class Debtor(Base):
    """A person or company owing money; `timezone` and `locale` drive quiet hours and templates."""

    __tablename__ = "debtors"

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(String, unique=True)
    name: Mapped[str] = mapped_column(String)
    country: Mapped[str] = mapped_column(String(2))
    timezone: Mapped[str] = mapped_column(String)
    locale: Mapped[str] = mapped_column(String)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    contact_points: Mapped[list[ContactPoint]] = relationship(
        back_populates="debtor", cascade="all, delete-orphan", passive_deletes=True
    )


class ContactPoint(Base):
    """One address on one channel; invalidity and opt-outs are recorded, not deleted, for the audit trail."""

    __tablename__ = "contact_points"
    __table_args__ = (
        UniqueConstraint("debtor_id", "channel", "address"),
        CheckConstraint(one_of("channel", CHANNELS), name="channel"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    debtor_id: Mapped[int] = mapped_column(ForeignKey("debtors.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String)
    address: Mapped[str] = mapped_column(String)
    valid: Mapped[bool] = mapped_column(default=True)
    invalid_reason: Mapped[str | None] = mapped_column(String)
    consent: Mapped[bool] = mapped_column(default=True)
    consent_source: Mapped[str | None] = mapped_column(String)
    opted_out_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    debtor: Mapped[Debtor] = relationship(back_populates="contact_points")
