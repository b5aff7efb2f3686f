"""A Jinja2 sandbox that bounds the work a template can ask for.

Jinja's immutable sandbox stops a template from reaching Python's internals, but not from
burning a core or the memory: two nested `range(100000)` loops ran for half an hour,
`lipsum(n=100000)` for 22 s and `3**(10**7)` for 15 s. A thread cannot be killed, so the bound
is enforced inside rendering, where the template does its work, and it is a bound on WORK, counted,
not on time: whether a template is valid must not depend on how loaded the machine is.

- every `{% for %}` iterates through `bounded_iter` (the code generator wraps each loop's
  iterable), which counts iterations and charges each one the size of the loop's body;
- every macro (and `{% call %}` block) charges the size of its body each time it runs;
- every call, filter and intercepted operator charges one step plus the size of what it is given,
  refuses arguments that would build something huge *before* building it (`'x' * 10**9`,
  `3 ** 10**7`, `center(10**9)`, `replace('', s)`, format widths), and refuses any result over
  the size limit;
- `~` concatenation and the output itself are measured as they are produced;
- `range()` gives at most MAX_RANGE items; `lipsum` and the padding methods of text are gone.

Between two hooks a template can only do the work its own nodes describe, so the steps counted
bound the time. A wall-clock deadline remains only as a safety net at send time, and its
refusal (RenderTookTooLong) says that the machine was slow, not that the template is costly.

The counters of the render under way live in a context variable, so that renders in concurrent
threads (the API's thread pool, the worker's activities) never share them.
"""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from jinja2 import Template, nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment

from strategies.limits import (
    MAX_INT_BITS,
    MAX_LOOP_ITERATIONS,
    MAX_RANGE,
    MAX_RENDER_WORK,
    MAX_TEMPLATE_TEXT,
)

# The clock of the send-time safety net (a module attribute, so a test can make the machine "slower").
clock: Callable[[], float] = time.monotonic


class TemplateTooCostly(Exception):
    """The template asked for more work or memory than a message may take (the same on any machine)."""


class RenderTookTooLong(Exception):
    """The safety net: a render ran past its wall-clock deadline on this machine. Not a verdict on the
    template (the work bounds are that); the machine was slow or overloaded."""


@dataclass
class RenderBudget:
    """What one render has spent: steps of work, loop iterations; and its safety-net deadline, if any."""

    deadline: float | None = None
    seconds: float = 0.0
    work: int = 0
    iterations: int = 0

    def spend(self, steps: int) -> None:
        self.work += steps
        if self.work > MAX_RENDER_WORK:
            raise TemplateTooCostly(
                f"the template does more than {MAX_RENDER_WORK:,} steps of work (loop iterations, calls, filters) "
                "in one message; a message template must be simple"
            )
        if self.deadline is not None and clock() > self.deadline:
            raise RenderTookTooLong(
                f"rendering the template took longer than {self.seconds:g} s on this machine (a safety net; "
                "the machine may be overloaded)"
            )


_BUDGET: ContextVar[RenderBudget | None] = ContextVar("template_render_budget", default=None)

# Characters of text that cost one more step when a call, filter or operator is given them: text is
# copied or scanned in C. An item of a collection costs a step of its own, as a filter may run
# Python code for each (`sort` calls a key function per item).
_CHARS_PER_STEP = 64


def _weight(value: Any) -> int:
    if isinstance(value, str | bytes):
        return len(value) // _CHARS_PER_STEP
    if isinstance(value, list | tuple | dict | set | frozenset):
        return len(value)
    return 0


def _spend(*values: Any) -> None:
    """Charge one step, plus the weight of what the call, filter or operator is given."""
    budget = _BUDGET.get()
    if budget is not None:
        budget.spend(1 + sum(_weight(value) for value in values))


def _sized(value: Any) -> Any:
    """`value`, unless it is text, a collection or an integer bigger than a template may make."""
    if isinstance(value, str | bytes | list | tuple | dict | set | frozenset) and len(value) > MAX_TEMPLATE_TEXT:
        raise TemplateTooCostly(
            f"the template builds a value of {len(value):,} characters or items; at most {MAX_TEMPLATE_TEXT:,}"
        )
    if isinstance(value, int) and value.bit_length() > MAX_INT_BITS:
        raise TemplateTooCostly(f"the template computes a number of more than {MAX_INT_BITS:,} binary digits")
    return value


def _length(value: Any) -> int:
    return len(value) if isinstance(value, str | bytes | list | tuple | dict) else 0


