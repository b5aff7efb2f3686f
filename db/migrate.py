"""Programmatic Alembic: bring a database to the latest schema (used by the worker, API startup and tests)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine

# alembic.ini sits at the repository root, next to the `db` package.
ALEMBIC_INI = Path(__file__).resolve().parent.parent / "alembic.ini"


def alembic_config(url: str) -> Config:
    """An Alembic config for the repository's migrations that targets `url` and leaves logging alone."""
    config = Config(str(ALEMBIC_INI))
    # Passed as an attribute, not sqlalchemy.url, because the ini parser would treat % in URLs as interpolation.
    config.attributes["url"] = url
    config.attributes["configure_logger"] = False
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Run `alembic upgrade <revision>` (default head) against `url`."""
    command.upgrade(alembic_config(url), revision)


def current_revision(url: str) -> str | None:
    """The revision the database at `url` is at (None before the first migration)."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


def downgrade(url: str, revision: str) -> None:
    """Run `alembic downgrade <revision>` against `url` (e.g. "base" in tests)."""
    command.downgrade(alembic_config(url), revision)
