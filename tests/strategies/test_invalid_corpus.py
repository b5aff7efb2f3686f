"""Every file in `invalid/` is a small strategy with exactly one mistake; its first line says
where the compiler must point and what it must say: `# expect: LINE:COL: message substring`."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from strategies.compiler import compile_file
from strategies.loader import StrategyInvalid

CORPUS = Path(__file__).parent / "invalid"
FILES = sorted(CORPUS.glob("*.yaml"), key=lambda p: int(p.name.split("_", 1)[0]))
EXPECT = re.compile(r"^# expect: (\d+):(\d+): (.+)$")


def expectation(path: Path) -> tuple[int, int, str]:
    first = path.read_text(encoding="utf-8").splitlines()[0]
    match = EXPECT.match(first)
    assert match, f"{path.name}: first line must be `# expect: LINE:COL: message`, got {first!r}"
    return int(match[1]), int(match[2]), match[3].strip()


def test_the_corpus_is_big_enough() -> None:
    assert len(FILES) >= 25


def test_file_names_are_numbered_and_unique() -> None:
    numbers = [p.name.split("_", 1)[0] for p in FILES]
    assert all(re.fullmatch(r"\d{2,3}", n) for n in numbers)
    assert len(set(numbers)) == len(numbers)


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_invalid_strategy_is_reported_at_the_right_place(path: Path) -> None:
    line, col, message = expectation(path)
    with pytest.raises(StrategyInvalid) as caught:
        compile_file(str(path))
    errors = caught.value.errors
    assert errors == sorted(errors)
    found = [e for e in errors if e.line == line and e.col == col and message in e.message]
    shown = "\n".join(str(e) for e in errors)
    assert found, f"expected {line}:{col}: {message!r}; got:\n{shown}"
    assert found[0].file == str(path)
    assert str(found[0]).startswith(f"{path}:{line}:{col}: ")


JARGON = (
    "Input should",
    "input should",
    "validation error",
    "<block",
    "[type=",
    "errors.pydantic.dev",
    "{field",
    "{value",
    "{message",
    "'dict object'",
    "Syntax error: mismatched",
    "expecting {",
)


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_messages_speak_the_strategists_language(path: Path) -> None:
    """No pydantic, YAML-parser or CEL-parser jargon leaks into what a strategist reads."""
    with pytest.raises(StrategyInvalid) as caught:
        compile_file(str(path))
    for error in caught.value.errors:
        assert not [j for j in JARGON if j in error.message], str(error)


def test_the_base_of_the_corpus_is_valid() -> None:
    """Each corpus file is this strategy plus one mistake, so the base itself must compile."""
    compile_file(str(Path(__file__).parent / "valid" / "base.yaml"))
