"""YAML -> StrategyDoc, with every error placed at `file:line:col`.

ruamel.yaml reads YAML 1.2 (so `NO` stays a string and `21:00` stays "21:00") and keeps the
line and column of every key and value; we record them by path so that both pydantic's errors
and the compiler's semantic errors can point at the exact spot.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_args

from pydantic import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.constructor import DuplicateKeyError
from ruamel.yaml.error import MarkedYAMLError

from domain.types import Stage
from strategies.schema import UNKNOWN_FIELDS, PolicyDoc, StrategyDoc, UnknownField, closest

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
        line, col, message = _yaml_problem(exc, text)
        raise StrategyInvalid([StrategyError(file, line, col, f"YAML syntax error: {message}")]) from None
    src = Source(file=file, text=text, data=None)
    if not isinstance(root, CommentedMap):
        raise StrategyInvalid([StrategyError(file, 1, 1, "a strategy must be a YAML mapping (id:, name:, steps: ...)")])
    src.data = _plain(root, (), src)
    return src


def _yaml_problem(exc: MarkedYAMLError, text: str) -> tuple[int, int, str]:
    """ruamel's parser vocabulary (block end, simple key...) -> what a strategist should fix."""
    mark = exc.problem_mark or exc.context_mark
    line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    problem = (exc.problem or str(exc)).strip()
    context = (exc.context or "").strip()
    ctx_line = exc.context_mark.line + 1 if exc.context_mark else None
    if isinstance(exc, DuplicateKeyError):
        key = re.search(r'duplicate key "(.*?)" with value', problem, re.S)
        name = key[1] if key else "?"
        first = _first_key_line(text, name, col, ctx_line or 1, line)
        where = f" (first at line {first})" if first else ""
        return line, col, f"duplicate key {name!r}{where}; each key may appear only once in a mapping"
    if "'\\t'" in problem or "\t" in problem:
        return line, col, "tab character; YAML must be indented with spaces, not tabs"
    if problem.startswith("expected <block end>"):
        return (
            line,
            col,
            (
                "bad indentation: this line does not line up with the lines above it; "
                "keys of the same mapping (and items of the same list) must start in the same column"
            ),
        )
    if problem == "mapping values are not allowed here":
        return (
            line,
            col,
            (
                "unexpected ':'; either this line is indented too far, or a value contains ': ' "
                "and must be put in quotes"
            ),
        )
    if problem == "could not find expected ':'" and exc.context_mark is not None:
        return ctx_line or line, exc.context_mark.column + 1, "expected `key: value` on this line (missing ':'?)"
    if "quoted scalar" in context and exc.context_mark is not None:
        return ctx_line or line, exc.context_mark.column + 1, "this quoted text is never closed (missing quote)"
    where = f" ({context} started at line {ctx_line})" if context and ctx_line else f" ({context})" if context else ""
    return line, col, f"{problem}{where}"


def _first_key_line(text: str, key: str, col: int, start: int, stop: int) -> int | None:
    """Line of the first `key:` at column `col` between lines start..stop (for duplicate keys)."""
    pattern = re.compile(rf"^(?:\s*-\s+)?\s*[\"']?{re.escape(key)}[\"']?\s*:")
    lines = text.splitlines()
    for number in range(start, min(stop, len(lines) + 1)):
        candidate = lines[number - 1]
        if pattern.match(candidate) and candidate.find(key) in (col - 1, col):
            return number
    return None


def _resolve(loc: tuple[Any, ...], data: Any) -> tuple[PathKey, bool]:
    """Map pydantic's error location onto the document path, skipping union tags and the like.
    The flag says the error is about a mapping key (pydantic's `[key]` marker)."""
    path: list[str | int] = []
    node = data
    is_key = False
    for part in loc:
        if part == "[key]":
            is_key = True
        elif (isinstance(node, dict) and part in node) or (
            isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        ):
            node = node[part]
            path.append(part)
        # otherwise: a union tag or a missing key; stay where we are
    return tuple(path), is_key


