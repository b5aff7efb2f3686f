"""Supervisors' commands beyond accounts and tasks: a campaign's KPIs (overall, per
champion/challenger variant and per agent, each rate with its numerator and denominator) and the
approvals that gate steps and legal referrals."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from cli import render
from cli.agents import live_facts
from cli.client import Api
from cli.options import CursorOpt, JsonOpt, LimitOpt, ProfileOpt, answer

approvals_app = typer.Typer(help="Approvals: what waits for a supervisor, approve, reject.", no_args_is_help=True)

STATUSES = ("pending", "approved", "rejected", "withdrawn", "all")


def _per_day(kpi: dict[str, Any], currency: str | None) -> str:
    average = kpi["collected_per_day"]["average"]
    return f"{render.money(average['numerator'], currency)} over {average['denominator']} days"


def _kpi_rows(sets: list[dict[str, Any]], currency: str | None) -> list[list[object]]:
    """One row per measure, one column per set of accounts (overall, then each variant)."""

    def row(name: str, cell: Any) -> list[object]:
        return [name, *(cell(s) for s in sets)]

    return [
        row("accounts", lambda s: f"{s['accounts']:,}"),
        row("placed", lambda s: render.money(s["placed_amount"], currency)),
        row("collected", lambda s: render.money(s["collected_amount"], currency)),
        row("recovery rate", lambda s: render.ratio(s["recovery_rate"])),
        row("collected per day", lambda s: _per_day(s, currency)),
        row("dial attempts", lambda s: f"{s['dial_attempts']:,}"),
        row("right-party contacts", lambda s: f"{s['right_party_contacts']:,}"),
        row("right-party contact rate", lambda s: render.ratio(s["right_party_contact_rate"])),
        row("promises (made/open/kept/broken)", _promise_counts),
        row("promise rate", lambda s: render.ratio(s["promise_rate"])),
        row("promise-kept rate", lambda s: render.ratio(s["promise_kept_rate"])),
        row("promise-kept rate (amount)", lambda s: render.ratio(s["promise_kept_amount_rate"])),
        row("contacts", lambda s: f"{s['contacts']:,}"),
        row("contacts per account", lambda s: render.ratio(s["contacts_per_account"], percent=False)),
        row("channel cost", lambda s: render.money(s["cost"]["total"], currency)),
        row("cost per amount collected", lambda s: render.ratio(s["cost"]["per_amount_collected"], percent=False)),
    ]


def _promise_counts(s: dict[str, Any]) -> str:
    p = s["promises"]
    return f"{p['made']:,} / {p['open']:,} / {p['kept']:,} / {p['broken']:,}"


def kpis(
    campaign: Annotated[str, typer.Argument(help="the campaign's id", show_default=False)],
    from_: Annotated[
        str | None, typer.Option("--from", help="first day (YYYY-MM-DD); default: first placement")
    ] = None,
    to: Annotated[str | None, typer.Option(help="last day, inclusive; default: today (UTC)")] = None,
    currency: Annotated[str | None, typer.Option(help="when the campaign mixes currencies")] = None,
    as_json: JsonOpt = False,
    profile: ProfileOpt = None,
) -> None:
    """A campaign's KPIs: overall and per variant, then per agent; every rate with numerator and denominator.

    With --json: {"campaign": <GET /kpis/campaigns/ID>, "agents": <GET /kpis/campaigns/ID/agents>}.

    Example: collect kpis consumo-nov --from 2026-11-01 --to 2026-11-30
    """
    query = {"from": from_, "to": to, "currency": currency}

    def both(api: Api) -> dict[str, Any]:
        return {
            "campaign": api.get(f"/kpis/campaigns/{campaign}", query),
            "agents": api.get(f"/kpis/campaigns/{campaign}/agents", query),
        }

    answered = answer(profile, as_json, both)
    report, agents = answered["campaign"], answered["agents"]
    money_in = report["currency"]
    render.say(
        f"campaign {report['campaign_id']}, {report['from_date']} to {report['to_date']} "
        f"(as of {render.when(report['as_of'])}), amounts in {money_in or '-'}"
    )
    sets = [report["overall"], *report["variants"]]
    names = ["overall", *(f"variant {render.text(v['variant'])}" for v in report["variants"])]
    render.show(render.table("KPIs per variant", ["measure", *names], _kpi_rows(sets, money_in)))
    rolls = [
        [
            f"{period['start']} → {period['end']}",
            f"{t['from_bucket']} → {t['to_bucket']}",
            render.ratio(t["accounts"]),
            render.ratio(t["balance"]),
        ]
        for period in report["overall"]["roll_rates"]
        for t in period["transitions"]
    ]
    if rolls:
        render.show(render.table("roll rates (overall)", ["period", "buckets", "accounts", "balance"], rolls))
    rows = (
        [
            a["agent"],
            a["tasks_done"],
            a["dial_attempts"],
            a["right_party_contacts"],
            render.ratio(a["right_party_contact_rate"]),
            f"{a['promises_taken']} / {a['promises_kept']} / {a['promises_broken']}",
            render.ratio(a["promise_rate"]),
            render.ratio(a["promise_kept_rate"]),
            render.money(a["amount_collected"], agents["currency"]),
        ]
        for a in agents["agents"]
    )
    columns = ["agent", "tasks", "dials", "RPC", "RPC rate", "promises (taken/kept/broken)"]
    columns += ["promise rate", "kept rate", "collected"]
    if agents["agents"]:
        render.show(render.table("KPIs per agent", columns, rows))
    else:
        render.say("KPIs per agent: no agent worked the campaign in the window")


@approvals_app.command(name="list")
def list_approvals(
    status: Annotated[str, typer.Option(help=f"one of {', '.join(STATUSES)}")] = "pending",
    campaign: Annotated[str | None, typer.Option(help="only this campaign")] = None,
    limit: LimitOpt = 50,
    cursor: CursorOpt = None,
    as_json: JsonOpt = False,
    profile: ProfileOpt = None,
) -> None:
    """Steps and legal referrals waiting for a decision (or decided, with --status).

    Example: collect approvals list --campaign consumo-nov
    """
    query = {
        "status": None if status == "all" else status,
        "campaign_id": campaign,
        "limit": limit,
        "cursor": cursor,
    }
    page = answer(profile, as_json, lambda api: api.get("/approvals", query))
    rows = (
        [
            a["account_id"],
            a["external_id"],
            a["campaign_id"],
            f"{a['subject']}: {a['step']}",
            render.money(a["balance"], a["currency"]),
            a["status"],
            render.when(a["requested_at"]),
            f"{a['decided_by']} {render.when(a['decided_at'])}" if a["decided_by"] else None,
        ]
        for a in page["items"]
    )
    columns = ["account", "external id", "campaign", "waits for", "balance", "status", "requested", "decided"]
    render.show(render.table("approvals", columns, rows))
    flags = f" --status {status}" + (f" --campaign {campaign}" if campaign else "")
    render.next_page(f"collect approvals list{flags} --limit {limit}", page.get("next_cursor"))


def _decide(account: int, approved: bool, as_json: bool, profile: str | None) -> None:
    view = answer(
        profile, as_json, lambda api: api.post(f"/accounts/{account}/approvals/decision", {"approved": approved})
    )
    render.say(f"account {account}: {'approved' if approved else 'rejected'}")
    render.show(render.facts(None, live_facts(view)))


AccountArg = Annotated[int, typer.Argument(help="the account whose step or referral waits", show_default=False, min=1)]


@approvals_app.command()
def approve(account: AccountArg, as_json: JsonOpt = False, profile: ProfileOpt = None) -> None:
    """Approve what the account waits on (a step, or a legal referral).

    Example: collect approvals approve 42
    """
    _decide(account, True, as_json, profile)


@approvals_app.command()
def reject(account: AccountArg, as_json: JsonOpt = False, profile: ProfileOpt = None) -> None:
    """Reject what the account waits on; the strategy says where it goes instead.

    Example: collect approvals reject 42
    """
    _decide(account, False, as_json, profile)
