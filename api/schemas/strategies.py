"""Request and response bodies of the strategy endpoints: a strategy's source as JSON, validation
results, published versions, diffs, simulated timelines and what-if analyses."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from api.pagination import Page
from services.whatif import MAX_API_ACCOUNTS, MAX_DAYS
from simulator.portfolio import PortfolioDoc
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


# ---- what-if analysis ---------------------------------------------------------------------------------

# An import file of MAX_API_ACCOUNTS rows is a few hundred KB; the request body is bounded anyway.
MAX_CSV_CHARS = 1_000_000


class WhatIfRequest(BaseModel):
    """A what-if analysis of a published version: a synthetic portfolio (or an import file's
    accounts) run through it, split by variant and segment, beside the self-cure baseline and,
    optionally, beside another published version on the same accounts and random draws."""

    model_config = ConfigDict(extra="forbid")

    accounts: int = Field(
        default=1_000, ge=1, le=MAX_API_ACCOUNTS, description="Synthetic accounts (ignored with accounts_csv)."
    )
    days: int = Field(default=120, ge=1, le=MAX_DAYS)
    seed: int = Field(default=1, ge=0, le=2**31 - 1, description="The same seed gives the same accounts and draws.")
    start: str | None = Field(
        default=None, max_length=40, description="The debtor's local time, like '2026-11-02 09:00'; default: now."
    )
    portfolio: PortfolioDoc | None = Field(
        default=None,
        description="Balances (money in major units of the strategy's currency), days past due, the share of "
        "accounts reachable on each channel, response rates per channel and debtor behaviour; default: the "
        "simulator's portfolio.",
    )
    accounts_csv: str | None = Field(
        default=None,
        max_length=MAX_CSV_CHARS,
        description=f"An account import file (CSV, as a campaign import reads it) whose accounts run as they are; "
        f"at most {MAX_API_ACCOUNTS:,} rows.",
    )
    compare_with: str | None = Field(
        default=None, pattern=r"^[0-9a-f]{64}$", description="Another published version's hash, to run side by side."
    )
    baseline: bool = Field(default=True, description="Report the same accounts left alone (self-cure only).")


class WhatIfAmount(BaseModel):
    minor: int = Field(description="Minor units of the report's currency.")
    shown: str = Field(description="Formatted for the strategy's locale.")


class WhatIfCurvePoint(BaseModel):
    day: int
    collected: WhatIfAmount
    share: str | None = Field(description="Of placed, decimal string; null when nothing was placed.")


class WhatIfChannelCost(BaseModel):
    channel: str
    messages: int
    unit_cost: WhatIfAmount
    cost: WhatIfAmount


class WhatIfFigures(BaseModel):
    """One group of accounts (all, a variant or a segment) under one arm. Ratios are decimal strings."""

    name: str
    accounts: int
    placed: WhatIfAmount
    collected: WhatIfAmount
    recovery_rate: str | None
    recovery_curve: list[WhatIfCurvePoint] = Field(description="Collected by day 7, 30, 60, 90 and the last day.")
    cost_by_channel: list[WhatIfChannelCost] = Field(
        description="Messages x the configured channel cost, as the cost-per-amount-collected KPI counts them."
    )
    cost: WhatIfAmount
    cost_per_account: str | None = Field(description="Minor units, decimal string.")
    cost_per_amount_collected: str | None
    calls: int = Field(description="Agent calls worked (not priced, as in the KPI).")
    contacts_per_account: str | None
    reached_legal: int
    legal_share: str | None
    blocked: int = Field(description="Contacts the contact policy moved or blocked.")
    resolutions: dict[str, int]
    outcomes: dict[str, int] = Field(
        description="Agent calls by the outcome recorded: built-in codes and the strategy's own "
        "(drawn with the chances of the portfolio's behaviour.outcomes)."
    )


class WhatIfSpread(BaseModel):
    mean: float
    p10: float
    p50: float
    p90: float


class WhatIfArm(BaseModel):
    label: str
    strategy_id: str | None = Field(description="None for the self-cure baseline.")
    hash: str | None
    overall: WhatIfFigures
    by_variant: list[WhatIfFigures]
    by_segment: list[WhatIfFigures]
    contacts_per_account: WhatIfSpread
    days_to_payment: WhatIfSpread


class WhatIfInterval(BaseModel):
    difference: str
    low: str = Field(description="95% confidence interval, lower end.")
    high: str


class WhatIfComparison(BaseModel):
    method: str
    recovery_rate: WhatIfInterval = Field(description="The other version's recovery rate minus this one's.")
    cost_per_account: WhatIfInterval = Field(description="In minor units: the other's minus this one's.")
    collected: WhatIfAmount = Field(description="The other's collected minus this one's.")


class WhatIfResult(BaseModel):
    accounts: int
    days: int
    seed: int
    start: datetime
    currency: str
    locale: str
    portfolio: str = Field(description="synthetic | import file")
    checkpoints: list[int]
    strategy: WhatIfArm
    baseline: WhatIfArm | None
    lift: str | None = Field(description="Recovery rate minus the baseline's (share of placed), decimal string.")
    other: WhatIfArm | None
    comparison: WhatIfComparison | None
