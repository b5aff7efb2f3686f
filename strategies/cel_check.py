"""Static type checker for the CEL conditions a strategy may write.

The `cel` package evaluates expressions but exposes no AST and no checker, so this module parses
the subset conditions use (literals, variables, `! - * / % + - < <= > >= == != in && || ?:`, list
literals, `size`, `int`, `double`, `string`, `money`, the string methods `contains`, `startsWith`,
`endsWith`, `matches`, and the macros `all`, `exists`, `exists_one`, `map`, `filter`) and infers
each subexpression's type over the declared account variables (`domain.conditions.VARIABLES`),
numbers with the quantity they count (money, days, a count, a score, or a bare number).

`money("5,000.00")` is an amount in major units of the strategy's currency (`strategies.amounts`);
`runnable` replaces it by its integer minor units, so CEL at run time sees a plain number.

The rule it enforces: nothing it accepts can fail when evaluated on an account within the
declared types and bounds. So it refuses, wherever they sit (both sides of `&&`, `||` and `?:`,
which CEL may skip on one account and evaluate on the next):
- operators on types the runtime has no overload for (`balance < "500000"`, `balance + 0.5`);
- comparisons that are always false because the types differ (`tags == "vip"`, `1 in tags`);
- numbers that count different things meeting in a comparison or a sum: above all an amount and a
  bare number (`balance < 5000` is refused: write `balance < money("5,000.00")`); the literal 0
  goes with anything;
- unknown variables and functions, field access and indexing (an index can miss);
- arithmetic whose result may leave the range the runtime holds, or divide by zero, computed by
  interval arithmetic over the variables' declared bounds (`balance * 1000`, `balance / contacts`).
Numbers compare across int and double (`risk_score < 1`), as the runtime does; arithmetic does not.

Syntax is CEL's own business: callers run `cel.compile` first and call `check` only on expressions
that parse. Anything valid CEL outside the subset is refused with a message saying so.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import cel

from domain.conditions import MONEY_MAX, Variable
from domain.money import minor_digits
from strategies import amounts
from strategies.schema import closest

INT_MIN, INT_MAX = -(2**63), 2**63 - 1
# Doubles stay far from infinity, so no NaN (which CEL cannot compare) can ever appear.
DOUBLE_MAX = 1e300
SIZE_MAX = 10**9  # longer than any text or list an account carries
MACROS = ("all", "exists", "exists_one", "map", "filter")
STRING_METHODS = ("contains", "startsWith", "endsWith", "matches")
FUNCTIONS = "size, int, double, string, money; methods contains, startsWith, endsWith, matches, size; " + (
    "macros all, exists, exists_one, map, filter"
)


# ---- types ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Type:
    """A CEL type with, for numbers, the interval its values lie in and the quantity they count."""

    kind: str  # int | double | string | bool | list | error
    elem: Type | None = None  # a list's element type; None for the empty list literal
    low: float | int | None = None
    high: float | int | None = None
    # What a number counts (`domain.conditions.Variable.unit`): None for a bare number, ANY_UNIT for
    # the literal 0 (zero of anything). Money is kept apart from bare numbers: `balance < 5000`
    # meant 5,000 EUR and ran as 50.00 (issue 13), so an amount compares only with an amount.
    unit: str | None = None

    def __str__(self) -> str:
        if self.kind == "list":
            return f"list({self.elem})" if self.elem is not None else "list"
        return self.kind

    @property
    def numeric(self) -> bool:
        return self.kind in ("int", "double")

    @property
    def error(self) -> bool:
        return self.kind == "error" or (self.elem is not None and self.elem.error)


ERROR = Type("error")
BOOL = Type("bool")
STRING = Type("string")
ANY_UNIT = "any"
MONEY = "money"
UNIT_NAMES = {
    MONEY: "an amount of money (minor units)",
    "days": "a number of days",
    "count": "a count",
    "score": "a risk score",
    None: "a bare number",
}


def _unify(a: str | None, b: str | None) -> tuple[bool, str | None]:
    """Whether numbers counting `a` and `b` may meet in `==`, `<`, `+` or `-`, and what the result
    counts. A bare number goes with days, counts and scores (`contacts < 3`), never with money."""
    if a == b or b == ANY_UNIT:
        return True, a
    if a == ANY_UNIT:
        return True, b
    if a is None and b != MONEY:
        return True, b
    if b is None and a != MONEY:
        return True, a
    return False, None


def _clash(a: Type, b: Type) -> tuple[Type, Type] | None:
    """The two numbers (inside lists too) whose quantities cannot meet, if any."""
    if a.kind == "list" and b.kind == "list":
        return None if a.elem is None or b.elem is None else _clash(a.elem, b.elem)
    if a.numeric and b.numeric and not _unify(a.unit, b.unit)[0]:
        return a, b
    return None


def _same(a: Type, b: Type) -> bool:
    """Same type, ranges aside; the empty list literal is a list of anything."""
    if a.kind != b.kind:
        return False
    if a.kind != "list" or a.elem is None or b.elem is None:
        return _clash(a, b) is None
    return _same(a.elem, b.elem)


def _comparable(a: Type, b: Type) -> bool:
    """Whether `==` between the two can ever be true (CEL compares int with double by value)."""
    if a.numeric and b.numeric:
        return True
    if a.kind == "list" and b.kind == "list":
        return a.elem is None or b.elem is None or _comparable(a.elem, b.elem)
    return a.kind == b.kind


def _join(a: Type, b: Type) -> Type:
    """The type of `c ? a : b` (callers check `_same` first)."""
    if a.kind == "list":
        return a if b.elem is None else b if a.elem is None else Type("list", _join(a.elem, b.elem))
    if a.numeric:
        return Type(a.kind, low=min(_lo(a), _lo(b)), high=max(_hi(a), _hi(b)), unit=_unify(a.unit, b.unit)[1])
    return a


def _counted(unit: str | None) -> str | None:
    """What an arithmetic result counts: a computed zero is not the literal 0."""
    return None if unit == ANY_UNIT else unit


def _lo(t: Type) -> float | int:
    assert t.low is not None
    return t.low


def _hi(t: Type) -> float | int:
    assert t.high is not None
    return t.high


def _a(t: Type) -> str:
    return f"{'an' if str(t)[0] in 'aeiou' else 'a'} {t}"


def _quantity(t: Type) -> str:
    return UNIT_NAMES.get(_counted(t.unit), "a number")


def variable_type(variable: Variable) -> Type:
    if variable.type == "list(string)":
        return Type("list", STRING)
    return Type(variable.type, low=variable.low, high=variable.high, unit=variable.unit)


# ---- syntax tree ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Node:
    start: int
    end: int


@dataclass(frozen=True)
class Literal(Node):
    kind: str  # int | uint | double | string | bytes | bool | null
    text: str
    value: object = None


@dataclass(frozen=True)
class Ident(Node):
    name: str


@dataclass(frozen=True)
class Select(Node):
    operand: Node
    name: str


@dataclass(frozen=True)
class Call(Node):
    target: Node | None
    name: str
    args: tuple[Node, ...]


@dataclass(frozen=True)
class Index(Node):
    operand: Node
    index: Node


@dataclass(frozen=True)
class ListLit(Node):
    items: tuple[Node, ...]


@dataclass(frozen=True)
class MapLit(Node):
    pass


@dataclass(frozen=True)
class Unary(Node):
    op: str
    operand: Node


@dataclass(frozen=True)
class Binary(Node):
    op: str
    left: Node
    right: Node


@dataclass(frozen=True)
class Ternary(Node):
    cond: Node
    then: Node
    other: Node


class Unsupported(Exception):
    """Valid CEL the condition language does not take (or text `cel` would not parse)."""

    def __init__(self, offset: int, message: str) -> None:
        super().__init__(message)
        self.offset = offset


_TOKEN = re.compile(
    r"""
    (?P<space>\s+|//[^\n]*)
    |(?P<string>(?:[rR][bB]?|[bB][rR]?)?(?:\"\"\"(?:\\.|[^\\])*?\"\"\"|'''(?:\\.|[^\\])*?'''|"(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*'))
    |(?P<number>0[xX][0-9a-fA-F]+[uU]?|(?:\d+\.\d+|\.\d+)(?:[eE][+-]?\d+)?|\d+[eE][+-]?\d+|\d+[uU]?)
    |(?P<ident>[_a-zA-Z][_a-zA-Z0-9]*)
    |(?P<op>==|!=|<=|>=|&&|\|\||[<>+\-*/%!?:.,()\[\]{}])
    """,
    re.VERBOSE | re.DOTALL,
)


@dataclass
class _Parser:
    """Recursive descent over CEL's grammar (the precedence of the CEL spec)."""

    text: str
    tokens: list[tuple[str, str, int, int]] = field(default_factory=list)  # (kind, text, start, end)
    pos: int = 0

    def __post_init__(self) -> None:
        at = 0
        while at < len(self.text):
            match = _TOKEN.match(self.text, at)
            if match is None:
                raise Unsupported(at, f"unexpected character {self.text[at]!r}")
            kind = match.lastgroup or ""
            if kind != "space":
                self.tokens.append((kind, match.group(), match.start(), match.end()))
            at = match.end()
        self.tokens.append(("end", "", len(self.text), len(self.text)))

    def peek(self, text: str) -> bool:
        kind, value, _, _ = self.tokens[self.pos]
        return kind == "op" and value == text

    def take(self) -> tuple[str, str, int, int]:
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def expect(self, text: str) -> int:
        kind, value, start, end = self.take()
        if kind != "op" or value != text:
            raise Unsupported(start, f"expected {text!r}")
        return end

    def parse(self) -> Node:
        node = self.expr()
        kind, _, start, _ = self.tokens[self.pos]
        if kind != "end":
            raise Unsupported(start, "unexpected text after the condition")
        return node

    def expr(self) -> Node:
        cond = self.logical("||")
        if not self.peek("?"):
            return cond
        self.take()
        then = self.logical("||")
        self.expect(":")
        other = self.expr()
        return Ternary(cond.start, other.end, cond, then, other)

    def logical(self, op: str) -> Node:
        operand: Callable[[], Node] = self.conjunction if op == "||" else self.relation
        node = operand()
        while self.peek(op):
            self.take()
            right = operand()
            node = Binary(node.start, right.end, op, node, right)
        return node

    def conjunction(self) -> Node:
        return self.logical("&&")

    def relation(self) -> Node:
        node = self.binary(0)
        while True:
            kind, value, _, _ = self.tokens[self.pos]
            if not ((kind == "op" and value in ("<", "<=", ">", ">=", "==", "!=")) or (kind, value) == ("ident", "in")):
                return node
            self.take()
            right = self.binary(0)
            node = Binary(node.start, right.end, value, node, right)

    def binary(self, level: int) -> Node:
        ops = (("+", "-"), ("*", "/", "%"))[level]
        node = self.binary(1) if level == 0 else self.unary()
        while any(self.peek(op) for op in ops):
            _, op, _, _ = self.take()
            right = self.binary(1) if level == 0 else self.unary()
            node = Binary(node.start, right.end, op, node, right)
        return node

    def unary(self) -> Node:
        if self.peek("!") or self.peek("-"):
            _, op, start, _ = self.take()
            operand = self.unary()
            if op == "-" and isinstance(operand, Literal) and operand.kind in ("int", "double"):
                value = operand.value
                assert isinstance(value, int | float)
                return Literal(start, operand.end, operand.kind, "-" + operand.text, -value)
            return Unary(start, operand.end, op, operand)
        return self.member()

    def member(self) -> Node:
        node = self.primary()
        while True:
            if self.peek("."):
                self.take()
                kind, name, start, end = self.take()
                if kind != "ident":
                    raise Unsupported(start, "expected a name after '.'")
                if self.peek("("):
                    args, end = self.arguments(")")
                    node = Call(node.start, end, node, name, args)
                else:
                    node = Select(node.start, end, node, name)
            elif self.peek("["):
                self.take()
                index = self.expr()
                end = self.expect("]")
                node = Index(node.start, end, node, index)
            else:
                return node

    def arguments(self, close: str) -> tuple[tuple[Node, ...], int]:
        self.take()  # the opening bracket
        args: list[Node] = []
        while not self.peek(close):
            args.append(self.expr())
            if not self.peek(","):
                break
            self.take()
        return tuple(args), self.expect(close)

    def primary(self) -> Node:
        kind, value, start, end = self.tokens[self.pos]
        if kind == "op" and value == ".":  # a name from the root scope: `.balance`
            self.take()
            kind, value, start, end = self.tokens[self.pos]
        if kind == "op" and value == "(":
            self.take()
            inner = self.expr()
            self.expect(")")
            return inner
        if kind == "op" and value == "[":
            items, end = self.arguments("]")
            return ListLit(start, end, items)
        if kind == "op" and value == "{":
            depth = 0
            while True:  # skip to the matching brace; map literals are refused as a whole
                _, text, _, end = self.take()
                depth += {"{": 1, "}": -1}.get(text, 0)
                if depth == 0 or text == "":
                    return MapLit(start, end)
        self.take()
        if kind == "ident":
            if value in ("true", "false"):
                return Literal(start, end, "bool", value, value == "true")
            if value == "null":
                return Literal(start, end, "null", value)
            if self.peek("("):
                args, end = self.arguments(")")
                return Call(start, end, None, value, args)
            return Ident(start, end, value)
        if kind == "number":
            return _number(value, start, end)
        if kind == "string":
            prefix = value[: len(value) - len(value.lstrip("rRbB"))]
            return Literal(start, end, "bytes" if "b" in prefix.lower() else "string", value)
        raise Unsupported(start, "unexpected end of the condition" if kind == "end" else f"unexpected {value!r}")


def _string_value(node: Node) -> str | None:
    """The text of a plain quoted string literal (no escapes, no raw or triple quotes), else None."""
    if not isinstance(node, Literal) or node.kind != "string":
        return None
    quoted = re.fullmatch(r"""(['"])([^'"\\]*)\1""", node.text)
    return quoted[2] if quoted else None


def _number(text: str, start: int, end: int) -> Literal:
    if text[-1] in "uU":
        return Literal(start, end, "uint", text)
    if text.lower().startswith("0x"):
        return Literal(start, end, "int", text, int(text, 16))
    if any(c in text for c in ".eE"):
        return Literal(start, end, "double", text, float(text))
    return Literal(start, end, "int", text, int(text))


# ---- the checker ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """One refused subexpression: where it starts in the condition (0-based) and why."""

    offset: int
    message: str


@dataclass
class _Checker:
    text: str
    variables: Mapping[str, Variable]
    currency: amounts.Currency | None = None  # the strategy's, for money("...")
    # String variables whose values are known (the strategy's segments and variants, ISO codes):
    # name -> why a value can never be one of them, or None when it can.
    values: Mapping[str, Callable[[str], str | None]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    money: list[tuple[int, int, int]] = field(default_factory=list)  # (start, end, minor) of money("...")

    def src(self, node: Node) -> str:
        return self.text[node.start : node.end]

    def fail(self, node: Node, message: str) -> Type:
        self.problems.append(Problem(node.start, message))
        return ERROR

    def type_of(self, node: Node, scope: Mapping[str, Type]) -> Type:
        match node:
            case Literal():
                return self.literal(node)
            case Ident():
                return self.ident(node, scope)
            case ListLit():
                return self.list_literal(node, scope)
            case MapLit():
                return self.fail(node, f"`{self.src(node)}`: maps are not part of conditions")
            case Select():
                if self.type_of(node.operand, scope).error:
                    return ERROR
                return self.fail(
                    node, f"`{self.src(node)}`: field access; account variables are plain values without fields"
                )
            case Index():
                self.type_of(node.operand, scope)
                self.type_of(node.index, scope)
                return self.fail(
                    node,
                    f"`{self.src(node)}`: indexing can fail at run time on an account whose list is shorter; "
                    "use `in` (`'vip' in tags`) or a macro (`tags.exists(t, t.startsWith('v'))`)",
                )
            case Unary():
                return self.unary(node, scope)
            case Binary():
                return self.binary(node, scope)
            case Ternary():
                return self.ternary(node, scope)
            case Call():
                return self.call(node, scope)
        raise AssertionError(f"unknown node {node!r}")

    def literal(self, node: Literal) -> Type:
        match node.kind:
            case "int" | "double":
                value = node.value
                assert isinstance(value, int | float)
                return Type(node.kind, low=value, high=value, unit=ANY_UNIT if value == 0 else None)
            case "string":
                return STRING
            case "bool":
                return BOOL
            case "uint":
                return self.fail(
                    node, f"`{node.text}`: unsigned integers are not part of conditions; write {node.text[:-1]}"
                )
            case "bytes":
                return self.fail(node, f"`{node.text}`: bytes are not part of conditions; write a string")
        return self.fail(node, "`null`: no account variable is ever null")

    def ident(self, node: Ident, scope: Mapping[str, Type]) -> Type:
        if node.name in scope:
            return scope[node.name]
        if node.name in self.variables:
            return variable_type(self.variables[node.name])
        names = list(self.variables)
        near = closest(node.name, names + list(scope))
        hint = f"did you mean {near!r}? " if near else ""
        return self.fail(
            node, f"unknown variable {node.name!r} in condition; {hint}expected one of: {', '.join(names)}"
        )

    def list_literal(self, node: ListLit, scope: Mapping[str, Type]) -> Type:
        types = [self.type_of(item, scope) for item in node.items]
        if any(t.error for t in types):
            return ERROR
        if not types:
            return Type("list")
        joined = types[0]
        for item, t in zip(node.items[1:], types[1:], strict=True):
            if not _same(joined, t):
                return self.fail(
                    item,
                    f"`{self.src(node)}`: a list holds one type, but this list mixes {self.kinds(joined, t)}",
                )
            joined = _join(joined, t)
        return Type("list", joined)

    def unary(self, node: Unary, scope: Mapping[str, Type]) -> Type:
        t = self.type_of(node.operand, scope)
        if t.error:
            return ERROR
        if node.op == "!":
            if t.kind != "bool":
                return self.fail(node, f"`{self.src(node)}`: `!` needs a bool, but found {t}")
            return BOOL
        if not t.numeric:
            return self.fail(node, f"`{self.src(node)}`: `-` needs an int or a double, but found {t}")
        return self.bounded(node, Type(t.kind, low=-_hi(t), high=-_lo(t), unit=t.unit))

    def kinds(self, a: Type, b: Type) -> str:
        """`int and string`, or `an amount of money (minor units) and a bare number` when only
        what the numbers count differs."""
        clash = _clash(a, b)
        if clash is not None and str(a) == str(b):
            return f"{_quantity(clash[0])} and {_quantity(clash[1])}"
        return f"{a} and {b}"

    def quantities(self, node: Binary, a: Type, b: Type, verb: str) -> Type | None:
        """A refusal when `node` lets numbers that count different things meet, else None."""
        clash = _clash(a, b)
        if clash is None:
            return None
        x, y = clash
        if verb == "looks for":
            message = f"`{self.src(node)}` looks for {_quantity(x)} in a list of {_quantity(y).split(' ', 1)[1]}s"
        else:
            message = f"`{self.src(node)}` " + verb.format(_quantity(x), _quantity(y))
        if MONEY in (x.unit, y.unit):
            bare = node.right if x.unit == MONEY else node.left
            message += "; an amount meets only an amount, written with money(): " + self.money_hint(bare)
        else:
            message += ", which measure different things"
        return self.fail(node, message)

    def never_held(self, node: Binary, scope: Mapping[str, Type]) -> Type | None:
        """A refusal when a string variable with known values (segment, variant, country,
        currency) is compared with a literal it never holds: `variant == "chalenger"` is always false."""
        if node.op == "in":
            pairs = [(node.left, item) for item in node.right.items] if isinstance(node.right, ListLit) else []
            pairs.append((node.right, node.left))  # "whatsap" in opted_out: a list variable's known items
        else:
            pairs = [(node.left, node.right), (node.right, node.left)]
        for variable, other in pairs:
            if not (isinstance(variable, Ident) and variable.name in self.values and variable.name not in scope):
                continue
            value = _string_value(other)
            if value is None:
                continue
            why = self.values[variable.name](value)
            if why is None:
                continue
            if node.op == "in":
                never = "never holds" if variable is node.right else "never is"
                return self.fail(node, f"`{self.src(node)}` looks for {value!r}, which {variable.name} {never}; {why}")
            verdict = "always true" if node.op == "!=" else "never true"
            return self.fail(node, f"`{self.src(node)}` is {verdict}: {variable.name} is never {value!r}; {why}")
        return None

    def money_hint(self, bare: Node) -> str:
        """How to write the amount a bare number stands for, in the strategy's currency."""
        if not (isinstance(bare, Literal) and bare.kind == "int" and isinstance(bare.value, int) and bare.value > 0):
            digits = minor_digits(self.currency.code) if self.currency is not None and self.currency.known else 2
            return f'for example money("5,000{"." + "0" * digits if digits else ""}")'
        figure = bare.value
        if self.currency is None or not self.currency.known:
            return f'money("{figure:,}") for {figure:,} in the strategy\'s currency'
        digits = minor_digits(self.currency.code)
        whole = f"{figure:,}" + ("." + "0" * digits if digits else "")
        meant = self.currency.shown(figure * 10**digits)
        if digits == 0:
            return f'write money("{whole}") for {meant}'
        return (
            f'write money("{whole}") for {meant}, or money("{amounts.plain(figure, self.currency.code)}") if '
            f"{figure} meant minor units ({self.currency.shown(figure)})"
        )

    def bounded(self, node: Node, t: Type) -> Type:
        """`t`, or a refusal if its interval leaves what the runtime holds."""
        low, high = _lo(t), _hi(t)
        if t.kind == "int" and (low < INT_MIN or high > INT_MAX):
            worst = low if low < INT_MIN else high
            return self.fail(
                node,
                f"`{self.src(node)}` can overflow: over the declared bounds of the account variables its value "
                f"can reach {worst:.3g}, beyond the int range (about ±9.22e18)",
            )
        if t.kind == "double" and (low < -DOUBLE_MAX or high > DOUBLE_MAX):
            return self.fail(
                node,
                f"`{self.src(node)}` can overflow to infinity over the declared bounds of the account variables",
            )
        return t

    def binary(self, node: Binary, scope: Mapping[str, Type]) -> Type:
        a = self.type_of(node.left, scope)
        b = self.type_of(node.right, scope)
        if a.error or b.error:
            return BOOL if node.op in ("&&", "||", "<", "<=", ">", ">=", "==", "!=", "in") else ERROR
        op, src = node.op, self.src(node)
        found = f"found {a} and {b}"
        if op in ("&&", "||"):
            for side, t in ((node.left, a), (node.right, b)):
                if t.kind != "bool":
                    self.fail(side, f"`{self.src(side)}`: `{op}` needs bool on both sides, but found {t}")
            return BOOL
        if op in ("==", "!="):
            if not _comparable(a, b):
                hint = ""
                if a.kind == "list" and a.elem is not None and _comparable(a.elem, b):
                    hint = f"; to test membership write `{self.src(node.right)} in {self.src(node.left)}`"
                return self.fail(
                    node,
                    f"`{src}` compares {a} with {b}, which is never equal; `{op}` needs the same type on both sides "
                    f"(numbers may mix int and double){hint}",
                )
            return self.quantities(node, a, b, "compares {} with {}") or self.never_held(node, scope) or BOOL
        if op in ("<", "<=", ">", ">="):
            if not ((a.numeric and b.numeric) or (a.kind == b.kind and a.kind in ("string", "bool"))):
                return self.fail(
                    node,
                    f"`{src}`: `{op}` compares two numbers (int or double), two strings or two bools, but {found}; "
                    "CEL never converts between numbers and text",
                )
            return self.quantities(node, a, b, "compares {} with {}") or BOOL
        if op == "in":
            if b.kind != "list":
                return self.fail(node, f"`{src}`: `in` needs a list on the right, but found {b}")
            if b.elem is not None and not _comparable(a, b.elem):
                return self.fail(node, f"`{src}` looks for {_a(a)} in {_a(b)}, which never holds one")
            if b.elem is not None:
                return self.quantities(node, a, b.elem, "looks for") or self.never_held(node, scope) or BOOL
            return BOOL
        return self.arithmetic(node, a, b)

    def arithmetic(self, node: Binary, a: Type, b: Type) -> Type:
        op, src = node.op, self.src(node)
        if op == "+" and a.kind == b.kind == "string":
            return STRING
        if op == "+" and a.kind == b.kind == "list":
            if not _same(a, b):
                return self.fail(node, f"`{src}`: `+` joins lists of one type, but found {self.kinds(a, b)}")
            return _join(a, b)
        if not (a.numeric and b.numeric and a.kind == b.kind):
            expected = "two ints or two doubles" + (", two strings or two lists" if op == "+" else "")
            hint = ""
            if a.numeric and b.numeric:
                hint = "; CEL does no arithmetic between int and double: write 1.0 for a double, or double(x)"
            return self.fail(node, f"`{src}`: `{op}` needs {expected}, but found {a} and {b}{hint}")
        if op == "%" and a.kind == "double":
            return self.fail(node, f"`{src}`: `%` needs two ints, but found double and double")
        known, unit = self.arithmetic_unit(node, a, b)
        if not known:
            return ERROR
        alo, ahi, blo, bhi = _lo(a), _hi(a), _lo(b), _hi(b)
        if op in ("+", "-", "*"):
            if op == "+":
                low, high = alo + blo, ahi + bhi
            elif op == "-":
                low, high = alo - bhi, ahi - blo
            else:
                corners = [alo * blo, alo * bhi, ahi * blo, ahi * bhi]
                low, high = min(corners), max(corners)
            return self.bounded(node, Type(a.kind, low=low, high=high, unit=unit))
        if blo <= 0 <= bhi:
            return self.fail(
                node,
                f"`{src}` can divide by zero: `{self.src(node.right)}` can be 0 on some account; "
                "divide by a number that is never 0 (such as a literal)",
            )
        num = max(abs(alo), abs(ahi))
        den = min(abs(blo), abs(bhi))
        if op == "/":
            top = num // den if a.kind == "int" else num / den
            return self.bounded(node, Type(a.kind, low=-top, high=top, unit=unit))
        if alo == INT_MIN and blo <= -1 <= bhi:
            return self.fail(node, f"`{src}` can overflow (the smallest int modulo -1)")
        top = min(num, max(abs(blo), abs(bhi)) - 1)
        return Type("int", low=-top, high=top, unit=unit)

    def arithmetic_unit(self, node: Binary, a: Type, b: Type) -> tuple[bool, str | None]:
        """(False, None) after a refusal, else (True, what the result counts): a sum counts what
        its terms count; a bare number or a count scales a quantity; a quantity divided by the same
        quantity is a bare ratio. Quantities never multiply (an amount times an amount is no amount)."""
        x, y = _counted(a.unit), _counted(b.unit)
        if node.op in ("*", "/", "%"):  # a count is a pure number: an amount per contact is an amount
            x, y = (None if x == "count" else x), (None if y == "count" else y)
        if node.op in ("+", "-"):
            verb = "adds {} to {}" if node.op == "+" else "subtracts {1} from {0}"
            if self.quantities(node, a, b, verb) is not None:
                return False, None
            return True, _counted(_unify(a.unit, b.unit)[1])
        if node.op == "*" and (x is None or y is None):
            return True, x or y
        if node.op in ("/", "%") and y is None:
            return True, x
        if node.op == "/" and (x == y or x is None):
            return True, None
        if node.op == "%" and x == y:
            return True, x
        what = {"*": "multiplies", "/": "divides", "%": "takes the remainder of"}[node.op]
        self.fail(
            node,
            f"`{self.src(node)}` {what} {_quantity(a)} by {_quantity(b)}, which gives no quantity a condition "
            "can compare; scale a quantity by a bare number, or divide it by the same kind of quantity for a ratio",
        )
        return False, None

    def ternary(self, node: Ternary, scope: Mapping[str, Type]) -> Type:
        c = self.type_of(node.cond, scope)
        a = self.type_of(node.then, scope)
        b = self.type_of(node.other, scope)
        if not c.error and c.kind != "bool":
            self.fail(node.cond, f"`{self.src(node.cond)}`: the condition of `?:` must be a bool, but found {c}")
        if a.error or b.error:
            return ERROR
        if not _same(a, b):
            return self.fail(
                node,
                f"`{self.src(node)}`: both branches of `?:` must have the same type, but found {self.kinds(a, b)}",
            )
        return _join(a, b)

    def call(self, node: Call, scope: Mapping[str, Type]) -> Type:
        if node.target is not None and node.name in MACROS:
            return self.macro(node, node.target, scope)
        if node.target is None and node.name == "money":
            return self.money_literal(node)
        receiver = self.type_of(node.target, scope) if node.target is not None else None
        args = [self.type_of(arg, scope) for arg in node.args]
        if (receiver is not None and receiver.error) or any(t.error for t in args):
            return ERROR
        src = self.src(node)
        if receiver is not None:
            args = [receiver, *args]
        name, method = node.name, receiver is not None
        if name == "size" and len(args) == 1:
            if args[0].kind not in ("string", "list"):
                return self.fail(node, f"`{src}`: size() needs a string or a list, but found {args[0]}")
            return Type("int", low=0, high=SIZE_MAX)
        if name in ("int", "double", "string") and not method and len(args) == 1:
            return self.conversion(node, name, args[0])
        if name in STRING_METHODS and method and len(args) == 2:
            if args[0].kind != "string" or args[1].kind != "string":
                hint = (
                    f"; to test membership write `{self.src(node.args[0])} in {self.src(node.target or node)}`"
                    if (args[0].kind == "list" and name == "contains")
                    else ""
                )
                return self.fail(
                    node, f"`{src}`: {name}() needs a string and a string, but found {args[0]} and {args[1]}{hint}"
                )
            if name == "matches":
                return self.pattern(node)
            return BOOL
        if name in STRING_METHODS or name == "size" or name in ("int", "double", "string"):
            form = (
                f"x.{name}(y)"
                if name in STRING_METHODS
                else f"{name}(x) or x.size()"
                if name == "size"
                else f"{name}(x)"
            )
            return self.fail(node, f"`{src}`: {name} is called as {form}")
        if name == "has":
            return self.fail(node, f"`{src}`: has() tests fields; account variables are always present")
        near = closest(name, ["size", "int", "double", "string", "money", *STRING_METHODS, *MACROS])
        hint = f"did you mean {near!r}? " if near else ""
        return self.fail(node, f"unknown function {name!r}; {hint}conditions may use: {FUNCTIONS}")

    def money_literal(self, node: Call) -> Type:
        """money("5,000.00"): an amount in major units of the strategy's currency, as minor units."""
        src = self.src(node)
        text = _string_value(node.args[0]) if len(node.args) == 1 else None
        if text is None:
            return self.fail(node, f'`{src}`: money() takes one amount in quotes, such as money("5,000.00")')
        if self.currency is None or not self.currency.known:
            return Type("int", low=0, high=MONEY_MAX, unit=MONEY)  # the strategy's currency is the error
        try:
            minor = self.currency.minor(amounts.read(text))
        except amounts.BadAmount as exc:
            return self.fail(node, f"`{src}`: {exc}")
        if minor > MONEY_MAX:
            return self.fail(node, f"`{src}` is more than any amount an account holds")
        self.money.append((node.start, node.end, minor))
        return Type("int", low=minor, high=minor, unit=ANY_UNIT if minor == 0 else MONEY)

    def conversion(self, node: Call, name: str, arg: Type) -> Type:
        src = self.src(node)
        if name == "string":
            if arg.kind not in ("int", "double", "string"):
                return self.fail(node, f"`{src}`: string() takes an int, a double or a string, but found {arg}")
            return STRING
        if name == "double":
            if not arg.numeric:
                return self.fail(node, f"`{src}`: double() takes an int or a double here, but found {arg}")
            return Type("double", low=_lo(arg), high=_hi(arg), unit=arg.unit)
        if not arg.numeric:
            return self.fail(node, f"`{src}`: int() takes an int or a double here, but found {arg}")
        low, high = int(_lo(arg)), int(_hi(arg))
        if arg.kind == "double" and (low < INT_MIN // 2 or high > INT_MAX // 2):
            return self.fail(node, f"`{src}` can overflow: its double argument may be beyond the int range")
        return Type("int", low=low, high=high, unit=arg.unit)

    def pattern(self, node: Call) -> Type:
        arg = node.args[0]
        if not isinstance(arg, Literal):
            return self.fail(node, f"`{self.src(node)}`: the pattern of matches() must be a literal string")
        try:  # the runtime's own regex engine decides what a valid pattern is
            cel.compile(f"''.matches({arg.text})").execute({})
        except Exception as exc:
            first = str(exc).split("\n")[0]
            return self.fail(arg, f"`{arg.text}` is not a valid pattern: {first}")
        return BOOL

    def macro(self, node: Call, target: Node, scope: Mapping[str, Type]) -> Type:
        src, name = self.src(node), node.name
        over = self.type_of(target, scope)
        arity = (2, 3) if name == "map" else (2,)
        if len(node.args) not in arity or not isinstance(node.args[0], Ident):
            shape = "(x, expr) or (x, filter, expr)" if name == "map" else "(x, predicate)"
            return self.fail(node, f"`{src}`: {name} takes {shape}")
        var = node.args[0].name
        if over.error:
            return ERROR
        if over.kind != "list":
            return self.fail(node, f"`{src}`: {name}() runs over a list, but `{self.src(target)}` is {over}")
        if var in self.variables or var in scope:
            return self.fail(
                node.args[0], f"`{src}`: the macro variable {var!r} hides the variable of the same name; pick another"
            )
        if over.elem is None:
            return self.fail(node, f"`{src}` runs over an empty list, so it never looks at an element")
        inner = {**scope, var: over.elem}
        body = [self.type_of(arg, inner) for arg in node.args[1:]]
        if any(t.error for t in body):
            return ERROR
        predicates = node.args[1:] if name != "map" else node.args[1:-1]
        for arg, t in zip(predicates, body, strict=False):
            if t.kind != "bool":
                self.fail(arg, f"`{self.src(arg)}`: the predicate of {name}() must be a bool, but found {t}")
        if name == "map":
            return Type("list", body[-1])
        if name == "filter":
            return over
        return BOOL


def check(
    expression: str,
    variables: Mapping[str, Variable],
    currency: amounts.Currency | None = None,
    values: Mapping[str, Callable[[str], str | None]] | None = None,
) -> list[Problem]:
    """Every problem in a condition that `cel.compile` parses; empty when it is safe to run.
    `currency`: the strategy's, in which money("...") is read; `values`: see `_Checker.values`."""
    return _checked(expression, variables, currency, values or {})[0]


def runnable(expression: str, variables: Mapping[str, Variable], currency: amounts.Currency) -> str:
    """The condition the interpreter runs: each money("...") replaced by its integer minor units
    (CEL knows no money(); the compiled strategy carries plain numbers). Only for expressions
    `check` accepts; one without money() comes back unchanged."""
    if "money" not in expression:
        return expression
    checker = _checked(expression, variables, currency, {})[1]
    text = expression
    for start, end, minor in sorted(checker.money, reverse=True):
        text = text[:start] + str(minor) + text[end:]
    return text


def _checked(
    expression: str,
    variables: Mapping[str, Variable],
    currency: amounts.Currency | None,
    values: Mapping[str, Callable[[str], str | None]],
) -> tuple[list[Problem], _Checker]:
    checker = _Checker(expression, variables, currency, values)
    try:
        tree = _Parser(expression).parse()
    except Unsupported as exc:
        return [Problem(exc.offset, f"this is not part of the condition language: {exc}")], checker
    result = checker.type_of(tree, {})
    if not result.error and result.kind != "bool":
        checker.fail(
            tree,
            f"must be true or false, but it gives {result}; compare it with something, such as `balance > 100000`",
        )
    return sorted(set(checker.problems), key=lambda p: (p.offset, p.message)), checker
