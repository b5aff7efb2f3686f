"""Alembic environment: migrates `db.base.Base.metadata` on SQLite or PostgreSQL.

The URL comes from, in order: an open connection in `config.attributes["connection"]` (tests, embedding),
`alembic -x url=...`, `config.attributes["url"]` (set by `db.migrate`), then `Settings.database_url`.
"""

from __future__ import annotations

from logging.config import fileConfig
from typing import Any

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy import Connection

import db.models  # noqa: F401 - registers every table on the metadata
from config import get_settings
from db.base import Base, UTCDateTime
from db.session import make_engine

config = context.config
target_metadata = Base.metadata

# Programmatic runs (db.migrate, tests) keep the host's logging; fileConfig would reset it.
if config.config_file_name is not None and config.attributes.get("configure_logger", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def _url() -> str:
    from_cli = context.get_x_argument(as_dictionary=True).get("url")
    if from_cli:
        return from_cli
    from_caller: str | None = config.attributes.get("url")
    return from_caller or get_settings().database_url


def _render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | bool:
    # Revisions must not import application code (it changes; they must not), so the UTC wrapper is
    # written as the plain column type it stores.
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


_COMMON: dict[str, Any] = {
    "target_metadata": target_metadata,
    "compare_type": True,
    # SQLite cannot ALTER most things; batch mode rebuilds the table instead (a no-op wrapper elsewhere).
    "render_as_batch": True,
    "render_item": _render_item,
}


def run_migrations_offline() -> None:
    """Emit SQL to stdout (`alembic upgrade head --sql`) without connecting."""
    context.configure(url=_url(), literal_binds=True, dialect_opts={"paramstyle": "named"}, **_COMMON)
    with context.begin_transaction():
        context.run_migrations()


def _run(connection: Connection, **options: Any) -> None:
    context.configure(connection=connection, **options, **_COMMON)
    with context.begin_transaction():
        context.run_migrations()
        if connection.dialect.name == "sqlite":
            _check_sqlite_foreign_keys(connection)


def _check_sqlite_foreign_keys(connection: Connection) -> None:
    # Our engine runs SQLite migrations with foreign keys off (batch rebuilds need it), so verify them
    # before committing rather than discover dangling rows later.
    violations = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if violations:
        raise RuntimeError(f"migration left foreign key violations: {violations[:10]}")


def run_migrations_online() -> None:
    """Migrate through the caller's connection, or through a fresh engine for the resolved URL."""
    connection: Connection | None = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return

    engine = make_engine(_url(), sqlite_foreign_keys=False)
    try:
        with engine.connect() as conn:
            # make_engine gives SQLite real transactions, so a failed migration rolls back completely.
            _run(conn, transactional_ddl=True if conn.dialect.name == "sqlite" else None)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
