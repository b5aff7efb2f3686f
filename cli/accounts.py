"""`collect account` (also `collect accounts`): the list with the API's filters and keyset paging,
one account in full (facts, debtor, live state, open tasks, timeline), its timeline alone, the
supervisors' steering: pause, resume, close, and recording a refund or credit of an overpayment."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from cli import render
from cli.agents import live_facts
from cli.money import BadAmount, currency_of, to_minor_units
from cli.options import CursorOpt, JsonOpt, LimitOpt, ProfileOpt, answer, connected, usage

app = typer.Typer(help="Accounts: list, show, timeline, pause, resume, close, refund.", no_args_is_help=True)

AccountArg = Annotated[int, typer.Argument(help="the account's id (as lists show it)", show_default=False, min=1)]
ReasonOpt = Annotated[str, typer.Option(help="why (kept as a note on the account)")]
FILTERS = ("campaign_id", "stage", "segment", "variant", "agent", "dpd_bucket")


@app.command(name="list")
def list_accounts(
    campaign: Annotated[str | None, typer.Option(help="only this campaign")] = None,
    stage: Annotated[
        str | None, typer.Option(help="outreach, contact, commitment, payment, legal, hold, closed")
    ] = None,
    segment: Annotated[str | None, typer.Option()] = None,
    variant: Annotated[str | None, typer.Option()] = None,
    agent: Annotated[str | None, typer.Option(help="the agent the account is assigned to")] = None,
    dpd: Annotated[str | None, typer.Option(help="days past due: current, 1-29, 30-59, 60-89 or 90+")] = None,
    limit: LimitOpt = 50,
    cursor: CursorOpt = None,
    as_json: JsonOpt = False,
    profile: ProfileOpt = None,
) -> None:
    """Accounts by id, filtered; prints the command for the next page.

    Example: collect accounts list --campaign consumo-nov --stage commitment --dpd 30-59
    """
    values = (campaign, stage, segment, variant, agent, dpd)
    query = dict(zip(FILTERS, values, strict=True)) | {"limit": limit, "cursor": cursor}
    page = answer(profile, as_json, lambda api: api.get("/accounts", query))
    rows = (
        [
            a["id"],
            a["external_id"],
            a["campaign_id"],
            render.money(a["balance"], a["currency"]),
            f"{a['days_past_due']} ({a['dpd_bucket']})",
            a["stage"],
            a["step"],
            a["hold"] or a["resolution"],
            f"{render.text(a['next_action'])} {render.when(a['next_action_at'])}" if a["next_action"] else None,
            a["assigned_agent"],
        ]
        for a in page["items"]
    )
    columns = ["id", "external id", "campaign", "balance", "dpd", "stage", "step", "hold/closed", "next", "agent"]
    render.show(render.table("accounts", columns, rows))
    names = ("campaign", "stage", "segment", "variant", "agent", "dpd")
    flags = "".join(f" --{name} {value}" for name, value in zip(names, values, strict=True) if value)
    render.next_page(f"collect accounts list{flags} --limit {limit}", page.get("next_cursor"))


def timeline_table(entries: list[dict[str, Any]]) -> Any:
    rows = ([render.when(e["at"]), e["details"].get("stage") or "", e["kind"], e["who"], _summary(e)] for e in entries)
    return render.table("timeline", ["at", "stage", "what", "who", "summary"], rows)


def _summary(entry: dict[str, Any]) -> str:
    """The entry's summary, with what a message said (its subject and first line)."""
    preview = entry["details"].get("preview")
    return f'{entry["summary"]}: "{preview}"' if preview else str(entry["summary"])


