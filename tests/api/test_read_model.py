"""The read model (tasks, outcomes, promises, plans, approvals and the account's row in the
database) agrees with the workflow's own state (issue 9, item 2).

The instance: an account whose unanswered call creates the next call in the same turn keeps taking
outcomes. The class: random small strategies driven by random events through the API (agents'
outcomes, promises, plans, payments, disputes, pauses, opt-outs, approvals, time passing), with
the database checked against the workflow's `account_state` after every turn. Each Hypothesis
example is one new account on one shared app, worker and time-skipping server;
COLLECT_READ_MODEL_EXAMPLES sets how many (default 20, about 10 s per database)."""

from __future__ import annotations

import asyncio
import json
import os
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from accounts_fixture import STRATEGIES, ZONE, StartedAccount, ended, live_state, start_accounts
from api_harness import PUBLIC_BASE_URL, TWILIO_TOKEN, Api
from clock import skip
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as hs
from signing import twilio_request
from sqlalchemy import func, select
from temporalio.client import WorkflowExecutionStatus, WorkflowHandle, WorkflowQueryFailedError
from temporalio.service import RPCError
from workers import settle as settle_handle

from db.models import Account, AgentTask, Approval, OutcomeRecord, PaymentPlan, Promise
from db.models import AccountState as AccountStateRow
from domain import events as ev
from domain.state import AccountState
from domain.types import Outcome
from strategies.compiler import compile_text
from workflows.contracts import AccountView, DebtorResult
from workflows.debtor import DebtorWorkflow

REDIAL = STRATEGIES / "redial.yaml"  # call: {no_answer: call, right_party_contact: done}


def account_tasks(api: Api, account_id: int) -> list[AgentTask]:
    with api.sessions() as session:
        return list(
            session.scalars(select(AgentTask).where(AgentTask.account_id == account_id).order_by(AgentTask.seq))
        )


class TestRedial:
    async def test_two_unanswered_calls_then_a_conversation_are_all_taken(self, api: Api) -> None:
        (account,) = await start_accounts(api, REDIAL, 1)
        for code in ("no_answer", "no_answer", "right_party_contact"):
            # The outcome's answer comes before its turn's actions: the next call is on the queue
            # once the turn has run.
            await settle_handle(api.env.client.get_workflow_handle(account.workflow_id))
            [task] = [t for t in account_tasks(api, account.id) if t.status == "open"]
            response = await api.http.post(
                f"/agent/tasks/{task.id}/outcome", json={"code": code}, headers=api.as_("agent")
            )
            assert response.status_code == 200, response.text
            body = response.json()
            assert (body["task"]["id"], body["task"]["status"]) == (task.id, "done")

        tasks = account_tasks(api, account.id)
        assert [(t.seq, t.status) for t in tasks] == [
            (tasks[0].seq, "done"),
            (tasks[1].seq, "done"),
            (tasks[2].seq, "done"),
        ]
        with api.sessions() as session:
            outcomes = session.execute(
                select(OutcomeRecord.code, OutcomeRecord.task_id)
                .where(OutcomeRecord.account_id == account.id)
                .order_by(OutcomeRecord.id)
            ).all()
        assert [tuple(o) for o in outcomes] == [
            ("no_answer", tasks[0].id),
            ("no_answer", tasks[1].id),
            ("right_party_contact", tasks[2].id),
        ]
        view = await live_state(api, account.workflow_id)
        assert (view.step, view.waiting, view.open_task_seq) == ("done", "timer", None)


# ---- the class: after every turn, the read model says what the workflow says ----------------------

