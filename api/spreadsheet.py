"""CSV that is safe to open in a spreadsheet.

Debtor names and notes come from creditors' files and agents; a cell starting with `=`, `+`, `-`,
`@`, a tab or a carriage return is read by Excel, LibreOffice and Google Sheets as a formula
(`=cmd|'/c calc'!A1`, `=HYPERLINK(...)`): CSV injection. Messages to debtors are text, not
spreadsheets, so names are stored and sent as given; every CSV the product writes for people to
open goes through `safe_cell`, which neutralises the formula prefix with a leading apostrophe (the
convention spreadsheets read as "this is text", per OWASP's advice on CSV injection).

No export exists yet; this is the one way to write one.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> str:
    """The value as text a spreadsheet shows as text: formula prefixes get a leading apostrophe.
    Numbers (ints, negative amounts) are left as numbers."""
    if value is None:
        return ""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    text = str(value)
    return f"'{text}" if text.startswith(FORMULA_PREFIXES) else text


def write_csv(header: Iterable[str], rows: Iterable[Iterable[object]]) -> str:
    """A whole CSV document (RFC 4180 quoting) with every cell passed through `safe_cell`."""
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow([safe_cell(name) for name in header])
    for row in rows:
        writer.writerow([safe_cell(cell) for cell in row])
    return out.getvalue()
