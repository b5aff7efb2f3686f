"""The CLI tests' fixtures: one live stack per database (SQLite, and PostgreSQL when
TEST_DATABASE_URL is set) for the whole package, and `collect`, which runs a command in process
as a given caller against it and returns typer's result."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_stack import LEGAL_BALANCE, Collect, Desk, Stack, open_desk, served_stack
from databases import fresh_database
from typer.testing import CliRunner, Result

from cli.main import app
from db.migrate import upgrade
from db.session import make_engine, make_session_factory


@pytest.fixture(scope="package", params=["sqlite", "postgresql"])
def stack(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, pinned_test_server: str
) -> Iterator[Stack]:
    with fresh_database(request.param, tmp_path_factory.mktemp("cli-db")) as url:
        upgrade(url)
        engine = make_engine(url)
        try:
            with served_stack(make_session_factory(engine), pinned_test_server) as served:
                yield served
        finally:
            engine.dispose()


@pytest.fixture(scope="package")
def shared(stack: Stack) -> Desk:
    """A campaign the tests only read (or are refused on), never change: two calls waiting in its
    queue (150,000 and 900,000 CLP) and a legal referral waiting for approval (account 3)."""
    return open_desk(stack, [150_000, 900_000, LEGAL_BALANCE])


@pytest.fixture
def profile_file(tmp_path: Path) -> Path:
    """Where `collect login` writes in this test (never the person's own ~/.config)."""
    return tmp_path / "collect" / "profile.json"


@pytest.fixture
def collect(stack: Stack, profile_file: Path) -> Collect:
    """`collect(*args, as_="agent")`: run one command as that caller (a key, or a caller's name)."""
    runner = CliRunner()

    def run(
        *args: str, as_: str | None = "strategist", env: dict[str, str | None] | None = None, **kwargs: object
    ) -> Result:
        values: dict[str, str | None] = {"COLLECT_PROFILE": str(profile_file), "COLLECT_API_URL": stack.url}
        if as_ is not None:
            values["COLLECT_API_KEY"] = stack.keys.get(as_, as_)
        values.update(env or {})
        return runner.invoke(app, list(args), env=values, **kwargs)  # type: ignore[arg-type]

    return run
