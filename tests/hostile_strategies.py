"""Hostile strategies: small or large texts that ask the loader, the compiler or the template
sandbox for unbounded work. Each is the valid base strategy with one attack in it, and says
where (line, or None for a 413 before the text is read) and what the refusal must name.

Shared by the compiler, CLI and HTTP tests, so that every entry point is held to the same corpus.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

BASE = (Path(__file__).parent / "strategies" / "valid" / "base.yaml").read_text(encoding="utf-8")
_BODY = "      body: |\n"


@dataclass(frozen=True)
class Hostile:
    name: str
    text: str
    line: int | None  # where the error must point; None: refused as a whole (413 over HTTP)
    what: str  # a piece of the message
    status: int = 422  # over HTTP


def _line_of(text: str, needle: str) -> int:
    return text[: text.index(needle)].count("\n") + 1


def _extra(yaml: str) -> str:
    """The base strategy with extra top-level lines after its name."""
    return BASE.replace("name: Test\n", "name: Test\n" + yaml, 1)


def _body(template: str) -> str:
    """The base strategy whose first template body is `template` (one line)."""
    at = BASE.index(_BODY) + len(_BODY)
    indent = " " * 8
    rest = BASE[at:]
    while rest.startswith(indent):  # drop the old body's lines
        rest = rest.split("\n", 1)[1]
    return BASE[:at] + indent + template + "\n" + rest


def _condition(expression: str) -> str:
    """The base strategy with a segment condition."""
    marker = "segments:\n  - name: all\n"
    assert marker in BASE
    return BASE.replace(marker, marker + f"    when: '{expression}'\n", 1)


def alias_bomb(levels: int = 9, width: int = 10) -> str:
    """Billion laughs: 9 levels of 10 aliases each (10**9 values once expanded), about 1.4 KB."""
    lines = ['lol0: &lol0 "lol lol lol lol lol lol lol lol lol lol"']
    for level in range(1, levels + 1):
        lines.append(f"lol{level}: &lol{level} [" + ", ".join([f"*lol{level - 1}"] * width) + "]")
    return _extra("\n".join(lines) + "\n")


def _block_maps(depth: int) -> str:
    return "deep:\n" + "".join(" " * (level + 1) + f"k{level}:\n" for level in range(depth)) + " " * (depth + 1) + "x\n"


def _block_lists(depth: int) -> str:
    return "deep:\n" + "".join(" " * (level + 1) + "-\n" for level in range(depth)) + " " * (depth + 1) + "x\n"


def _many_templates(count: int, size: int) -> str:
    entries = "".join(f"  big{n}:\n    es-CL:\n      body: '{'x' * size}'\n" for n in range(count))
    return BASE.replace("templates:\n", "templates:\n" + entries, 1)


def _corpus() -> list[Hostile]:
    cases: list[Hostile] = []
    bomb = alias_bomb()
    cases.append(Hostile("alias_bomb", bomb, _line_of(bomb, "lol4: "), "alias *lol"))
    for name, opening, closing in (("lists", "[", "]"), ("maps", "{a: ", "}")):
        for depth in (1_000, 10_000):
            text = _extra("deep: " + opening * depth + "1" + closing * depth + "\n")
            cases.append(Hostile(f"deep_flow_{name}_{depth}", text, _line_of(text, "deep: "), "nested more than"))
    for name, build in (("maps", _block_maps), ("lists", _block_lists)):
        text = _extra(build(300))
        cases.append(Hostile(f"deep_block_{name}", text, _line_of(text, "deep:") + 40, "nested more than"))
    big = _extra("description: " + "x" * 600_000 + "\n")
    cases.append(Hostile("big_document", big, _line_of(big, "description: "), "inside description"))
    huge = _extra("description: " + "x" * 3_000_000 + "\n")
    cases.append(Hostile("description_3mb", huge, _line_of(huge, "description: "), "inside description"))
    cases.append(Hostile("huge_body_5mb", _extra("# " + "x" * 5_000_000 + "\n"), None, "bytes", status=413))
    long_description = _extra("description: " + "x" * 100_000 + "\n")
    cases.append(
        Hostile(
            "long_description", long_description, _line_of(long_description, "description: "), "description: too long"
        )
    )
    scalar = _body("x" * 200_000)
    cases.append(Hostile("huge_template_scalar", scalar, _line_of(scalar, _BODY), "body: too long: 200,001 characters"))
    compiled = _many_templates(150, 1_900)
    cases.append(Hostile("compiled_too_big", compiled, _line_of(compiled, "  big"), "the compiled strategy is"))
    templates = {
        "range_loops": ("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}", "range()"),
        "nested_small_ranges": (
            "{% for i in range(1000) %}{% for j in range(1000) %}{% for k in range(1000) %}"
            "{% endfor %}{% endfor %}{% endfor %}",
            "loops run more than",
        ),
        "lipsum": ("{{ lipsum(n=100000) }}", "lipsum"),
        "power": ("{{ 3**(10**7) }}", "power"),
        "string_multiply": ("{{ 'x' * 10**9 }}", "repeats a text"),
        "doubling_concat": (
            "{% set ns = namespace(s='ab') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}"
            "{{ ns.s }}",
            "builds a value",
        ),
        "format_width": ("{{ '{:>1000000000}'.format(1) }}", "width"),
        "padding_method": ("{{ debtor.name.ljust(10**9) }}", "ljust"),
        "filter_width": ("{{ debtor.name|center(1000000000) }}", "center"),
        "recursive_macro": ("{% macro f() %}{{ f() }}{{ f() }}{% endmacro %}{{ f() }}", "calls itself"),
    }
    for name, (template, what) in templates.items():
        text = _body(template)
        cases.append(Hostile(f"template_{name}", text, _line_of(text, template), what))
    long_cel = _condition(" || ".join(["balance > 1"] * 400))
    cases.append(Hostile("cel_long", long_cel, _line_of(long_cel, "when: "), "condition too long"))
    deep_cel = _condition("(" * 100 + "balance > 1" + ")" * 100)
    cases.append(Hostile("cel_deep", deep_cel, _line_of(deep_cel, "when: "), "nested too deeply"))
    tag = _extra("extra: !!python/object/apply:os.system ['true']\n")
    cases.append(Hostile("python_tag", tag, _line_of(tag, "extra: "), "tags"))
    return cases


CORPUS = _corpus()
