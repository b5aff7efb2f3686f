"""The turn record: after each interpreter turn, one transaction writes what the turn decided
that is not a channel send (blocked contacts, fees, approval requests and decisions, agent
outcomes, promises, plans, task status, tasks and offers that expired, overpayments and their
refunds) and projects the state into the supervisors' read model.

Keys make every write idempotent: a retried activity finds its rows and writes nothing twice;
the read model only moves forward (`version` is the turn number). What a turn writes is every
input of the agents' task scores, so it recomputes the debtor's open tasks' scores last
(services/task_priority.py).

An update's turn is recorded before its actions. `record_update` (a local activity) writes the
whole record before the update answers, so what the answer tells the agent or supervisor is on
their screens at once: the task the outcome answered is done, the outcome, the call, a promise or
plan, an approval decided, fees, and the read model's row. The turn's actions (sends, new tasks,
a legal referral) follow. Only when the record leaves work that needs those actions' rows
(`TurnRecord.needs_record_after_actions`) does `record_turn` follow too; it finds what
`record_update` wrote and writes none of it twice.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity

from activities.lookups import account_by_workflow, id_by_key
from activities.strategy_versions import StrategyVersions
from db.models import (
    Account,
    AccountEvent,
    AccountVersion,
    AgentTask,
    Approval,
    Communication,
    Fee,
    InterestCharge,
    OutcomeRecord,
    PaymentPlan,
    PlanInstallment,
    Promise,
)
from db.models import AccountState as AccountStateRow
from db.repositories import kpi_counters
from db.session import session_scope
from domain import actions as act
from domain.conditions import edition_days_past_due, past_due_since
from domain.money import minor_digits
from domain.state import AccountState
from services import task_priority
from workflows import shared_strategies
from workflows.contracts import TurnRecord

# Task statuses that still wait for an agent.
ACTIVE = ("open", "claimed")


class TurnActivities:
    def __init__(self, sessions: sessionmaker[Session], strategies: StrategyVersions | None = None) -> None:
        self._sessions = sessions
        self._strategies = strategies or StrategyVersions(sessions)

    @activity.defn(name="record_turn", no_thread_cancel_exception=True)
    def record_turn(self, record: TurnRecord) -> None:
        """A turn's record, after its actions ran."""
        self._write(record, before_actions=False)

    @activity.defn(name="record_update", no_thread_cancel_exception=True)
    def record_update(self, record: TurnRecord) -> None:
        """An update's turn's record, before its actions run and before the update answers."""
        self._write(record, before_actions=True)

    def _write(self, record: TurnRecord, *, before_actions: bool) -> None:
        # An outcome that names no task is matched to one only after the turn's own tasks exist
        # (see `_answered_task`), so it waits for `record_turn`, and so do the expiries, which
        # would otherwise take the task it answered.
        unmatched = before_actions and record.names_no_task
        edition = self._edition(record.strategy_hash)  # before the transaction: a miss reads on its own
        with session_scope(self._sessions) as session:
            account = account_by_workflow(session, record.workflow_id)
            task_priority.hold_debtor(session, account.debtor_id)
            self._actions(session, account, record)
            if not unmatched:
                self._event(session, account, record)
            self._approvals(session, record)
            if not unmatched:
                self._tasks(session, record)
            self._promises(session, account, record)
            self._plans(session, account, record)
            self._project(session, account, record, edition)
            # Outcomes, settled promises and the balance are what tasks' scores count.
            task_priority.rescore_debtor(session, account.debtor_id)

    def _actions(self, session: Session, account: Account, record: TurnRecord) -> None:
        wf, currency = record.workflow_id, record.state.account.currency
        for index, action in enumerate(record.actions):
            match action:
                case act.ContactBlocked():
                    key = f"{wf}:blocked:{record.turn}:{index}"
                    if id_by_key(session, Communication, key) is not None:
                        continue
                    session.add(
                        Communication(
                            key=key,
                            account_id=account.id,
                            workflow_id=wf,
                            step=action.step,
                            channel=str(action.channel),
                            status="blocked",
                            blocked_rule=action.rule,
                            blocked_reason=action.reason,
                            moved_to=action.moved_to.isoformat() if action.moved_to else None,
                            planned_at=record.at,
                        )
                    )
                case act.ApplyFee():
                    key = f"{wf}:{action.seq}"
                    if id_by_key(session, Fee, key) is None:
                        fee = Fee(
                            key=key,
                            account_id=account.id,
                            amount=action.amount,
                            requested=action.requested,
                            currency=currency,
                            rule=action.rule,
                            step=action.step,
                            applied_at=record.at,
                        )
                        session.add(fee)
                        kpi_counters.fee(session, fee)
                case act.ChargeInterest():
                    key = f"{wf}:{action.seq}"
                    if id_by_key(session, InterestCharge, key) is None:
                        session.add(
                            InterestCharge(
                                key=key,
                                account_id=account.id,
                                amount=action.amount,
                                total=action.total,
                                currency=currency,
                                step=action.step,
                                through=action.through,
                                applied_at=record.at,
                            )
                        )
                case act.RequestApproval():
                    key = f"{wf}:{action.seq}"
                    if id_by_key(session, Approval, key) is None:
                        session.add(
                            Approval(
                                key=key,
                                account_id=account.id,
                                workflow_id=wf,
                                subject=action.subject,
                                step=action.step,
                                requested_at=record.at,
                            )
                        )
                case act.TaskExpired() | act.OfferExpired() | act.Overpaid() | act.RefundRecorded():
                    key = f"{wf}:event:{record.turn}:{index}"
                    if id_by_key(session, AccountEvent, key) is None:
                        details = action.model_dump(mode="json", exclude={"kind", "step"})
                        if isinstance(action, act.RefundRecorded):  # who recorded it: the event's
                            details["by"] = str(record.event.get("by") or "")
                        if isinstance(action, act.Overpaid | act.RefundRecorded):  # amounts keep their exponent
                            details |= {"currency": currency, "currency_digits": minor_digits(currency)}
                        session.add(
                            AccountEvent(
                                key=key,
                                account_id=account.id,
                                kind=action.kind,
                                step=action.step,
                                at=record.at,
                                details=details,
                            )
                        )
                case _:
                    pass

    def _event(self, session: Session, account: Account, record: TurnRecord) -> None:
        event, wf = record.event, record.workflow_id
        kind = event.get("kind")
        if kind == "approval":
            # The decision answers the request the account waited on before this turn, not one
            # this turn's actions just asked for (approving a step can reach a legal referral
            # that waits for its own approval).
            asked_now = [f"{wf}:{a.seq}" for a in record.actions if isinstance(a, act.RequestApproval)]
            session.execute(
                update(Approval)
                .where(Approval.workflow_id == wf, Approval.status == "pending", Approval.key.not_in(asked_now))
                .values(
                    status="approved" if event.get("approved") else "rejected",
                    decided_at=record.at,
                    decided_by=str(event.get("by") or "") or None,
                )
            )
        if kind != "agent_outcome":
            return
        key = f"{wf}:outcome:{record.turn}"
        if id_by_key(session, OutcomeRecord, key) is not None:
            return
        task = _answered_task(session, record)
        if task is not None:
            task.status, task.completed_at = "done", record.at
            task.assigned_agent = task.assigned_agent or (str(event.get("agent") or "") or None)
            kpi_counters.task_done(session, task)
        code = str(event["code"])
        outcome = OutcomeRecord(
            key=key,
            account_id=account.id,
            task_id=task.id if task is not None else None,
            code=code,
            # As the interpreter counted it: the strategy says so for a code of its own.
            right_party_contact=record.state.counters.right_party_contacts
            > record.previous_counters.right_party_contacts,
            agent=str(event.get("agent") or "") or None,
            note=str(event.get("note") or "") or None,
            recorded_at=record.at,
        )
        session.add(outcome)
        kpi_counters.outcome(session, outcome)
        # A call is a contact: the communications log holds it, so the send activity's policy
        # check counts it (and its cooldown when it was a conversation).
        call = Communication(
            key=f"{wf}:call:{record.turn}",
            account_id=account.id,
            workflow_id=wf,
            seq=task.seq if task is not None else None,
            step=task.step if task is not None else record.state.step,
            channel="voice",
            template=code,
            status="sent",
            provider="agent",
            planned_at=record.at,
            sent_at=record.at,
        )
        session.add(call)
        kpi_counters.contact(session, call, None)

    def _approvals(self, session: Session, record: TurnRecord) -> None:
        """Requests the account no longer waits on undecided (it was closed, paid, disputed or
        moved on) are withdrawn. While it waits for approval, the request it waits on is the
        newest: a turn asks for approval last, then waits."""
        w = record.state.waiting
        pending = session.scalars(
            select(Approval)
            .where(Approval.workflow_id == record.workflow_id, Approval.status == "pending")
            .order_by(Approval.id)
        ).all()
        waited_on = pending[-1:] if w is not None and w.kind == "approval" else []
        for row in pending:
            if row not in waited_on:
                row.status, row.decided_at = "withdrawn", record.at

    def _tasks(self, session: Session, record: TurnRecord) -> None:
        """Tasks the account no longer waits for (expired, or moved past by a payment) close."""
        w = record.state.waiting
        still_open = w.task_seq if w is not None and w.kind == "agent" else None
        session.execute(
            update(AgentTask)
            .where(
                AgentTask.workflow_id == record.workflow_id,
                AgentTask.status.in_(ACTIVE),
                AgentTask.seq != (still_open if still_open is not None else -1),
            )
            .values(status="expired", completed_at=record.at)
        )

    def _promises(self, session: Session, account: Account, record: TurnRecord) -> None:
        state, before = record.state, record.previous_counters
        promise = state.promise
        key = f"{record.workflow_id}:promise:{promise.made_at.isoformat()}" if promise else None
        if state.counters.promises_kept > before.promises_kept:
            ending = "kept"
        elif state.counters.promises_broken > before.promises_broken:
            ending = "broken"
        else:
            ending = "cancelled"
        # Locked: a duplicate attempt of this turn waits, then finds the promise settled and
        # neither settles nor counts it again.
        open_promises = select(Promise).where(Promise.account_id == account.id, Promise.status == "open")
        for row in session.scalars(open_promises.with_for_update()):
            if row.key != key:
                row.status, row.settled_at = ending, record.at
                kpi_counters.promise_settled(session, row, "open")
        if promise is not None and key is not None and id_by_key(session, Promise, key) is None:
            made = Promise(
                key=key,
                account_id=account.id,
                amount=promise.amount,
                currency=state.account.currency,
                due_date=promise.due,
                status="open",
                agent=record.assigned_agent,
                made_at=promise.made_at,
            )
            session.add(made)
            kpi_counters.promise_made(session, made)

    def _plans(self, session: Session, account: Account, record: TurnRecord) -> None:
        state = record.state
        plan = state.plan
        key = None
        if plan is not None:
            first = plan.installments[0]
            key = f"{record.workflow_id}:plan:{first.due.isoformat()}:{len(plan.installments)}:{plan.paid_before}"
        for row in session.scalars(
            select(PaymentPlan).where(PaymentPlan.account_id == account.id, PaymentPlan.status == "active")
        ):
            if row.key != key:
                row.status = "completed" if state.balance_due == 0 else "broken"
                today = record.at.astimezone(ZoneInfo(state.account.timezone)).date()
                for scheduled in row.schedule:  # the turn that ended the plan settled or missed its last due
                    if scheduled.status == "due" and (row.status == "completed" or scheduled.due_date <= today):
                        scheduled.status = "paid" if row.status == "completed" else "missed"
        if plan is None or key is None:
            return
        current = session.scalar(select(PaymentPlan).where(PaymentPlan.key == key))
        if current is None:
            current = PaymentPlan(
                key=key,
                account_id=account.id,
                installments=len(plan.installments),
                down_payment=0,
                currency=state.account.currency,
                frequency=plan.frequency,
                agreed_at=record.at,
            )
            session.add(current)
            session.flush()
            for number, inst in enumerate(plan.installments, start=1):
                session.add(PlanInstallment(plan_id=current.id, number=number, due_date=inst.due, amount=inst.amount))
            session.flush()
        for number, inst in enumerate(plan.installments, start=1):
            status = "paid" if inst.settled else "missed" if inst.missed else "due"
            session.execute(
                update(PlanInstallment)
                .where(PlanInstallment.plan_id == current.id, PlanInstallment.number == number)
                .values(status=status)
            )

    def _edition(self, strategy_hash: str) -> int:
        """The edition of the version that ran the turn, without a read per turn: the process's
        instance (a workflow of this worker holds it), else the published version (read once per
        process and hash). A version in neither (a workflow on another worker running a strategy
        that was never published: tests, demos) reads as the first edition, as it did before."""
        held = shared_strategies.held_version(strategy_hash)
        if held is not None:
            return held.edition
        try:
            return self._strategies.get(strategy_hash).edition
        except LookupError:
            return 1

    def _project(self, session: Session, account: Account, record: TurnRecord, edition: int) -> None:
        state = record.state
        values = projection(state, record, edition)
        account.balance = state.balance_due
        # Locked and read afresh: a duplicate attempt of this turn waits and then sees it applied.
        row = session.get(AccountStateRow, account.id, with_for_update=True, populate_existing=True)
        moving = (row is None or row.version < record.turn) and (row.variant if row else None) != state.variant
        if moving:  # the account's KPI counts follow it to its variant
            kpi_counters.withdraw(session, [account.id])
        if (row is None or row.version < record.turn) and (row.strategy_hash if row else None) != record.strategy_hash:
            # The timeline reads each turn's stages in the version that ran it (db/models/account_versions.py).
            session.add(AccountVersion(account_id=account.id, strategy_hash=record.strategy_hash, since=record.at))
        if row is None:
            session.add(AccountStateRow(account_id=account.id, **values))
        elif row.version < record.turn:
            for name, value in values.items():
                setattr(row, name, value)
        if moving:
            session.flush()
            kpi_counters.deposit(session, [account.id])


