"""Hostile strategies sent to the real HTTP API: each is a clear 422 (or 413 for a body too big
to read) naming where and what, answered within seconds, and the API process's memory does
not balloon. The corpus is tests/hostile_strategies.py, shared with the compiler and CLI tests."""

from __future__ import annotations

import asyncio
import resource
from collections.abc import AsyncIterator

import httpx
import pytest
from api_harness import Api
from hostile_strategies import CORPUS, Hostile

from api.routers.strategies import MAX_BODY_BYTES

PROBLEM = "application/problem+json"
YAML = {"Content-Type": "application/yaml"}
# A hang detector, not a benchmark: each answer takes milliseconds (a second or two on a loaded
# machine, with the compiler at work on the biggest cases); unbounded ones took minutes.
SECONDS = 60
# The API's peak memory may grow by this much at most (the alias bomb once added 400 MB).
MAX_PEAK_GROWTH_KB = 100 * 1024
PATHS = ["/strategies/validate", "/strategies"]


def _peak_kb() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _assert_names_where_and_what(response: httpx.Response, case: Hostile) -> None:
    assert response.status_code == case.status, response.text[:500]
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    if case.status == 413:
        assert f"{MAX_BODY_BYTES:,} bytes" in body["detail"]
        return
    found = [
        e
        for e in body["errors"]
        if case.what in e["detail"] and (case.line is None or e["line"] == case.line) and e["column"] >= 1
    ]
    assert found, f"{case.name}: expected line {case.line} and {case.what!r}; got {body['errors']}"


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("case", CORPUS, ids=[c.name for c in CORPUS])
async def test_a_hostile_strategy_is_refused_quickly_naming_where_and_what(api: Api, case: Hostile, path: str) -> None:
    peak = _peak_kb()
    response = await asyncio.wait_for(
        api.http.post(path, content=case.text.encode(), headers=api.as_("strategist", **YAML)), SECONDS
    )
    _assert_names_where_and_what(response, case)
    assert _peak_kb() - peak < MAX_PEAK_GROWTH_KB


async def test_a_body_too_big_is_refused_while_streaming_without_a_content_length(api: Api) -> None:
    """A chunked body has no Content-Length to check: it is counted as it arrives."""
    sent = 0

    async def chunks() -> AsyncIterator[bytes]:
        nonlocal sent
        for _ in range(64):  # 64 MiB offered, far beyond the limit
            sent += 1
            yield b"#" * (1024 * 1024)

    response = await asyncio.wait_for(
        api.http.post("/strategies/validate", content=chunks(), headers=api.as_("strategist", **YAML)), SECONDS
    )
    assert response.status_code == 413
    assert f"{MAX_BODY_BYTES:,} bytes" in response.json()["detail"]
    assert response.json()["instance"] == "/strategies/validate"
    assert response.json()["errors"] == [{"pointer": "/body", "detail": f"more than {MAX_BODY_BYTES:,} bytes"}]
    assert sent < 64, "the whole body was read before refusing it"


async def test_the_json_form_is_bounded_the_same_way(api: Api) -> None:
    """`{"yaml": "..."}` (StrategySource, what generated clients send) is held to the same bounds:
    every hostile case gets the answer its YAML body gets. One API for the whole corpus."""
    peak = _peak_kb()
    for case in CORPUS:
        for path in PATHS:
            response = await asyncio.wait_for(
                api.http.post(path, json={"yaml": case.text}, headers=api.as_("strategist")), SECONDS
            )
            _assert_names_where_and_what(response, case)
    assert _peak_kb() - peak < MAX_PEAK_GROWTH_KB


async def test_json_nested_too_deeply_is_a_400_not_a_crash(api: Api) -> None:
    body = b"[" * 100_000 + b"]" * 100_000
    response = await asyncio.wait_for(
        api.http.post(
            "/strategies/validate", content=body, headers=api.as_("strategist", **{"Content-Type": "application/json"})
        ),
        SECONDS,
    )
    assert response.status_code == 400, response.text
    assert "too deeply nested" in response.json()["detail"]
