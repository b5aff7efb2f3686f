"""Fresh databases for tests: a SQLite file, or a throwaway PostgreSQL schema on the server that
TEST_DATABASE_URL names (e.g. `postgresql+psycopg://postgres@127.0.0.1:5432/test`)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import text

from db.session import make_engine, normalize_url

POSTGRES_ENV = "TEST_DATABASE_URL"


@contextmanager
def fresh_database(kind: str, folder: Path) -> Iterator[str]:
    """A fresh, empty database of `kind` (sqlite: a file in `folder`; postgresql: a schema of
    TEST_DATABASE_URL's server, dropped afterwards, or the test is skipped when it is not set)."""
    if kind == "sqlite":
        yield f"sqlite:///{folder / 'test.db'}"
        return

    server_url = os.environ.get(POSTGRES_ENV)
    if not server_url:
        pytest.skip(f"{POSTGRES_ENV} is not set; PostgreSQL variant not run")
    schema = f"t_{uuid.uuid4().hex[:10]}"
    admin = make_engine(server_url)
    try:
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        # search_path makes the schema the default for everything the test does, Alembic included;
        # the application name tags every connection the test opens (its processes' too).
        scoped = normalize_url(server_url).update_query_dict(
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
