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

# What a counter row counts (`day` is the fact's UTC day):
#   placed     accounts placed (created) that day; amount: their placed balance
#   message    messages that reached or may have reached the debtor, planned that day; detail: channel
#   call       agent calls logged as communications (provider `agent`); detail: channel
#   outcome    agent outcomes recorded that day; agent, detail: outcome code
#   promise    promises made that day; agent, detail: current status; amount: promised
#   payment    payments received that day in the account's currency; amount: paid; agent and detail:
#              the agent and UTC day (ISO) of the promise it was allocated to, when it was
#   fee        fees applied that day in the account's currency; amount: charged
#   task_done  agent tasks finished with an outcome that day; agent: who finished it
KPI_FACTS = ("placed", "message", "call", "outcome", "promise", "payment", "fee", "task_done")
# A key column cannot be null in a primary key: no variant (the workflow has not run, or the
# strategy has none) and no agent are counted under the empty string. Variant names are
# lower_snake_case and agents are API-key subjects, neither ever empty.
NONE = ""


class KpiCounter(Base):
    """Facts of one campaign, currency, variant and UTC day, counted and summed.

    Writers add deltas in the transaction that writes or changes the fact
    (db/repositories/kpi_counters.py), so a KPI request sums a few hundred rows instead of
    reading every account's facts. `revision` counts the transactions that touched the row: it
    only grows, which is what lets a roll-rate snapshot notice that its inputs changed.
    """

    __tablename__ = "kpi_counters"
    __table_args__ = (CheckConstraint(one_of("fact", KPI_FACTS), name="fact"),)

    campaign_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    fact: Mapped[str] = mapped_column(String(16), primary_key=True)
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
    placements, payments and fees dated on or before `period_end` when it was computed: any late
    fact, placement change or variant move dated then raises that sum, and a snapshot whose sum no
    longer matches is computed again (services/kpis.py)."""

    __tablename__ = "kpi_roll_snapshots"

    campaign_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    period_end: Mapped[date] = mapped_column(primary_key=True)
    inputs_revision: Mapped[int] = mapped_column(BigInteger)
    transitions: Mapped[list[Any]] = mapped_column(JSON)
    computed_at: Mapped[datetime] = mapped_column(default=utcnow)
