"""The facts campaign KPIs are computed from, aggregated per account in SQL: placements, payments,
fees, contacts sent, agent outcomes, promises and finished tasks.

Every query is scoped to one campaign and one currency (money of two currencies never adds up)
and, for events, to a window `[start, end)` of UTC instants; the formulas that turn these facts
into rates live with the KPI endpoints (api/routers/kpis.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import QueryableAttribute, Session
from sqlalchemy.sql.elements import ColumnElement

from db.models import Account, AgentTask, Communication, Fee, OutcomeRecord, Payment, Promise
from db.models import AccountState as AccountStateRow

_Row = TypeVar("_Row", bound=tuple[Any, ...])

# Communications that reached (or may have reached) the debtor; the same set the send activity's
# policy check counts as contacts (activities/messaging.py CONTACTED).
CONTACT_STATUSES = ("sent", "unknown", "delivered", "opened", "clicked", "replied", "bounced")
# Agent calls are logged as voice communications with this provider; they cost agent time, not
# a per-message channel fee.
AGENT_PROVIDER = "agent"


@dataclass(frozen=True)
class Window:
    """Events at or after `start` and before `end` (either open)."""

    start: datetime | None = None
    end: datetime | None = None

    def bounds(self, column: QueryableAttribute[Any]) -> list[ColumnElement[bool]]:
        """SQL conditions keeping `column` inside the window."""
        conditions: list[ColumnElement[bool]] = []
        if self.start is not None:
            conditions.append(column >= self.start)
        if self.end is not None:
            conditions.append(column < self.end)
        return conditions


@dataclass(frozen=True)
class PlacedAccount:
    id: int
    variant: str | None
    placed_balance: int  # the balance the account entered the campaign with
    due_date: date
    placed_at: datetime


@dataclass(frozen=True)
class LedgerEntry:
    account_id: int
    amount: int
    at: datetime
    allocated_to: str | None = None


@dataclass(frozen=True)
class ContactCount:
    account_id: int
    channel: str
    by_agent: bool
    count: int


@dataclass(frozen=True)
class OutcomeCount:
    account_id: int
    agent: str | None
    code: str
    count: int


@dataclass(frozen=True)
class PromiseFact:
    account_id: int
    key: str
    agent: str | None
    status: str
    amount: int


def _in_campaign(query: Select[_Row], campaign_id: str, currency: str) -> Select[_Row]:
    return query.where(Account.campaign_id == campaign_id, Account.currency == currency)


def currencies(session: Session, campaign_id: str) -> list[str]:
    """The currencies of the campaign's accounts."""
    return list(
        session.scalars(
            select(Account.currency).where(Account.campaign_id == campaign_id).distinct().order_by(Account.currency)
        )
    )


def placed_accounts(session: Session, campaign_id: str, currency: str) -> list[PlacedAccount]:
    """Every account of the campaign in `currency`, with its variant (None until its workflow ran)."""
    placed = Account.snapshot_json["balance"].as_integer()
    query = (
        select(Account.id, AccountStateRow.variant, placed, Account.balance, Account.due_date, Account.created_at)
        .outerjoin(AccountStateRow, AccountStateRow.account_id == Account.id)
        .where(Account.campaign_id == campaign_id, Account.currency == currency)
        .order_by(Account.id)
    )
    return [
        PlacedAccount(
            id=row[0],
            variant=row[1],
            # The snapshot keeps the balance at placement; `balance` moves with payments.
            placed_balance=int(row[2] if row[2] is not None else row[3]),
            due_date=row[4],
            placed_at=row[5],
        )
        for row in session.execute(query)
    ]


def payments(session: Session, campaign_id: str, currency: str, window: Window = Window()) -> list[LedgerEntry]:
    """The campaign's payments in `currency` received in the window, oldest first."""
    query = select(Payment.account_id, Payment.amount, Payment.received_at, Payment.allocated_to).join(
        Account, Account.id == Payment.account_id
    )
    query = _in_campaign(query, campaign_id, currency).where(Payment.currency == currency)
    query = query.where(*window.bounds(Payment.received_at)).order_by(Payment.received_at, Payment.id)
    return [LedgerEntry(account_id=a, amount=int(m), at=t, allocated_to=to) for a, m, t, to in session.execute(query)]


def fees(session: Session, campaign_id: str, currency: str, window: Window = Window()) -> list[LedgerEntry]:
    """The fees applied to the campaign's accounts in the window, oldest first."""
    query = select(Fee.account_id, Fee.amount, Fee.applied_at).join(Account, Account.id == Fee.account_id)
    query = _in_campaign(query, campaign_id, currency).where(Fee.currency == currency, *window.bounds(Fee.applied_at))
    return [LedgerEntry(account_id=a, amount=int(m), at=t) for a, m, t in session.execute(query.order_by(Fee.id))]


def contacts(session: Session, campaign_id: str, currency: str, window: Window = Window()) -> list[ContactCount]:
    """Messages and calls that reached out, per account and channel, planned in the window."""
    query = select(Communication.account_id, Communication.channel, Communication.provider, func.count()).join(
        Account, Account.id == Communication.account_id
    )
    query = _in_campaign(query, campaign_id, currency).where(
        Communication.status.in_(CONTACT_STATUSES), *window.bounds(Communication.planned_at)
    )
    query = query.group_by(Communication.account_id, Communication.channel, Communication.provider)
    totals: dict[tuple[int, str, bool], int] = {}
    for account_id, channel, provider, count in session.execute(query):
        key = (int(account_id), str(channel), provider == AGENT_PROVIDER)
        totals[key] = totals.get(key, 0) + int(count)
    return [ContactCount(a, c, by_agent, n) for (a, c, by_agent), n in sorted(totals.items())]


def outcomes(session: Session, campaign_id: str, currency: str, window: Window = Window()) -> list[OutcomeCount]:
    """Agent outcomes (one per call attempt) per account, agent and code, recorded in the window."""
    query = select(OutcomeRecord.account_id, OutcomeRecord.agent, OutcomeRecord.code, func.count()).join(
        Account, Account.id == OutcomeRecord.account_id
    )
    query = _in_campaign(query, campaign_id, currency).where(*window.bounds(OutcomeRecord.recorded_at))
    query = query.group_by(OutcomeRecord.account_id, OutcomeRecord.agent, OutcomeRecord.code)
    return [OutcomeCount(int(a), agent, str(code), int(n)) for a, agent, code, n in session.execute(query)]


def promises(session: Session, campaign_id: str, currency: str, window: Window = Window()) -> list[PromiseFact]:
    """Promises made in the window, with their current status (open, kept, broken, cancelled)."""
    query = select(Promise.account_id, Promise.key, Promise.agent, Promise.status, Promise.amount).join(
        Account, Account.id == Promise.account_id
    )
    query = _in_campaign(query, campaign_id, currency).where(*window.bounds(Promise.made_at)).order_by(Promise.id)
    return [PromiseFact(int(a), k, agent, s, int(m)) for a, k, agent, s, m in session.execute(query)]


def tasks_done(session: Session, campaign_id: str, currency: str, window: Window = Window()) -> dict[str, int]:
    """Agent tasks finished with an outcome in the window, per agent."""
    query = select(AgentTask.assigned_agent, func.count()).join(Account, Account.id == AgentTask.account_id)
    query = _in_campaign(query, campaign_id, currency).where(
        AgentTask.status == "done", AgentTask.assigned_agent.is_not(None), *window.bounds(AgentTask.completed_at)
    )
    query = query.group_by(AgentTask.assigned_agent)
    return {str(agent): int(n) for agent, n in session.execute(query)}