@app.command()
def show(account: AccountArg, as_json: JsonOpt = False, profile: ProfileOpt = None) -> None:
    """One account in full: facts, debtor and contact points, live workflow state, open tasks, timeline.

    Example: collect account show 42
    """
    detail = answer(profile, as_json, lambda api: api.get(f"/accounts/{account}"))
    facts, debtor = detail["account"], detail["debtor"]
    currency = facts["currency"]
    render.show(
        render.facts(
            f"account {facts['id']}",
            [
                ("external id", facts["external_id"]),
                ("campaign", facts["campaign_id"]),
                ("workflow", facts["workflow_id"]),
                ("debtor", f"{debtor['name']} ({debtor['external_id']}, {debtor['country']}, {debtor['timezone']})"),
                (
                    "balance",
                    f"{render.money(facts['balance'], currency)} of {render.money(facts['original_amount'], currency)}",
                ),
                ("due", f"{facts['due_date']}, {facts['days_past_due']} days past due ({facts['dpd_bucket']})"),
                ("launched", render.when(facts["launched_at"])),
            ],
        ),
        render.table(
            "contact points",
            ["channel", "address", "valid", "consent", "opted out"],
            (
                [
                    p["channel"],
                    p["address"],
                    "yes" if p["valid"] else f"no: {render.text(p['invalid_reason'])}",
                    p["consent"],
                    render.when(p["opted_out_at"]) if p["opted_out_at"] else None,
                ]
                for p in debtor["contact_points"]
            ),
        ),
    )
    if detail["live"] is not None:
        render.show(render.facts(f"live state ({detail['live_status']})", live_facts(detail["live"])))
    else:
        render.say(f"live state: none ({detail['live_status'].replace('_', ' ')})")
    if detail["tasks"]:
        rows = (
            [t["id"], t["status"], t["assigned_agent"], t["queue"], t["step"], render.when(t["due_at"])]
            for t in detail["tasks"]
        )
        render.show(render.table("open tasks", ["task", "status", "agent", "queue", "step", "due"], rows))
    render.show(timeline_table(detail["timeline"]))


@app.command()
def timeline(account: AccountArg, as_json: JsonOpt = False, profile: ProfileOpt = None) -> None:
    """Every message, task, outcome, promise, payment, note and approval of the account, oldest first.

    Example: collect account timeline 42
    """
    history = answer(profile, as_json, lambda api: api.get(f"/accounts/{account}/timeline"))
    render.show(timeline_table(history["entries"]))


def _steer(account: int, action: str, reason: str | None, as_json: bool, profile: str | None) -> None:
    accepted = answer(
        profile, as_json, lambda api: api.post(f"/accounts/{account}/{action}", {"reason": reason} if reason else None)
    )
    done = {"pause": "paused", "resume": "resumed", "close": "closed"}[action]
    render.say(f"account {account} {done} (note {accepted['note_id']}); its workflow applies it in order")


@app.command()
def pause(account: AccountArg, reason: ReasonOpt = "", as_json: JsonOpt = False, profile: ProfileOpt = None) -> None:
    """Stop contacting the account until it is resumed (supervisors).

    Example: collect account pause 42 --reason "llamó su abogado"
    """
    _steer(account, "pause", reason, as_json, profile)


@app.command()
def resume(account: AccountArg, reason: ReasonOpt = "", as_json: JsonOpt = False, profile: ProfileOpt = None) -> None:
    """Continue a paused account where it stopped (supervisors).

    Example: collect account resume 42
    """
    _steer(account, "resume", reason, as_json, profile)


@app.command()
def close(
    account: AccountArg,
    reason: Annotated[str, typer.Option(help="why (required; kept as a note)", show_default=False)],
    as_json: JsonOpt = False,
    profile: ProfileOpt = None,
) -> None:
    """End the account's workflow (closed by a supervisor), saying why.

    Example: collect account close 42 --reason "deuda vendida"
    """
    _steer(account, "close", reason, as_json, profile)


@app.command()
def refund(
    account: AccountArg,
    amount: Annotated[
        str, typer.Option(help="major units, e.g. 25000 or '15.50 USD'; at most what is owed back", show_default=False)
    ],
    reference: Annotated[
        str,
        typer.Option(help="the bank's or provider's reference (recording it again counts once)", show_default=False),
    ],
    credit: Annotated[bool, typer.Option("--credit", help="credited to another debt, not paid back")] = False,
    as_json: JsonOpt = False,
    profile: ProfileOpt = None,
) -> None:
    """Record that the creditor refunded (or credited) what the account was paid beyond what it
    owed (supervisors): its overpayment goes down by the amount.

    Example: collect account refund 42 --amount 25000 --reference TRX-8812
    """
    with connected(profile, as_json=as_json) as api:
        currency = currency_of(amount) or api.get(f"/accounts/{account}")["account"]["currency"]
        try:
            minor = to_minor_units(amount, currency)
        except BadAmount as exc:
            raise usage(str(exc)) from None
        body = {"amount": minor, "currency": currency, "kind": "credit" if credit else "refund", "reference": reference}
        done = api.post(f"/accounts/{account}/refunds", body)
    if as_json:
        render.print_json(done)
        return
    what = "credit" if credit else "refund"
    if not done["created"]:
        render.say(f"{what} {reference} was already recorded on account {account}: nothing changed")
        return
    render.say(
        f"{what} of {render.money(minor, currency)} recorded on account {account} (ref {reference}); "
        f"{render.money(done['overpaid'], currency)} still owed back"
    )
