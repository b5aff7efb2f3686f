"""Request and response bodies of the campaign endpoints: creation, progress, import reports and
launch settings."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from urllib.parse import urlparse

from pydantic import BaseModel, ConfigDict, Field, field_validator

from api.account_import import normalize_email, normalize_phone
from api.pagination import Page
from workflows.contracts import DEFAULT_LAUNCH_BATCH, DEFAULT_LAUNCH_CONCURRENCY

# No colon: campaign ids are part of workflow ids (`debtor:<campaign>:<account>`).
CAMPAIGN_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"


class CampaignCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    id: str | None = Field(
        default=None,
        pattern=CAMPAIGN_ID_PATTERN,
        description="Your id for the campaign (letters, digits, `.`, `_`, `-`); generated when absent.",
    )
    name: str = Field(min_length=1, max_length=200)
    strategy_hash: str = Field(pattern=r"^[0-9a-f]{64}$", description="A published strategy version's hash.")
    creditor_name: str = Field(min_length=1, max_length=200)
    creditor_phone: str | None = Field(default=None, max_length=40, description="E.164, e.g. +56223456789.")
    creditor_email: str | None = Field(default=None, max_length=254)
    payment_link_base: str | None = Field(
        default=None, max_length=500, description="Payment links in messages start with this https URL."
    )

    @field_validator("name", "creditor_name")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        if not value.isprintable():
            raise ValueError("must not contain control characters")
        return value.strip()

    @field_validator("creditor_phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        return None if value is None else normalize_phone(value, None)

    @field_validator("creditor_email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value is None:
            return None
        address = normalize_email(value)
        if address is None:
            raise ValueError(f"{value!r} is not a valid email address")
        return address

    @field_validator("payment_link_base")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            parts = urlparse(value)
        except ValueError:
            raise ValueError("must be an http(s) URL like https://pay.example.com/p/") from None
        if parts.scheme not in ("https", "http") or not parts.netloc or not value.isprintable():
            raise ValueError("must be an http(s) URL like https://pay.example.com/p/")
        return value


class LaunchProgress(BaseModel):
    status: Literal["not_started", "running", "done", "failed"]
    launched: int = Field(description="Accounts whose workflow has started.")
    total: int = Field(description="Accounts imported.")
    not_launched: int
    started_at: datetime | None
    finished_at: datetime | None


class CampaignSummary(BaseModel):
    id: str
    name: str
    strategy_hash: str
    creditor_name: str
    creditor_phone: str | None
    creditor_email: str | None
    payment_link_base: str | None
    status: Literal["draft", "running", "paused", "stopped"]
    created_at: datetime
    created_by: str | None
    launch_status: Literal["not_started", "running", "done", "failed"]
    launched: int
    launch_error: str | None = Field(
        default=None, description="Why the launch stopped before every account started (status `failed`)."
    )


class CampaignPublic(CampaignSummary):
    launch: LaunchProgress
    accounts_by_stage: dict[str, int] = Field(description="Launched accounts per stage, from the read model.")


class LaunchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    batch_size: int = Field(
        default=DEFAULT_LAUNCH_BATCH, ge=1, le=1000, description="Accounts started per batch (progress steps)."
    )
    concurrency: int = Field(
        default=DEFAULT_LAUNCH_CONCURRENCY, ge=1, le=200, description="Workflow starts in flight at once."
    )


class RejectedRow(BaseModel):
    row: int = Field(description="1 for the first account (the CSV header is not counted).")
    external_id: str | None
    field: str | None = Field(description="The column at fault; null for the row as a whole.")
    detail: str


class SkippedRow(BaseModel):
    row: int
    external_id: str
    detail: str


class ImportReport(BaseModel):
    rows: int = Field(description="Accounts in the file.")
    accepted: int = Field(description="New accounts written.")
    updated: int = Field(description="Known accounts, not yet launched, changed by this file.")
    unchanged: int = Field(description="Known accounts the file repeats as they are.")
    skipped: list[SkippedRow] = Field(description="Known accounts already launched: their workflow owns them.")
    rejected: list[RejectedRow] = Field(description="One entry per problem; a row may have several.")
    ignored_columns: list[str]
    total_accounts: int = Field(description="Accounts in the campaign after the import.")


class CampaignMove(BaseModel):
    """Move the campaign to a published version; `step`: where accounts continue (default: the
    step of the same name)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    strategy_hash: str = Field(pattern=r"^[0-9a-f]{64}$", description="A published version's hash.")
    step: str | None = Field(default=None, pattern=r"^[a-z][a-z0-9_]*$", max_length=100)


class CampaignPage(Page[CampaignSummary]):
    """A page of campaigns."""


class NotifySettings(BaseModel):
    """Where the strategy's `notify` actions post; null stops them (each is then recorded as not sent)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    url: str | None = Field(
        max_length=2000,
        description="An http(s) URL with no credentials in it; loopback and private addresses are refused unless "
        "the deployment allows them (`COLLECT_NOTIFY_ALLOW_PRIVATE_ADDRESSES`).",
    )


class NotifyPublic(BaseModel):
    url: str | None
    secret_set: bool = Field(description="Whether webhooks are signed yet (a secret exists once a URL was set).")
    secret_rotated_at: datetime | None
    secret: str | None = Field(
        default=None,
        description="The signing secret, only in the answer that made it (the first URL, or a rotation): keep it "
        "now, it is never shown again.",
    )
