"""The next task from stored scores equals the ranking that loaded and scored every open task in
Python (tests/services/ranking_oracle.py), on generated portfolios: debtors with several accounts,
imported and projected balances (negative ones too), reported and settled promises, call outcomes,
reserved and claimed tasks, due times on both sides of the urgency edge and ties everywhere. After
each change of an input (an outcome, a promise kept or broken, a balance moved by a payment)
rescoring only the changed account's debtor, as the turn record does, brings every answer back in
line. Claiming the next task again and again hands out the oracle's order.

Each example writes its rows in one transaction and rolls it back, on SQLite and PostgreSQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from clock import TEST_NOW
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ranking_oracle import scored
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from db.models import Account, AccountState, AgentTask, Campaign, Debtor, OutcomeRecord, Promise
from db.repositories.tasks import Who
from services import next_task, task_priority

QUEUES = ("calls", "legal")
# (subject, queues): None is a supervisor. carla has no queue: only what is reserved for her.
CALLERS: tuple[tuple[str | None, tuple[str, ...]], ...] = (
    ("ana", ("calls",)),
    ("beto", ("calls", "legal")),
    ("carla", ()),
    (None, ()),
)
CODES = ("no_answer", "right_party_contact", "promise_to_pay", "wrong_party", "refusal")
# Minutes from now: overdue, around the two-hour edge (120 is still urgent), later; repeats make ties.
DUE_MINUTES = (-600, -1, 0, 60, 119, 120, 121, 600, 1440, 1440)
BALANCES = (-5_000, 0, 1_000, 150_000, 150_000, 400_000, 10**12)


@dataclass(frozen=True)
class AccountSpec:
    debtor: int
    imported: int
    projected: int | None
    reported_kept: int
    reported_broken: int
    outcomes: list[str]
    promises: list[str]


@dataclass(frozen=True)
class TaskSpec:
    account: int
    queue: str
    status: str
    assigned: str | None
    due_minutes: int


@dataclass(frozen=True)
class Change:
    """One input changing on one account, as a turn would write it."""

    account: int
    kind: str  # outcome | kept | broken | balance
    code: str
    balance: int


accounts_st = st.builds(
    AccountSpec,
    debtor=st.integers(0, 3),
    imported=st.sampled_from(BALANCES),
    projected=st.none() | st.sampled_from(BALANCES),
    reported_kept=st.integers(-1, 3),
    reported_broken=st.integers(-1, 3),
    outcomes=st.lists(st.sampled_from(CODES), max_size=4),
    promises=st.lists(st.sampled_from(("open", "kept", "broken", "cancelled")), max_size=3),
)


@st.composite
def portfolios(draw: st.DrawFn) -> tuple[list[AccountSpec], list[TaskSpec], list[Change]]:
    accounts = draw(st.lists(accounts_st, min_size=1, max_size=6))
    index = st.integers(0, len(accounts) - 1)
    tasks = draw(
        st.lists(
            st.builds(
                TaskSpec,
                account=index,
                queue=st.sampled_from(QUEUES),
                status=st.sampled_from(("open", "open", "open", "claimed", "done")),
                assigned=st.sampled_from((None, None, "ana", "beto", "carla")),
                due_minutes=st.sampled_from(DUE_MINUTES),
            ),
            max_size=12,
        )
    )
    changes = draw(
        st.lists(
            st.builds(
                Change,
                account=index,
                kind=st.sampled_from(("outcome", "kept", "broken", "balance")),
                code=st.sampled_from(CODES),
                balance=st.sampled_from(BALANCES),
            ),
            max_size=4,
        )
    )
    return accounts, tasks, changes


def write(session: Session, accounts: list[AccountSpec], tasks: list[TaskSpec]) -> list[Account]:
    """The rows as imports, turns and task creation leave them (scores not yet computed)."""
    session.add(Campaign(id="c", name="c", strategy_hash="h" * 64, creditor_name="Acme", status="running"))
    debtors = [
        Debtor(external_id=f"D{n}", name=f"D{n}", country="CL", timezone="America/Santiago", locale="es-CL")
        for n in range(4)
    ]
    session.add_all(debtors)
    session.flush()
    rows = []
    for n, spec in enumerate(accounts):
        snapshot = {"account_id": f"A{n}", "promises_kept": spec.reported_kept, "promises_broken": spec.reported_broken}
        account = Account(
            campaign_id="c",
            external_id=f"A{n}",
            debtor_id=debtors[spec.debtor].id,
            workflow_id=f"wf-{n}",
            currency="CLP",
            balance=spec.imported,
            original_amount=max(spec.imported, 0),
            due_date=date(2026, 10, 1),
            snapshot_json=snapshot,
            launched_at=TEST_NOW,
        )
        session.add(account)
        session.flush()
        rows.append(account)
        if spec.projected is not None:
            session.add(_state(account, spec.projected))
        for k, code in enumerate(spec.outcomes):
            session.add(OutcomeRecord(key=f"o-{n}-{k}", account_id=account.id, code=code, recorded_at=TEST_NOW))
        for k, status in enumerate(spec.promises):
            session.add(_promise(account, f"p-{n}-{k}", status))
    for n, task in enumerate(tasks):
        session.add(
            AgentTask(
                key=f"t-{n}",
                account_id=rows[task.account].id,
                workflow_id=rows[task.account].workflow_id,
                seq=n,
                step="llamada",
                queue=task.queue,
                attempt=1,
                allowed_outcomes=list(CODES),
                status=task.status,
                assigned_agent=task.assigned if task.status == "open" else task.assigned or "ana",
                due_at=TEST_NOW + timedelta(minutes=task.due_minutes),
                created_at=TEST_NOW - timedelta(days=1),
            )
        )
    session.flush()
    return rows


def _state(account: Account, balance: int) -> AccountState:
    return AccountState(
        account_id=account.id,
        workflow_id=account.workflow_id,
        campaign_id="c",
        stage="contact",
        step="llamada",
        segment="general",
        strategy_hash="h" * 64,
        balance=balance,
        paid_total=0,
        currency="CLP",
        days_past_due=60,
        contacts=0,
        version=1,
    )


def _promise(account: Account, key: str, status: str) -> Promise:
    return Promise(
        key=key, account_id=account.id, amount=1_000, currency="CLP", due_date=date(2026, 12, 5), status=status
    )


def apply(session: Session, account: Account, change: Change, n: int) -> None:
    """Write one change the way a turn does (outcome row, promise settled, read-model balance)."""
    if change.kind == "outcome":
        session.add(OutcomeRecord(key=f"change-{n}", account_id=account.id, code=change.code, recorded_at=TEST_NOW))
    elif change.kind in ("kept", "broken"):
        session.add(_promise(account, f"change-{n}", change.kind))
    else:
        state = session.get(AccountState, account.id)
        if state is None:
            session.add(_state(account, change.balance))
        else:
            state.balance = change.balance
    session.flush()


def agree_with_oracle(session: Session) -> None:
    """Every caller's next task, in every queue choice, is the oracle's first, with its parts."""
    for subject, queues in CALLERS:
        who = Who(subject, queues) if subject is not None else None
        for queue in (None, *QUEUES):
            expected = scored(session, subject, queues, queue, TEST_NOW)
            got = next_task.next_task(session, who, queue=queue, now=TEST_NOW)
            if not expected:
                assert got is None, (subject, queue)
                continue
            assert got is not None, (subject, queue)
            best = expected[0]
            assert got.row.task.id == best.task_id, (subject, queue, expected[:3])
            parts = got.priority
            assert (
                parts.score,
                parts.expected_recovery,
                got.balance,
                parts.recovery_propensity_bp,
                parts.contact_likelihood_bp,
                got.due_soon,
            ) == (
                best.score,
                best.expected_recovery,
                best.balance,
                best.recovery_propensity_bp,
                best.contact_likelihood_bp,
                best.due_soon,
            )
            assert got.row.task.score == parts.score, "the stored score is the formula of the stored inputs"


def claims_follow_the_oracle(session: Session) -> None:
    """Claiming the next task until none is left hands out the oracle's order (then undone)."""
    for subject, queues in CALLERS:
        who = Who(subject, queues) if subject is not None else None
        expected = [s.task_id for s in scored(session, subject, queues, None, TEST_NOW)]
        nested = session.begin_nested()
        claimed = []
        while (got := next_task.claim_next(session, who, subject or "marta", queue=None, now=TEST_NOW)) is not None:
            assert got.row.task.status == "claimed"
            assert got.row.task.assigned_agent == (subject or "marta")
            claimed.append(got.row.task.id)
        nested.rollback()
        assert claimed == expected, subject


