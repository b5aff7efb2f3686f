"""Which published strategy version ran an account, from when: one row each time the version
changes (the first turn, a move to another version), so the timeline reads each entry's step and
stage in the version that acted then, not the one the account runs now."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base


class AccountVersion(Base):
    """From `since` (the first turn the version ran) until the account's next row, its turns ran
    `strategy_hash`. Written by the turn record with the read model's row, which only moves forward."""

    __tablename__ = "account_versions"
    # The timeline reads an account's few rows, in time order.
    __table_args__ = (Index(None, "account_id", "since"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    strategy_hash: Mapped[str] = mapped_column(String(64))
    since: Mapped[datetime]
