"""Campaigns: a creditor's batch of accounts run under one pinned strategy version."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, String
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, utcnow
from db.models._checks import one_of

CAMPAIGN_STATUSES = ("draft", "running", "paused", "stopped")
LAUNCH_STATUSES = ("not_started", "running", "done", "failed")


class Campaign(Base):
    """A campaign; `strategy_hash` refers to `strategy_versions.hash` (kept as a value, not a key, so a
    campaign can be drafted before its strategy is published)."""

    __tablename__ = "campaigns"
    __table_args__ = (
        CheckConstraint(one_of("status", CAMPAIGN_STATUSES), name="status"),
        CheckConstraint(one_of("launch_status", LAUNCH_STATUSES), name="launch_status"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String)
    strategy_hash: Mapped[str] = mapped_column(String(64), index=True)
    creditor_name: Mapped[str] = mapped_column(String)
    creditor_phone: Mapped[str | None] = mapped_column(String)
    creditor_email: Mapped[str | None] = mapped_column(String)
    payment_link_base: Mapped[str | None] = mapped_column(String)
    status: Mapped[str] = mapped_column(String, default="draft")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str | None] = mapped_column(String)
    # Launch progress, written by the launcher workflow's activities as batches start.
    launch_status: Mapped[str] = mapped_column(String, default="not_started")
    launched: Mapped[int] = mapped_column(default=0)
    launch_started_at: Mapped[datetime | None]
    launch_finished_at: Mapped[datetime | None]
    # Why the launch stopped before every account started (status `failed`): shown on the campaign.
    launch_error: Mapped[str | None] = mapped_column(String)
    # Where the strategy's `notify` actions post (services/notify_targets.py checks it), and the
    # HMAC secret they are signed with. Signing needs the secret itself, so it cannot be hashed: it
    # is kept sealed with the payload keys (`sealed:v1:<key id>:...`, services/secrets_at_rest.py);
    # a value without that prefix was stored in clear before sealing and still signs.
    notify_url: Mapped[str | None] = mapped_column(String)
    notify_secret: Mapped[str | None] = mapped_column(String)
    notify_secret_rotated_at: Mapped[datetime | None]
