"""`collect tasks`: the agent's queue. The next task with its account, the parts of its score and
the outcomes it allows; claiming (one task, or the next in one step); recording what came of the
call (with a promise's or a plan's terms); the agent's own open and claimed tasks; and, for
supervisors, reassigning a task."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import typer

from cli import render
from cli.client import Api
from cli.money import BadAmount, currency_of, to_minor_units
from cli.options import CursorOpt, JsonOpt, LimitOpt, ProfileOpt, answer, connected, usage

app = typer.Typer(help="Agents' tasks: the next call, claiming, outcomes.", no_args_is_help=True)

TaskArg = Annotated[int, typer.Argument(help="the task's id", show_default=False, min=1)]
QueueOpt = Annotated[str | None, typer.Option(help="only this queue (supervisors: any queue)")]
FREQUENCIES = ("weekly", "biweekly", "monthly")


def basis_points(bp: int) -> str:
    """2500 -> '25.00%' (exact: basis points are integers)."""
    return f"{bp // 100}.{bp % 100:02d}%"


def _task_line(task: dict[str, Any]) -> str:
    return (
        f"task {task['id']} ({task['step']}, queue {task['queue']}, {task['status']}"
        f"{', ' + task['assigned_agent'] if task['assigned_agent'] else ''}) on account {task['account_id']} "
        f"({task['external_id']}, campaign {task['campaign_id']}, {render.money(task['balance'], task['currency'])})"
    )


def _show_next(task: dict[str, Any], account: dict[str, Any] | None) -> None:
    score = task["score"]
    render.say(_task_line(task))
    pairs: list[tuple[str, object]] = [
        ("due", render.when(task["due_at"])),
        ("attempt", task["attempt"]),
    ]
    if account is not None:
        facts, debtor = account["account"], account["debtor"]
        pairs += [
            ("debtor", f"{debtor['name']} ({debtor['country']}, {debtor['timezone']})"),
            ("balance", render.money(facts["balance"], facts["currency"])),
            ("days past due", f"{facts['days_past_due']} ({facts['dpd_bucket']})"),
            ("stage / step", f"{render.text(facts['stage'])} / {render.text(facts['step'])}"),
            ("promise", _promise(facts)),
            (
                "reach at",
                [
                    f"{p['channel']} {p['address']}" + ("" if p["valid"] and p["consent"] else " (not usable)")
                    for p in debtor["contact_points"]
                ],
            ),
        ]
    render.show(render.facts(None, pairs))
    currency = score["currency"]
    render.show(
        render.table(
            "why this task: score = expected recovery x contact likelihood",
            ["score", "expected recovery", "balance", "recovery propensity", "contact likelihood", "due soon"],
            [
                [
                    render.money(score["score"], currency),
                    render.money(score["expected_recovery"], currency),
                    render.money(score["balance"], currency),
                    basis_points(score["recovery_propensity_bp"]),
                    basis_points(score["contact_likelihood_bp"]),
                    score["due_soon"],
                ]
            ],
        )
    )
    render.say(f"allowed outcomes: {allowed_outcomes(task)}")


def allowed_outcomes(task: dict[str, Any]) -> str:
    """The task's codes; those the strategy declares itself with their label in its first locale."""
    labels = {o["code"]: next(iter(o["labels"].values()), "") for o in task.get("custom_outcomes", [])}
    return ", ".join(f"{code} ({labels[code]})" if labels.get(code) else code for code in task["allowed_outcomes"])


def _promise(facts: dict[str, Any]) -> str | None:
    if facts.get("promise_amount") is None:
        return None
    return f"{render.money(facts['promise_amount'], facts['currency'])} due {facts['promise_due']}"


@app.command(name="next")
def next_task(queue: QueueOpt = None, as_json: JsonOpt = False, profile: ProfileOpt = None) -> None:
    """The task to work next (not claimed): its account, the parts of its score and the allowed outcomes.

    Example: collect tasks next
    """
    with connected(profile, as_json=as_json) as api:
        task = api.get("/agent/tasks/next", {"queue": queue})
        account = api.get(f"/accounts/{task['account_id']}") if task and not as_json else None
    if as_json:
        render.print_json(task)
        return
    if task is None:
        render.say("nothing waits in your queues")
        return
    _show_next(task, account)
    render.note(f"claim it: collect tasks claim {task['id']}")