EXAMPLES = int(os.environ.get("COLLECT_READ_MODEL_EXAMPLES", "20"))
EXAMPLE_TIMEOUT_S = 240
STAGES = ("outreach", "contact", "commitment", "payment")
ANSWERS = tuple(o.value for o in Outcome if o != Outcome.NO_ANSWER)
HANDLERS = ("payment_in_full", "partial_payment", "opt_out", "dispute", "dispute_resolved")
NOTICE = {
    "es-CL": {"subject": "Aviso", "body": "Hola {{ debtor.first_name }}, su saldo es {{ account.balance | money }}."}
}
# What moves an account, weighted by repetition: agents' outcomes most of all.
MOVES = (
    *["outcome"] * 5,
    "stale_outcome",
    "promise",
    "plan",
    *["pay"] * 2,
    "pay_full",
    "dispute",
    "resolve",
    "pause",
    "resume",
    "opt_out_sms",
    "opt_out_all",
    *["time"] * 4,
    "approve",
    "reject",
)
LAPSES = (timedelta(hours=6), timedelta(days=1), timedelta(days=2, hours=1), timedelta(days=5), timedelta(days=12))


def _targets(step: dict[str, Any]) -> list[str]:
    out = [t for t in (step.get("on_rejected"), step.get("next")) if t]
    for action in step["do"]:
        if "agent_task" in action:
            out.extend(action["agent_task"]["outcomes"].values())
        if "goto" in action:
            out.append(action["goto"])
        if "escalate_legal" in action and action["escalate_legal"].get("on_rejected"):
            out.append(action["escalate_legal"]["on_rejected"])
    return out


@hs.composite
def strategy_docs(draw: hs.DrawFn) -> dict[str, Any]:
    """A small valid strategy from a few blocks: sends, waits, legal referrals (with approval),
    steps that wait for approval, agent tasks whose outcomes route anywhere (their own step
    included), goto and end; with or without promises, plans and event handlers."""
    names = [f"s{i}" for i in range(draw(hs.integers(1, 3)))]
    step_name = hs.sampled_from(names)
    promises = draw(hs.booleans())
    plans = draw(hs.booleans())
    answers = [c for c in ANSWERS if (promises or c != "promise_to_pay") and (plans or c != "payment_plan")]
    steps: dict[str, Any] = {}
    for name in names:
        do: list[dict[str, Any]] = []
        for kind in draw(hs.lists(hs.sampled_from(("email", "sms", "wait", "legal")), max_size=2)):
            if kind == "wait":
                do.append({"wait": draw(hs.sampled_from(("1d", "3d", "10d")))})
            elif kind == "legal":
                do.append({"escalate_legal": {"approval": True, "on_rejected": draw(step_name)}})
            else:
                do.append({"send": {"channel": kind, "template": "aviso"}})
        # Mostly calls, the first step above all: agents' outcomes are what moves accounts most.
        last = draw(
            hs.sampled_from(
                ("agent_task", "agent_task", "goto", "end") if name != "s0" else ("agent_task",) * 4 + ("goto", "end")
            )
        )
        if last == "agent_task":
            # Routes back to the call's own step are as likely as all others together.
            route = hs.sampled_from([name] * len(names) + names)
            routes = {"no_answer": draw(route)}
            routes.update({code: draw(route) for code in draw(hs.lists(hs.sampled_from(answers), max_size=4))})
            do.append(
                {
                    "agent_task": {
                        "queue": "calls",
                        "due_within": draw(hs.sampled_from(("1d", "3d"))),
                        "attempts": draw(hs.integers(1, 2)),
                        "retry_after": "1d",
                        "outcomes": routes,
                    }
                }
            )
        elif last == "goto":
            if not any("wait" in a for a in do):
                do.append({"wait": "5d"})  # a goto with no wait on the way loops in an instant
            do.append({"goto": draw(step_name)})
        else:
            do.append({"end": draw(hs.sampled_from(("paid", "written_off")))})
        step: dict[str, Any] = {"stage": draw(hs.sampled_from(STAGES)), "do": do}
        if draw(hs.integers(0, 4)) == 4:
            step.update(approval="supervisor", on_rejected=draw(step_name))
        steps[name] = step
    doc: dict[str, Any] = {
        "id": "prop-read-model",
        "name": "Generated for the read-model property",
        "locale": "es-CL",
        "currency": "CLP",
        "timezone": ZONE,
        "policy": {"preset": "NONE"},
        "segments": [{"name": "general", "start": "s0"}],
        "queues": ["calls"],
        "templates": {"aviso": NOTICE},
        "on": {h: t for h in HANDLERS if (t := draw(hs.none() | step_name)) is not None},
    }
    if promises:
        doc["promises"] = {
            "max_days_ahead": 10,
            "grace_days": draw(hs.integers(0, 2)),
            "step": draw(step_name),
            "on_broken": draw(step_name),
            **({"on_kept": kept} if (kept := draw(hs.none() | step_name)) else {}),
        }
    if plans:
        doc["plans"] = {
            "max_installments": 3,
            "min_down_payment": draw(hs.sampled_from(("0%", "10%"))),
            "frequencies": ["weekly", "monthly"],
            "missed_tolerated": draw(hs.integers(0, 1)),
            "step": draw(step_name),
            "on_broken": draw(step_name),
            **({"on_missed": missed} if (missed := draw(hs.none() | step_name)) else {}),
        }
    roots = ["s0", *doc["on"].values()]
    for section in ("promises", "plans"):
        roots += [v for k, v in doc.get(section, {}).items() if k in ("step", "on_kept", "on_broken", "on_missed")]
    reached: set[str] = set()
    while roots:  # the compiler refuses unreachable steps: leave them out
        name = roots.pop()
        if name not in reached:
            reached.add(name)
            roots.extend(_targets(steps[name]))
    doc["steps"] = {name: step for name, step in steps.items() if name in reached}
    return doc


