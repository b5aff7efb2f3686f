"""YAML -> StrategyDoc, with every error placed at `file:line:col`.

ruamel.yaml reads YAML 1.2 (so `NO` stays a string and `21:00` stays "21:00") and keeps the
line and column of every key and value; we record them by path so that both pydantic's errors
and the compiler's semantic errors can point at the exact spot.

The text is untrusted, so reading it is bounded (see `strategies.limits`): its size before
parsing, its nesting while scanning (before ruamel's scanner and composer go quadratic or
recursive), and what aliases bring in while composing (a 1.4 KB alias bomb would expand to a
billion nodes). Tags are refused (a strategy needs none, and `!!python/...` or `!!omap` only
reach constructors), and a value that cannot be constructed (a 30th of February) is an error
at its own line and column, never Python's message at 1:1.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_args

from pydantic import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.composer import Composer
from ruamel.yaml.constructor import DuplicateKeyError, RoundTripConstructor
from ruamel.yaml.error import MarkedYAMLError, StreamMark
from ruamel.yaml.events import AliasEvent, NodeEvent
from ruamel.yaml.nodes import MappingNode, Node, SequenceNode
from ruamel.yaml.reader import ReaderError
from ruamel.yaml.scanner import RoundTripScanner

from domain.types import Stage
from strategies.limits import MAX_ALIAS_NODES, MAX_DEPTH, MAX_DOCUMENT_BYTES, MAX_READ_BYTES
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


class _Refused(Exception):
    """A bound or a value the reader refuses, at the mark where it was found."""

    def __init__(self, mark: StreamMark | None, message: str) -> None:
        super().__init__(message)
        self.line, self.col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        self.message = message


_TOO_DEEP = (
    f"nested more than {MAX_DEPTH} levels deep; a strategy needs far fewer "
    "(is a closing bracket missing, or is the indentation drifting to the right?)"
)


class _BoundedScanner(RoundTripScanner):
    """Refuses nesting beyond MAX_DEPTH as soon as the scanner meets it: ruamel's scanner looks
    ahead over every open `[` for a possible key, which is quadratic in the nesting."""

    def fetch_flow_collection_start(self, TokenClass: Any, to_push: str) -> None:
        if len(self.flow_context) >= MAX_DEPTH:
            raise _Refused(self.reader.get_mark(), _TOO_DEEP)
        super().fetch_flow_collection_start(TokenClass, to_push)

    def add_indent(self, column: int) -> bool:
        if self.indent < column and len(self.indents) >= MAX_DEPTH:
            raise _Refused(self.reader.get_mark(), _TOO_DEEP)
        return bool(super().add_indent(column))


_STANDARD_TAGS = "tag:yaml.org,2002:"


class _BoundedComposer(Composer):
    """Counts what aliases bring in (an aliased node counts with everything under it, aliases
    inside included) and refuses explicit tags, before anything is constructed or expanded."""

    def __init__(self, loader: Any = None) -> None:
        super().__init__(loader)
        self.warn_double_anchors = False  # YAML 1.2 allows it; a warning on stderr helps no one
        self._through_aliases = 0
        self._sizes: dict[int, int] = {}

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.parser.peek_event()
        if isinstance(event, AliasEvent):
            target = self.anchors.get(event.anchor)
            if target is not None:  # an unknown alias is ruamel's own (positioned) error
                size = self._size(target)
                self._through_aliases += size
                if self._through_aliases > MAX_ALIAS_NODES:
                    raise _Refused(
                        event.start_mark,
                        f"alias *{event.anchor} brings in {size:,} values, which takes what aliases bring "
                        f"into this strategy to {self._through_aliases:,}; at most {MAX_ALIAS_NODES:,} are "
                        "allowed (write the values out, or alias smaller parts)",
                    )
        elif isinstance(event, NodeEvent) and getattr(event, "ctag", None) is not None:
            tag = str(getattr(event, "tag", ""))
            shown = "!!" + tag.removeprefix(_STANDARD_TAGS) if tag.startswith(_STANDARD_TAGS) else tag
            raise _Refused(
                event.start_mark,
                f"YAML tags such as {shown} are not used in strategies; remove the tag "
                "(and put the value in quotes if it is text)",
            )
        return super().compose_node(parent, index)

    def _size(self, node: Node) -> int:
        """Values under `node` once every alias is expanded (memoised: aliased nodes are shared)."""
        known = self._sizes.get(id(node))
        if known is not None:
            return known
        if isinstance(node, SequenceNode):
            size = 1 + sum(self._size(item) for item in node.value)
        elif isinstance(node, MappingNode):
            size = 1 + sum(self._size(k) + self._size(v) for k, v in node.value)
        else:
            size = 1
        self._sizes[id(node)] = size
        return size


class _PlacedConstructor(RoundTripConstructor):
    """A value Python cannot build (2026-02-30, a 5,000-digit number) is an error at the value."""

    def construct_object(self, node: Any, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep=deep)
        except (ValueError, TypeError, OverflowError) as exc:
            raise _Refused(node.start_mark, _unreadable(node, exc)) from None


def _unreadable(node: Any, exc: Exception) -> str:
    value = node.value if isinstance(node.value, str) else ""
    shown = repr(value) if len(value) <= 40 else repr(value[:40]) + "..."
    tag = str(getattr(node, "tag", ""))
    if "digits" in str(exc) and value:
        return f"this number has {len(value):,} digits, more than any setting needs"
    if tag.endswith(("timestamp", "date")):
        return f"cannot read {shown} as a date: {exc}; write a real date, or put the value in quotes if it is text"
    return f"cannot read {shown}: {exc}; put it in quotes if it is text"


def _bounded_yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.Scanner = _BoundedScanner
    yaml.Composer = _BoundedComposer
    yaml.Constructor = _PlacedConstructor
    return yaml


def _key(key: Any, node: CommentedMap, path: PathKey, src: Source) -> str:
    """A mapping key as text; lists, mappings, null and true/false are not names of anything."""
    if isinstance(key, str) or (isinstance(key, int) and not isinstance(key, bool)):
        return str(key)
    line, col = node.lc.key(key)
    kind = (
        "nothing (an empty key)"
        if key is None
        else str(key).lower()
        if isinstance(key, bool)
        else "a mapping"
        if hasattr(key, "items")
        else "a list"
        if isinstance(key, list | tuple)
        else repr(key)
    )
    prefix = f"{where(path)}: " if path else ""
    raise StrategyInvalid(
        [
            StrategyError(
                src.file,
                line + 1,
                col + 1,
                f"{prefix}a key must be a name, got {kind}; put it in quotes if it is meant as text",
            )
        ]
    )


def _plain(node: Any, path: PathKey, src: Source) -> Any:
    """Convert ruamel nodes to dicts, lists and scalars, recording positions on the way."""
    if isinstance(node, CommentedMap):
        out: dict[Any, Any] = {}
        for key in node:
            name = _key(key, node, path, src)
            kline, kcol = node.lc.key(key)
            vline, vcol = node.lc.value(key)
            sub = (*path, name)
            src.keys[sub] = (kline + 1, kcol + 1)
            src.values[sub] = (vline + 1, vcol + 1)
            out[name] = _plain(node[key], sub, src)
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


def _position(text: str, index: int) -> tuple[int, int]:
    """1-based line and column of character `index` of `text`."""
    line = text.count("\n", 0, index) + 1
    return line, index - (text.rfind("\n", 0, index) + 1) + 1


_KEY_LINE = re.compile(r"^( *)(?:- +)?([\"']?)([^\s:#\"'][^:#\"']*)\2 *:(?: |$)")


def _enclosing_keys(text: str, line: int) -> str:
    """`templates.reminder.es-CL.body`: the block keys that enclose `line`, read from the text
    alone (used when the document is too big to parse)."""
    lines = text.split("\n", line)[:line]
    if not lines or lines[-1].lstrip().startswith("#"):
        return ""  # a comment belongs to no key
    path: list[str] = []
    indent = len(lines[-1]) - len(lines[-1].lstrip(" ")) + 1 if lines else 0
    for candidate in reversed(lines):
        match = _KEY_LINE.match(candidate)
        if match and len(match[1]) < indent:
            path.insert(0, match[3].strip())
            indent = len(match[1])
            if indent == 0:
                break
    return ".".join(path)


def check_size(text: str, file: str) -> None:
    """Refuse a document over MAX_DOCUMENT_BYTES, pointing at where it crosses the limit."""
    size = len(text.encode("utf-8", "surrogatepass"))
    if size <= MAX_DOCUMENT_BYTES:
        return
    within = len(text.encode("utf-8", "surrogatepass")[:MAX_DOCUMENT_BYTES].decode("utf-8", "ignore"))
    line, col = _position(text, within)
    inside = _enclosing_keys(text, line)
    raise StrategyInvalid(
        [
            StrategyError(
                file,
                line,
                col,
                f"the strategy is {size:,} bytes long and crosses the limit of {MAX_DOCUMENT_BYTES:,} bytes here"
                + (f", inside {inside}" if inside else "")
                + "; a strategy needs far less (is a text pasted in by mistake?)",
            )
        ]
    )


_VERSION = re.compile(r"^%YAML[ \t]+(\S*)", re.MULTILINE)


def parse(text: str, file: str) -> Source:
    """Parse YAML text safely (round-trip loader: no Python object construction), with bounded work."""
    check_size(text, file)
    version = _VERSION.search(text)
    if version and version[1] != "1.2":
        line, col = _position(text, version.start())
        raise StrategyInvalid(
            [
                StrategyError(
                    file,
                    line,
                    col,
                    f"strategies are read as YAML 1.2, not {version[1] or 'an unnamed version'}; remove the %YAML line",
                )
            ]
        )
    try:
        root = _bounded_yaml().load(text)
    except _Refused as exc:
        raise StrategyInvalid([StrategyError(file, exc.line, exc.col, exc.message)]) from None
    except ReaderError as exc:
        line, col = _position(text, exc.position) if isinstance(exc.position, int) else (1, 1)
        code = exc.character if isinstance(exc.character, int) else 0
        raise StrategyInvalid(
            [
                StrategyError(
                    file,
                    line,
                    col,
                    f"invisible control character U+{code:04X} is not allowed in a strategy; delete it",
                )
            ]
        ) from None
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
    if "escape" in problem and "double-quoted" in context:
        return (
            line,
            col,
            (
                f"{problem.removeprefix('found ')}: in double quotes a backslash starts an escape such as \\n; "
                "write \\\\ for a backslash, or use single quotes"
            ),
        )
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
_OWN_MESSAGES = (
    "duration",
    "percent",
    "amount",
    "clock",
    "action",
    "options",
    "wait",
    "fee",
    "unknown_field",
    "condition",
)


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
    if kind == "string_too_long":
        length = f"{len(err['input']):,}" if isinstance(err.get("input"), str) else "?"
        return f"{here}: too long: {length} characters, at most {ctx.get('max_length', 0):,}", is_key, path
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
    "right_party_contact": " (true if the agent spoke with the debtor, which counts as a right-party contact)",
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
        size = p.stat().st_size
        if size > MAX_READ_BYTES:  # too big for sure: do not even read it
            raise StrategyInvalid(
                [
                    StrategyError(
                        str(path),
                        1,
                        1,
                        f"the file is {size:,} bytes long; a strategy may be at most {MAX_DOCUMENT_BYTES:,} bytes",
                    )
                ]
            )
        raw = p.read_bytes()
    except OSError as exc:
        raise StrategyInvalid([StrategyError(str(path), 1, 1, f"cannot read file: {exc.strerror or exc}")]) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start].decode("utf-8", "replace")
        line, col = _position(before + "?", len(before))
        raise StrategyInvalid(
            [
                StrategyError(
                    str(path),
                    line,
                    col,
                    f"the file is not UTF-8 text: byte 0x{raw[exc.start]:02X} here is not part of any character "
                    "(save the file as UTF-8)",
                )
            ]
        ) from None
    return load_text(text.removeprefix("\ufeff"), str(path))