@app.command()
def claim(
    task_id: Annotated[int | None, typer.Argument(help="the task's id (or --next)", show_default=False, min=1)] = None,
    next_: Annotated[bool, typer.Option("--next", help="claim the task to work next, in one step")] = False,
    queue: QueueOpt = None,
    as_json: JsonOpt = False,
    profile: ProfileOpt = None,
) -> None:
    """Claim a task (it becomes yours), or with --next the task to work next.

    Example: collect tasks claim 42   |   collect tasks claim --next
    """
    if (task_id is None) == (not next_):
        raise usage("give a task id or --next (not both)")
    if next_:
        task = answer(profile, as_json, lambda api: api.post("/agent/tasks/next/claim", params={"queue": queue}))
    else:
        task = answer(profile, as_json, lambda api: api.post(f"/agent/tasks/{task_id}/claim"))
    render.say(f"claimed {_task_line(task)}")
    render.say(f"allowed outcomes: {allowed_outcomes(task)}")


def _split_terms(option: str, text: str) -> tuple[str, date]:
    """'WHAT@YYYY-MM-DD' -> ('WHAT', date)."""
    what, at, day = text.rpartition("@")
    if not at or not what:
        raise usage(f"{option} {text!r}: expected AMOUNT@YYYY-MM-DD, e.g. 50000@2026-12-05")
    try:
        return what.strip(), date.fromisoformat(day.strip())
    except ValueError:
        raise usage(f"{option} {text!r}: {day!r} is not a date (YYYY-MM-DD)") from None


def _task_currency(api: Api, task_id: int) -> str:
    """The currency of an open or claimed task the caller may see (for amounts typed without one)."""
    for task in api.pages("/agent/tasks", {"limit": 100}):
        if task["id"] == task_id:
            return str(task["currency"])
    raise usage(
        f"task {task_id} is not among your open or claimed tasks, so its currency is unknown; "
        "write the currency with the amount, e.g. 50000CLP@2026-12-05"
    )


def _minor(api: Api, task_id: int, option: str, amount: str, currency: str | None) -> tuple[int, str]:
    code = currency or currency_of(amount) or _task_currency(api, task_id)
    try:
        return to_minor_units(amount, code), code
    except BadAmount as exc:
        raise usage(f"{option}: {exc}") from None


@app.command()
def outcome(
    task_id: TaskArg,
    code: Annotated[
        str,
        typer.Argument(help="an outcome the task allows, e.g. no_answer, promise_to_pay, or one its strategy declares"),
    ],
    promise: Annotated[
        str | None, typer.Option(metavar="AMOUNT@DATE", help="promise_to_pay: amount (major units) and due date")
    ] = None,
    plan: Annotated[
        str | None, typer.Option(metavar="N@DATE", help="payment_plan: installments and first due date")
    ] = None,
    frequency: Annotated[str, typer.Option(help="payment_plan: weekly, biweekly or monthly")] = "monthly",
    down_payment: Annotated[
        str | None, typer.Option(metavar="AMOUNT", help="payment_plan: paid on the first date")
    ] = None,
    note: Annotated[str, typer.Option(help="what the next person should know")] = "",
    as_json: JsonOpt = False,
    profile: ProfileOpt = None,
) -> None:
    """Record what came of the call; the account's workflow moves on at once.

    Example: collect tasks outcome 42 promise_to_pay --promise 50000@2026-12-05 --note "paga el viernes"
    """
    if frequency not in FREQUENCIES:
        raise usage(f"--frequency {frequency!r}: expected one of {', '.join(FREQUENCIES)}")

    def record(api: Api) -> Any:
        body: dict[str, Any] = {"code": code, "note": note}
        if promise is not None:
            amount, due = _split_terms("--promise", promise)
            minor, currency = _minor(api, task_id, "--promise", amount, None)
            body["promise"] = {"amount": minor, "currency": currency, "due": due.isoformat()}
        if plan is not None:
            count, first_due = _split_terms("--plan", plan)
            if not count.isdigit():
                raise usage(f"--plan {plan!r}: expected INSTALLMENTS@YYYY-MM-DD, e.g. 3@2026-12-15")
            terms: dict[str, Any] = {
                "installments": int(count),
                "frequency": frequency,
                "first_due": first_due.isoformat(),
            }
            if down_payment is not None:
                terms["down_payment"], terms["currency"] = _minor(api, task_id, "--down-payment", down_payment, None)
            else:
                terms["currency"] = _task_currency(api, task_id)
            body["plan"] = terms
        return api.post(f"/agent/tasks/{task_id}/outcome", body)

    result = answer(profile, as_json, record)
    view = result["account"]
    render.say(f"task {task_id}: {code} recorded; the task is {result['task']['status']}")
    render.show(render.facts(None, live_facts(view)))