@pytest.mark.slow
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(portfolio=portfolios())
def test_stored_scores_rank_as_the_python_ranking_did(
    sessions: sessionmaker[Session], portfolio: tuple[list[AccountSpec], list[TaskSpec], list[Change]]
) -> None:
    accounts, tasks, changes = portfolio
    with sessions() as session:
        try:
            rows = write(session, accounts, tasks)
            for debtor_id in sorted({a.debtor_id for a in rows}):  # as each task's creation did
                task_priority.rescore_debtor(session, debtor_id)
            agree_with_oracle(session)
            claims_follow_the_oracle(session)
            for n, change in enumerate(changes):
                account = rows[change.account]
                apply(session, account, change, n)
                task_priority.rescore_debtor(session, account.debtor_id)  # as the turn record does
                agree_with_oracle(session)
            claims_follow_the_oracle(session)
        finally:
            session.rollback()


def test_rescoring_everything_stores_what_rescoring_each_debtor_stores(sessions: sessionmaker[Session]) -> None:
    accounts = [
        AccountSpec(0, 150_000, None, 1, 0, ["no_answer"], ["kept"]),
        AccountSpec(0, 90_000, -10, 0, 2, ["right_party_contact", "wrong_party"], ["broken", "open"]),
        AccountSpec(1, 400_000, 350_000, 0, 0, [], []),
    ]
    tasks = [TaskSpec(0, "calls", "open", None, 600), TaskSpec(1, "calls", "claimed", "ana", 60)]
    tasks += [TaskSpec(2, "legal", "open", "beto", -1), TaskSpec(2, "calls", "done", "ana", 0)]
    with sessions() as session:
        rows = write(session, accounts, tasks)
        for debtor_id in sorted({a.debtor_id for a in rows}):
            task_priority.rescore_debtor(session, debtor_id)
        by_debtor = _stored(session)
        session.execute(update(AgentTask).values(score=0, score_balance=0, score_calls=0))
        task_priority.rescore_all(session)
        assert _stored(session) == by_debtor
        # Finished tasks are nobody's next task: their scores are left as they were.
        assert [s for s in by_debtor if s[0] == "done"] == [("done", 0, 0, 0, 0, 0, 0)]
        session.rollback()


def _stored(session: Session) -> list[tuple[str, int, int, int, int, int, int]]:
    session.expire_all()
    return [
        (
            t.status,
            t.score,
            t.score_balance,
            t.score_promises_kept,
            t.score_promises_broken,
            t.score_calls,
            t.score_contacts,
        )
        for t in session.scalars(select(AgentTask).order_by(AgentTask.id))
    ]
