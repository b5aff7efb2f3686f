"""A Jinja2 sandbox that bounds the work a template can ask for.

Jinja's immutable sandbox stops a template from reaching Python's internals, but not from
burning a core or the memory: two nested `range(100000)` loops ran for half an hour,
`lipsum(n=100000)` for 22 s and `3**(10**7)` for 15 s. A thread cannot be killed, so the bound
is enforced inside rendering, where the template does its work:

- every `{% for %}` iterates through `bounded_iter` (the code generator wraps each loop's
  iterable), which counts iterations and checks the deadline;
- every call, filter and intercepted operator checks the deadline too, refuses arguments that
  would build something huge *before* building it (`'x' * 10**9`, `3 ** 10**7`, `center(10**9)`,
  `replace('', s)`, format widths), and refuses any result over the size limit;
- `~` concatenation and the output itself are measured as they are produced;
- `range()` gives at most MAX_RANGE items; `lipsum` and the padding methods of text are gone.

The deadline and counters of the render under way live in a context variable, so that renders
in concurrent threads (the API's thread pool, the worker's activities) never share them.
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

from strategies.limits import MAX_INT_BITS, MAX_LOOP_ITERATIONS, MAX_RANGE, MAX_TEMPLATE_TEXT


class TemplateTooCostly(Exception):
    """The template asked for more work or memory than a message may take."""


@dataclass
class RenderBudget:
    """What one render may still spend: until `deadline` (time.monotonic) and MAX_LOOP_ITERATIONS."""

    deadline: float
    seconds: float
    iterations: int = 0

    def tick(self) -> None:
        if time.monotonic() > self.deadline:
            raise TemplateTooCostly(
                f"the template takes longer than {self.seconds:g} s to render; a message template must be quick "
                "(avoid big loops)"
            )


_BUDGET: ContextVar[RenderBudget | None] = ContextVar("template_render_budget", default=None)


def _tick() -> None:
    budget = _BUDGET.get()
    if budget is not None:
        budget.tick()


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
        _tick()
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


class _BoundedCodeGenerator(CodeGenerator):
    """Routes every loop's iterable through `environment.bounded_iter` and every `~` through
    `environment.bounded_text`, so that loops and concatenation are counted where they run."""

    def visit_For(self, node: nodes.For, frame: Frame) -> None:
        if not getattr(node, "bounded", False):
            node.iter = nodes.Call(
                nodes.EnvironmentAttribute("bounded_iter"), [node.iter], [], None, None, lineno=node.lineno
            )
            node.bounded = True  # type: ignore[attr-defined]
        super().visit_For(node, frame)

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
        _tick()
        _check_binop(operator, left, right)
        return _sized(super().call_binop(context, operator, left, right))

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        _tick()
        _check_method(__obj, args, kwargs)
        return _sized(super().call(__context, __obj, *args, **kwargs))

    def bounded_iter(self, iterable: Iterable[Any]) -> Iterator[Any]:
        budget = _BUDGET.get()
        for item in iterable:
            if budget is not None:
                budget.iterations += 1
                if budget.iterations > MAX_LOOP_ITERATIONS:
                    raise TemplateTooCostly(
                        f"the template's loops run more than {MAX_LOOP_ITERATIONS:,} times in one message"
                    )
                budget.tick()
            yield item

    def bounded_text(self, value: Any) -> Any:
        _tick()
        return _sized(value)


def render_bounded(template: Template, context: dict[str, Any], *, deadline: float, seconds: float) -> str:
    """Render within the deadline (time.monotonic), the loop budget and the output limit;
    raises TemplateTooCostly when the template asks for more."""
    token = _BUDGET.set(RenderBudget(deadline=deadline, seconds=seconds))
    try:
        parts: list[str] = []
        size = 0
        for chunk in template.generate(context):
            size += len(chunk)
            if size > MAX_TEMPLATE_TEXT:
                raise TemplateTooCostly(f"the message would be longer than {MAX_TEMPLATE_TEXT:,} characters")
            _tick()
            parts.append(chunk)
        return "".join(parts)
    except RecursionError as exc:  # keep its traceback: it holds the template line that recursed
        refused = TemplateTooCostly("the template calls itself too deeply (a macro or loop that recurses)")
        raise refused.with_traceback(exc.__traceback__) from None
    finally:
        _BUDGET.reset(token)