@dataclass(frozen=True)
class ReadModel:
    """What the database says about one account."""

    open_tasks: list[int]
    open_promises: list[tuple[int, date]]
    active_plans: list[list[tuple[date, int, str]]]
    pending_approvals: int
    promises_settled: dict[str, int]
    outcomes: int
    account_balance: int
    row: AccountStateRow | None


def read_model(api: Api, account_id: int) -> ReadModel:
    with api.sessions() as session:
        tasks = session.scalars(
            select(AgentTask.seq).where(AgentTask.account_id == account_id, AgentTask.status.in_(("open", "claimed")))
        ).all()
        promises = session.execute(
            select(Promise.amount, Promise.due_date).where(Promise.account_id == account_id, Promise.status == "open")
        ).all()
        plans = session.scalars(
            select(PaymentPlan).where(PaymentPlan.account_id == account_id, PaymentPlan.status == "active")
        ).all()
        approvals = session.scalars(
            select(Approval.id).where(
                Approval.workflow_id == select(Account.workflow_id).where(Account.id == account_id).scalar_subquery(),
                Approval.status == "pending",
            )
        ).all()
        settled = session.execute(
            select(Promise.status, func.count())
            .where(Promise.account_id == account_id, Promise.status.in_(("kept", "broken")))
            .group_by(Promise.status)
        ).all()
        outcomes = session.scalar(select(func.count()).where(OutcomeRecord.account_id == account_id))
        account = session.get_one(Account, account_id)
        row = session.get(AccountStateRow, account_id)
        if row is not None:
            session.expunge(row)
        return ReadModel(
            open_tasks=sorted(tasks),
            open_promises=[(int(a), d) for a, d in promises],
            active_plans=[[(i.due_date, i.amount, i.status) for i in plan.schedule] for plan in plans],
            pending_approvals=len(approvals),
            promises_settled={status: int(n) for status, n in settled},
            outcomes=int(outcomes or 0),
            account_balance=account.balance,
            row=row,
        )


