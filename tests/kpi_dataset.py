"""A varied, reproducible campaign for the KPI equality tests: every kind of fact the KPIs read,
written straight into the database from a seeded random generator (the same seed always writes the
same rows), with the cases that make formulas go wrong on purpose:

- accounts in two currencies, placed over several months, due before and after placement; variants
  `champion` and `challenger`, accounts whose workflow has not run (no read-model row) and accounts
  whose strategy has no variants (a read-model row with a null variant);
- payments before placement, after the window, exactly at midnight and a microsecond before it, in
  the other currency, allocated to promises of any agent, to instalments or to the balance;
- fees, promises in every status by several agents (and none), outcomes of every code, messages of
  every channel in every status and provider (agent calls among them), tasks in every status;
- a second campaign whose facts must never leak into the first.

Facts span January 2025 to early 2026, so roll rates have many month ends.
"""

from __future__ import annotations

import calendar
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import (
    AGENT_TASK_STATUSES,
    CHANNELS,
    COMMUNICATION_STATUSES,
    PROMISE_STATUSES,
    Account,
    AccountState,
    AgentTask,
    Campaign,
    Communication,
    Debtor,
    Fee,
    OutcomeRecord,
    Payment,
    Promise,
)
from db.repositories.payments import installment_ref, promise_ref
from domain.types import Outcome

AGENTS = ("ana", "beto", "carla", "dani", None)
PROVIDERS = ("sandbox", "agent", "sendgrid", "twilio", "print", None)
FIRST_DAY = datetime(2025, 1, 1, tzinfo=UTC)


@dataclass
class Written:
    """What `write_campaign` wrote: the campaign and its accounts' ids by currency."""

    campaign_id: str
    accounts: dict[str, list[int]]


