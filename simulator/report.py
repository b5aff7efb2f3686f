"""Timelines and distributions for people: local time of the debtor, one line per event, amounts
as money in the strategy's locale ($150.000 in es-CL, $1,500.00 in en-US)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from rich.console import Console
from rich.table import Table

from simulator.engine import Run
from strategies.amounts import Currency

STYLE = {
    "send": "green",
    "call": "cyan",
    "blocked": "yellow",
    "closed": "bold",
    "rejected": "red",
    "legal": "magenta",
    "expired": "yellow",
}


def money_of(run: Run) -> Callable[[int], str]:
    """How the run's amounts read: in its account's currency, formatted for the strategy's locale."""
    return Currency(run.state.account.currency, run.locale, run.digits).shown


def timeline_rows(run: Run, tz: str) -> list[tuple[str, str, str, str, str]]:
    """(local time, stage, step, kind, detail) rows; times as 'Mon 2026-11-02 09:00'."""
    zone = ZoneInfo(tz)
    money = money_of(run)

    def when(at: datetime) -> str:
        return at.astimezone(zone).strftime("%a %Y-%m-%d %H:%M")

    rows = []
    for e in run.timeline:
        detail = e.shown(money)
        if e.kind == "blocked":
            detail += f"; moved to {when(e.moved_to)}" if e.moved_to else "; not sent"
        if e.fallback_for:
            detail += f" (fallback for {e.fallback_for})"
        if e.preview:
            detail += f': "{e.preview}"'
        rows.append((when(e.at), str(e.stage), e.step, e.kind, detail))
    return rows


def print_timeline(console: Console, run: Run, tz: str, title: str) -> None:
    table = Table(title=title, show_lines=False)
    for column in ("local time", "stage", "step", "what", "detail"):
        table.add_column(column, overflow="fold")
    for when, stage, step, kind, detail in timeline_rows(run, tz):
        table.add_row(when, stage, step, kind, detail, style=STYLE.get(kind))
    console.print(table)
    s = run.state
    money = money_of(run)
    outcome = f"closed: {s.resolution}" if s.resolution else f"still open at step {s.step} ({s.stage})"
    console.print(f"{outcome}; balance {money(s.balance)}; paid {money(s.paid_total)}; contacts {s.counters.contacts}")
