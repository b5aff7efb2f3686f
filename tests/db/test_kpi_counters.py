"""The KPI counters always equal a recount from the fact tables, whatever the writers did.

Hypothesis draws a series of writes and runs them through the real writers, on a real database:
the account import (new accounts, and updates that change an unlaunched account's balance, due
date or currency), `register_account`, agent tasks, `record_turn` (outcomes, tasks done, agent
calls, fees, blocked contacts, promises made, kept, broken and replaced, variant changes),
`send_message` (sandbox sends, provider sends, retryable and permanent failures, a retry that
finds its earlier attempt pending), delivery webhooks (`advance`: delivered, opened, bounced,
failed) and payments (towards promises or not, in the account's currency or not). After the series,
the stored counters must equal `recount`. A second test runs racing writers on PostgreSQL.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kpi_dataset import write_campaign
from sqlalchemy import event, inspect, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from activities.accounts import AccountActivities
from activities.agent_tasks import AgentTaskActivities
from activities.messaging import MessagingActivities
from activities.turns import TurnActivities
from channels.base import ChannelError, OutgoingMessage, ProviderReceipt
from db.migrate import downgrade, upgrade
from db.models import KPI_FACTS, Account, Campaign, Communication
from db.repositories import campaigns as campaigns_repo
from db.repositories import kpi_counters
from db.repositories import payments as payments_repo
from db.repositories import webhooks as hooks
from db.session import make_engine, make_session_factory, session_scope
from domain import actions as act
from domain.account import AccountSnapshot
from domain.policy import ContactPolicy
from domain.state import AccountState, Counters, Promise, Waiting
from domain.strategy import Template
from domain.types import NOT_A_CONVERSATION, Channel, Outcome, Stage
from services import kpis as kpis_service
from workflows.contracts import (
    AgentTaskInput,
    CampaignInfo,
    RegisterAccountInput,
    SendInput,
    TurnRecord,
    debtor_workflow_id,
)

START = datetime(2025, 1, 6, 9, 30, tzinfo=UTC)
OPEN_POLICY = ContactPolicy(name="open", window_rule="T", windows=(), window_channels=())
AGENTS = ("ana", "beto", None)


class FakeSender:
    """A provider that answers as told: a receipt, or a ChannelError of the given kind."""

    def __init__(self, provider: str) -> None:
        self.provider = provider
        self.next: str | None = None  # None: accept; else the ChannelError kind to raise

    def send(self, message: OutgoingMessage) -> ProviderReceipt:
        if self.next is not None:
            raise ChannelError(self.provider, self.next, "as the test asked")  # type: ignore[arg-type]
        return ProviderReceipt(provider=self.provider, provider_id=f"{self.provider}-{message.key}", status="sent")


@dataclass
class Debt:
    """One account as the series knows it."""

    name: str
    snapshot: AccountSnapshot
    turn: int = 0
    seq: int = 0
    variant: str | None = None
    promise: Promise | None = None
    counters: Counters = field(default_factory=Counters)
    tasks: list[int] = field(default_factory=list)

    @property
    def workflow_id(self) -> str:
        return debtor_workflow_id(CAMPAIGN_OF[self.name], self.name)


CAMPAIGN_OF: dict[str, str] = {}


class Writers:
    """The product's writers over one campaign, driven by the series."""

    def __init__(self, sessions: sessionmaker[Session], campaign_id: str) -> None:
        self.sessions, self.campaign_id = sessions, campaign_id
        self.debts: list[Debt] = []
        self.email = FakeSender("sendgrid")
        self.messaging = MessagingActivities(sessions, {Channel.EMAIL: self.email}, clock=lambda: START)
        self.turns = TurnActivities(sessions)
        self.tasks = AgentTaskActivities(sessions)
        self.registry = AccountActivities(sessions)
        self.clock = START
        self.payments = 0
        with session_scope(sessions) as session:
            session.add(Campaign(id=campaign_id, name=campaign_id, strategy_hash="h" * 64, creditor_name="Acme"))

    def tick(self, hours: int) -> datetime:
        self.clock += timedelta(hours=hours, minutes=7)
        return self.clock

    def debt(self, index: int) -> Debt | None:
        return self.debts[index % len(self.debts)] if self.debts else None

    def snapshot(self, name: str, balance: int, due: date, currency: str) -> AccountSnapshot:
        return AccountSnapshot(
            account_id=name,
            debtor_name=f"Deudor {name}",
            country="CL",
            timezone="America/Santiago",
            locale="es-CL",
            currency=currency,
            balance=balance,
            original_amount=balance,
            due_date=due,
            email=f"{name}@example.cl",
        )

    # ---- the writes ----

    def import_account(self, balance: int, due_offset: int, currency: str) -> None:
        name = f"{self.campaign_id}-a{len(self.debts)}"
        CAMPAIGN_OF[name] = self.campaign_id
        snap = self.snapshot(name, balance, START.date() - timedelta(days=due_offset), currency)
        self._write(snap)
        self.debts.append(Debt(name, snap))

    def reimport(self, index: int, balance: int, due_offset: int, currency: str) -> None:
        debt = self.debt(index)
        if debt is None:
            return
        debt.snapshot = self.snapshot(debt.name, balance, START.date() - timedelta(days=due_offset), currency)
        self._write(debt.snapshot)

    def _write(self, snap: AccountSnapshot) -> None:
        record = campaigns_repo.AccountRecord(snapshot=snap, debtor_external_id=f"d-{snap.account_id}", contacts=())
        with session_scope(self.sessions) as session:
            campaigns_repo.write_accounts(session, self.campaign_id, [record])

    def register(self, balance: int, currency: str) -> None:
        name = f"{self.campaign_id}-r{len(self.debts)}"
        CAMPAIGN_OF[name] = self.campaign_id
        snap = self.snapshot(name, balance, START.date() - timedelta(days=40), currency)
        self.registry.register_account(
            RegisterAccountInput(
                workflow_id=debtor_workflow_id(self.campaign_id, name),
                campaign=CampaignInfo(id=self.campaign_id, creditor_name="Acme"),
                account=snap,
                strategy_id="s",
                strategy_hash="h" * 64,
            )
        )
        self.debts.append(Debt(name, snap))

    def task(self, index: int, hours: int) -> None:
        debt = self.debt(index)
        if debt is None:
            return
        debt.seq += 1
        at = self.tick(hours)
        task = act.CreateAgentTask(
            seq=debt.seq,
            step="llamada",
            queue="calls",
            due_at=at + timedelta(hours=4),
            attempt=1,
            outcomes=tuple(Outcome),
        )
        self.tasks.create_agent_task(
            AgentTaskInput(
                key=f"{debt.workflow_id}:{debt.seq}",
                workflow_id=debt.workflow_id,
                account_id=debt.name,
                campaign_id=self.campaign_id,
                task=task,
                at=at,
            )
        )
        debt.tasks.append(debt.seq)

    def turn(self, index: int, hours: int, *, repeat: bool = False, **options: Any) -> None:
        """One turn recorded (twice when `repeat`: a retried activity)."""
        record = self.turn_record(index, hours, **options)
        for _ in range(2 if repeat and record else 1 if record else 0):
            assert record is not None
            self.turns.record_turn(record)

    def turn_record(
        self,
        index: int,
        hours: int,
        *,
        variant: str | None,
        outcome: tuple[Outcome, str | None] | None = None,
        promise: int | None = None,
        settle: str | None = None,
        fee: int | None = None,
        blocked: bool = False,
    ) -> TurnRecord | None:
        """The record of one turn of the account's workflow, as record_turn receives it."""
        debt = self.debt(index)
        if debt is None:
            return None
        at = self.tick(hours)
        before = debt.counters
        actions: list[act.Action] = []
        event: dict[str, Any] = {"kind": "timer"}
        assigned = None
        if outcome is not None:
            code, agent = outcome
            named = debt.tasks.pop(0) if debt.tasks else None
            event = {"kind": "agent_outcome", "code": code.value, "agent": agent, "task_seq": named}
            assigned = agent
        if fee is not None:
            debt.seq += 1
            actions.append(act.ApplyFee(seq=debt.seq, step="mora", amount=fee, requested=fee))
        if blocked:
            actions.append(act.ContactBlocked(step="aviso", channel=Channel.SMS, rule="CL-F2", reason="gap"))
        if settle == "kept":
            debt.counters = before.model_copy(update={"promises_kept": before.promises_kept + 1})
            debt.promise = None
        elif settle == "broken":
            debt.counters = before.model_copy(update={"promises_broken": before.promises_broken + 1})
            debt.promise = None
        if promise is not None:  # a new promise replaces (cancels) the open one, if any
            debt.promise = Promise(
                amount=promise,
                due=(at + timedelta(days=5)).date(),
                made_at=at,
                paid_before=0,
                deadline=at + timedelta(days=6),
            )
        if outcome is not None and outcome[0] not in NOT_A_CONVERSATION:  # as the interpreter counts it
            debt.counters = debt.counters.model_copy(
                update={"right_party_contacts": debt.counters.right_party_contacts + 1}
            )
        debt.variant = variant
        debt.turn += 1
        state = AccountState(
            account=debt.snapshot,
            segment="general",
            variant=variant,
            stage=Stage.CONTACT,
            step="llamada",
            step_started_at=at,
            last_action_at=at,
            balance=debt.snapshot.balance,
            counters=debt.counters,
            promise=debt.promise,
            waiting=Waiting(kind="agent", task_seq=debt.tasks[0]) if debt.tasks else None,
        )
        return TurnRecord(
            key=f"{debt.workflow_id}:{debt.turn}",
            workflow_id=debt.workflow_id,
            campaign_id=self.campaign_id,
            strategy_hash="h" * 64,
            turn=debt.turn,
            at=at,
            event=event,
            actions=tuple(actions),
            state=state,
            previous_counters=before,
            assigned_agent=assigned,
        )

    def message(self, debt: Debt, channel: Channel, at: datetime) -> SendInput:
        return SendInput(
            key=f"{debt.workflow_id}:{debt.seq}",
            workflow_id=debt.workflow_id,
            seq=debt.seq,
            step="aviso",
            campaign=CampaignInfo(id=self.campaign_id, creditor_name="Acme"),
            account=debt.snapshot,
            channel=channel,
            template_name="aviso",
            template=Template(subject="Aviso", body="Hola {{ debtor.first_name }}"),
            locale="es-CL",
            currency=debt.snapshot.currency,
            policy=OPEN_POLICY,
            planned_at=at,
            balance=debt.snapshot.balance,
            fees_total=0,
        )

    def send(self, index: int, hours: int, channel: Channel, answer: str | None, retry: bool) -> None:
        """A send; `answer` None is a provider receipt, else the ChannelError kind it raises.
        `retry` sends the same key again (a retried activity)."""
        debt = self.debt(index)
        if debt is None:
            return
        debt.seq += 1
        message = self.message(debt, channel, self.tick(hours))
        self.email.next = answer
        for _ in range(2 if retry else 1):
            with contextlib.suppress(ChannelError):  # retryable: Temporal would retry it
                self.messaging.send_message(message)
        self.email.next = None

    def pending_then_retried(self, index: int, hours: int) -> None:
        """An attempt that died after committing its `pending` row; its retry marks it unknown."""
        debt = self.debt(index)
        if debt is None:
            return
        debt.seq += 1
        at = self.tick(hours)
        message = self.message(debt, Channel.EMAIL, at)
        self.messaging._plan(message, *self.messaging._template_and_policy(message), at)
        self.messaging.send_message(message)

    def webhook(self, index: int, status: str) -> None:
        """A provider event on the account's latest message."""
        debt = self.debt(index)
        if debt is None:
            return
        with session_scope(self.sessions) as session:
            key = session.scalar(
                select(Communication.key)
                .where(Communication.workflow_id == debt.workflow_id, Communication.provider.is_distinct_from("agent"))
                .order_by(Communication.id.desc())
                .limit(1)
            )
            comm = hooks.communication_by_key(session, key) if key else None
            if comm is not None:
                hooks.advance(session, comm, status, "550" if status in ("failed", "bounced") else None)

    def pay(self, index: int, hours: int, amount: int, other_currency: bool, back: int = 0) -> None:
        """A payment; `back` hours before the clock: a provider time earlier than when it is
        recorded (possibly before the promise it goes towards)."""
        debt = self.debt(index)
        if debt is None:
            return
        self.payments += 1
        currency = debt.snapshot.currency
        if other_currency:
            currency = "USD" if currency == "CLP" else "CLP"
        with session_scope(self.sessions) as session:
            account_id = session.scalar(select(Account.id).where(Account.workflow_id == debt.workflow_id))
            assert account_id is not None
            payments_repo.record(
                session,
                account_id=account_id,
                provider="khipu",
                provider_payment_id=f"{self.campaign_id}-{self.payments}",
                amount=amount,
                currency=currency,
                received_at=self.tick(hours) - timedelta(hours=back),
            )