class _Writer:
    def __init__(self, session: Session, rng: random.Random, campaign_id: str) -> None:
        self.session, self.rng, self.campaign_id = session, rng, campaign_id
        self.seq = 0

    def key(self, kind: str) -> str:
        self.seq += 1
        return f"{self.campaign_id}:{kind}:{self.seq}"

    def moment(self, start: datetime, days: int) -> datetime:
        """A moment within `days` days after `start`; now and then exactly midnight or a
        microsecond before it, where day boundaries are decided."""
        day = start + timedelta(days=self.rng.randint(0, days))
        edge = self.rng.random()
        if edge < 0.1:
            return day.replace(hour=0, minute=0, second=0, microsecond=0)
        if edge < 0.2:
            return day.replace(hour=23, minute=59, second=59, microsecond=999_999)
        return day.replace(
            hour=self.rng.randint(0, 23), minute=self.rng.randint(0, 59), microsecond=self.rng.randint(0, 999_999)
        )

    def account(self, index: int, currency: str) -> int:
        rng = self.rng
        name = f"{self.campaign_id}-{currency}-{index}"
        debtor = Debtor(external_id=f"d-{name}", name=name, country="CL", timezone="America/Santiago", locale="es-CL")
        self.session.add(debtor)
        self.session.flush()
        placed_at = self.moment(FIRST_DAY + timedelta(days=4), 140)
        due = placed_at.date() - timedelta(days=rng.randint(-20, 120))
        if rng.random() < 0.4:
            # On a bucket's edge at one of the next month ends: 0, 30, 60 or 90 days past due, or a day off.
            year, month = divmod(placed_at.year * 12 + placed_at.month - 1 + rng.randint(0, 3), 12)
            month_end = date(year, month + 1, calendar.monthrange(year, month + 1)[1])
            due = month_end - timedelta(days=rng.choice((0, 1, 29, 30, 31, 59, 60, 61, 89, 90, 91)))
        placed = rng.randint(1, 60) * (5_000 if currency == "CLP" else 1_250)
        workflow_id = f"debtor:{self.campaign_id}:{name}"
        account = Account(
            campaign_id=self.campaign_id,
            external_id=name,
            debtor_id=debtor.id,
            workflow_id=workflow_id,
            currency=currency,
            balance=max(placed - rng.randint(0, placed), 0),  # moved with payments; placement is the snapshot
            original_amount=placed * 2,
            due_date=due,
            snapshot_json={"account_id": name, "balance": placed, "currency": currency},
            created_at=placed_at,
        )
        self.session.add(account)
        self.session.flush()
        shape = rng.random()
        if shape < 0.8:  # otherwise the workflow has not run: no read-model row
            variant = None if shape < 0.1 else rng.choice(("champion", "challenger"))  # a strategy without variants
            self.session.add(
                AccountState(
                    account_id=account.id,
                    workflow_id=workflow_id,
                    campaign_id=self.campaign_id,
                    stage="contact",
                    step="llamada",
                    segment="general",
                    variant=variant,
                    strategy_hash="h" * 64,
                    balance=account.balance,
                    paid_total=0,
                    # Charged totals from the account's own figures (no draw: the dataset stays as it was).
                    fees_total=placed // 50 if account.id % 3 else 0,
                    interest_total=placed // 100 if account.id % 2 else 0,
                    currency=currency,
                    days_past_due=30,
                    contacts=0,
                    version=1,
                )
            )
        self.facts(account, placed_at, placed)
        return account.id

    def facts(self, account: Account, placed_at: datetime, placed: int) -> None:
        rng, session = self.rng, self.session
        other = "USD" if account.currency == "CLP" else "CLP"
        promise_keys: list[str] = []
        same_day: list[tuple[str, datetime]] = []
        for _ in range(rng.randint(0, 3)):
            key = self.key("promise")
            promise_keys.append(key)
            made = self.moment(placed_at, 200)
            if rng.random() < 0.25:  # paid the day it was promised
                same_day.append((key, made.replace(hour=23, minute=59, second=59, microsecond=999_999)))
            session.add(
                Promise(
                    key=key,
                    account_id=account.id,
                    amount=rng.randint(1, 40) * 2_500,
                    currency=account.currency,
                    due_date=made.date() + timedelta(days=rng.randint(1, 20)),
                    status=rng.choice(PROMISE_STATUSES),
                    agent=rng.choice(AGENTS),
                    made_at=made,
                )
            )
        for _ in range(rng.randint(0, 4)):
            allocation = rng.random()
            allocated_to: str | None
            if allocation < 0.45 and promise_keys:
                allocated_to = promise_ref(rng.choice(promise_keys))
            elif allocation < 0.55:
                allocated_to = installment_ref(self.key("plan"), [1, 2])
            elif allocation < 0.6:
                allocated_to = None
            else:
                allocated_to = "balance"
            session.add(
                Payment(
                    account_id=account.id,
                    provider=rng.choice(("khipu", "stripe")),
                    provider_payment_id=self.key("payment"),
                    amount=rng.randint(1, 30) * 3_000,
                    currency=other if rng.random() < 0.08 else account.currency,
                    received_at=self.moment(placed_at - timedelta(days=20), 260),
                    allocated_to=allocated_to,
                )
            )
        for key, at in same_day:
            session.add(
                Payment(
                    account_id=account.id,
                    provider="khipu",
                    provider_payment_id=self.key("payment"),
                    amount=rng.randint(1, 10) * 1_000,
                    currency=account.currency,
                    received_at=at,
                    allocated_to=promise_ref(key),
                )
            )
        if rng.random() < 0.3:  # paid off (or more) at some point: a cure
            session.add(
                Payment(
                    account_id=account.id,
                    provider="khipu",
                    provider_payment_id=self.key("payment"),
                    amount=placed + rng.choice((0, 0, 7_000)),
                    currency=account.currency,
                    received_at=self.moment(placed_at, 150),
                    allocated_to=promise_ref(promise_keys[0]) if promise_keys else "balance",
                )
            )
        for _ in range(rng.randint(0, 2)):
            amount = rng.randint(1, 10) * 1_000
            session.add(
                Fee(
                    key=self.key("fee"),
                    account_id=account.id,
                    amount=amount,
                    requested=amount + rng.randint(0, 500),
                    currency=other if rng.random() < 0.08 else account.currency,
                    step="mora",
                    applied_at=self.moment(placed_at, 200),
                )
            )
        for _ in range(rng.randint(0, 5)):
            session.add(
                OutcomeRecord(
                    key=self.key("outcome"),
                    account_id=account.id,
                    code=rng.choice(list(Outcome)).value,
                    agent=rng.choice(AGENTS),
                    recorded_at=self.moment(placed_at, 200),
                )
            )
        for _ in range(rng.randint(0, 6)):
            session.add(
                Communication(
                    key=self.key("message"),
                    account_id=account.id,
                    workflow_id=account.workflow_id,
                    seq=self.seq,
                    step="paso",
                    channel=rng.choice(CHANNELS),
                    status=rng.choice(COMMUNICATION_STATUSES),
                    provider=rng.choice(PROVIDERS),
                    planned_at=self.moment(placed_at, 200),
                )
            )
        for _ in range(rng.randint(0, 3)):
            status = rng.choice(AGENT_TASK_STATUSES)
            finished = status in ("done", "expired", "cancelled")
            session.add(
                AgentTask(
                    key=self.key("task"),
                    account_id=account.id,
                    workflow_id=account.workflow_id,
                    seq=self.seq,
                    step="llamada",
                    queue="calls",
                    attempt=1,
                    allowed_outcomes=["right_party_contact"],
                    status=status,
                    assigned_agent=rng.choice(AGENTS),
                    due_at=self.moment(placed_at, 30),
                    completed_at=self.moment(placed_at, 200) if finished else None,
                )
            )


