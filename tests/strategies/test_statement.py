"""The PDF statement (strategies/statement.py): the rendered text, deterministic, bounded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fakes.pdf_text import pdf_lines, pdf_text

from strategies.statement import LINES_PER_PAGE, MAX_PAGES, StatementTooLarge, statement_pdf

AT = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
BODY = """Estado de cuenta de Ana Pérez

  N°  Vencimiento   Monto       Estado
   1  01-10-2026    $100.000    pagada
   2  01-11-2026    $100.000    impaga

Saldo pendiente: $100.000 — págalo en https://pay.example/ACC-1"""


def test_the_text_and_its_table_are_in_the_pdf() -> None:
    data = statement_pdf(BODY, title="Acme: estado de cuenta", created_at=AT)
    assert data.startswith(b"%PDF-")
    lines = pdf_lines(data)
    assert lines[0] == "Acme: estado de cuenta"
    assert "   1  01-10-2026    $100.000    pagada" in lines  # spaces kept: the columns stay aligned
    assert "   2  01-11-2026    $100.000    impaga" in lines
    assert "Saldo pendiente: $100.000 — págalo en https://pay.example/ACC-1" in lines


def test_the_same_statement_gives_the_same_bytes_dated_at_the_send() -> None:
    first = statement_pdf(BODY, title=None, created_at=AT)
    assert statement_pdf(BODY, title=None, created_at=AT) == first
    assert b"D:20261202120000" in first  # the creation date is the send's, not the clock's
    assert statement_pdf(BODY, title=None, created_at=AT + timedelta(days=1)) != first


def test_characters_the_core_fonts_lack_print_as_question_marks() -> None:
    assert "Saldo ? 5" in pdf_text(statement_pdf("Saldo ✓ 5", title=None, created_at=AT))


def test_a_statement_longer_than_the_page_limit_is_refused() -> None:
    with pytest.raises(StatementTooLarge, match=f"at most {MAX_PAGES}"):
        statement_pdf("x\n" * (MAX_PAGES * LINES_PER_PAGE + 1), title=None, created_at=AT)


def test_a_long_statement_within_the_limit_has_several_pages() -> None:
    data = statement_pdf("línea\n" * (3 * LINES_PER_PAGE), title=None, created_at=AT)
    assert data.count(b"/Type /Page\n") == 3
