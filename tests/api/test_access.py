"""Access and the cross-cutting HTTP contract: API keys (hashed, revocable, from the CLI),
problem+json errors, the Idempotency-Key replay store and the body size limit. A test-only route
stands in for "any state-changing POST" so the middleware is tested on its own; the role matrix
(tests/api/test_role_matrix.py) covers the real endpoints."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from api_harness import Api, api_settings
from fastapi import APIRouter, FastAPI
from pydantic import BaseModel
from sqlalchemy import event, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from api.app import create_app
from api.auth import issue_key, revoke_key
from api.deps import Admin, IdempotencyKeyHeader
from api.errors import ProblemError
from cli.main import app as cli
from config import get_settings
from db.models import ApiKey, IdempotencyRecord

PROBLEM = "application/problem+json"
# The counting app's client, the calls that really ran, and keys of two admins.
Bare = tuple[httpx.AsyncClient, list[int], dict[str, str]]


class Transfer(BaseModel):
    amount: int
    note: str = ""


def counting_app(sessions: sessionmaker[Session], max_body: int = 20 * 1024 * 1024) -> tuple[FastAPI, list[int]]:
    """The real app plus POST /test/transfers, which counts how often it really ran."""
    calls: list[int] = []
    app = create_app(api_settings(api_max_body_bytes=max_body), sessions=sessions)
    router = APIRouter()

    @router.post("/test/transfers", status_code=201)
    def transfer(body: Transfer, who: Admin, idempotency_key: IdempotencyKeyHeader = None) -> dict[str, object]:
        if body.amount == 500:
            raise RuntimeError("provider down")  # an unexpected failure: a 500, not stored
        if body.amount < 0:
            raise ProblemError(422, "amount must not be negative")
        calls.append(body.amount)
        return {"run": len(calls), "amount": body.amount, "by": who.subject}

    app.include_router(router)
    return app, calls


@pytest.fixture
async def bare(sessions: sessionmaker[Session]) -> AsyncIterator[Bare]:
    """The counting app without Temporal (these routes never call it), with an admin and a second admin."""
    app, calls = counting_app(sessions)
    with sessions() as session:
        keys = {who: issue_key(session, who, "admin").key for who in ("root", "other")}
        session.commit()
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http, calls, keys


class TestApiKeys:
    async def test_health_needs_no_key(self, api: Api) -> None:
        response = await api.http.get("/health")
        assert response.status_code == 200

    async def test_missing_unknown_and_revoked_keys_are_401_problems(self, api: Api) -> None:
        response = await api.http.get("/strategies")
        assert response.status_code == 401
        assert response.headers["content-type"] == PROBLEM
        assert "X-API-Key" in response.json()["detail"]
        assert "WWW-Authenticate" in response.headers

        response = await api.http.get("/strategies", headers={"X-API-Key": "ck_00000000_not-a-key"})
        assert response.status_code == 401

        assert (await api.http.get("/strategies", headers=api.as_("strategist"))).status_code == 200
        with api.sessions() as session:
            prefix = session.scalars(select(ApiKey.prefix).where(ApiKey.subject == "sofia")).one()
            assert revoke_key(session, prefix)
            session.commit()
        response = await api.http.get("/strategies", headers=api.as_("strategist"))
        assert response.status_code == 401
        assert "revoked" in response.json()["detail"]

    async def test_me_says_whose_key_it_is(self, api: Api) -> None:
        response = await api.http.get("/me", headers=api.as_("agent"))
        assert response.status_code == 200, response.text
        assert response.json() == {"subject": "ana", "role": "agent", "queues": ["calls"]}
        assert (await api.http.get("/me", headers=api.as_("supervisor"))).json()["role"] == "supervisor"
        assert (await api.http.get("/me", headers={"X-API-Key": "ck_00000000_not-a-key"})).status_code == 401

    def test_only_a_hash_is_stored(self, sessions: sessionmaker[Session]) -> None:
        with sessions() as session:
            issued = issue_key(session, "ana", "agent", ["calls"])
            session.commit()
            row = session.scalars(select(ApiKey)).one()
        assert issued.key.startswith(f"ck_{issued.prefix}_")
        assert issued.key not in (row.key_hash, row.prefix)
        assert len(row.key_hash) == 64
        assert row.queues == ["calls"]

    def test_unknown_role_is_refused(self, sessions: sessionmaker[Session]) -> None:
        with sessions() as session, pytest.raises(ValueError, match="unknown role 'boss'"):
            issue_key(session, "ana", "boss")


class TestRoundTrips:
    """What every authenticated request costs the database: one pooled connection shared by the
    key check and the endpoint, no liveness ping. Each extra checkout is a BEGIN and a COMMIT or
    ROLLBACK more, which at 50 callers doubled a list request's round trips (docs/benchmarks.md)."""

    async def test_an_authenticated_request_uses_one_connection_and_no_ping(
        self, bare: Bare, sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        http, _, keys = bare
        engine = sessions.kw["bind"]
        checkouts: list[int] = []
        pings: list[int] = []
        event.listen(engine, "checkout", lambda *_: checkouts.append(1))
        real_ping = engine.dialect.do_ping
        monkeypatch.setattr(engine.dialect, "do_ping", lambda conn: pings.append(1) or real_ping(conn))
        for path in ("/strategies", "/campaigns", "/accounts?limit=5"):
            checkouts.clear()
            response = await http.get(path, headers={"X-API-Key": keys["root"]})
            assert response.status_code == 200, response.text
            assert len(checkouts) == 1, path
        assert pings == []

    @pytest.fixture
    def cli_env(self, migrated_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
        monkeypatch.setenv("COLLECT_DATABASE_URL", migrated_url)
        get_settings.cache_clear()
        yield CliRunner()
        get_settings.cache_clear()

    def test_create_list_revoke(self, cli_env: CliRunner, migrated_url: str) -> None:
        created = cli_env.invoke(cli, ["api-key", "create", "ana", "--role", "agent", "--queue", "calls"])
        assert created.exit_code == 0, created.output
        key = created.stdout.strip()
        assert key.startswith("ck_")
        prefix = key.split("_")[1]

        listed = cli_env.invoke(cli, ["api-key", "list"])
        assert listed.exit_code == 0
        assert prefix in listed.stdout
        assert "calls" in listed.stdout
        assert key not in listed.stdout

        revoked = cli_env.invoke(cli, ["api-key", "revoke", prefix])
        assert revoked.exit_code == 0
        again = cli_env.invoke(cli, ["api-key", "revoke", prefix])
        assert again.exit_code == 1
        assert "no live key" in again.stderr

    def test_bad_role_is_a_usage_error(self, cli_env: CliRunner) -> None:
        result = cli_env.invoke(cli, ["api-key", "create", "ana", "--role", "boss"])
        assert result.exit_code == 2
        assert "unknown role 'boss'" in result.stderr


class TestProblems:
    async def test_unknown_path_and_method(self, api: Api) -> None:
        response = await api.http.get("/no/such/thing", headers=api.as_("admin"))
        assert response.status_code == 404
        assert response.headers["content-type"] == PROBLEM
        assert response.json()["status"] == 404
        response = await api.http.delete("/health")
        assert response.status_code == 405
        assert response.headers["content-type"] == PROBLEM

    async def test_schema_violation_points_at_the_field(self, bare: Bare) -> None:
        http, _, keys = bare
        response = await http.post("/test/transfers", json={"amount": "lots"}, headers={"X-API-Key": keys["root"]})
        assert response.status_code == 422
        assert response.headers["content-type"] == PROBLEM
        assert response.json()["errors"][0]["pointer"] == "/body/amount"

    async def test_body_over_the_limit_is_413(self, sessions: sessionmaker[Session]) -> None:
        app, calls = counting_app(sessions, max_body=1000)
        with sessions() as session:
            key = issue_key(session, "root", "admin").key
            session.commit()
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
            big = {"amount": 1, "note": "x" * 2000}
            response = await http.post("/test/transfers", json=big, headers={"X-API-Key": key})
            assert response.status_code == 413
            assert response.headers["content-type"] == PROBLEM

            async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it streams
                yield b'{"amount": 1, "note": "'
                for _ in range(5):
                    yield b"y" * 400
                yield b'"}'

            response = await http.post(
                "/test/transfers", content=chunks(), headers={"X-API-Key": key, "Content-Type": "application/json"}
            )
            assert response.status_code == 413
        assert calls == []


class TestIdempotency:
    async def test_same_key_same_body_replays_the_first_answer(self, bare: Bare) -> None:
        http, calls, keys = bare
        headers = {"X-API-Key": keys["root"], "Idempotency-Key": "k-1"}
        first = await http.post("/test/transfers", json={"amount": 10}, headers=headers)
        again = await http.post("/test/transfers", json={"amount": 10}, headers=headers)
        assert first.status_code == again.status_code == 201
        assert again.json() == first.json() == {"run": 1, "amount": 10, "by": "root"}
        assert again.headers["idempotent-replayed"] == "true"
        assert "idempotent-replayed" not in first.headers
        assert calls == [10]

    async def test_same_key_other_body_is_409(self, bare: Bare) -> None:
        http, calls, keys = bare
        headers = {"X-API-Key": keys["root"], "Idempotency-Key": "k-2"}
        await http.post("/test/transfers", json={"amount": 10}, headers=headers)
        other = await http.post("/test/transfers", json={"amount": 11}, headers=headers)
        assert other.status_code == 409
        assert other.headers["content-type"] == PROBLEM
        assert "another request" in other.json()["detail"]
        assert calls == [10]

    async def test_keys_belong_to_their_caller(self, bare: Bare) -> None:
        http, calls, keys = bare
        for who in ("root", "other"):
            response = await http.post(
                "/test/transfers", json={"amount": 7}, headers={"X-API-Key": keys[who], "Idempotency-Key": "shared"}
            )
            assert response.json()["by"] == who
        assert calls == [7, 7]

    async def test_errors_are_kept_but_failures_are_not(self, bare: Bare, sessions: sessionmaker[Session]) -> None:
        http, _, keys = bare
        headers = {"X-API-Key": keys["root"], "Idempotency-Key": "k-3"}
        refused = await http.post("/test/transfers", json={"amount": -1}, headers=headers)
        assert refused.status_code == 422
        replayed = await http.post("/test/transfers", json={"amount": -1}, headers=headers)
        assert replayed.status_code == 422
        assert replayed.headers["idempotent-replayed"] == "true"

        crash = {"X-API-Key": keys["root"], "Idempotency-Key": "k-4"}
        assert (await http.post("/test/transfers", json={"amount": 500}, headers=crash)).status_code == 500
        with sessions() as session:
            assert session.scalar(select(IdempotencyRecord).where(IdempotencyRecord.key == "k-4")) is None

    async def test_without_a_key_every_post_runs(self, bare: Bare) -> None:
        http, calls, keys = bare
        for _ in range(2):
            await http.post("/test/transfers", json={"amount": 3}, headers={"X-API-Key": keys["root"]})
        assert calls == [3, 3]

    async def test_overlong_key_is_400(self, bare: Bare) -> None:
        http, calls, keys = bare
        headers = {"X-API-Key": keys["root"], "Idempotency-Key": "k" * 256}
        response = await http.post("/test/transfers", json={"amount": 1}, headers=headers)
        assert response.status_code == 400
        assert response.headers["content-type"] == PROBLEM
        assert calls == []