# ---- the series -------------------------------------------------------------------------------

ACCOUNT = st.integers(0, 20)
HOURS = st.integers(0, 24 * 20)
CURRENCY = st.sampled_from(("CLP", "CLP", "USD"))
VARIANT = st.sampled_from((None, "champion", "challenger"))
OUTCOMES = st.tuples(st.sampled_from(list(Outcome)), st.sampled_from(AGENTS))

WRITES = st.one_of(
    st.tuples(st.just("import"), st.integers(1, 500).map(lambda n: n * 1_000), st.integers(-20, 120), CURRENCY),
    st.tuples(
        st.just("reimport"), ACCOUNT, st.integers(1, 500).map(lambda n: n * 1_000), st.integers(-20, 120), CURRENCY
    ),
    st.tuples(st.just("register"), st.integers(1, 500).map(lambda n: n * 1_000), CURRENCY),
    st.tuples(st.just("task"), ACCOUNT, HOURS),
    st.tuples(
        st.just("turn"),
        ACCOUNT,
        HOURS,
        st.fixed_dictionaries(
            {
                "variant": VARIANT,
                "outcome": st.none() | OUTCOMES,
                "promise": st.none() | st.integers(1, 100).map(lambda n: n * 1_000),
                "settle": st.sampled_from((None, None, "kept", "broken")),
                "fee": st.none() | st.integers(1, 50).map(lambda n: n * 100),
                "blocked": st.booleans(),
                "repeat": st.booleans(),
            }
        ),
    ),
    st.tuples(
        st.just("send"),
        ACCOUNT,
        HOURS,
        st.sampled_from((Channel.EMAIL, Channel.SMS, Channel.LETTER)),
        st.sampled_from((None, None, "server", "invalid_recipient", "rejected")),
        st.booleans(),
    ),
    st.tuples(st.just("pending"), ACCOUNT, HOURS),
    st.tuples(st.just("webhook"), ACCOUNT, st.sampled_from(("delivered", "opened", "clicked", "bounced", "failed"))),
    st.tuples(
        st.just("pay"), ACCOUNT, HOURS, st.integers(1, 300).map(lambda n: n * 1_000), st.booleans(), st.integers(0, 72)
    ),
)


