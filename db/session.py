"""Engine and session factories for SQLite (development, tests) and PostgreSQL via psycopg 3.

Callers pass the URL explicitly (normally `Settings.database_url`); nothing here reads the environment.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session, sessionmaker

# Without an explicit driver SQLAlchemy would pick psycopg2, which this project does not install.
_POSTGRES_ALIASES = frozenset({"postgresql", "postgres"})


def normalize_url(url: str | URL) -> URL:
    """Parse `url`, pointing bare `postgresql://` (and Heroku-style `postgres://`) URLs at psycopg 3."""
    parsed = make_url(url)
    if parsed.drivername in _POSTGRES_ALIASES:
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def make_engine(url: str | URL, *, sqlite_foreign_keys: bool = True) -> Engine:
    """An engine for `url`; SQLite connections get foreign keys, WAL and real transactions.

    `sqlite_foreign_keys=False` exists for migrations only: rebuilding a referenced table in Alembic batch
    mode would otherwise cascade or fail, so the migration env turns checks off and verifies them afterwards.
    """
    parsed = normalize_url(url)
    if parsed.get_backend_name() != "sqlite":
        # Long-lived worker and API processes outlive server-side idle timeouts: connections are
        # replaced after 30 minutes instead of pinged on every checkout (a ping is one more round
        # trip per request; docs/benchmarks.md). A connection the server dropped anyway fails one
        # statement, and SQLAlchemy then discards the whole pool, so the next request reconnects.
        return create_engine(parsed, pool_recycle=1800)

    # The worker runs sync activities on a thread pool that shares this engine's pool.
    engine = create_engine(parsed, connect_args={"check_same_thread": False})
    _configure_sqlite(engine, foreign_keys=sqlite_foreign_keys)
    return engine


def _configure_sqlite(engine: Engine, *, foreign_keys: bool) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Hand transaction control to SQLAlchemy: pysqlite's implicit BEGIN skips DDL and SELECTs, which
        # breaks SAVEPOINTs (per-test rollback) and makes a failed migration leave half a schema behind.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA foreign_keys = {'ON' if foreign_keys else 'OFF'}")
            # WAL lets readers (API) proceed while a writer (worker) commits; a no-op for :memory:.
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA busy_timeout = 30000")  # writers queue for the lock instead of failing
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # IMMEDIATE: a deferred transaction that reads and then writes cannot wait for the write lock
        # (SQLite answers "database is locked" at once to avoid a deadlock), and the worker's
        # activity threads do exactly that concurrently. In WAL mode readers are never blocked.
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions bound to `engine`; objects stay readable after commit so results can be returned."""
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit if the block succeeds, roll back if it raises, always close."""
    with factory() as session:
        try:
            yield session
        except BaseException:
            session.rollback()
            raise
        session.commit()
