"""The statement a message may carry (`send: {attach: <template>}`): the template's rendered text
laid out as a PDF with fpdf2.

The text is set in a monospaced core font, so a table a strategist aligns with spaces in the
template (the dues, one per line) stays aligned on paper. Core fonts carry Windows-1252, which
covers the languages the product speaks; any other character prints as `?` rather than failing
the send. The output is a function of its inputs only: the document's dates are the moment the
send was planned (never the clock), so a retried send attaches the very same bytes. It is
bounded: text that would need more than MAX_PAGES pages, or a document above MAX_BYTES, is
refused (StatementTooLarge) before the message is sent.
"""

from __future__ import annotations

import math
from datetime import datetime

from fpdf import FPDF

MAX_PAGES = 20
MAX_BYTES = 512 * 1024
CONTENT_TYPE = "application/pdf"

_ENCODING = "windows-1252"
_MARGIN_MM = 18
_FONT_PT = 10
_LINE_MM = 5
# Courier's advance is 600/1000 em: 10 pt is 6 pt, 2.1167 mm a character.
_CHAR_MM = _FONT_PT * 0.6 * 25.4 / 72
_PAGE_W_MM, _PAGE_H_MM = 210, 297
CHARS_PER_LINE = int((_PAGE_W_MM - 2 * _MARGIN_MM) // _CHAR_MM)
LINES_PER_PAGE = int((_PAGE_H_MM - 2 * _MARGIN_MM) // _LINE_MM)


class StatementTooLarge(ValueError):
    """The statement would exceed MAX_PAGES pages or MAX_BYTES bytes."""


def printable(text: str) -> str:
    """`text` in what the core fonts can print: tabs as spaces, anything else outside
    Windows-1252 as `?`."""
    return text.expandtabs(4).encode(_ENCODING, errors="replace").decode(_ENCODING)


def _lines_needed(text: str) -> int:
    return sum(max(1, math.ceil(len(line) / CHARS_PER_LINE)) for line in text.split("\n"))


def statement_pdf(body: str, *, title: str | None, created_at: datetime) -> bytes:
    """The PDF of a rendered statement: `title` (the template's subject) in bold, then `body`."""
    text = printable(body.rstrip("\n"))
    heading = printable(title) if title else None
    needed = _lines_needed(text) + (2 if heading else 0)
    if needed > MAX_PAGES * LINES_PER_PAGE:
        raise StatementTooLarge(
            f"the statement needs about {math.ceil(needed / LINES_PER_PAGE)} pages; at most {MAX_PAGES} are sent"
        )
    pdf = FPDF(format="A4", unit="mm")
    pdf.core_fonts_encoding = _ENCODING
    pdf.set_creation_date(created_at)
    pdf.set_producer("collect")
    pdf.set_creator("collect")
    if heading:
        pdf.set_title(heading)
    pdf.set_margins(_MARGIN_MM, _MARGIN_MM, _MARGIN_MM)
    pdf.set_auto_page_break(True, margin=_MARGIN_MM)
    pdf.add_page()
    if heading:
        pdf.set_font("Courier", style="B", size=_FONT_PT + 1)
        pdf.multi_cell(0, _LINE_MM, heading, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(_LINE_MM)
    pdf.set_font("Courier", size=_FONT_PT)
    pdf.multi_cell(0, _LINE_MM, text, new_x="LMARGIN", new_y="NEXT")
    if pdf.pages_count > MAX_PAGES:
        raise StatementTooLarge(f"the statement has {pdf.pages_count} pages; at most {MAX_PAGES} are sent")
    data = bytes(pdf.output())
    if len(data) > MAX_BYTES:
        raise StatementTooLarge(f"the statement is {len(data):,} bytes; at most {MAX_BYTES:,} are sent")
    return data
