"""SQL text for the small CHECK constraints the models share."""

from __future__ import annotations

from collections.abc import Iterable


def one_of(column: str, values: Iterable[str]) -> str:
    """`column IN ('a', 'b')`; values are code constants, never user input, so inlining them is safe."""
    quoted = ", ".join(f"'{value}'" for value in values)
    return f"{column} IN ({quoted})"
