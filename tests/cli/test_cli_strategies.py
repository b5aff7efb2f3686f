"""`collect strategy publish | list | diff` against the live API: versions by hash, prefix or
file, YAML errors told at file:line:col, paging, and --json."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from cli_stack import Collect, Stack, strategy_source

ERROR_LINE = re.compile(r"^(?P<path>.+?):(?P<line>\d+):(?P<col>\d+): (?P<message>.+)$")


@pytest.fixture
def draft(stack: Stack, tmp_path: Path) -> Path:
    """A strategy file not yet published (its own queue, so its own hash)."""
    path = tmp_path / "draft.yaml"
    path.write_text(strategy_source(stack.unique("draft")), encoding="utf-8")
    return path


class TestPublish:
    def test_publish_then_the_same_content_is_the_same_version(self, collect: Collect, draft: Path) -> None:
        first = collect("strategy", "publish", str(draft))
        assert first.exit_code == 0, first.output
        assert f"{draft}: published: cli-draft-" in first.stdout
        again = collect("strategy", "publish", str(draft), "--json")
        assert again.exit_code == 0, again.output
        version = json.loads(again.stdout)
        assert version["hash"] in first.stdout
        assert version["source_yaml"] == draft.read_text(encoding="utf-8")
        assert f"{draft}: already published" in collect("strategy", "publish", str(draft)).stdout

    def test_an_invalid_strategy_is_refused_at_file_line_col(self, collect: Collect, draft: Path) -> None:
        draft.write_text(draft.read_text(encoding="utf-8").replace("goto: llamada", "goto: lamada"), encoding="utf-8")
        result = collect("strategy", "publish", str(draft))
        assert result.exit_code == 1
        first, *errors = result.stderr.strip().splitlines()
        assert first.startswith("error: 422 Unprocessable content: The strategy is not valid")
        assert errors
        for line in errors:
            match = ERROR_LINE.match(line)
            assert match, line
            assert match["path"] == str(draft)
        assert any("'lamada'" in line for line in errors)
        assert result.stdout == ""

    def test_an_agent_may_not_publish(self, collect: Collect, draft: Path) -> None:
        result = collect("strategy", "publish", str(draft), "--json", as_="agent")
        assert result.exit_code == 1
        assert json.loads(result.stdout)["status"] == 403
        assert "error: 403 Forbidden: The agent role may not do this" in result.stderr


class TestList:
    def test_versions_in_a_table_and_paging(self, collect: Collect, stack: Stack) -> None:
        hashes = [stack.publish(stack.unique("listed")) for _ in range(2)]
        table = collect("strategy", "list", "--limit", "100")
        assert table.exit_code == 0, table.output
        assert all(h[:12] in table.stdout for h in hashes)
        one = collect("strategy", "list", "--limit", "1", "--json")
        page = json.loads(one.stdout)
        assert len(page["items"]) == 1
        assert page["next_cursor"]
        first_page = collect("strategy", "list", "--limit", "1")
        assert f"more: collect strategy list --limit 1 --cursor {page['next_cursor']}" in first_page.stderr
        second = collect("strategy", "list", "--limit", "1", "--cursor", page["next_cursor"], "--json")
        assert json.loads(second.stdout)["items"][0]["id"] > page["items"][0]["id"]

    def test_a_cursor_the_api_did_not_issue(self, collect: Collect) -> None:
        result = collect("strategy", "list", "--cursor", "nonsense")
        assert result.exit_code == 1
        assert "error: 400 Bad request: The cursor is not one this API issued" in result.stderr


class TestDiff:
    def test_diff_by_prefix_and_by_file(self, collect: Collect, stack: Stack, draft: Path) -> None:
        old = stack.publish(stack.unique("old"))
        draft.write_text(draft.read_text(encoding="utf-8").replace("wait: 20d", "wait: 10d"), encoding="utf-8")
        assert collect("strategy", "publish", str(draft)).exit_code == 0
        result = collect("strategy", "diff", old[:10], str(draft))
        assert result.exit_code == 0, result.output
        assert f"from {old}" in result.stdout
        assert "steps changed: " in result.stdout
        assert "recordatorio" in result.stdout
        assert "-      - wait: 20d" in result.stdout
        assert "+      - wait: 10d" in result.stdout
        as_json = json.loads(collect("strategy", "diff", old, str(draft), "--json").stdout)
        assert as_json["from_hash"] == old
        assert "recordatorio" in as_json["steps"]["changed"]
        assert "identical: the same version" in collect("strategy", "diff", old, old[:8]).stdout

    def test_unknown_versions_and_unpublished_files(self, collect: Collect, stack: Stack, draft: Path) -> None:
        known = stack.publish(stack.unique("known"))
        unknown = collect("strategy", "diff", "ffff0000", known)
        assert unknown.exit_code == 2
        assert "no published strategy version's hash starts with 'ffff0000'" in unknown.stderr
        unpublished = collect("strategy", "diff", known, str(draft))
        assert unpublished.exit_code == 2
        assert f"publish it first: collect strategy publish {draft}" in unpublished.stderr
        neither = collect("strategy", "diff", known, "no-such-file.yaml")
        assert neither.exit_code == 2
        assert "is neither a strategy hash" in neither.stderr