def write_campaign(session: Session, campaign_id: str, *, seed: int, accounts: dict[str, int]) -> Written:
    """Write campaign `campaign_id` with `accounts` accounts per currency and their facts; flushes,
    never commits."""
    session.add(Campaign(id=campaign_id, name=campaign_id, strategy_hash="h" * 64, creditor_name="Acme"))
    session.flush()
    writer = _Writer(session, random.Random(seed), campaign_id)
    ids = {currency: [writer.account(i, currency) for i in range(n)] for currency, n in accounts.items()}
    session.flush()
    return Written(campaign_id=campaign_id, accounts=ids)


# Windows the equality test asks every campaign for: the default one, bounded ones, windows that
# start or end on a month end, a single day, a window without a month end, one reaching the future.
WINDOWS: tuple[dict[str, str], ...] = (
    {},
    {"from": "2025-01-01", "to": "2025-03-05"},
    {"from": "2025-02-01"},
    {"to": "2025-04-30"},
    {"from": "2025-03-31", "to": "2025-03-31"},
    {"from": "2024-12-01", "to": "2025-12-31"},
    {"from": "2025-06-15", "to": "2025-06-20"},
    {"from": "2025-05-01", "to": "2027-06-30"},
)


def edge_windows(session: Session, campaign_id: str, count: int = 6) -> list[dict[str, str]]:
    """Windows that start or end exactly on the day of a promise that payments went towards, or
    on the day of a payment: where an off-by-one in a window's bounds shows."""
    promised = select(Promise.key, Promise.made_at).join(Account, Account.id == Promise.account_id)
    made = {
        promise_ref(key): at.astimezone(UTC).date()
        for key, at in session.execute(promised.where(Account.campaign_id == campaign_id))
    }
    paid = select(Payment.allocated_to, Payment.received_at).join(Account, Account.id == Payment.account_id)
    pairs = sorted(
        (made[to], at.astimezone(UTC).date())
        for to, at in session.execute(paid.where(Account.campaign_id == campaign_id))
        if to in made
    )
    windows = []
    for promise_day, payment_day in pairs[:: max(len(pairs) // count, 1)][:count]:
        windows.append({"from": promise_day.isoformat(), "to": payment_day.isoformat()})
        windows.append({"from": (promise_day - timedelta(days=40)).isoformat(), "to": promise_day.isoformat()})
        windows.append({"from": payment_day.isoformat(), "to": (payment_day + timedelta(days=40)).isoformat()})
    return windows


def day(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None