def run(writers: Writers, writes: list[tuple[Any, ...]]) -> None:
    for write in writes:
        kind, *args = write
        if kind == "import":
            writers.import_account(*args)
        elif kind == "reimport":
            writers.reimport(*args)
        elif kind == "register":
            writers.register(*args)
        elif kind == "task":
            writers.task(*args)
        elif kind == "turn":
            index, hours, options = args
            writers.turn(index, hours, **options)
        elif kind == "send":
            writers.send(*args)
        elif kind == "pending":
            writers.pending_then_retried(*args)
        elif kind == "webhook":
            writers.webhook(*args)
        elif kind == "pay":
            writers.pay(*args)


def assert_counted(sessions: sessionmaker[Session], campaign_id: str) -> None:
    with sessions() as session:
        recounted = kpi_counters.recount(session, campaign_id)
        assert kpi_counters.stored(session, campaign_id) == recounted


class TestCountersEqualTheRecount:
    @settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(writes=st.lists(WRITES, min_size=1, max_size=40))
    def test_any_series_of_writes(self, sessions: sessionmaker[Session], writes: list[tuple[Any, ...]]) -> None:
        campaign_id = f"c{next(SERIES)}"
        writers = Writers(sessions, campaign_id)
        writers.import_account(100_000, 30, "CLP")
        run(writers, writes)
        assert_counted(sessions, campaign_id)

    def test_a_long_mixed_series_counts_every_fact_kind(self, sessions: sessionmaker[Session]) -> None:
        """A fixed series that surely reaches every writer, and a recount that surely is not empty."""
        writers = Writers(sessions, "fixed")
        writers.import_account(200_000, 45, "CLP")
        writers.import_account(90_000, 10, "USD")
        writers.register(50_000, "CLP")
        writers.reimport(1, 95_000, 70, "CLP")  # balance, due date and currency change
        writers.pay(0, 3, 20_000, False)
        writers.pay(1, 3, 5_000, True)  # in the other currency: counted nowhere
        writers.send(0, 5, Channel.EMAIL, None, False)
        writers.send(0, 5, Channel.EMAIL, "server", True)
        writers.send(0, 5, Channel.EMAIL, "invalid_recipient", False)
        writers.send(1, 5, Channel.SMS, None, False)  # sandbox
        writers.send(2, 5, Channel.LETTER, None, False)  # no postal address: blocked
        writers.pending_then_retried(0, 2)
        writers.webhook(0, "delivered")
        writers.webhook(0, "failed")
        writers.task(0, 1)
        writers.turn(0, 24, variant="champion", outcome=(Outcome.PROMISE_TO_PAY, "ana"), promise=60_000, fee=1_000)
        writers.pay(0, 30, 60_000, False)  # towards ana's promise
        writers.pay(0, 0, 1_000, False, back=60)  # towards it too, with a provider time before it was made
        writers.turn(0, 24, variant="champion", settle="kept", repeat=True)
        writers.turn(1, 48, variant="challenger", outcome=(Outcome.NO_ANSWER, "beto"), blocked=True)
        writers.turn(1, 48, variant="challenger", promise=10_000)
        writers.turn(1, 400, variant="challenger", settle="broken")
        writers.turn(2, 1, variant=None, promise=7_000)
        writers.turn(2, 1, variant="champion", promise=8_000)  # replaces (cancels) the first
        writers.turn(0, 1, variant="challenger")  # a strategy change moves the account
        assert_counted(sessions, "fixed")
        with sessions() as session:
            facts = {key[1] for key in kpi_counters.stored(session, "fixed")}
        assert facts == set(KPI_FACTS)


