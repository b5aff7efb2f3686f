"""Request and response bodies of the strategy endpoints: a strategy's source as JSON, validation
results, published versions, diffs and simulated timelines."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from api.pagination import Page
from simulator.scenario import ScenarioDoc
from strategies.limits import MAX_DEPTH, MAX_DOCUMENT_BYTES


class StrategySource(BaseModel):
    """A strategy sent as JSON: its YAML text in one field (for clients that send only JSON)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    yaml: str = Field(
        description=f"The strategy's YAML text: at most {MAX_DOCUMENT_BYTES:,} bytes (UTF-8), nested at most "
        f"{MAX_DEPTH} levels, as when sent as YAML."
    )


class StrategySummary(BaseModel):
    strategy_id: str
    name: str
    hash: str = Field(description="SHA-256 of the compiled strategy: its identity once published.")
    currency: str
    locale: str
    timezone: str
    policy: str = Field(description="The contact policy preset (e.g. CL, US-REGF) or NONE.")
    steps: int
    segments: list[str]
    variants: list[str]
    policy_overrides: list[str] = Field(description="Where the strategy loosens its policy preset, and why.")
    holiday_calendar: str | None = Field(
        default=None,
        description="The public holidays frozen into this version (country and years). A contact the holiday "
        "rule would judge on a later day is skipped: publish again before the last year ends. None when the "
        "policy has no holiday rule (or the version predates frozen calendars).",
    )


class ValidationResult(StrategySummary):
    valid: Literal[True] = True
    warnings: list[str]
    published: bool = Field(description="Whether a version with this hash is already published.")


class StrategyVersionPublic(StrategySummary):
    id: int
    published_at: datetime
    published_by: str | None


class StrategyVersionDetail(StrategyVersionPublic):
    source_yaml: str


class NamedChanges(BaseModel):
    added: list[str]
    removed: list[str]
    changed: list[str]


class StrategyDiff(BaseModel):
    from_hash: str
    to_hash: str
    identical: bool
    steps: NamedChanges
    templates: NamedChanges
    settings_changed: list[str] = Field(
        description="Top-level parts that differ: policy, segments, variants, handlers, promises, plans, ..."
    )
    unified_diff: str = Field(description="A unified diff of the two YAML sources.")


class SimulateRequest(ScenarioDoc):
    """A scripted scenario for one account (as `collect strategy simulate --scenario` reads it).
    `start` is the debtor's local time ("2026-11-02 09:00"); `account` overrides the defaults."""

    model_config = ConfigDict(extra="forbid")


class SimulationTimelineEntry(BaseModel):
    """One moment of a simulated account's run (the account timeline of a live account is a
    `TimelineEntry`)."""

    at: datetime = Field(description="When, in UTC.")
    at_local: datetime = Field(description="The same moment in the debtor's time zone.")
    kind: str = Field(
        description="send | call | task | blocked | fee | approval | legal | closed | event | rejected | error"
        " | stopped | promise (kept or broken) | expired (a task nobody worked, an offer nobody took)"
    )
    step: str
    stage: str = Field(description="The stage of the step that acted.")
    detail: str
    preview: str | None = Field(
        default=None, description="A message's subject and first line, rendered for the simulated account."
    )
    fallback_for: str | None = Field(
        default=None, description="A message sent on a fallback channel: the channel it could not use."
    )
    channel: str | None = None
    moved_to: datetime | None = Field(default=None, description="A blocked contact's new time, in UTC.")
    moved_to_local: datetime | None = None


class SimulationResult(BaseModel):
    strategy_id: str
    hash: str
    account_id: str
    timezone: str
    start: datetime
    days: int
    segment: str
    variant: str | None
    final_step: str
    final_stage: str
    resolution: str | None
    balance: int = Field(description="Minor units of `currency`.")
    paid_total: int
    currency: str
    contacts: int
    closed_at: datetime | None
    stopped: str | None = Field(
        default=None, description="Why the run ended before `days` (it took more turns than a simulation follows)."
    )
    timeline: list[SimulationTimelineEntry]


class StrategyVersionPage(Page[StrategyVersionPublic]):
    """A page of published strategy versions."""
