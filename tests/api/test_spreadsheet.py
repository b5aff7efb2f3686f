"""CSV written for people to open never carries a live formula, whatever a debtor's name holds."""

from __future__ import annotations

import csv
import io

import pytest
from hypothesis import given
from hypothesis import strategies as hs

from api.spreadsheet import FORMULA_PREFIXES, safe_cell, write_csv

ATTACKS = ["=cmd|'/c calc'!A1", "+1+1", "-2+3", "@SUM(A1:A2)", "\t=1+1", "\r=1+1", '=HYPERLINK("http://x")']


@pytest.mark.parametrize("name", ATTACKS)
def test_formula_prefixes_are_neutralised(name: str) -> None:
    assert safe_cell(name) == "'" + name


@pytest.mark.parametrize("value", ["Ana Pérez", "O'Higgins", "", "1500", "a=b"])
def test_ordinary_text_is_unchanged(value: str) -> None:
    assert safe_cell(value) == value


def test_numbers_stay_numbers() -> None:
    assert (safe_cell(-150000), safe_cell(0), safe_cell(None)) == ("-150000", "0", "")


@given(hs.lists(hs.lists(hs.text(max_size=20), min_size=1, max_size=4), max_size=5))
def test_no_cell_of_an_export_starts_a_formula(rows: list[list[str]]) -> None:
    document = write_csv(["name", "=note"], rows)
    for parsed in csv.reader(io.StringIO(document, newline="")):
        for cell in parsed:
            assert not cell.startswith(FORMULA_PREFIXES), cell
