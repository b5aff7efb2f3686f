"""How the CLI shows things: the two consoles (results on stdout, messages and errors on stderr),
raw JSON for `--json`, money (exact, from integer minor units and the product's ISO 4217 table,
never through float), rates with their numerator and denominator, times, problems and tables."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from rich.console import Console
from rich.table import Table

from cli.client import ApiProblem
from domain.money import UnknownCurrency, to_major

# Wide when piped, so a row stays one line in files and CI logs.
out = Console(highlight=False, width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def print_json(data: Any) -> None:
    """The API's answer as it came, for scripts (`--json`)."""
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def say(text: str) -> None:
    """A result line on stdout, printed as is (no rich markup: data may hold brackets)."""
    out.print(text, markup=False)


def note(text: str) -> None:
    """A message for the person, on stderr, so stdout stays the result."""
    err.print(text, markup=False)


def money(minor: int | None, currency: str | None) -> str:
    """150000 CLP -> 'CLP 150,000'; 150050 USD -> 'USD 1,500.50'; exact (Decimal), never float."""
    if minor is None:
        return "-"
    if not currency:
        return f"{minor:,} (minor units)"
    try:
        return f"{currency} {to_major(int(minor), currency):,}"
    except UnknownCurrency:
        return f"{minor:,} {currency} (minor units)"


def ratio(value: dict[str, Any] | None, *, percent: bool = True) -> str:
    """A KPI ratio with the counts it comes from: '25.00% (3 / 12)', or '2.50 (5 / 2)' when it is
    not a share (contacts per account). Exact: the API's decimal string, never a float."""
    if not value:
        return "-"
    counts = f"({value['numerator']:,} / {value['denominator']:,})"
    if value.get("value") is None:
        return f"- {counts}"
    try:
        number = Decimal(value["value"]) * (100 if percent else 1)
    except (InvalidOperation, TypeError):
        return f"{value['value']} {counts}"
    return f"{number.quantize(Decimal('0.01'))}{'%' if percent else ''} {counts}"


def when(moment: str | None) -> str:
    """An ISO 8601 moment from the API as 'YYYY-MM-DD HH:MM' plus its offset ('UTC' for +00:00)."""
    if not moment:
        return "-"
    try:
        parsed = datetime.fromisoformat(moment)
    except ValueError:
        return moment
    if parsed.tzinfo is None:
        return f"{parsed:%Y-%m-%d %H:%M}"
    offset = parsed.strftime("%z")
    zone = "UTC" if offset in ("+0000", "-0000") else f"{offset[:3]}:{offset[3:]}"
    return f"{parsed:%Y-%m-%d %H:%M} {zone}"


def text(value: object) -> str:
    if value is None or value == "":
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value) or "-"
    return str(value)


def table(title: str | None, columns: Sequence[str], rows: Iterable[Sequence[object]]) -> Table:
    """A table of plain text cells (no markup: cells hold data)."""
    shown = Table(title=title, title_justify="left")
    for column in columns:
        shown.add_column(column, overflow="fold")
    for row in rows:
        shown.add_row(*(text(cell) for cell in row))
    return shown


def facts(title: str | None, pairs: Iterable[tuple[str, object]]) -> Table:
    """Name/value pairs as a two-column grid."""
    grid = Table.grid(padding=(0, 2))
    grid.title = title
    grid.title_justify = "left"
    grid.add_column(style="bold")
    grid.add_column(overflow="fold")
    for name, value in pairs:
        grid.add_row(name, text(value))
    return grid


def show(*renderables: Table) -> None:
    for renderable in renderables:
        out.print(renderable)


def next_page(command: str, cursor: str | None) -> None:
    """Where the next page starts, as the command to run for it (on stderr: stdout holds the rows)."""
    if cursor:
        note(f"more: {command} --cursor {cursor}")


def problem(exc: ApiProblem) -> None:
    """One clear line (status, title, detail), then each field or place the API pointed at."""
    detail = f": {exc.detail}" if exc.detail else ""
    note(f"error: {exc.status} {exc.title}{detail} ({exc.method} {exc.url})")
    for item in exc.errors:
        place = where(item, exc.source)
        note(
            f"{place}: {item.get('detail', '')}"
            if exc.source and item.get("line")
            else f"  {place}: {item.get('detail', '')}"
        )


def where(item: dict[str, Any], source: str | None = None) -> str:
    """A problem item's place: a body pointer, a YAML line and column (file:line:col when the
    file is known, as `strategy validate` prints them), or an import row."""
    if item.get("line") is not None:
        if source:
            return f"{source}:{item['line']}:{item.get('column') or 1}"
        column = f", column {item['column']}" if item.get("column") is not None else ""
        return f"line {item['line']}{column}"
    if item.get("row") is not None:
        return f"row {item['row']}"
    return str(item.get("pointer") or "request")
