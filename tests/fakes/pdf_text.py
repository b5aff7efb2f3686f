"""The text a PDF shows, read back for tests: every content stream inflated, the strings of its
text operators (`(...) Tj`) unescaped and decoded from the core fonts' Windows-1252."""

from __future__ import annotations

import re
import zlib

_STREAM = re.compile(rb"stream\r?\n(.*?)\r?\nendstream", re.S)
_SHOWN = re.compile(rb"\(((?:\\.|[^\\)])*)\)\s*Tj", re.S)
_ESCAPE = re.compile(rb"\\(.)", re.S)


def pdf_lines(data: bytes) -> list[str]:
    """The strings the document draws, in order (one per drawn line)."""
    lines: list[str] = []
    for match in _STREAM.finditer(data):
        try:
            content = zlib.decompress(match.group(1))
        except zlib.error:
            continue  # not a compressed content stream (a font, say)
        for shown in _SHOWN.finditer(content):
            lines.append(_ESCAPE.sub(rb"\1", shown.group(1)).decode("windows-1252"))
    return lines


def pdf_text(data: bytes) -> str:
    return "\n".join(pdf_lines(data))
