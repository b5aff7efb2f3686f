"""Schemathesis over the OpenAPI description, against the product as deployed: the API under
uvicorn, `worker.py` and Temporal's dev server, each its own process (tests/live_stack.py), on
PostgreSQL when TEST_DATABASE_URL is set, else SQLite. Every operation is called with generated
valid and invalid input as an admin; no answer may be a 500, and every answer must match the
status codes, content types, headers and schemas the description declares."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from databases import POSTGRES_ENV, fresh_database
from hypothesis import HealthCheck, given, settings
from live_stack import LiveStack, live_stack
from schemathesis.checks import CHECKS

from api.auth import issue_key
from db.migrate import upgrade
from db.session import make_engine, make_session_factory

EXAMPLES = int(os.environ.get("COLLECT_FUZZ_EXAMPLES", "20"))
CHECK_NAMES = {
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
    "negative_data_rejection",
}
FUZZ_CHECKS = [check for check in CHECKS.get_all() if check.__name__ in CHECK_NAMES]


@pytest.fixture(scope="module")
def fuzz_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """PostgreSQL when TEST_DATABASE_URL is set, else SQLite."""
    kind = "postgresql" if os.environ.get(POSTGRES_ENV) else "sqlite"
    with fresh_database(kind, tmp_path_factory.mktemp("fuzz")) as url:
        yield url


@pytest.fixture(scope="module")
def stack(fuzz_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveStack, str]]:
    upgrade(fuzz_database)
    engine = make_engine(fuzz_database)
    with make_session_factory(engine)() as session:
        key = issue_key(session, "fuzzer", "admin").key
        session.commit()
    engine.dispose()
    with live_stack(fuzz_database, Path(tmp_path_factory.mktemp("stack"))) as running:
        yield running, key


# Both tests share one stack, and the log check reads what the fuzzer made the worker write: one process runs
# them in this order (bin/test's isolated run is `-n 2 --dist loadgroup`).
@pytest.mark.isolated
@pytest.mark.xdist_group("fuzz")
@pytest.mark.timeout(900)  # spawns its own servers or runs a months-long journey; slow under load
def test_no_operation_answers_500_or_breaks_its_schema(stack: tuple[LiveStack, str]) -> None:
    running, key = stack
    schema = schemathesis.openapi.from_url(f"{running.base_url}/openapi.json")
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        # Schemathesis's pytest plugin does not load under this pytest; Hypothesis drives each
        # operation directly instead, with the same strategies and checks.
        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def call(case: schemathesis.Case) -> None:
            headers = {"X-API-Key": key}
            if case.method == "POST":
                headers["Idempotency-Key"] = uuid.uuid4().hex  # generated keys would collide into 409s
            case.call_and_validate(base_url=running.base_url, headers=headers, checks=FUZZ_CHECKS, timeout=30)

        try:
            call()
        except Exception as exc:  # every operation is fuzzed; all failures are reported together
            failures.append(f"{operation.method.upper()} {operation.path}: {exc}"[:3000])
    assert operations > 0
    assert not failures, "\n\n".join(failures)


@pytest.mark.isolated
@pytest.mark.xdist_group("fuzz")
def test_every_line_the_worker_logged_is_one_json_object(stack: tuple[LiveStack, str]) -> None:
    """Operators feed the worker's stderr to a log pipeline: a plain-text line (Temporal's core,
    a Python warning) would break its parsing. Runs after the fuzzer, so the log has content."""
    running, _ = stack
    lines = [line for line in running.worker_log.read_text().splitlines() if line.strip()]
    assert lines, "the worker logged nothing (it logs 'worker started')"
    not_json = []
    for line in lines:
        try:
            entry = json.loads(line)
        except ValueError:
            not_json.append(line)
            continue
        assert {"ts", "level", "logger", "message"} <= entry.keys(), line
    assert not_json == []
