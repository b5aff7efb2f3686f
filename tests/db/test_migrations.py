"""The Alembic revisions produce exactly the schema the models declare, and can be undone and redone."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

import db.models  # noqa: F401 - registers every table on the metadata
from db.base import Base
from db.migrate import downgrade, upgrade
from db.session import make_engine


def schema_diff(url: str) -> list[object]:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            return list(compare_metadata(context, Base.metadata))
    finally:
        engine.dispose()


def table_names(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


@pytest.fixture
def migrated_url(database_url: str) -> str:
    """Upgraded by Alembic here, not copied from a database it upgraded once (tests/conftest.py):
    these tests are about what the revisions themselves produce."""
    upgrade(database_url)
    return database_url


class TestMigrations:
    def test_head_matches_models(self, migrated_url: str) -> None:
        assert schema_diff(migrated_url) == []

    def test_head_creates_every_model_table(self, migrated_url: str) -> None:
        assert table_names(migrated_url) == set(Base.metadata.tables) | {"alembic_version"}

    def test_downgrade_to_base_then_upgrade_again(self, migrated_url: str) -> None:
        downgrade(migrated_url, "base")
        assert table_names(migrated_url) == {"alembic_version"}

        upgrade(migrated_url)
        assert schema_diff(migrated_url) == []