def _answered_task(session: Session, record: TurnRecord) -> AgentTask | None:
    """The task an agent outcome answered: the one the event names (the API always names it).
    An outcome that names none answered the task the account waited for when it arrived: one this
    turn created and no longer waits for (a timer that fell due first replaced the task), else the
    one open before the turn. Never "the latest open task": the outcome's own route may already
    have created the next task in this turn."""
    active = select(AgentTask).where(AgentTask.workflow_id == record.workflow_id, AgentTask.status.in_(ACTIVE))
    named = record.event.get("task_seq")
    if named is not None:
        return session.scalar(active.where(AgentTask.seq == int(named)))
    w = record.state.waiting
    still_open = w.task_seq if w is not None and w.kind == "agent" else None
    created = [a.seq for a in record.actions if isinstance(a, act.CreateAgentTask) and a.seq != still_open]
    if created:
        return session.scalar(active.where(AgentTask.seq == created[0]))
    before = [t for t in session.scalars(active) if t.seq != still_open]
    return before[0] if len(before) == 1 else None


def projection(state: AccountState, record: TurnRecord, edition: int = 1) -> dict[str, object]:
    """The read-model row of one account after `record`'s turn, its days past due as the turn's
    strategy (of `edition`) counted them and the date they count from."""
    plan = state.plan
    plan_summary = None
    if plan is not None:
        settled = sum(1 for i in plan.installments if i.settled)
        plan_summary = f"{settled}/{len(plan.installments)} paid, {plan.missed} missed ({plan.frequency})"
    return {
        "workflow_id": record.workflow_id,
        "campaign_id": record.campaign_id,
        "stage": str(state.stage),
        "step": state.step,
        "segment": state.segment,
        "variant": state.variant,
        "strategy_hash": record.strategy_hash,
        "balance": state.balance_due,
        "paid_total": state.paid_total,
        "overpaid": state.refund_due,
        "fees_total": state.fees_total,
        "interest_total": state.interest_total,
        "currency": state.account.currency,
        "hold": state.hold,
        "resolution": state.resolution,
        "next_action": record.next_action,
        "next_action_at": record.next_action_at,
        "promise_amount": state.promise.amount if state.promise else None,
        "promise_due": state.promise.due if state.promise else None,
        "plan_summary": plan_summary,
        "assigned_agent": record.assigned_agent,
        "days_past_due": edition_days_past_due(state.account, state.paid_total, record.at, edition),
        # What lists and pages count days past due from until the next turn (services/accounts_view.py).
        "past_due_since": past_due_since(state.account, state.paid_total, edition),
        "contacts": state.counters.contacts,
        "version": record.turn,
        "updated_at": record.at,
    }
