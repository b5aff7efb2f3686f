"""The template sandbox at send time (strategies.rendering.render): real templates render as
before; templates that ask for unbounded work raise TemplateTooCostly quickly; the work is counted,
not timed, inside rendering, and concurrent renders keep their own budgets."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from strategies import sandbox
from strategies.rendering import EXAMPLE_CONTEXT, compile_template, render
from strategies.sandbox import RenderTookTooLong, TemplateTooCostly, render_bounded

EXPENSIVE = [
    "{% for i in range(100000) %}{% endfor %}",
    "{% for i in range(1000) %}{% for j in range(1000) %}{% endfor %}{% endfor %}",
    "{{ 3 ** (10 ** 7) }}",
    "{% set ns = namespace(n=3) %}{% for i in range(40) %}{% set ns.n = ns.n * ns.n %}{% endfor %}",
    "{{ 'x' * 10 ** 9 }}",
    "{{ [0] * 10 ** 9 }}",
    "{% set ns = namespace(l=[1]) %}{% for i in range(40) %}{% set ns.l = ns.l + ns.l %}{% endfor %}",
    "{% set ns = namespace(s='ab') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}",
    "{{ '{:>1000000000}'.format(1) }}",
    "{{ '{:{w}}'.format(1, w=10 ** 9) }}",
    "{{ '%1000000000d' % 1 }}",
    "{{ '%*d' % (10 ** 9, 1) }}",
    "{{ '%1000000000d'|format(1) }}",
    "{{ debtor.name|center(10 ** 9) }}",
    "{{ [1]|batch(10 ** 9, 0)|list }}",
    "{{ (debtor.name * 1000)|replace('', debtor.name * 1000) }}",
    "{{ (debtor.name * 1000).replace('', debtor.name * 1000) }}",
    "{{ ((debtor.name ~ '\\n') * 1000)|indent(60000) }}",
    "{% for i in range(1000) %}{{ debtor.name * 100 }}{% endfor %}",
    "{% macro f() %}{{ f() }}{{ f() }}{% endmacro %}{{ f() }}",
    "{% for x in [[1, 1]] recursive %}{{ loop([[1, 1], [1, 1]]) }}{% endfor %}",
]
REFUSED_NAMES = ["{{ lipsum(n=100000) }}", "{{ debtor.name.ljust(10 ** 9) }}", "{{ debtor.name.zfill(10 ** 9) }}"]


@pytest.mark.parametrize("source", EXPENSIVE)
def test_unbounded_work_is_refused_quickly(source: str) -> None:
    began = time.monotonic()
    with pytest.raises(TemplateTooCostly):
        render(source, "es-CL", "CLP", EXAMPLE_CONTEXT)
    assert time.monotonic() - began < 5  # a hang detector: each takes milliseconds


@pytest.mark.parametrize("source", REFUSED_NAMES)
def test_expensive_names_are_not_there(source: str) -> None:
    with pytest.raises(Exception, match=r"lipsum|unsafe"):
        render(source, "es-CL", "CLP", EXAMPLE_CONTEXT)


def test_work_is_counted_not_timed(monkeypatch: pytest.MonkeyPatch) -> None:
    """2**20 macro calls, each cheap and within every size limit: the work count stops them, with the
    clock standing still, so the refusal is the same on any machine."""
    monkeypatch.setattr(sandbox, "clock", lambda: 0.0)
    template = compile_template(
        "{% macro f(n) %}{% if n < 20 %}{{ f(n + 1) }}{{ f(n + 1) }}{% endif %}{% endmacro %}{{ f(0) }}",
        "es-CL",
        "CLP",
    )
    with pytest.raises(TemplateTooCostly, match=r"more than 200,000 steps of work"):
        render_bounded(template, EXAMPLE_CONTEXT, seconds=5)


@pytest.mark.parametrize(
    "source",
    [
        # work no hook sees, repeated: each loop iteration or macro call is charged its body's size
        "{% for i in range(1000) %}{% for j in range(10) %}" + "{% if i == j %}{% endif %}" * 500 + "{% endfor %}"
        "{% endfor %}",
        "{% macro g() %}" + "{% if 1 == 1 %}{% endif %}" * 500 + "{% endmacro %}"
        "{% for i in range(1000) %}{{ g() }}{% endfor %}",
        # a filter that runs Python per item, on a big list, many times: charged per item
        "{% set b = range(1000)|list %}{% for i in b %}{{ b|sort|sum }}{% endfor %}",
    ],
)
def test_work_between_hooks_is_charged(source: str) -> None:
    with pytest.raises(TemplateTooCostly, match=r"steps of work"):
        render(source, "es-CL", "CLP", EXAMPLE_CONTEXT)


def test_the_safety_net_blames_the_machine_not_the_template(monkeypatch: pytest.MonkeyPatch) -> None:
    """Past its wall-clock deadline a render stops with RenderTookTooLong, which says the machine was
    slow; it is not TemplateTooCostly (a verdict on the template)."""
    ticks = iter(range(0, 10**6, 10))  # ten "seconds" pass between two looks at the clock
    monkeypatch.setattr(sandbox, "clock", lambda: float(next(ticks)))
    template = compile_template("{% for i in range(3) %}{{ i|string }}{% endfor %}", "es-CL", "CLP")
    with pytest.raises(RenderTookTooLong, match=r"longer than 5 s on this machine") as caught:
        render_bounded(template, EXAMPLE_CONTEXT, seconds=5)
    assert not isinstance(caught.value, TemplateTooCostly)
    assert render_bounded(template, EXAMPLE_CONTEXT) == "012"  # no safety net: no clock at all


def test_everyday_templates_render_as_before() -> None:
    source = (
        "Hola {{ debtor.first_name }}, su saldo es {{ account.balance|money }} al {{ account.due_date|date }}. "
        "{% for tag in ['a', 'b'] %}{{ tag|upper }}{% endfor %} {{ '{:,}'.format(account.balance) }} "
        "{{ range(3)|join(',') }} {{ (debtor.name ~ ' ') * 3 }}{{ 2 ** 10 }} {{ '%05d' % 42 }}"
    )
    text = render(source, "es-CL", "CLP", EXAMPLE_CONTEXT)
    assert text.startswith("Hola Ana, su saldo es $150.000 al 1 de noviembre de 2026.")
    assert "AB 150,000 0,1,2 Ana Pérez Ana Pérez Ana Pérez 1024 00042" in text


def test_concurrent_renders_keep_their_own_budgets() -> None:
    """A slow render in one thread does not spend another thread's budget or loop count."""
    slow = "{% for i in range(1000) %}{% for j in range(9) %}{% endfor %}{% endfor %}done"
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: render(slow, "es-CL", "CLP", EXAMPLE_CONTEXT), range(8)))
    assert results == ["done"] * 8


def test_a_template_sent_again_is_not_compiled_again_and_renders_each_context(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each send renders a template of its strategy: compiling it anew for every send cost more
    than rendering it. The same source, locale and currency compile once; each render still sees
    its own context and budget."""
    compiled: list[str] = []
    real = sandbox.BoundedSandbox.compile

    def counting(self: sandbox.BoundedSandbox, source: str, *args: object, **kwargs: object) -> object:
        compiled.append(source)
        return real(self, source, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(sandbox.BoundedSandbox, "compile", counting)
    source = "Hola {{ debtor.first_name }}, su saldo es {{ account.balance | money }} (sent-twice test)"
    first = render(source, "es-CL", "CLP", EXAMPLE_CONTEXT)
    other = {**EXAMPLE_CONTEXT, "debtor": {"name": "Beto Soto", "first_name": "Beto"}}
    second = render(source, "es-CL", "CLP", other)
    assert (first, second) == (
        "Hola Ana, su saldo es $150.000 (sent-twice test)",
        "Hola Beto, su saldo es $150.000 (sent-twice test)",
    )
    assert compiled.count(source) <= 1
