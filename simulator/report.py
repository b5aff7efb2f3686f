"""Timelines and distributions for people: local time of the debtor, one line per event, amounts
as money in the strategy's locale ($150.000 in es-CL, $1,500.00 in en-US)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from html import escape
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
    "notify": "blue",
    "overpaid": "yellow",
    "refund": "yellow",
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


# ---- what-if analysis: recovery curves as an inline SVG (no script, no CDN) --------------------------

SVG_WIDTH, SVG_HEIGHT, SVG_MARGIN = 480, 240, 40
# One colour per arm, in order: the strategy, the other strategy, the no-contact baseline.
SVG_COLOURS = ("#1f6feb", "#d9480f", "#6e7781")


def recovery_svg(series: list[tuple[str, list[tuple[int, float]]]], days: int, title: str) -> str:
    """Recovery curves (share of placed collected by each day) as an inline SVG document, drawn on
    the server, for a page that shows the what-if analysis: `series` is (label, [(day, share)])
    per arm, shares in [0, 1]; the curve starts at day 0, share 0."""
    width, height, m = SVG_WIDTH, SVG_HEIGHT, SVG_MARGIN
    top = max([share for _, points in series for _, share in points] + [0.01])
    top = min(1.0, ((int(top * 10) + 1) / 10))  # the next tenth above the highest point

    def x(day: int) -> float:
        return m + (width - 2 * m) * day / max(days, 1)

    def y(share: float) -> float:
        return height - m - (height - 2 * m) * share / top

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
        f'aria-labelledby="recovery-title"><title id="recovery-title">{escape(title)}</title>',
        f'<line x1="{m}" y1="{height - m}" x2="{width - m}" y2="{height - m}" stroke="#000"/>',
        f'<line x1="{m}" y1="{m}" x2="{m}" y2="{height - m}" stroke="#000"/>',
        f'<text x="{m - 4}" y="{y(top) + 4:.1f}" text-anchor="end" font-size="10">{top:.0%}</text>',
        f'<text x="{m - 4}" y="{height - m + 4}" text-anchor="end" font-size="10">0%</text>',
    ]
    ticks = sorted({day for _, points in series for day, _ in points})
    for day in ticks:
        parts.append(f'<text x="{x(day):.1f}" y="{height - m + 14}" text-anchor="middle" font-size="10">{day}</text>')
    for index, (label, points) in enumerate(series):
        colour = SVG_COLOURS[index % len(SVG_COLOURS)]
        path = " ".join(f"{x(day):.1f},{y(share):.1f}" for day, share in [(0, 0.0), *points])
        parts.append(
            f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{path}"><title>{escape(label)}'
            "</title></polyline>"
        )
        parts.append(
            # The legend inside the plot's top left corner: a label past the right edge is cut off.
            f'<text x="{m + 6}" y="{m + 12 * (index + 1)}" font-size="10" fill="{colour}">{escape(label)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
