"""Fresh databases for tests: a SQLite file, or a throwaway PostgreSQL schema on the server that
TEST_DATABASE_URL names (e.g. `postgresql+psycopg://postgres@127.0.0.1:5432/test`)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
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


def _schema_and_dsn(url: str) -> tuple[str, str]:
    """The schema a `fresh_database` PostgreSQL URL works in, and its server as a libpq URL."""
    parsed = normalize_url(url)
    schema = str(parsed.query["application_name"])
    server = parsed.set(drivername="postgresql", query={})
    return schema, server.render_as_string(hide_password=False)


def dump_schema(url: str) -> str | None:
    """Everything in the schema of `url` (tables, constraints, indexes, sequences and rows) as SQL
    that recreates it, from pg_dump; None where pg_dump is missing."""
    pg_dump = shutil.which("pg_dump")
    if pg_dump is None:
        return None
    schema, dsn = _schema_and_dsn(url)
    dumped = subprocess.run(
        [pg_dump, "--schema", schema, "--inserts", "--no-owner", "--no-privileges", "--dbname", dsn],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    # The test's schema exists already (fresh_database); psql's meta-commands (\restrict) are not
    # SQL; every other line naming the schema names the test's.
    create = re.compile(rf"^CREATE SCHEMA {re.escape(schema)};$", re.MULTILINE)
    script, found = create.subn("", re.sub(r"^\\.*$", "", dumped.stdout, flags=re.MULTILINE))
    assert found == 1, f"pg_dump did not create {schema} once"
    return script.replace(schema, SCHEMA_PLACEHOLDER)


SCHEMA_PLACEHOLDER = "__test_schema__"


def restore_schema(url: str, script: str) -> None:
    """Run a `dump_schema` script in the (empty) schema of `url`."""
    schema, _ = _schema_and_dsn(url)
    engine = make_engine(url)
    try:
        connection = engine.raw_connection()
        try:
            with connection.cursor() as cursor:
                cursor.execute(script.replace(SCHEMA_PLACEHOLDER, schema))
            connection.commit()
        finally:
            connection.close()
    finally:
        engine.dispose()
