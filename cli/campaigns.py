"""`collect campaign`: create a campaign from a published strategy version, import its accounts
(CSV or JSON, with the API's row report), launch them and watch the launch, pause, resume or stop
it, read its status, move it to another version, and set where its `notify` webhooks go."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, DownloadColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from cli import render
from cli.client import Api
from cli.options import EXIT_REFUSED, CursorOpt, JsonOpt, LimitOpt, ProfileOpt, answer, connected, usage
from cli.strategies import version_hash

app = typer.Typer(help="Campaigns: create, import accounts, launch, steer.", no_args_is_help=True)

CampaignArg = Annotated[str, typer.Argument(help="the campaign's id", show_default=False)]
CHUNK = 64 * 1024
POLL_SECONDS = 0.5


def _campaign_facts(c: dict[str, Any]) -> list[tuple[str, object]]:
    launch = c.get("launch") or {}
    return [
        ("campaign", f"{c['id']} ({c['name']})"),
        ("status", c["status"]),
        ("strategy", c["strategy_hash"]),
        ("creditor", c["creditor_name"]),
        ("created", f"{render.when(c['created_at'])} by {render.text(c['created_by'])}"),
        ("launch", f"{c['launch_status']}: {c['launched']:,} of {launch.get('total', 0):,} accounts started"),
        ("launch error", c.get("launch_error")),
    ]


@app.command()
def create(
    strategy: Annotated[
        str, typer.Option(help="published version: hash, hash prefix or YAML file", show_default=False)
    ],
    name: Annotated[str, typer.Option(help="the campaign's name", show_default=False)],
    creditor: Annotated[str, typer.Option(help="the creditor's name, as debtors see it", show_default=False)],
    campaign_id: Annotated[str | None, typer.Option("--id", help="your id for it (default: generated)")] = None,
    creditor_phone: Annotated[str | None, typer.Option(help="E.164, e.g. +56223456789")] = None,
    creditor_email: Annotated[str | None, typer.Option()] = None,
    payment_link_base: Annotated[str | None, typer.Option(help="payment links start with this URL")] = None,
    as_json: JsonOpt = False,
    profile: ProfileOpt = None,
) -> None:
    """Create a campaign (a draft) on a published strategy version.

    Example: collect campaign create --id consumo-nov --name "Consumo noviembre" --strategy 1a2b3c4d --creditor Andes
    """

    def create_it(api: Api) -> Any:
        body = {
            "id": campaign_id,
            "name": name,
            "strategy_hash": version_hash(api, strategy),
            "creditor_name": creditor,
            "creditor_phone": creditor_phone,
            "creditor_email": creditor_email,
            "payment_link_base": payment_link_base,
        }
        return api.post("/campaigns", {k: v for k, v in body.items() if v is not None})

    created = answer(profile, as_json, create_it)
    render.say(f"created campaign {created['id']} ({created['name']}) on strategy {created['strategy_hash'][:12]}")
    render.note(f"next: collect campaign import {created['id']} accounts.csv")


@app.command(name="list")
def list_campaigns(
    status: Annotated[str | None, typer.Option(help="draft, running, paused or stopped")] = None,
    limit: LimitOpt = 50,
    cursor: CursorOpt = None,
    as_json: JsonOpt = False,
    profile: ProfileOpt = None,
) -> None:
    """Campaigns, oldest first.

    Example: collect campaign list --status running
    """
    page = answer(
        profile, as_json, lambda api: api.get("/campaigns", {"status": status, "limit": limit, "cursor": cursor})
    )
    render.show(
        render.table(
            "campaigns",
            ["id", "name", "status", "strategy", "launch", "launched", "created"],
            (
                [
                    c["id"],
                    c["name"],
                    c["status"],
                    c["strategy_hash"][:12],
                    c["launch_status"],
                    c["launched"],
                    render.when(c["created_at"]),
                ]
                for c in page["items"]
            ),
        )
    )
    render.next_page("collect campaign list" + (f" --status {status}" if status else ""), page.get("next_cursor"))


def _media_type(path: Path, data: bytes) -> str:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return "text/csv"
    if suffix == ".json":
        return "application/json"
    return "application/json" if data.lstrip()[:1] == b"[" else "text/csv"


def _uploading(data: bytes, progress: Progress) -> Iterator[bytes]:
    """The file in chunks, advancing the progress bar as each is handed to the connection."""
    task = progress.add_task("uploading", total=len(data))
    for start in range(0, len(data), CHUNK):
        chunk = data[start : start + CHUNK]
        yield chunk
        progress.advance(task, len(chunk))


@app.command(name="import")
def import_accounts(
    campaign: CampaignArg,
    file: Annotated[Path, typer.Argument(help="accounts as CSV (header row) or a JSON list", show_default=False)],
    as_json: JsonOpt = False,
    profile: ProfileOpt = None,
) -> None:
    """Import accounts (CSV or JSON); print the row report. Exit 1 when any row was rejected.

    Example: collect campaign import consumo-nov accounts.csv
    """
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise usage(f"{file}: cannot read file: {exc.strerror or exc}") from None
    headers = {"Content-Type": _media_type(file, data), "Content-Length": str(len(data))}
    with connected(profile, as_json=as_json) as api:
        columns = [TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TimeElapsedColumn()]
        with Progress(*columns, console=render.err, transient=True) as progress:
            report = api.post(f"/campaigns/{campaign}/accounts", content=_uploading(data, progress), headers=headers)
    if as_json:
        render.print_json(report)
    else:
        _print_report(campaign, report)
    if report["rejected"]:
        raise typer.Exit(EXIT_REFUSED)


def _print_report(campaign: str, report: dict[str, Any]) -> None:
    render.say(
        f"{report['rows']:,} rows: {report['accepted']:,} accepted, {report['updated']:,} updated, "
        f"{report['unchanged']:,} unchanged, {len(report['skipped']):,} skipped (already launched), "
        f"{len({r['row'] for r in report['rejected']}):,} rejected; campaign {campaign} now has "
        f"{report['total_accounts']:,} accounts"
    )
    if report["ignored_columns"]:
        render.note(f"ignored columns: {', '.join(report['ignored_columns'])}")
    if report["skipped"]:
        rows = ([s["row"], s["external_id"], s["detail"]] for s in report["skipped"])
        render.show(render.table("skipped rows", ["row", "account", "why"], rows))
    if report["rejected"]:
        rows = ([r["row"], r["external_id"], r["field"], r["detail"]] for r in report["rejected"])
        render.show(render.table("rejected rows", ["row", "account", "field", "problem"], rows))


@app.command()
def launch(
    campaign: CampaignArg,
    batch_size: Annotated[int | None, typer.Option(help="accounts started per batch")] = None,
    concurrency: Annotated[int | None, typer.Option(help="workflow starts in flight at once")] = None,
    wait: Annotated[
        bool, typer.Option("--wait/--no-wait", help="follow the launch until every account started")
    ] = True,
    as_json: JsonOpt = False,
    profile: ProfileOpt = None,
) -> None:
    """Start the imported accounts' workflows; follow the launch with a progress bar until launched = total.

    Example: collect campaign launch consumo-nov --batch-size 200
    """
    settings = {"batch_size": batch_size, "concurrency": concurrency}
    body = {k: v for k, v in settings.items() if v is not None} or None
    with connected(profile, as_json=as_json) as api:
        state = api.post(f"/campaigns/{campaign}/launch", body)
        if wait:
            try:
                state = _follow(api.get, campaign, state)
            except KeyboardInterrupt:
                # Only the watching stops: the launch is the campaign's workflow's, and goes on.
                render.note(f"stopped watching; the launch goes on: collect campaign status {campaign}")
                raise typer.Exit(130) from None
    if as_json:
        render.print_json(state)
    else:
        render.show(render.facts(None, _campaign_facts(state)))
    if state["launch_status"] == "failed":
        raise typer.Exit(EXIT_REFUSED)


def _follow(get: Any, campaign: str, state: dict[str, Any]) -> dict[str, Any]:
    """Poll the campaign until its launch is done, failed or held (paused, stopped)."""
    columns = [TextColumn("launching {task.fields[campaign]}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()]
    with Progress(*columns, console=render.err, transient=True) as progress:
        task = progress.add_task("launch", total=state["launch"]["total"], campaign=campaign)
        while True:
            launch_state = state["launch"]
            progress.update(task, total=launch_state["total"], completed=launch_state["launched"])
            if launch_state["status"] in ("done", "failed") or state["status"] in ("paused", "stopped"):
                return state
            time.sleep(POLL_SECONDS)
            state = get(f"/campaigns/{campaign}")


def _steer(campaign: str, action: str, as_json: bool, profile: str | None) -> None:
    state = answer(profile, as_json, lambda api: api.post(f"/campaigns/{campaign}/{action}"))
    render.say(f"campaign {campaign} is {state['status']}; its accounts follow through the campaign's workflow")


@app.command()
def pause(campaign: CampaignArg, as_json: JsonOpt = False, profile: ProfileOpt = None) -> None:
    """Pause every account of the campaign (and its launch).

    Example: collect campaign pause consumo-nov
    """
    _steer(campaign, "pause", as_json, profile)


@app.command()
def resume(campaign: CampaignArg, as_json: JsonOpt = False, profile: ProfileOpt = None) -> None:
    """Resume a paused campaign: its accounts continue and an unfinished launch goes on.

    Example: collect campaign resume consumo-nov
    """
    _steer(campaign, "resume", as_json, profile)


@app.command()
def stop(campaign: CampaignArg, as_json: JsonOpt = False, profile: ProfileOpt = None) -> None:
    """Stop the campaign for good: each account is closed ("campaign stopped").

    Example: collect campaign stop consumo-nov
    """
    _steer(campaign, "stop", as_json, profile)


@app.command()
def status(campaign: CampaignArg, as_json: JsonOpt = False, profile: ProfileOpt = None) -> None:
    """The campaign, its launch progress and its accounts per stage.

    Example: collect campaign status consumo-nov
    """
    state = answer(profile, as_json, lambda api: api.get(f"/campaigns/{campaign}"))
    stages = sorted(state["accounts_by_stage"].items())
    render.show(
        render.facts(None, _campaign_facts(state)),
        render.table("accounts by stage", ["stage", "accounts"], ([s, f"{n:,}"] for s, n in stages)),
    )


@app.command()
def move(
    campaign: CampaignArg,
    to: Annotated[
        str, typer.Option("--to", help="published version: hash, hash prefix or YAML file", show_default=False)
    ],
    step: Annotated[
        str | None, typer.Option(help="where accounts continue (default: the step of the same name)")
    ] = None,
    as_json: JsonOpt = False,
    profile: ProfileOpt = None,
) -> None:
    """Move every launched account (and later launches) to another published version, at each account's next safe point.

    Example: collect campaign move consumo-nov --to 9f8e7d6c
    """

    def move_it(api: Api) -> Any:
        body = {"strategy_hash": version_hash(api, to)} | ({"step": step} if step else {})
        return api.post(f"/campaigns/{campaign}/strategy", body)

    state = answer(profile, as_json, move_it)
    render.say(
        f"campaign {campaign} moves to strategy version {state['strategy_hash']}; each account at its next safe point"
    )


def _show_notify(campaign: str, config: dict[str, Any]) -> None:
    render.show(
        render.facts(
            f"campaign {campaign}: notify webhooks",
            [
                ("url", config["url"] or "none (notify actions are recorded as not sent)"),
                ("signed", "yes" if config["secret_set"] else "not yet: a secret is made with the first URL"),
                ("secret made", render.when(config["secret_rotated_at"])),
            ],
        )
    )
    if config.get("secret"):
        render.say(f"signing secret (shown this once; give it to the creditor's developers): {config['secret']}")


@app.command()
def notify(
    campaign: CampaignArg,
    url: Annotated[
        str | None, typer.Option(help="where the strategy's notify webhooks post (http or https)", show_default=False)
    ] = None,
    clear: Annotated[bool, typer.Option("--clear", help="post them nowhere (each is recorded as not sent)")] = False,
    as_json: JsonOpt = False,
    profile: ProfileOpt = None,
) -> None:
    """Show or set where the campaign's notify webhooks go; the first URL comes with its signing secret.

    Example: collect campaign notify consumo-nov --url https://hooks.andes.example/collect
    """
    if url is not None and clear:
        raise usage("give --url or --clear, not both")
    path = f"/campaigns/{campaign}/notify"
    if url is None and not clear:
        config = answer(profile, as_json, lambda api: api.get(path))
    else:
        config = answer(profile, as_json, lambda api: api.call("PUT", path, json={"url": url}))
    _show_notify(campaign, config)


@app.command(name="rotate-secret")
def rotate_secret(campaign: CampaignArg, as_json: JsonOpt = False, profile: ProfileOpt = None) -> None:
    """A new signing secret for the campaign's notify webhooks, shown this once.

    Example: collect campaign rotate-secret consumo-nov
    """
    config = answer(profile, as_json, lambda api: api.post(f"/campaigns/{campaign}/notify/secret"))
    _show_notify(campaign, config)
