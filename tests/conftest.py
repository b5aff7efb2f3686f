"""Shared fixtures. Database tests run on SQLite always, and on PostgreSQL when TEST_DATABASE_URL is set
(e.g. `postgresql+psycopg://postgres@127.0.0.1:5432/test`); each test gets its own empty database."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from clock import pinned_server
from databases import fresh_database
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


@pytest.fixture
def migrated_url(database_url: str) -> str:
    """`database_url` upgraded to the latest Alembic revision."""
    upgrade(database_url)
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
