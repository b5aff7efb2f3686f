"""Shared fixtures. Database tests run on SQLite always, and on PostgreSQL when TEST_DATABASE_URL is set
(e.g. `postgresql+psycopg://postgres@127.0.0.1:5432/test`); each test gets its own empty database."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from clock import pinned_server
from databases import POSTGRES_ENV, dump_schema, fresh_database, restore_schema
from fakes.providers import fake_sendgrid, fake_twilio  # noqa: F401  (fixtures for every test package)
from sqlalchemy.orm import Session, sessionmaker
from temporalio.testing import WorkflowEnvironment
from workers import product_converter, test_server_path

from db.migrate import upgrade
from db.session import make_engine, make_session_factory
from domain.zone_rules import use_pinned_zone_rules
from workflows import search_attributes


def pytest_configure(config: pytest.Config) -> None:
    """Zone rules from the locked tzdata package, as in the worker and the API: before any test
    module builds a ZoneInfo."""
    use_pinned_zone_rules()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """URL of a fresh, empty database: a SQLite file, or a throwaway PostgreSQL schema dropped afterwards."""
    with fresh_database(request.param, tmp_path) as url:
        yield url


@pytest.fixture(scope="session")
def migrated_sqlite_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file upgraded to the latest Alembic revision, once per test process."""
    path = tmp_path_factory.mktemp("migrated") / "head.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def migrated_postgres_script(tmp_path_factory: pytest.TempPathFactory) -> str | None:
    """SQL recreating a PostgreSQL schema upgraded to the latest Alembic revision (pg_dump of one
    upgraded once per process); None without TEST_DATABASE_URL or pg_dump."""
    if not os.environ.get(POSTGRES_ENV):
        return None
    with fresh_database("postgresql", tmp_path_factory.mktemp("migrated")) as url:
        upgrade(url)
        return dump_schema(url)


@pytest.fixture
def migrated_url(database_url: str, request: pytest.FixtureRequest) -> str:
    """`database_url` upgraded to the latest Alembic revision. The upgrade runs once per test
    process and each test gets a copy of its result (it cost a second or two per test): on SQLite
    the upgraded file (all of a SQLite database is in it, Alembic's engine being closed), on
    PostgreSQL the upgraded schema as pg_dump recreates it (tables, constraints, indexes,
    sequences and rows); without pg_dump, each schema is upgraded."""
    if database_url.startswith("sqlite:///"):
        target = Path(database_url.removeprefix("sqlite:///"))
        assert not target.exists(), f"{target} is not a fresh database"
        shutil.copyfile(request.getfixturevalue("migrated_sqlite_file"), target)
        return database_url
    script = request.getfixturevalue("migrated_postgres_script")
    if script is None:
        upgrade(database_url)
    else:
        restore_schema(database_url, script)
    return database_url


@pytest.fixture
def sessions(migrated_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(migrated_url)
    yield make_session_factory(engine)
    engine.dispose()


@pytest.fixture(scope="session")
def pinned_test_server(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The time-skipping server, launched so that its clock starts on the suite's fixed day."""
    return pinned_server(test_server_path(), tmp_path_factory.mktemp("temporal"))


@pytest.fixture
async def env(pinned_test_server: str) -> AsyncIterator[WorkflowEnvironment]:
    """Temporal's time-skipping server; its clock starts at TEST_NOW (tests/clock.py)."""
    async with await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=pinned_test_server, data_converter=product_converter()
    ) as environment:
        await search_attributes.ensure_registered(environment.client, "default")
        yield environment
