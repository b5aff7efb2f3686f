"""Rows as an older revision holds them, and a session after the upgrade: for the tests of what a
migration does to data already there, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy import MetaData
from sqlalchemy.orm import Session

from db.migrate import upgrade
from db.session import make_engine

Insert = Callable[..., None]  # insert(table name, *rows as dicts)


@contextmanager
def upgraded_session(url: str, before: str, write: Callable[[Insert], None]) -> Iterator[Session]:
    """Upgrade to `before`, let `write` insert rows into the tables as that revision has them,
    upgrade to the head, and open a session on the result."""
    upgrade(url, before)
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            tables = MetaData()
            tables.reflect(connection)

            def insert(name: str, *rows: dict[str, object]) -> None:
                connection.execute(tables.tables[name].insert(), list(rows))

            write(insert)
    finally:
        engine.dispose()
    upgrade(url)
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            yield session
    finally:
        engine.dispose()