def disagreements(db: ReadModel, view: AccountView, state: AccountState) -> list[str]:
    """Where the database and the workflow's own state differ (empty: they agree)."""
    w = state.waiting
    expected: dict[str, tuple[object, object]] = {
        "open task": (db.open_tasks, [w.task_seq] if w is not None and w.kind == "agent" else []),
        "open promise": (db.open_promises, [(state.promise.amount, state.promise.due)] if state.promise else []),
        "active plan": (
            db.active_plans,
            [
                [
                    (i.due, i.amount, "paid" if i.settled else "missed" if i.missed else "due")
                    for i in state.plan.installments
                ]
            ]
            if state.plan
            else [],
        ),
        "pending approvals": (db.pending_approvals, 1 if w is not None and w.kind == "approval" else 0),
        "account balance": (db.account_balance, state.balance),
        "promises kept and broken": (
            (db.promises_settled.get("kept", 0), db.promises_settled.get("broken", 0)),
            (state.counters.promises_kept, state.counters.promises_broken),
        ),
        "outcomes": (db.outcomes, state.counters.agent_attempts),
    }
    row = db.row
    if row is None:
        return ["no read-model row"]
    expected.update(
        {
            "version": (row.version, view.turn),
            "balance": (row.balance, state.balance),
            "paid total": (row.paid_total, state.paid_total),
            "stage": (row.stage, str(state.stage)),
            "step": (row.step, state.step),
            "hold": (row.hold, state.hold),
            "resolution": (row.resolution, state.resolution),
            "promise amount": (row.promise_amount, state.promise.amount if state.promise else None),
            "promise due": (row.promise_due, state.promise.due if state.promise else None),
        }
    )
    return [f"{what}: database {got!r}, workflow {want!r}" for what, (got, want) in expected.items() if got != want]


async def consistent_snapshot(
    api: Api, handle: WorkflowHandle[Any, Any], account_id: int
) -> tuple[ReadModel, AccountView, AccountState] | None:
    """The database and the workflow's state at one and the same turn, taken while the workflow
    was idle before and after (so no turn ran in between) with no timer of it due; None once the
    workflow has ended."""
    for _ in range(200):
        if (await settle_handle(handle)).status != WorkflowExecutionStatus.RUNNING:
            return None
        try:
            before = await handle.query(DebtorWorkflow.state)
            state = await handle.query(DebtorWorkflow.account_state)
            db = read_model(api, account_id)
            after = await handle.query(DebtorWorkflow.state)
            idle = await handle.query(DebtorWorkflow.idle)
        except (WorkflowQueryFailedError, RPCError):
            await asyncio.sleep(0.02)  # the run just ended or continued as new
            continue
        wake = state.wake_at()
        due = wake is not None and wake <= await api.env.get_current_time()  # its timer's task is on its way
        if idle and before.turn == after.turn and not due:
            return db, before, state
        await asyncio.sleep(0.02)
    raise AssertionError(f"{handle.id} never held still")


async def final_result(handle: WorkflowHandle[Any, DebtorResult]) -> DebtorResult:
    """The ended run's result (the test server's long poll may answer before the completion event)."""
    for _ in range(100):
        try:
            result: DebtorResult = await handle.result()
            return result
        except RuntimeError as exc:
            if "No completion event found" not in str(exc):
                raise
            await asyncio.sleep(0.05)
    raise AssertionError(f"{handle.id} has no result")


