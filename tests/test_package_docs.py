"""Every package opens with a docstring that says what it holds today, not a placeholder or a
promise of what arrives later."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STALE = re.compile(r"placeholder|arriv\w* (later|with issue|in issue)|coming soon|\bTODO\b|to be written", re.I)
# The top-level packages say what they hold; sub-packages may rely on their parent's docstring.


def test_package_docstrings_describe_what_the_package_holds() -> None:
    stale = {}
    for init in sorted(ROOT.glob("*/**/__init__.py")):
        if ".venv" in init.parts or "tests" in init.parts:
            continue
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8"))) or ""
        top_level = len(init.relative_to(ROOT).parts) == 2
        if (top_level and not doc) or STALE.search(doc):
            stale[str(init.relative_to(ROOT))] = doc[:80]
    assert stale == {}
