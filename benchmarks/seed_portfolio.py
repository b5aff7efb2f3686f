"""A realistic portfolio in the database, fast: one campaign of the shipped Chilean strategy whose
accounts have lived for some months, with rows in every table the API reads.

    from benchmarks.seed_portfolio import seed
    seeded = seed(engine, accounts=100_000)        # about a minute on PostgreSQL at 100,000

What each account gets (seeded randomness, so the same arguments write the same rows; the shares
are per account on average):

- a debtor with an email and a phone (5% of debtors hold two accounts), the account placed on a
  day of the last `months` months, due 0-120 days before; the read-model row of its workflow
  (95% launched) with variant `champion` (80%) or `challenger`, stage, step, balance, agent;
- about 4.5 communications: emails, SMS, WhatsApp, letters in every status the send activity and
  the webhooks write (delivered, opened, bounced, blocked by a rule, failed...), and one agent call
  on average, each with its outcome (30 agents) and the finished task it answered; delivery and
  engagement events for emails;
- promises from `promise_to_pay` outcomes (kept, broken, cancelled or still open), payments
  towards them and others (8% pay off), fees (15%), payment plans with instalments (2%),
  approvals, legal referrals and notes (1-2%);
- open tasks in the agents' queues: about 3.9% of accounts (3,872 at 100,000, as measured in issue
  10).

PostgreSQL is written with COPY; SQLite (small portfolios in tests) with executemany. Ids are
assigned here (after the tables' current maximum) so rows can refer to each other without a round
trip, and PostgreSQL's sequences are moved past them. Nothing is committed half-way: one
transaction, so a failed seed leaves nothing behind.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, Table, func, insert, select, text
from sqlalchemy.orm import Session

from db.models import (
    Account,
    AccountState,
    AgentNote,
    AgentTask,
    Approval,
    Campaign,
    Communication,
    ContactPoint,
    Debtor,
    Fee,
    KpiCounter,
    LegalReferral,
    MessageEvent,
    OutcomeRecord,
    Payment,
    PaymentPlan,
    PlanInstallment,
    Promise,
    StrategyVersion,
)
from db.repositories import kpi_counters
from db.repositories.payments import promise_ref
from domain.account import AccountSnapshot
from strategies.compiler import compile_file

ROOT = Path(__file__).resolve().parents[1]
STRATEGY = ROOT / "strategies" / "cl-consumer.yaml"
OUTCOMES = (
    ("no_answer", 34),
    ("right_party_contact", 18),
    ("promise_to_pay", 20),
    ("wrong_party", 6),
    ("refusal", 8),
    ("callback_requested", 7),
    ("hardship", 4),
    ("dispute", 2),
    ("payment_plan", 1),
)
# (channel, share of messages); agent calls are separate (one per outcome).
CHANNEL_SHARES = (("email", 45), ("sms", 32), ("whatsapp", 15), ("letter", 8))
STATUS_SHARES = (
    ("sent", 30),
    ("delivered", 28),
    ("opened", 12),
    ("clicked", 3),
    ("blocked", 14),
    ("failed", 5),
    ("bounced", 3),
    ("unknown", 1),
    ("replied", 1),
    ("pending", 3),
)
STAGES = (("outreach", 30), ("contact", 30), ("commitment", 12), ("payment", 8), ("legal", 5), ("closed", 15))
QUEUES = ("cobranza_temprana", "cobranza_tardia", "legal")


@dataclass
class Seeded:
    """What `seed` wrote."""

    campaign_id: str
    strategy_hash: str
    rows: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def summary(self) -> str:
        total = sum(self.rows.values())
        parts = ", ".join(f"{name} {count:,}" for name, count in self.rows.items())
        return f"{total:,} rows in {self.seconds:.1f} s ({total / max(self.seconds, 1e-9):,.0f} rows/s): {parts}"


def _pick(rng: random.Random, shares: Sequence[tuple[str, int]]) -> str:
    return rng.choices([name for name, _ in shares], weights=[weight for _, weight in shares])[0]


class _Ids:
    """The next free id of each table, read once at the start."""

    def __init__(self, connection: Connection, tables: Iterable[Table]) -> None:
        self.next = {
            t.name: int(connection.execute(select(func.coalesce(func.max(t.c.id), 0))).scalar_one()) + 1 for t in tables
        }

    def take(self, table: Table) -> int:
        value = self.next[table.name]
        self.next[table.name] = value + 1
        return value


class _Portfolio:
    """Generates the rows, table by table, in memory (tuples in `columns` order)."""

    def __init__(self, rng: random.Random, ids: _Ids, campaign_id: str, strategy_hash: str, now: datetime) -> None:
        self.rng, self.ids, self.campaign_id, self.hash, self.now = rng, ids, campaign_id, strategy_hash, now
        self.rows: dict[str, list[dict[str, Any]]] = {}

    def add(self, table: Table, **values: Any) -> int:
        if "id" in table.c and "id" not in values:
            values["id"] = self.ids.take(table)
        self.rows.setdefault(table.name, []).append(values)
        return int(values.get("id", 0))

    def moment(self, start: datetime, end: datetime) -> datetime:
        span = max(int((end - start).total_seconds()), 1)
        return start + timedelta(seconds=self.rng.randrange(span), microseconds=self.rng.randrange(1_000_000))

    def account(self, index: int, months: int, agents: Sequence[str], debtor_id: int | None) -> int:
        rng, now = self.rng, self.now
        external = f"P-{index:07d}"
        if debtor_id is None:
            debtor_id = self.add(
                Debtor.__table__,
                external_id=f"D-{self.campaign_id}-{index:07d}",
                name=f"Deudor {index}",
                country="CL",
                timezone="America/Santiago",
                locale="es-CL",
                created_at=now - timedelta(days=30 * months),
            )
            for channel, address in (("email", f"d{index}@example.cl"), ("sms", f"+5698{index:07d}")):
                self.add(
                    ContactPoint.__table__,
                    debtor_id=debtor_id,
                    channel=channel,
                    address=address,
                    valid=rng.random() > 0.02,
                    consent=True,
                    consent_source="import",
                    updated_at=now,
                )
        placed_at = self.moment(now - timedelta(days=30 * months), now - timedelta(days=1))
        due = placed_at.date() - timedelta(days=rng.randint(0, 120))
        placed = rng.randint(20, 2_000) * 1_000
        snapshot = AccountSnapshot(
            account_id=external,
            debtor_name=f"Deudor {index}",
            country="CL",
            timezone="America/Santiago",
            locale="es-CL",
            currency="CLP",
            balance=placed,
            original_amount=placed + rng.randint(0, 500) * 1_000,
            due_date=due,
            email=f"d{index}@example.cl",
            phone=f"+5698{index:07d}",
        )
        workflow_id = f"debtor:{self.campaign_id}:{external}"
        launched = rng.random() < 0.95
        account_id = self.add(
            Account.__table__,
            campaign_id=self.campaign_id,
            external_id=external,
            debtor_id=debtor_id,
            workflow_id=workflow_id,
            currency="CLP",
            currency_digits=0,
            balance=placed,  # set below, once the ledger is known
            original_amount=snapshot.original_amount,
            due_date=due,
            snapshot_json=snapshot.model_dump(mode="json"),
            created_at=placed_at,
            launched_at=placed_at + timedelta(minutes=rng.randint(1, 120)) if launched else None,
        )
        account_row = self.rows[Account.__table__.name][-1]
        if not launched:
            return account_id
        ledger = self.facts(account_id, workflow_id, placed_at, placed, agents)
        balance = max(placed + ledger["fees"] - ledger["paid"], 0)
        account_row["balance"] = balance
        stage = "closed" if balance == 0 else _pick(rng, STAGES)
        self.add(
            AccountState.__table__,
            account_id=account_id,
            workflow_id=workflow_id,
            campaign_id=self.campaign_id,
            stage=stage,
            step={"outreach": "recordatorio", "contact": "llamada", "commitment": "promesa"}.get(stage, stage),
            segment="general",
            variant="champion" if rng.random() < 0.8 else "challenger",
            strategy_hash=self.hash,
            balance=balance,
            paid_total=ledger["paid"],
            currency="CLP",
            hold=None,
            resolution="paid" if balance == 0 else None,
            next_action=None if balance == 0 else "wait",
            next_action_at=None if balance == 0 else now + timedelta(hours=rng.randint(1, 240)),
            promise_amount=ledger["promise_amount"],
            promise_due=ledger["promise_due"],
            plan_summary=None,
            assigned_agent=rng.choice(agents) if rng.random() < 0.2 else None,
            days_past_due=(now.date() - due).days,
            past_due_since=due,
            contacts=ledger["contacts"],
            version=ledger["contacts"] + 1,
            updated_at=now,
        )
        return account_id

    def facts(
        self, account_id: int, workflow_id: str, placed_at: datetime, placed: int, agents: Sequence[str]
    ) -> dict[str, Any]:
        rng, now = self.rng, self.now
        seq = 0
        contacts = paid = fees = 0
        promise_amount: int | None = None
        promise_due: date | None = None
        for _ in range(rng.choices((1, 2, 3, 4, 5, 6), weights=(5, 10, 25, 30, 20, 10))[0]):
            seq += 1
            channel, status = _pick(rng, CHANNEL_SHARES), _pick(rng, STATUS_SHARES)
            planned = self.moment(placed_at, now)
            blocked = status == "blocked"
            comm_id = self.add(
                Communication.__table__,
                key=f"{workflow_id}:{seq}",
                account_id=account_id,
                workflow_id=workflow_id,
                seq=seq,
                step="recordatorio",
                channel=channel,
                template="recordatorio",
                to_address=None if channel == "letter" else "addr",
                subject="Recordatorio de pago" if channel == "email" else None,
                body="Hola, su saldo está pendiente. Pague aquí: https://pagos.example/x",
                status=status,
                provider=None if status in ("blocked", "pending") else ("print" if channel == "letter" else "sandbox"),
                provider_id=f"pm-{account_id}-{seq}" if status not in ("blocked", "pending") else None,
                blocked_rule="CL-F2" if blocked else None,
                blocked_reason="less than 2 days since the last attempt" if blocked else None,
                moved_to=None,
                error_code="invalid" if status == "failed" else None,
                error_message="invalid number" if status == "failed" else None,
                planned_at=planned,
                attempted_at=planned,
                sent_at=None if status in ("blocked", "pending", "failed") else planned,
                created_at=planned,
                updated_at=planned,
            )
            if status not in ("blocked", "pending", "failed"):
                contacts += 1
            if channel == "email" and status in ("delivered", "opened", "clicked"):
                for event in ("delivered", "open", "click")[: ("delivered", "opened", "clicked").index(status) + 1]:
                    self.add(
                        MessageEvent.__table__,
                        communication_id=comm_id,
                        provider="sendgrid",
                        provider_event_id=f"sg-{comm_id}-{event}",
                        event=event,
                        occurred_at=planned + timedelta(minutes=5),
                        payload={"event": event},
                    )
        for _ in range(rng.choices((0, 1, 2, 3), weights=(35, 40, 17, 8))[0]):
            seq += 1
            agent, code = rng.choice(agents), _pick(rng, OUTCOMES)
            at = self.moment(placed_at, now)
            task_id = self.add(
                AgentTask.__table__,
                key=f"{workflow_id}:{seq}",
                account_id=account_id,
                workflow_id=workflow_id,
                seq=seq,
                step="llamada",
                queue=QUEUES[0] if rng.random() < 0.7 else QUEUES[1],
                attempt=1,
                allowed_outcomes=[name for name, _ in OUTCOMES],
                status="done",
                assigned_agent=agent,
                priority=0,
                due_at=at + timedelta(hours=4),
                created_at=at - timedelta(hours=rng.randint(1, 48)),
                claimed_at=at - timedelta(minutes=3),
                completed_at=at,
            )
            self.add(
                OutcomeRecord.__table__,
                key=f"{workflow_id}:outcome:{seq}",
                account_id=account_id,
                task_id=task_id,
                code=code,
                agent=agent,
                note="llamar en la tarde" if rng.random() < 0.1 else None,
                recorded_at=at,
            )
            self.add(
                Communication.__table__,
                key=f"{workflow_id}:call:{seq}",
                account_id=account_id,
                workflow_id=workflow_id,
                seq=seq,
                step="llamada",
                channel="voice",
                template=code,
                to_address=None,
                subject=None,
                body=None,
                status="sent",
                provider="agent",
                provider_id=None,
                blocked_rule=None,
                blocked_reason=None,
                moved_to=None,
                error_code=None,
                error_message=None,
                planned_at=at,
                attempted_at=at,
                sent_at=at,
                created_at=at,
                updated_at=at,
            )
            contacts += 1
            if code != "promise_to_pay":
                continue
            amount = min(placed, rng.randint(10, 400) * 1_000)
            due = (at + timedelta(days=rng.randint(2, 14))).date()
            status = "open" if due >= now.date() else rng.choices(("kept", "broken", "cancelled"), (45, 45, 10))[0]
            key = f"{workflow_id}:promise:{at.isoformat()}"
            self.add(
                Promise.__table__,
                key=key,
                account_id=account_id,
                amount=amount,
                currency="CLP",
                currency_digits=0,
                due_date=due,
                status=status,
                agent=agent,
                made_at=at,
                settled_at=None if status == "open" else datetime.combine(due, at.timetz()),
            )
            if status == "open":
                promise_amount, promise_due = amount, due
            if status in ("kept", "broken") and paid < placed:
                part = amount if status == "kept" else amount // 3
                paid += self.payment(
                    account_id, part, self.moment(at, min(datetime.combine(due, at.timetz()), now)), promise_ref(key)
                )
        if rng.random() < 0.2 and paid < placed:
            paid += self.payment(
                account_id, min(placed - paid, rng.randint(5, 200) * 1_000), self.moment(placed_at, now), "balance"
            )
        if rng.random() < 0.08 and paid < placed:
            paid += self.payment(account_id, placed - paid, self.moment(placed_at, now), "balance")
        if rng.random() < 0.15:
            amount = min(placed // 20, 50_000)
            fees += amount
            self.add(
                Fee.__table__,
                key=f"{workflow_id}:fee:{seq}",
                account_id=account_id,
                amount=amount,
                requested=placed // 20,
                currency="CLP",
                currency_digits=0,
                rule="CL-FEE-CAP" if amount < placed // 20 else None,
                step="mora",
                applied_at=self.moment(placed_at, now),
            )
        self.extras(account_id, workflow_id, placed_at, placed, agents, seq)
        return {
            "paid": paid,
            "fees": fees,
            "contacts": contacts,
            "promise_amount": promise_amount,
            "promise_due": promise_due,
        }

    def payment(self, account_id: int, amount: int, at: datetime, allocated_to: str) -> int:
        self.add(
            Payment.__table__,
            account_id=account_id,
            provider="khipu",
            provider_payment_id=f"kh-{self.campaign_id}-{account_id}-{len(self.rows.get('payments', ()))}",
            amount=amount,
            currency="CLP",
            currency_digits=0,
            received_at=at,
            allocated_to=allocated_to,
            delivery="delivered",
            delivered_at=at + timedelta(seconds=2),
        )
        return amount

    def extras(
        self, account_id: int, workflow_id: str, placed_at: datetime, placed: int, agents: Sequence[str], seq: int
    ) -> None:
        """Open tasks, plans, approvals, legal referrals and notes: rarer rows, there all the same."""
        rng, now = self.rng, self.now
        if rng.random() < 0.039:
            seq += 1
            due_at = now + timedelta(hours=rng.randint(-24, 72))
            self.add(
                AgentTask.__table__,
                key=f"{workflow_id}:{seq}",
                account_id=account_id,
                workflow_id=workflow_id,
                seq=seq,
                step="llamada",
                queue=QUEUES[0] if rng.random() < 0.7 else QUEUES[1],
                attempt=rng.randint(1, 3),
                allowed_outcomes=[name for name, _ in OUTCOMES],
                status="open",
                assigned_agent=rng.choice(agents) if rng.random() < 0.1 else None,
                priority=0,
                due_at=due_at,
                created_at=due_at - timedelta(hours=24),
                claimed_at=None,
                completed_at=None,
            )
        if rng.random() < 0.02:
            plan_id = self.add(
                PaymentPlan.__table__,
                key=f"{workflow_id}:plan:{seq}",
                account_id=account_id,
                installments=3,
                down_payment=0,
                currency="CLP",
                currency_digits=0,
                frequency="monthly",
                status="active",
                agreed_at=self.moment(placed_at, now),
            )
            for number in (1, 2, 3):
                self.add(
                    PlanInstallment.__table__,
                    plan_id=plan_id,
                    number=number,
                    due_date=(now + timedelta(days=30 * number - 45)).date(),
                    amount=placed // 3,
                    status="paid" if number == 1 else "due",
                )
        if rng.random() < 0.01:
            self.add(
                Approval.__table__,
                key=f"{workflow_id}:approval:{seq}",
                account_id=account_id,
                workflow_id=workflow_id,
                subject="legal",
                step="legal",
                status=rng.choice(("pending", "approved", "rejected")),
                requested_at=self.moment(placed_at, now),
                decided_at=None,
                decided_by=None,
            )
        if rng.random() < 0.005:
            self.add(
                LegalReferral.__table__,
                key=f"{workflow_id}:legal:{seq}",
                account_id=account_id,
                balance=placed,
                currency="CLP",
                currency_digits=0,
                case_json={"account": workflow_id, "balance": placed},
                status="open",
                created_at=self.moment(placed_at, now),
            )
        if rng.random() < 0.02:
            self.add(
                AgentNote.__table__,
                account_id=account_id,
                author=rng.choice(agents),
                text="prefiere WhatsApp",
                created_at=self.moment(placed_at, now),
            )


# Tables in the order their rows must go in (references first).
ORDER: tuple[Table, ...] = tuple(
    model.__table__  # type: ignore[misc]
    for model in (
        Debtor,
        ContactPoint,
        Account,
        AccountState,
        Communication,
        MessageEvent,
        AgentTask,
        OutcomeRecord,
        Promise,
        Payment,
        Fee,
        PaymentPlan,
        PlanInstallment,
        Approval,
        LegalReferral,
        AgentNote,
    )
)


def _copy(connection: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """COPY `rows` into `table` (PostgreSQL): the fastest way in."""
    columns = list(rows[0])
    json_columns = {name for name in columns if table.c[name].type.__class__.__name__ == "JSON"}
    raw = connection.connection.dbapi_connection
    assert raw is not None
    with raw.cursor() as cursor:  # type: ignore[attr-defined]
        quoted = ", ".join(f'"{name}"' for name in columns)
        with cursor.copy(f'COPY "{table.name}" ({quoted}) FROM STDIN') as copy:
            for row in rows:
                copy.write_row([json.dumps(row[name]) if name in json_columns else row[name] for name in columns])


def _write(connection: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    if connection.dialect.name == "postgresql":
        _copy(connection, table, rows)
    else:
        connection.execute(insert(table), rows)


def _strategy(connection: Connection, now: datetime) -> str:
    compiled = compile_file(str(STRATEGY), compiled_on=now.date()).strategy
    table = StrategyVersion.__table__
    if connection.execute(select(table.c.id).where(table.c.hash == compiled.hash)).first() is None:
        connection.execute(
            insert(table).values(
                strategy_id=compiled.id,
                hash=compiled.hash,
                name=compiled.name,
                source_yaml=STRATEGY.read_text(encoding="utf-8"),
                compiled_json=compiled.model_dump(mode="json"),
                published_at=now - timedelta(days=200),
                published_by="bench",
            )
        )
    return compiled.hash


def seed(
    engine: Engine,
    accounts: int = 100_000,
    *,
    campaign_id: str = "portfolio",
    months: int = 6,
    agents: int = 30,
    now: datetime | None = None,
    random_seed: int = 1,
) -> Seeded:
    """Write a campaign of `accounts` accounts placed over the last `months` months (until `now`,
    default the current time) and worked by `agents` agents; one transaction. The campaign must
    not exist yet."""
    started = time.perf_counter()
    now = now or datetime.now(UTC)
    rng = random.Random(random_seed)
    names = [f"agente{i:02d}" for i in range(agents)]
    with engine.begin() as connection:
        strategy_hash = _strategy(connection, now)
        connection.execute(
            insert(Campaign.__table__).values(
                id=campaign_id,
                name=f"Cartera {campaign_id}",
                strategy_hash=strategy_hash,
                creditor_name="Financiera Andes",
                payment_link_base="https://pagos.example",
                status="running",
                created_at=now - timedelta(days=30 * months + 1),
                launch_status="done",
                launched=accounts,
            )
        )
        ids = _Ids(connection, [t for t in ORDER if "id" in t.c and t.c.id.primary_key])
        portfolio = _Portfolio(rng, ids, campaign_id, strategy_hash, now)
        debtors: list[int] = []
        for index in range(accounts):
            shared = debtors[rng.randrange(len(debtors))] if debtors and rng.random() < 0.05 else None
            portfolio.account(index, months, names, shared)
            if shared is None:
                debtors.append(portfolio.rows[Debtor.__table__.name][-1]["id"])
        for table in ORDER:
            _write(connection, table, portfolio.rows.get(table.name, []))
        if connection.dialect.name == "postgresql":
            for table in ORDER:
                if "id" in table.c and table.c.id.primary_key and table.c.id.autoincrement:
                    connection.execute(
                        text(f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), :top)"),
                        {"top": ids.next[table.name]},
                    )
        # The facts went in without their writers: the KPI counters are counted from them.
        with Session(bind=connection) as session:
            kpi_counters.rebuild(session, campaign_id)
            session.flush()
        if connection.dialect.name == "postgresql":
            for table in (*ORDER, KpiCounter.__table__):
                connection.execute(text(f'ANALYZE "{table.name}"'))
    rows = {table.name: len(portfolio.rows.get(table.name, [])) for table in ORDER}
    return Seeded(
        campaign_id=campaign_id, strategy_hash=strategy_hash, rows=rows, seconds=time.perf_counter() - started
    )
