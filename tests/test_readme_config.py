"""The README's configuration table names every setting, and only settings that exist: a setting
added without a row (or a row left behind by a removed one) fails here."""

from __future__ import annotations

import re
from pathlib import Path

from config import Settings

README = Path(__file__).resolve().parents[1] / "README.md"


def documented() -> set[str]:
    text = README.read_text()
    section = text.split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
    names: set[str] = set()
    for line in section.splitlines():
        if line.startswith("| `COLLECT_"):
            first_cell = line.split("|")[1]
            names |= set(re.findall(r"`COLLECT_([A-Z0-9_]+)`", first_cell))
    return names


def test_every_setting_has_a_row_and_every_row_a_setting() -> None:
    settings = {name.upper() for name in Settings.model_fields}
    rows = documented()
    assert settings - rows == set(), "settings missing from the README's configuration table"
    assert rows - settings == set(), "rows in the README's configuration table for settings that do not exist"
