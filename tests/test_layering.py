"""The pure core stays pure: `domain/` imports only the standard library, pydantic, CEL and the
holiday calendars, so the Temporal workflow can run it deterministically in its sandbox."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ALLOWED_THIRD_PARTY = {"pydantic", "pydantic_core", "cel", "holidays"}


def imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    roots: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def test_domain_imports_only_pure_modules() -> None:
    offenders = {}
    for path in sorted((ROOT / "domain").glob("*.py")):
        bad = {
            root
            for root in imported_roots(path)
            if root not in sys.stdlib_module_names and root not in ALLOWED_THIRD_PARTY and root != "domain"
        }
        if bad:
            offenders[path.name] = sorted(bad)
    assert offenders == {}


def test_domain_never_reads_the_clock_or_randomness() -> None:
    banned = ("datetime.now(", "datetime.utcnow(", "time.time(", "date.today(", "import random", "uuid4(")
    hits = [
        f"{path.name}: {needle}"
        for path in sorted((ROOT / "domain").glob("*.py"))
        for needle in banned
        if needle in path.read_text(encoding="utf-8")
    ]
    assert hits == []