def _check_binop(operator: str, left: Any, right: Any) -> None:
    """Refuse an operation whose result would be too big, before computing it."""
    ints = isinstance(left, int) and isinstance(right, int)
    if operator == "**" and ints and right > 0 and left.bit_length() * right > MAX_INT_BITS:
        raise TemplateTooCostly(
            f"the template raises a number to the power {right:,}; the result would have more than "
            f"{MAX_INT_BITS:,} binary digits"
        )
    if operator == "*":
        if ints and left.bit_length() + right.bit_length() > MAX_INT_BITS:
            raise TemplateTooCostly(f"the template multiplies numbers into more than {MAX_INT_BITS:,} binary digits")
        for seq, times in ((left, right), (right, left)):
            if _length(seq) and isinstance(times, int) and _length(seq) * times > MAX_TEMPLATE_TEXT:
                raise TemplateTooCostly(
                    f"the template repeats a text or list {times:,} times; the result would exceed "
                    f"{MAX_TEMPLATE_TEXT:,} characters"
                )
    if operator == "+" and _length(left) + _length(right) > MAX_TEMPLATE_TEXT:
        raise TemplateTooCostly(f"the template joins values into more than {MAX_TEMPLATE_TEXT:,} characters")
    if operator == "%" and isinstance(left, str):
        _check_format(left)


# A width or precision of five digits or more, a `*` width taken from the arguments, or a
# replacement field nested in another one's spec (`{:{w}}`): each can ask for gigabytes.
_BIG_FORMAT = re.compile(r"\d{5,}|%[-#0 +]*\*|%[-#0 +\d]*\.\*|\{[^{}]*\{")


def _check_format(text: Any) -> None:
    if isinstance(text, str) and _BIG_FORMAT.search(text):
        raise TemplateTooCostly("the template formats with a width of 10,000 or more, or a width given as a value")


