"""The template sandbox at send time (strategies.rendering.render): real templates render as
before; templates that ask for unbounded work raise TemplateTooCostly quickly; the time budget
holds inside rendering, and concurrent renders keep their own budgets."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from strategies.rendering import EXAMPLE_CONTEXT, compile_template, render
from strategies.sandbox import TemplateTooCostly, render_bounded

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


def test_the_deadline_holds_inside_rendering() -> None:
    """2**20 macro calls, each cheap and within every size limit: only the clock stops them."""
    template = compile_template(
        "{% macro f(n) %}{% if n < 20 %}{{ f(n + 1) }}{{ f(n + 1) }}{% endif %}{% endmacro %}{{ f(0) }}",
        "es-CL",
        "CLP",
    )
    began = time.monotonic()
    with pytest.raises(TemplateTooCostly, match=r"longer than 0\.2 s"):
        render_bounded(template, EXAMPLE_CONTEXT, deadline=began + 0.2, seconds=0.2)
    assert time.monotonic() - began < 3


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