class Journey:
    """One generated account: performs moves through the API as agents, supervisors, providers
    and the debtor would, and checks the read model after each one."""

    def __init__(self, api: Api, account: StartedAccount, phone: str) -> None:
        self.api = api
        self.account = account
        self.phone = phone
        self.handle = api.env.client.get_workflow_handle_for(DebtorWorkflow.run, account.workflow_id)
        self.log: list[str] = []
        self.payments = 0

    async def check(self) -> tuple[ReadModel, AccountView, AccountState] | None:
        snap = await consistent_snapshot(self.api, self.handle, self.account.id)
        if snap is None:
            await self.check_closed()
            return None
        problems = disagreements(*snap)
        assert not problems, (
            "read model disagrees with the workflow after " + " > ".join(self.log) + ":\n" + "\n".join(problems)
        )
        return snap

    async def check_closed(self) -> None:
        result = await final_result(self.handle)
        db = read_model(self.api, self.account.id)
        assert db.row is not None
        got = (db.row.resolution, db.row.stage, db.row.balance, db.row.paid_total, db.open_tasks, db.pending_approvals)
        want = (result.resolution, "closed", result.balance, result.paid_total, [], 0)
        assert got == want, f"closed account's read model after {' > '.join(self.log)}: {got} != {want}"

    async def today(self) -> date:
        return (await self.api.env.get_current_time()).astimezone(ZoneInfo(ZONE)).date()

    def tasks(self, *statuses: str) -> list[AgentTask]:
        with self.api.sessions() as session:
            return list(
                session.scalars(
                    select(AgentTask)
                    .where(AgentTask.account_id == self.account.id, AgentTask.status.in_(statuses))
                    .order_by(AgentTask.seq)
                )
            )

    async def post(self, path: str, body: dict[str, Any] | None, who: str, allowed: set[int]) -> int:
        response = await self.api.http.post(path, json=body, headers=self.api.as_(who))
        self.log.append(f"{path.rsplit('/', 1)[-1]} {body or ''} -> {response.status_code}")
        assert response.status_code in allowed, " > ".join(self.log) + f": {response.text}"
        return response.status_code

    async def signalled(self, turn: int) -> None:
        """Wait (briefly) until the workflow has taken the signal just sent: the test server may
        answer a query before the signal's workflow task, and the next move must meet its effect."""
        for _ in range(100):
            try:
                if (await self.handle.query(DebtorWorkflow.state)).turn > turn:
                    return
            except (WorkflowQueryFailedError, RPCError):
                return  # the signal closed the account: its run has ended
            await asyncio.sleep(0.02)

    async def move(self, kind: str, n: int, view: AccountView, state: AccountState) -> None:
        sent = await self.act(kind, n, view, state)
        if sent:
            await self.signalled(view.turn)

    async def act(self, kind: str, n: int, view: AccountView, state: AccountState) -> bool:
        """Perform one move; True when it signalled the workflow (signals return before it acts)."""
        acc = f"/accounts/{self.account.id}"
        today = await self.today()
        balance = max(view.balance, 1)
        match kind:
            case "outcome":
                open_tasks = self.tasks("open", "claimed")
                wake = state.wake_at()
                if (
                    not open_tasks
                    and wake is not None
                    and wake - await self.api.env.get_current_time() < timedelta(days=40)
                ):
                    # No call to answer yet: let time run to the account's next move instead.
                    self.log.append("time to the next wake-up")
                    lapse = wake - await self.api.env.get_current_time() + timedelta(minutes=1)
                    await skip(self.api.env, max(lapse, timedelta(minutes=1)))
                for task in open_tasks:
                    allowed = sorted(task.allowed_outcomes, key=lambda c: c != "no_answer")
                    code = allowed[0] if n % 2 == 0 else allowed[n % len(allowed)]
                    body: dict[str, Any] = {"code": code}
                    if code == "promise_to_pay":
                        body["promise"] = {
                            "amount": balance * (1 + n % 4) // 4 or 1,
                            "currency": "CLP",
                            "due": str(today + timedelta(days=1 + n % 7)),
                        }
                    if code == "payment_plan":
                        down = balance // 10 if n % 3 == 0 else 0
                        body["plan"] = {
                            "installments": 1 + n % 3,
                            "down_payment": down,
                            "currency": "CLP",
                            "frequency": ("weekly", "monthly")[n % 2],
                            "first_due": str(today + timedelta(days=2 + n % 5)),
                        }
                    # The task the account waits for takes every code it allows; only terms may be refused.
                    terms = code in ("promise_to_pay", "payment_plan")
                    await self.post(f"/agent/tasks/{task.id}/outcome", body, "agent", {200, 409} if terms else {200})
            case "stale_outcome":
                for task in self.tasks("done", "expired")[-1:]:
                    await self.post(f"/agent/tasks/{task.id}/outcome", {"code": "no_answer"}, "agent", {409})
            case "promise":
                due = str(today + timedelta(days=1 + n % 7))
                body = {"amount": balance * (1 + n % 4) // 4 or 1, "currency": "CLP", "due": due}
                await self.post(f"{acc}/promises", body, "supervisor", {200, 409})
            case "plan":
                body = {
                    "installments": 1 + n % 3,
                    "down_payment": balance // 5,
                    "currency": "CLP",
                    "frequency": "monthly",
                    "first_due": str(today + timedelta(days=2 + n % 5)),
                }
                await self.post(f"{acc}/plans", body, "supervisor", {200, 409})
            case "pay" | "pay_full":
                self.payments += 1
                amount = balance if kind == "pay_full" else balance * (1 + n % 3) // 4 or 1
                body = {
                    "account_id": self.account.id,
                    "provider": "prop",
                    "provider_payment_id": f"{self.account.external_id}-{self.payments}",
                    "amount": amount,
                    "currency": "CLP",
                }
                return await self.post("/payments", body, "supervisor", {201}) == 201
            case "dispute":
                await self.post(f"{acc}/disputes", {"reason": "not mine"}, "supervisor", {200, 409})
            case "resolve":
                await self.post(f"{acc}/disputes/resolve", {"upheld": n % 4 == 0}, "supervisor", {200, 409})
            case "pause" | "resume":
                return await self.post(f"{acc}/{kind}", None, "supervisor", {202, 409}) == 202
            case "approve" | "reject":
                await self.post(f"{acc}/approvals/decision", {"approved": kind == "approve"}, "supervisor", {200, 409})
            case "opt_out_sms":
                params = {
                    "MessageSid": f"SM-{self.account.external_id}-{len(self.log)}",
                    "From": self.phone,
                    "Body": "STOP",
                }
                form, headers = twilio_request(TWILIO_TOKEN, f"{PUBLIC_BASE_URL}/webhooks/twilio/inbound", params)
                response = await self.api.http.post("/webhooks/twilio/inbound", content=form, headers=headers)
                self.log.append(f"sms STOP -> {response.status_code}")
                assert response.status_code == 200, response.text
                return True
            case "opt_out_all":
                # No endpoint takes a cease-communication request yet: signal it as the API would.
                self.log.append("opt out of everything")
                await self.handle.signal("opt_out", ev.OptOut())
                return True
            case "time":
                lapse = LAPSES[n % len(LAPSES)]
                self.log.append(f"{lapse} pass")
                await skip(self.api.env, lapse)
        return False


async def play(api: Api, example: int, doc: dict[str, Any], moves: list[tuple[str, int]], folder: Path) -> None:
    path = folder / f"strategy-{example}.yaml"
    path.write_text(json.dumps(doc, indent=1), encoding="utf-8")  # JSON is YAML
    phone = f"+5699{example:07d}"
    (account,) = await start_accounts(
        api, path, 1, campaign_id=f"prop-{example}", prefix=f"P{example}", phone=phone, balance=90_000
    )
    journey = Journey(api, account, phone)
    snap = await journey.check()
    for kind, n in moves:
        if snap is None:
            return
        await journey.move(kind, n, snap[1], snap[2])
        snap = await journey.check()
    if snap is not None:  # close it, so later examples' time skips do not drive it on
        # 409: a signal the last check did not see yet (an opt-out, a payment) closed it already.
        await journey.post(f"/accounts/{account.id}/close", {"reason": "example over"}, "supervisor", {202, 409})
        await ended(api, account.workflow_id)
        await journey.check_closed()


class TestReadModelProperty:
    @pytest.mark.slow
    async def test_read_model_agrees_with_the_workflow_after_every_turn(self, api: Api, tmp_path: Path) -> None:
        loop = asyncio.get_running_loop()
        examples = iter(range(1, 10_000))

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
            phases=[Phase.explicit, Phase.generate],  # each example runs real workflows: no shrinking
        )
        @given(
            doc=strategy_docs(),
            moves=hs.lists(hs.tuples(hs.sampled_from(MOVES), hs.integers(0, 999)), min_size=3, max_size=10),
        )
        def journey(doc: dict[str, Any], moves: list[tuple[str, int]]) -> None:
            compile_text(json.dumps(doc))  # a generator bug shows as a StrategyInvalid here, not later
            future = asyncio.run_coroutine_threadsafe(play(api, next(examples), doc, moves, tmp_path), loop)
            try:
                future.result(timeout=EXAMPLE_TIMEOUT_S)
            except BaseException as exc:
                exc.add_note(f"strategy: {json.dumps(doc)}\nmoves: {moves}")
                raise

        # Hypothesis drives the examples from a thread; each runs on this event loop, where the app,
        # the worker and the Temporal client live.
        await asyncio.to_thread(journey)
