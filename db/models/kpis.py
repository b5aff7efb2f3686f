"""What campaign KPIs are read from: per-day counters kept by the code that writes each fact, and
the month-end roll-rate snapshots computed once from the ledger and kept while their inputs stand.

Both are derived data: the fact tables (accounts, communications, outcomes, promises, payments,
fees, agent tasks) stay the truth, and db/repositories/kpi_counters.py can recount the counters
from them at any time.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, CheckConstraint, String
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, utcnow
from db.models._checks import one_of

# What a counter row counts (`day`: the fact's UTC day). Per variant (`agent` is NONE):
#   placed          accounts placed (created) that day; amount: their placed balance
#   message         messages that reached or may have reached the debtor, planned that day; detail: channel
#   call            agent calls logged as communications (provider `agent`); detail: channel
#   outcome         agent outcomes recorded that day; detail: outcome code
#   right_party     those outcomes that were a right-party contact (as the strategy counts its own codes)
#   promise         promises made that day; detail: current status; amount: promised
#   payment         payments received that day in the account's currency; amount: paid
#   fee             fees applied that day in the account's currency; amount: charged
# Per agent (`variant` is NONE: the agents' figures are not split by variant):
#   agent_outcome   as `outcome`, by the agent who recorded it
#   agent_right_party   as `right_party`, by the agent who recorded it
#   agent_promise   as `promise`, by the agent who took it
#   agent_task_done agent tasks finished with an outcome that day, by who finished them
#   agent_collected payments received that day towards a promise the agent took; amount: paid
#   agent_paid_after    the same payments, day by day (grain `day` only), with the promise's day (ISO)
#                       as detail, for those received on or after it
#   agent_paid_before   those received before the promise's day: `day` is the promise's day and
#                       detail the day received (a payment recorded after the promise it went
#                       towards can carry an earlier provider time)
VARIANT_FACTS = ("placed", "message", "call", "outcome", "right_party", "promise", "payment", "fee")
AGENT_FACTS = (
    "agent_outcome",
    "agent_right_party",
    "agent_promise",
    "agent_task_done",
    "agent_collected",
    "agent_paid_after",
    "agent_paid_before",
)
KPI_FACTS = VARIANT_FACTS + AGENT_FACTS
# Every count is kept per day, per month (`day` is the month's first day) and in total (`day` is
# TOTAL_DAY), so a window reads whole months and its edge days, and the usual window (everything
# up to today) reads one row per key. The pairs of payments and promises are kept per day only.
GRAINS = ("day", "month", "total")
DAY_ONLY = ("agent_paid_after", "agent_paid_before")
TOTAL_DAY = date(1, 1, 1)
# A key column cannot be null in a primary key: no variant (the workflow has not run, or the
# strategy has none) and no agent are counted under the empty string. Variant names are
# lower_snake_case and agents are API-key subjects, neither ever empty.
NONE = ""


class KpiCounter(Base):
    """Facts of one campaign, currency, variant or agent and UTC day (or month, or all days),
    counted and summed.

    Writers add deltas in the transaction that writes or changes the fact
    (db/repositories/kpi_counters.py), so a KPI request sums a few hundred rows instead of
    reading every account's facts. `revision` counts the transactions that touched the row: it
    only grows, which is what lets a roll-rate snapshot notice that its inputs changed. The key's
    order serves every read: one campaign, one fact, one currency, one grain, a range of days.
    """

    __tablename__ = "kpi_counters"
    __table_args__ = (
        CheckConstraint(one_of("fact", KPI_FACTS), name="fact"),
        CheckConstraint(one_of("grain", GRAINS), name="grain"),
    )

    campaign_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    fact: Mapped[str] = mapped_column(String(24), primary_key=True)
    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    grain: Mapped[str] = mapped_column(String(5), primary_key=True)
    day: Mapped[date] = mapped_column(primary_key=True)
    variant: Mapped[str] = mapped_column(String, primary_key=True)
    agent: Mapped[str] = mapped_column(String, primary_key=True)
    detail: Mapped[str] = mapped_column(String, primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger)
    amount: Mapped[int] = mapped_column(BigInteger)  # minor units of `currency`
    revision: Mapped[int] = mapped_column(BigInteger)


class KpiRollSnapshot(Base):
    """How accounts moved between past-due buckets from the month end before `period_end` to
    `period_end`, per variant, as computed from the ledger.

    `transitions` holds `[variant, from bucket, to bucket, accounts, balance at the start, balance
    at the end]` rows. `inputs_revision` is the sum of the revisions of the counters of
    placements, payments and fees of the months up to `period_end` when it was computed: any late
    fact, placement change or variant move dated then raises that sum, and a snapshot whose sum no
    longer matches is computed again (services/kpis.py)."""

    __tablename__ = "kpi_roll_snapshots"

    campaign_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    period_end: Mapped[date] = mapped_column(primary_key=True)
    inputs_revision: Mapped[int] = mapped_column(BigInteger)
    transitions: Mapped[list[Any]] = mapped_column(JSON)
    computed_at: Mapped[datetime] = mapped_column(default=utcnow)