class TestTheMigration:
    def test_counts_the_facts_already_in_the_database(self, database_url: str) -> None:
        """Facts written before the counters existed are counted by the revision that adds them,
        with the same rules as the recount."""
        upgrade(database_url)
        engine = make_engine(database_url)
        try:
            sessions = make_session_factory(engine)
            with sessions() as session:
                write_campaign(session, "before", seed=11, accounts={"CLP": 25, "USD": 5})
                session.commit()
            # Back to before the counters (and before outcomes recorded whether they reached the
            # right party), the facts staying; then every revision since counts them.
            downgrade(database_url, "0008_launch")
            upgrade(database_url)
            with sessions() as session:
                recounted = kpi_counters.recount(session, "before")
                assert len(recounted) > 100
                assert kpi_counters.stored(session, "before") == recounted
        finally:
            engine.dispose()


def _series() -> Iterator[int]:
    n = 0
    while True:
        n += 1
        yield n


SERIES = _series()


def at_once(*calls: Any) -> None:
    """Run `calls` in threads released together; a call that loses a race on a unique key fails
    as the activity would (and Temporal would retry it)."""
    barrier = threading.Barrier(len(calls))

    def go(call: Any) -> None:
        barrier.wait()
        with contextlib.suppress(IntegrityError):
            call()

    threads = [threading.Thread(target=go, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


class TestRacingWriters:
    """Writers that race each other on PostgreSQL still count each change once."""

    @pytest.fixture
    def postgres(self, sessions: sessionmaker[Session]) -> sessionmaker[Session]:
        if sessions.kw["bind"].dialect.name != "postgresql":
            pytest.skip("SQLite runs one writer at a time")
        return sessions

    def test_webhooks_payments_and_turns_racing(self, postgres: sessionmaker[Session]) -> None:
        writers = Writers(postgres, "race")
        for _ in range(4):
            writers.import_account(100_000, 30, "CLP")
        for index in range(4):
            writers.send(index, 1, Channel.EMAIL, None, False)
            writers.turn(index, 1, variant=None, promise=5_000)

        for _ in range(3):
            for index in range(4):
                at_once(
                    lambda i=index: writers.webhook(i, "failed"),
                    lambda i=index: writers.webhook(i, "delivered"),
                    lambda i=index: writers.webhook(i, "failed"),
                )
        for index in range(4, 8):  # a payment racing the first turn, which moves the account to its variant
            writers.import_account(100_000, 30, "CLP")
            record = writers.turn_record(index, 5, variant="challenger")
            assert record is not None
            at_once(lambda i=index: writers.pay(i, 0, 1_000, False), lambda r=record: writers.turns.record_turn(r))
        for index in range(4):  # the same turn recorded twice at once: settles, moves the account
            record = writers.turn_record(index, 5, variant="champion", settle="kept")
            assert record is not None
            at_once(lambda r=record: writers.turns.record_turn(r), lambda r=record: writers.turns.record_turn(r))
        assert_counted(postgres, "race")


class TestIndexes:
    """What KPI reads rely on: the counters' key leads with campaign, fact, currency, grain and
    day, so every read of a report is a range of one index (on both databases)."""

    def test_the_keys_are_in_the_order_the_reads_need(self, migrated_url: str) -> None:
        engine = make_engine(migrated_url)
        try:
            inspector = inspect(engine)
            assert inspector.get_pk_constraint("kpi_counters")["constrained_columns"] == [
                "campaign_id",
                "fact",
                "currency",
                "grain",
                "day",
                "variant",
                "agent",
                "detail",
            ]
            assert inspector.get_pk_constraint("kpi_roll_snapshots")["constrained_columns"] == [
                "campaign_id",
                "currency",
                "period_end",
            ]
        finally:
            engine.dispose()

    def test_every_counter_read_of_a_report_uses_the_key(self, sessions: sessionmaker[Session]) -> None:
        """On PostgreSQL, with sequential scans off, each statement a report runs against the KPI
        tables is planned on their keys: the key can answer it, whatever the table's size."""
        engine = sessions.kw["bind"]
        if engine.dialect.name != "postgresql":
            pytest.skip("the plans checked are PostgreSQL's")
        with sessions() as session:
            write_campaign(session, "plans", seed=5, accounts={"CLP": 20})
            kpi_counters.rebuild(session, "plans")
            session.commit()
        statements: list[tuple[str, Any]] = []

        def seen(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
            if "kpi_" in statement and statement.lstrip().upper().startswith("SELECT"):
                statements.append((statement, parameters))

        now = datetime(2026, 11, 30, 12, tzinfo=UTC)
        event.listen(engine, "before_cursor_execute", seen)
        try:
            with sessions() as session:
                for start in (None, date(2025, 2, 10)):
                    kpis_service.campaign_kpis(
                        session, "plans", start=start, end=None, currency=None, now=now, channel_costs={}
                    )
                    kpis_service.campaign_agent_kpis(session, "plans", start=start, end=None, currency=None, now=now)
                session.rollback()
        finally:
            event.remove(engine, "before_cursor_execute", seen)
        assert len(statements) >= 8
        with engine.connect() as connection:
            connection.exec_driver_sql("ANALYZE kpi_counters, kpi_roll_snapshots")
            connection.exec_driver_sql("SET enable_seqscan = off")
            for statement, parameters in statements:
                plan = "\n".join(row[0] for row in connection.exec_driver_sql(f"EXPLAIN {statement}", parameters))
                assert "Seq Scan on kpi_" not in plan, plan
                # A range of the key, not a walk through all of it: the campaign and the fact (or
                # the period) are conditions of the index.
                conditions = [line for line in plan.splitlines() if "Index Cond:" in line]
                assert any("campaign_id" in c and ("fact" in c or "period_end" in c) for c in conditions), plan
