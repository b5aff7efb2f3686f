"""Published strategy versions: immutable rows keyed by the compiled strategy's content hash."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, utcnow


class StrategyVersion(Base):
    """One published version of a strategy; campaigns pin it by `hash`, so rows are never updated."""

    __tablename__ = "strategy_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    strategy_id: Mapped[str] = mapped_column(String, index=True)
    hash: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String)
    source_yaml: Mapped[str] = mapped_column(Text)
    compiled_json: Mapped[dict[str, Any]]
    published_at: Mapped[datetime] = mapped_column(default=utcnow)
    published_by: Mapped[str | None] = mapped_column(String)
