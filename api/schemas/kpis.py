"""Response bodies of the KPI endpoints. Money is an integer of minor units of the report's
currency; every rate is a `Ratio` that shows its numerator and denominator, so a reader can check
it (its `value` is a decimal string rounded to 6 places, null when nothing was counted). The
formulas are those of commercial-and-compliance.md §1.4, cited on each field.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

Bucket = Literal["current", "1-29", "30-59", "60-89", "90+", "paid"]


class Ratio(BaseModel):
    """numerator ÷ denominator."""

    value: str | None = Field(description="Decimal string, e.g. '0.25'; null when the denominator is 0.")
    numerator: int
    denominator: int


class PromiseCounts(BaseModel):
    made: int = Field(description="Promises made in the window.")
    open: int = Field(description="Not yet due (pending): excluded from the kept rate.")
    kept: int
    broken: int
    cancelled: int = Field(description="Replaced by a later promise before falling due.")


class DayAmount(BaseModel):
    day: date
    amount: int


class CollectedPerDay(BaseModel):
    days: list[DayAmount] = Field(description="Amount received per UTC day, days with payments only.")
    total: int
    days_in_window: int
    average: Ratio = Field(description="total ÷ days in the window (minor units per day).")


class ChannelCost(BaseModel):
    channel: str
    messages: int = Field(description="Messages sent on the channel (agent calls excluded: labour, not a fee).")
    unit_cost: int = Field(description="Configured cost of one message (settings.channel_costs).")
    cost: int


class Cost(BaseModel):
    by_channel: list[ChannelCost]
    total: int
    per_amount_collected: Ratio = Field(description="§1.4 cost per dollar collected: channel cost ÷ amount collected.")


class RollTransition(BaseModel):
    from_bucket: Bucket
    to_bucket: Bucket
    accounts: Ratio = Field(description="Accounts that moved ÷ accounts in from_bucket at the period's start.")
    balance: Ratio = Field(
        description="§1.4 roll rate: balance in to_bucket at the end that was in from_bucket at the start ÷ balance in "
        "from_bucket at the start. For cures (to `paid`) the numerator is the cured accounts' starting balance."
    )


class RollPeriod(BaseModel):
    start: date = Field(description="Month end t−1.")
    end: date = Field(description="Month end t.")
    transitions: list[RollTransition]


class KpiSet(BaseModel):
    """The KPIs of a set of accounts (a campaign, or one variant of it)."""

    accounts: int
    placed_amount: int = Field(description="Sum of the balances the accounts were placed with.")
    collected_amount: int = Field(description="Payments received in the window.")
    recovery_rate: Ratio = Field(description="§1.4 recovery rate: amount collected ÷ amount placed.")
    dial_attempts: int = Field(description="Agent call attempts (one per recorded outcome).")
    right_party_contacts: int = Field(
        description="Outcomes that were a conversation with the debtor: every built-in code but no_answer and "
        "wrong_party, and a strategy's own codes declared right_party_contact: true."
    )
    right_party_contact_rate: Ratio = Field(description="§1.4 RPC rate: right-party contacts ÷ dial attempts.")
    outcomes: dict[str, int] = Field(
        description="Dial attempts per outcome code, the strategies' own codes included (codes without any left out)."
    )
    promises: PromiseCounts
    promise_rate: Ratio = Field(description="§1.4 promise rate: promises ÷ right-party contacts.")
    promise_kept_rate: Ratio = Field(description="§1.4 promise-kept rate: kept ÷ promises that fell due (kept+broken).")
    promise_kept_amount_rate: Ratio = Field(description="§1.4 $-weighted version: amount kept ÷ amount fallen due.")
    contacts: int = Field(description="Messages sent and calls made (blocked and failed attempts excluded).")
    contacts_per_account: Ratio = Field(description="contacts ÷ accounts.")
    collected_per_day: CollectedPerDay
    cost: Cost
    roll_rates: list[RollPeriod] = Field(
        description="§1.4 roll and cure rates between consecutive month ends in the window, from the ledger."
    )


class VariantKpis(KpiSet):
    variant: str | None = Field(description="Champion/challenger variant; null: the workflow has not run yet.")


class Overpaid(BaseModel):
    """Payments beyond what accounts owed: the creditor owes them back as refunds or credits."""

    accounts: int = Field(description="Accounts of the campaign (in `currency`) with an overpayment.")
    amount: int = Field(description="Their overpayments in all, in minor units of `currency`.")


class Charged(BaseModel):
    """What the campaign added to its accounts' debts (part of their balances)."""

    fees: int = Field(description="Fees charged so far, in minor units of `currency`.")
    interest: int = Field(description="Interest charged so far, in minor units of `currency`.")
    interest_accounts: int = Field(description="Accounts of the campaign (in `currency`) charged any interest.")


class CampaignKpis(BaseModel):
    campaign_id: str
    currency: str | None = Field(description="All money figures are in this currency; null: no accounts.")
    from_date: date = Field(description="First day of the window (default: the first placement).")
    to_date: date = Field(description="Last day of the window, inclusive (default: today, UTC).")
    as_of: datetime
    overall: KpiSet
    variants: list[VariantKpis]
    overpaid: Overpaid = Field(
        description="As of each account's last turn, whatever the window: refunds or credits due (list them with "
        "GET /accounts?campaign_id=...&overpaid=true)."
    )
    charged: Charged = Field(
        description="As of each account's last turn, whatever the window: the fees and interest the campaign charged."
    )


class AgentKpis(BaseModel):
    """§1.4 agent KPIs: promises per RPC, promise-kept rate by agent, amount collected."""

    agent: str
    tasks_done: int
    dial_attempts: int
    right_party_contacts: int
    right_party_contact_rate: Ratio = Field(description="right-party contacts ÷ dial attempts.")
    outcomes: dict[str, int] = Field(description="Dial attempts per outcome code, the strategies' own codes included.")
    promises_taken: int
    promises_kept: int
    promises_broken: int
    promise_rate: Ratio = Field(description="promises taken ÷ right-party contacts.")
    promise_kept_rate: Ratio = Field(description="kept ÷ (kept + broken) of the agent's promises.")
    amount_collected: int = Field(description="Payments allocated to the agent's promises, received in the window.")


class CampaignAgentKpis(BaseModel):
    campaign_id: str
    currency: str | None
    from_date: date
    to_date: date
    as_of: datetime
    agents: list[AgentKpis]
