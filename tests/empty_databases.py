"""Empty databases for tests: a SQLite file, or a throwaway schema on the PostgreSQL server that
TEST_DATABASE_URL names, dropped afterwards. Used by the per-test `database_url` fixture and by
the live stacks (tests/live_stack.py users), which need one for a whole module."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import text

from db.session import make_engine, normalize_url

POSTGRES_ENV = "TEST_DATABASE_URL"


def postgres_server() -> str | None:
    """The PostgreSQL server to test against, or None when TEST_DATABASE_URL is not set."""
    return os.environ.get(POSTGRES_ENV) or None


@contextmanager
def throwaway_database(kind: str, folder: Path) -> Iterator[str]:
    """URL of a fresh, empty database of `kind` (sqlite | postgresql); the caller skips the
    PostgreSQL variant when `postgres_server()` is None."""
    if kind == "sqlite":
        yield f"sqlite:///{folder / 'test.db'}"
        return
    server = postgres_server()
    assert server, f"{POSTGRES_ENV} is not set: skip the PostgreSQL variant before asking for it"
    schema = f"t_{uuid.uuid4().hex[:10]}"
    admin = make_engine(server)
    try:
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        # search_path makes the schema the default for everything the test does, Alembic included;
        # the application name tags every connection the test opens (its processes' too).
        scoped = normalize_url(server).update_query_dict(
            {"options": f"-csearch_path={schema}", "application_name": schema}
        )
        yield scoped.render_as_string(hide_password=False)
    finally:
        with admin.begin() as connection:
            # A connection the test leaked (a killed process, an engine never disposed) may hold
            # locks in the schema: end it, so the drop below cannot wait for it forever.
            connection.execute(
                text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = :schema"),
                {"schema": schema},
            )
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()