def _check_method(obj: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """The text methods that can multiply their input: estimate the result before calling."""
    owner = getattr(obj, "__self__", None)
    name = getattr(obj, "__name__", "")
    if not isinstance(owner, str):
        return
    if name == "replace" and len(args) >= 2 and isinstance(args[1], str):
        grows = (owner.count(args[0]) if isinstance(args[0], str) and args[0] else len(owner) + 1) * len(args[1])
        if len(owner) + grows > MAX_TEMPLATE_TEXT:
            raise TemplateTooCostly(f"the template replaces text into more than {MAX_TEMPLATE_TEXT:,} characters")
    elif name == "join" and args and isinstance(args[0], list | tuple):
        total = sum(_length(part) for part in args[0]) + len(owner) * len(args[0])
        if total > MAX_TEMPLATE_TEXT:
            raise TemplateTooCostly(f"the template joins text into more than {MAX_TEMPLATE_TEXT:,} characters")


# Text methods that only pad or re-encode: a template has no use for them, and each can ask for
# gigabytes with one argument (`'x'.ljust(10**9)`).
_REFUSED_TEXT_METHODS = frozenset({"center", "ljust", "rjust", "zfill", "expandtabs", "translate", "format_map"})


# Filters that take a width or a count and build that much: `center(10**9)`, `batch(10**9, 0)`.
_SIZED_FILTERS = frozenset({"center", "indent", "batch", "slice", "wordwrap"})


def _bounded_filter(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    """A filter that checks the deadline, refuses a width or count that would build something huge
    before building it, and measures what it returns."""

    @functools.wraps(func)  # keeps jinja_pass_arg, so Jinja still passes context or environment
    def bounded(*args: Any, **kwargs: Any) -> Any:
        _spend(*args, *kwargs.values())
        offset = 1 if getattr(func, "jinja_pass_arg", None) is not None else 0
        value = args[offset] if len(args) > offset else None
        if name in _SIZED_FILTERS:
            lines = value.count("\n") + 1 if isinstance(value, str) else 1
            for arg in (*args[offset + 1 :], *kwargs.values()):
                if isinstance(arg, int) and not isinstance(arg, bool) and abs(arg) * lines > MAX_TEMPLATE_TEXT:
                    raise TemplateTooCostly(
                        f"the template passes {arg:,} to the filter {name}; the result would exceed "
                        f"{MAX_TEMPLATE_TEXT:,} characters"
                    )
        elif name == "format":
            _check_format(value)
        elif name == "replace" and isinstance(value, str):
            _check_method(value.replace, tuple(args[offset + 1 :]), kwargs)
        elif name == "join" and isinstance(value, list | tuple):
            _check_method("".join, (value,), {})
        return _sized(func(*args, **kwargs))

    return bounded


def bounded_range(*args: int) -> range:
    """range(), with at most MAX_RANGE items."""
    items = range(*args)
    try:
        count = len(items)
    except OverflowError:
        count = MAX_RANGE + 1
    if count > MAX_RANGE:
        raise TemplateTooCostly(f"range() in a template gives at most {MAX_RANGE:,} items, not {count:,}")
    return items


def _size(*parts: nodes.Node | None) -> int:
    """Nodes in `parts` and under them: the work one run of them can do without passing a hook."""
    return sum(1 + sum(1 for _ in part.find_all(nodes.Node)) for part in parts if part is not None)


def _charge(size: int, lineno: int) -> nodes.ExprStmt:
    """`environment.charge(size)` as a statement, to run at the start of a body."""
    call = nodes.Call(nodes.EnvironmentAttribute("charge"), [nodes.Const(size)], [], None, None, lineno=lineno)
    return nodes.ExprStmt(call, lineno=lineno)


class _BoundedCodeGenerator(CodeGenerator):
    """Routes every loop's iterable through `environment.bounded_iter` (charging each iteration its
    body's size), makes every macro and call block charge its body's size when it runs, and routes
    every `~` through `environment.bounded_text`, so that work is counted where it runs."""

    def visit_For(self, node: nodes.For, frame: Frame) -> None:
        if not getattr(node, "bounded", False):
            cost = nodes.Const(_size(*node.body, node.test))
            node.iter = nodes.Call(
                nodes.EnvironmentAttribute("bounded_iter"), [node.iter, cost], [], None, None, lineno=node.lineno
            )
            node.bounded = True  # type: ignore[attr-defined]
        super().visit_For(node, frame)

    def visit_Macro(self, node: nodes.Macro, frame: Frame) -> None:
        self._charge_body(node)
        super().visit_Macro(node, frame)

    def visit_CallBlock(self, node: nodes.CallBlock, frame: Frame) -> None:
        self._charge_body(node)
        super().visit_CallBlock(node, frame)

    @staticmethod
    def _charge_body(node: nodes.Macro | nodes.CallBlock) -> None:
        if not getattr(node, "bounded", False):
            node.body.insert(0, _charge(_size(*node.body), node.lineno))
            node.bounded = True  # type: ignore[union-attr]

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        self.write("environment.bounded_text(")
        super().visit_Concat(node, frame)
        self.write(")")


class BoundedSandbox(ImmutableSandboxedEnvironment):
    """ImmutableSandboxedEnvironment with bounded work; render through `render_bounded`."""

    code_generator_class = _BoundedCodeGenerator
    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.globals["range"] = bounded_range
        self.globals.pop("lipsum", None)  # 22 s for lipsum(n=100000), and no message needs it

    def finalize_filters(self) -> None:
        """Wrap every filter, including the ones added after construction (call once they are in)."""
        for name, func in list(self.filters.items()):
            if not getattr(func, "bounded", False):
                wrapped = _bounded_filter(name, func)
                wrapped.bounded = True  # type: ignore[attr-defined]
                self.filters[name] = wrapped

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        if isinstance(obj, str) and attr in _REFUSED_TEXT_METHODS:
            return False
        return bool(super().is_safe_attribute(obj, attr, value))

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        owner = getattr(value, "__self__", None)
        if isinstance(owner, str) and getattr(value, "__name__", "") in ("format", "format_map"):
            _check_format(owner)  # when the template reads `'...'.format`, before it can call it
        return super().wrap_str_format(value)

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        _spend(left, right)
        _check_binop(operator, left, right)
        return _sized(super().call_binop(context, operator, left, right))

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        _spend(*args, *kwargs.values())
        _check_method(__obj, args, kwargs)
        return _sized(super().call(__context, __obj, *args, **kwargs))

    def bounded_iter(self, iterable: Iterable[Any], cost: int = 1) -> Iterator[Any]:
        budget = _BUDGET.get()
        for item in iterable:
            if budget is not None:
                budget.iterations += 1
                if budget.iterations > MAX_LOOP_ITERATIONS:
                    raise TemplateTooCostly(
                        f"the template's loops run more than {MAX_LOOP_ITERATIONS:,} times in one message"
                    )
                budget.spend(cost)
            yield item

    def charge(self, size: int) -> None:
        """A macro or call block's body is about to run: charge its size."""
        budget = _BUDGET.get()
        if budget is not None:
            budget.spend(size)

    def bounded_text(self, value: Any) -> Any:
        _spend(value)
        return _sized(value)


def render_bounded(template: Template, context: dict[str, Any], *, seconds: float | None = None) -> str:
    """Render within the work budget and the output limit, raising TemplateTooCostly when the
    template asks for more; with `seconds`, also within that wall-clock safety net, raising
    RenderTookTooLong past it."""
    deadline = None if seconds is None else clock() + seconds
    token = _BUDGET.set(RenderBudget(deadline=deadline, seconds=seconds or 0.0))
    try:
        parts: list[str] = []
        size = 0
        for chunk in template.generate(context):
            size += len(chunk)
            if size > MAX_TEMPLATE_TEXT:
                raise TemplateTooCostly(f"the message would be longer than {MAX_TEMPLATE_TEXT:,} characters")
            parts.append(chunk)
        return "".join(parts)
    except RecursionError as exc:  # keep its traceback: it holds the template line that recursed
        refused = TemplateTooCostly("the template calls itself too deeply (a macro or loop that recurses)")
        raise refused.with_traceback(exc.__traceback__) from None
    finally:
        _BUDGET.reset(token)