def where(path: PathKey) -> str:
    """`('steps', 'call', 'do', 0, 'send')` -> `steps.call.do[0].send`."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else f".{part}" if text else str(part)
    return text or "document"


# Words for enum errors: `unknown stage 'x'` reads better than `'x' is not allowed`.
_NOUNS = {
    "stage": "stage",
    "channel": "channel",
    "channels": "channel",
    "fallback": "channel",
    "days": "weekday",
    "preset": "policy preset",
    "end": "resolution",
    "frequencies": "frequency",
    "outcomes": "outcome",
    "approval": "approval",
    "from": "anchor",
}
_PATTERNS = {
    "^[a-z][a-z0-9_]*$": "a lower_snake_case name (lowercase letters, digits and _, starting with a letter)",
    "^[a-z0-9][a-z0-9-]*$": "lowercase letters, digits and dashes, such as cl-early-2026",
}
_OWN_MESSAGES = ("duration", "percent", "clock", "action", "options", "wait", "fee", "unknown_field")


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if value is None:
        return "nothing"
    if isinstance(value, dict | list):
        return "a mapping" if isinstance(value, dict) else "a list"
    return repr(value)


def _message(err: Any, path: PathKey, loc: tuple[Any, ...], is_key: bool) -> tuple[str, bool, PathKey]:
    """pydantic's error -> (message, point at the key?, path) in a strategist's words."""
    kind = err["type"]
    msg = err["msg"].removeprefix("Value error, ")
    ctx = err.get("ctx") or {}
    here = where(path[:-1] if is_key else path)
    got = _shown(err.get("input"))
    if kind in _OWN_MESSAGES:
        return f"{here}: {msg}", kind == "unknown_field", path
    if kind == "missing":
        field_name = loc[-1]
        hint = _MISSING_HINTS.get(str(field_name), "")
        return f"{here}: missing required field {field_name!r}{hint}", True, path
    if kind in ("enum", "literal_error"):
        options = re.findall(r"'([^']*)'", str(ctx.get("expected", "")))
        named = [p for p in path if isinstance(p, str)]
        if is_key and named:
            named.pop()  # the key itself; its field (outcomes, variants...) names it
        noun = _NOUNS.get(named[-1], "value") if named else "value"
        near = closest(str(err.get("input")), options)
        hint = f"did you mean {near!r}? " if near else ""
        return f"{here}: unknown {noun} {got}; {hint}expected one of: {', '.join(options)}", is_key, path
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return f"{here}: expected a whole number, got {got}", is_key, path
    if kind in ("bool_parsing", "bool_type"):
        return f"{here}: expected true or false, got {got}", is_key, path
    if kind in ("string_type",):
        return f"{here}: expected text, got {got} (put it in quotes)", is_key, path
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return f"{here}: expected a mapping of `key: value` entries, got {got}", is_key, path
    if kind in ("list_type", "tuple_type"):
        return f"{here}: expected a list (`- item` lines or [a, b]), got {got}", is_key, path
    if kind == "too_short":
        least = ctx.get("min_length", 1)
        return f"{here}: must not be empty" if least == 1 else f"{here}: needs at least {least} entries", is_key, path
    if kind == "string_too_short":
        if path and path[-1] == "reason":
            return (
                f"{here}: an override needs a real reason (at least {ctx.get('min_length')} characters) saying "
                f"why the preset is loosened, such as the legal opinion or ticket that allows it; got {got}",
                is_key,
                path,
            )
        return f"{here}: too short, at least {ctx.get('min_length')} characters needed; got {got}", is_key, path
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        words = {
            "greater_than_equal": "at least",
            "greater_than": "more than",
            "less_than_equal": "at most",
            "less_than": "less than",
        }
        bound = next(iter(ctx.values()), "?")
        return f"{here}: must be {words[kind]} {bound}, got {got}", is_key, path
    if kind == "string_pattern_mismatch":
        wanted = _PATTERNS.get(str(ctx.get("pattern")), f"text matching {ctx.get('pattern')}")
        return f"{here}: {got} must be {wanted}", is_key, path
    text = msg[0].lower() + msg[1:] if msg else kind
    return f"{here}: {text.replace('input should be', 'expected')} (got {got})", is_key, path


_MISSING_HINTS = {
    "stage": f" (one of: {', '.join(s.value for s in Stage)})",
    "preset": f" (one of: {', '.join(get_args(PolicyDoc.model_fields['preset'].annotation))})",
    "do": " (the list of actions the step takes)",
    "reason": " (why the preset is loosened)",
}


def translate(src: Source, exc: ValidationError) -> list[StrategyError]:
    """pydantic's errors on any model parsed from `src`, placed at file:line:col in plain words
    (used for documents other than strategies, such as simulator scenarios)."""
    errors = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        path, is_key = _resolve(loc, src.data)
        if err["type"] == "extra_forbidden":
            spot = (*path, str(loc[-1])) if path[-1:] != (loc[-1],) else path
            message, at_key = f"{where(spot[:-1]) or 'document'}: unknown field {loc[-1]!r}", True
        else:
            message, at_key, spot = _message(err, path, loc, is_key)
        errors.append(src.error(spot, message, at_key=at_key))
    return sorted(set(errors))


def validate(src: Source) -> StrategyDoc:
    """Validate the shape of the document; every problem is collected before raising."""
    unknown: list[UnknownField] = []
    errors: list[StrategyError] = []
    doc: StrategyDoc | None = None
    try:
        doc = StrategyDoc.model_validate(src.data, context={UNKNOWN_FIELDS: unknown})
    except ValidationError as exc:
        containers = _containers(src.data)
        covered = {(containers.get(id(u.container)), u.suggestion) for u in unknown}
        for err in exc.errors():
            loc = tuple(err["loc"])
            path, is_key = _resolve(loc, src.data)
            if err["type"] == "missing" and (path, loc[-1]) in covered:
                continue  # the unknown field next to it is the real mistake ("stpes" for "steps")
            message, at_key, spot = _message(err, path, loc, is_key)
            errors.append(src.error(spot, message, at_key=at_key))
    if unknown:
        containers = _containers(src.data)
        for u in unknown:
            base = containers.get(id(u.container))
            if base is None:
                errors.append(StrategyError(src.file, 1, 1, u.message))
                continue
            prefix = f"{where(base)}: " if base else ""
            errors.append(src.error((*base, str(u.key)), prefix + u.message, at_key=True))
    if errors or doc is None:
        raise StrategyInvalid(sorted(set(errors)))
    return doc


def _containers(data: Any, path: PathKey = ()) -> dict[int, PathKey]:
    """id() of every mapping in the document -> its path (to place unknown fields)."""
    found: dict[int, PathKey] = {}
    if isinstance(data, dict):
        found[id(data)] = path
        for key, value in data.items():
            found.update(_containers(value, (*path, key)))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            found.update(_containers(value, (*path, index)))
    return found


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
