"""YAML -> StrategyDoc, with every error placed at `file:line:col`.

ruamel.yaml reads YAML 1.2 (so `NO` stays a string and `21:00` stays "21:00") and keeps the
line and column of every key and value; we record them by path so that both pydantic's errors
and the compiler's semantic errors can point at the exact spot.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError

from strategies.schema import StrategyDoc

PathKey = tuple[str | int, ...]


@dataclass(frozen=True, order=True)
class StrategyError:
    """One problem in a strategy file; `str()` is the `file:line:col: message` line users read."""

    file: str
    line: int
    col: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}: {self.message}"


class StrategyInvalid(Exception):
    def __init__(self, errors: list[StrategyError]) -> None:
        super().__init__("\n".join(map(str, errors)))
        self.errors = sorted(errors)


@dataclass
class Source:
    """A parsed YAML document: plain data plus where each path sits in the text (1-based)."""

    file: str
    text: str
    data: Any
    values: dict[PathKey, tuple[int, int]] = field(default_factory=dict)
    keys: dict[PathKey, tuple[int, int]] = field(default_factory=dict)

    def error(self, path: PathKey, message: str, *, at_key: bool = False) -> StrategyError:
        """An error at `path`, or at its nearest ancestor that has a position."""
        table = self.keys if at_key else self.values
        probe = path
        while probe:
            if probe in table:
                line, col = table[probe]
                return StrategyError(self.file, line, col, message)
            if probe in self.values:
                line, col = self.values[probe]
                return StrategyError(self.file, line, col, message)
            probe = probe[:-1]
        return StrategyError(self.file, 1, 1, message)

    def line_text(self, line: int) -> str:
        lines = self.text.splitlines()
        return lines[line - 1] if 0 < line <= len(lines) else ""


def _plain(node: Any, path: PathKey, src: Source) -> Any:
    """Convert ruamel nodes to dicts, lists and scalars, recording positions on the way."""
    if isinstance(node, CommentedMap):
        out: dict[Any, Any] = {}
        for key in node:
            kline, kcol = node.lc.key(key)
            vline, vcol = node.lc.value(key)
            sub = (*path, str(key))
            src.keys[sub] = (kline + 1, kcol + 1)
            src.values[sub] = (vline + 1, vcol + 1)
            out[str(key)] = _plain(node[key], sub, src)
        return out
    if isinstance(node, CommentedSeq):
        items = []
        for index, item in enumerate(node):
            line, col = node.lc.item(index)
            src.values[(*path, index)] = src.keys[(*path, index)] = (line + 1, col + 1)
            items.append(_plain(item, (*path, index), src))
        return items
    if hasattr(node, "real") and type(node).__name__ == "ScalarFloat":
        return float(node)
    if isinstance(node, str):
        return str(node)
    return node


def parse(text: str, file: str) -> Source:
    """Parse YAML text safely (round-trip loader: no Python object construction)."""
    yaml = YAML(typ="rt")
    try:
        root = yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = (exc.problem or str(exc)).strip()
        context = f" ({exc.context.strip()})" if exc.context else ""
        raise StrategyInvalid([StrategyError(file, line, col, f"YAML syntax: {problem}{context}")]) from None
    src = Source(file=file, text=text, data=None)
    if not isinstance(root, CommentedMap):
        raise StrategyInvalid([StrategyError(file, 1, 1, "a strategy must be a YAML mapping (id:, name:, steps: ...)")])
    src.data = _plain(root, (), src)
    return src


def _resolve(loc: tuple[Any, ...], data: Any) -> PathKey:
    """Map pydantic's error location onto the document path, skipping union tags and the like."""
    path: list[str | int] = []
    node = data
    for part in loc:
        if isinstance(node, dict) and part in node:
            node = node[part]
            path.append(part)
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
            path.append(part)
        elif isinstance(node, dict) and isinstance(part, str):
            alias = {"start": "from", "end": "to", "duration": "for", "anchor": "from", "when": "if", "otherwise": "else"}
            if alias.get(part) in node:
                node = node[alias[part]]
                path.append(alias[part])
            # otherwise: a tag or a missing key; stay where we are
    return tuple(path)


def _message(err: Any, path: PathKey, loc: tuple[Any, ...]) -> tuple[str, bool, PathKey]:
    kind = err["type"]
    msg = err["msg"].removeprefix("Value error, ")
    where = ".".join(str(p) for p in path) or "document"
    if kind == "unknown_field":
        name = err["ctx"]["field"]
        return msg, True, (*path, name)
    if kind == "missing":
        return f"{where}: missing required field {loc[-1]!r}", False, path
    if kind in ("duration", "percent", "clock", "action", "options", "wait", "fee"):
        return f"{where}: {msg}", False, path
    if kind in ("enum", "literal_error"):
        return f"{where}: {err['input']!r} is not allowed; {msg[0].lower()}{msg[1:]}", False, path
    return f"{where}: {msg[0].lower()}{msg[1:]} (got {err['input']!r})", False, path


def validate(src: Source) -> StrategyDoc:
    try:
        return StrategyDoc.model_validate(src.data)
    except ValidationError as exc:
        errors = []
        for err in exc.errors():
            loc = tuple(err["loc"])
            path = _resolve(loc, src.data)
            message, at_key, where = _message(err, path, loc)
            errors.append(src.error(where, message, at_key=at_key))
        raise StrategyInvalid(sorted(set(errors))) from None


def load_text(text: str, file: str) -> tuple[Source, StrategyDoc]:
    src = parse(text, file)
    return src, validate(src)


def load_file(path: str | Path) -> tuple[Source, StrategyDoc]:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise StrategyInvalid([StrategyError(str(path), 1, 1, f"cannot read file: {exc}")]) from None
    return load_text(text, str(path))