def live_facts(view: dict[str, Any]) -> list[tuple[str, object]]:
    """An account's live state (the workflow's own answer) as name/value pairs."""
    currency = view["currency"]
    promise = (
        f"{render.money(view['promise_amount'], currency)} due {view['promise_due']}"
        if view.get("promise_amount") is not None
        else None
    )
    plan = (
        f"{view['plan_installments']} installments, {view.get('plan_missed') or 0} missed"
        if view.get("plan_installments")
        else None
    )
    return [
        ("account", f"{view['account_id']} ({view['workflow_id']})"),
        ("strategy", f"{view['strategy_id']} {view['strategy_hash'][:12]}"),
        ("stage / step", f"{view['stage']} / {view['step']}"),
        ("segment / variant", f"{view['segment']} / {render.text(view['variant'])}"),
        ("waiting for", view.get("waiting")),
        ("next", f"{render.text(view.get('next_action'))} at {render.when(view.get('next_action_at'))}"),
        ("balance", render.money(view["balance"], currency)),
        ("paid", render.money(view["paid_total"], currency)),
        ("fees", render.money(view["fees_total"], currency)),
        ("promise", promise),
        ("plan", plan),
        ("hold", f"{view['hold']}: {render.text(view.get('hold_reason'))}" if view.get("hold") else None),
        ("resolution", view.get("resolution")),
        ("agent", view.get("assigned_agent")),
        ("opted out", view.get("opted_out")),
    ]


@app.command()
def mine(
    queue: QueueOpt = None,
    status: Annotated[str | None, typer.Option(help="open or claimed")] = None,
    limit: LimitOpt = 50,
    cursor: CursorOpt = None,
    as_json: JsonOpt = False,
    profile: ProfileOpt = None,
) -> None:
    """Your open and claimed tasks (supervisors: every one), by id.

    Example: collect tasks mine --status claimed
    """
    page = answer(
        profile,
        as_json,
        lambda api: api.get("/agent/tasks", {"queue": queue, "status": status, "limit": limit, "cursor": cursor}),
    )
    rows = (
        [
            t["id"],
            t["status"],
            t["assigned_agent"],
            t["queue"],
            t["step"],
            t["account_id"],
            t["external_id"],
            render.money(t["balance"], t["currency"]),
            render.when(t["due_at"]),
            t["allowed_outcomes"],
        ]
        for t in page["items"]
    )
    columns = ["task", "status", "agent", "queue", "step", "account", "external id", "balance", "due", "outcomes"]
    render.show(render.table("tasks", columns, rows))
    flags = "".join(f" --{k} {v}" for k, v in (("queue", queue), ("status", status)) if v)
    render.next_page(f"collect tasks mine{flags} --limit {limit}", page.get("next_cursor"))


@app.command()
def reassign(
    task_id: TaskArg,
    agent: Annotated[str | None, typer.Option(help="give the task to this agent")] = None,
    release: Annotated[bool, typer.Option("--release", help="give it back to its queue (no agent)")] = False,
    queue: Annotated[str | None, typer.Option(help="move the task to this queue")] = None,
    as_json: JsonOpt = False,
    profile: ProfileOpt = None,
) -> None:
    """Give an open or claimed task to another agent, back to its queue, or to another queue (supervisors).

    Example: collect task reassign 42 --agent beto
    """
    if agent is not None and release:
        raise usage("--agent and --release say opposite things; give one")
    body: dict[str, Any] = {}
    if agent is not None or release:
        body["agent"] = agent
    if queue is not None:
        body["queue"] = queue
    if not body:
        raise usage("name an --agent, --release it, or give a --queue")
    task = answer(profile, as_json, lambda api: api.post(f"/tasks/{task_id}/reassign", body))
    render.say(f"reassigned {_task_line(task)}")
