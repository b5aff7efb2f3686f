"""The UTC calendar day of a timestamp column, in SQL, on SQLite and PostgreSQL.

Timestamps are stored in UTC (db/base.py UTCDateTime): PostgreSQL keeps `timestamptz`, SQLite a
`YYYY-MM-DD HH:MM:SS.ffffff` string of the UTC time. KPIs count facts by UTC day, so grouping
needs the same day on both, as a date (`utc_day`) or as ISO text (`utc_day_text`).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Date, String
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement


class utc_day(FunctionElement[date]):
    """`utc_day(column)`: the UTC date of a timestamp."""

    type = Date()
    inherit_cache = True
    name = "utc_day"


class utc_day_text(FunctionElement[str]):
    """`utc_day_text(column)`: the UTC date of a timestamp as `YYYY-MM-DD` text."""

    type = String()
    inherit_cache = True
    name = "utc_day_text"


@compiles(utc_day, "postgresql")
def _pg_day(element: utc_day, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST(timezone('UTC', {compiler.process(element.clauses, **kw)}) AS DATE)"


@compiles(utc_day_text, "postgresql")
def _pg_day_text(element: utc_day_text, compiler: SQLCompiler, **kw: Any) -> str:
    # to_char, not a cast: a cast's text follows the session's DateStyle.
    return f"to_char(timezone('UTC', {compiler.process(element.clauses, **kw)}), 'YYYY-MM-DD')"


@compiles(utc_day, "sqlite")
@compiles(utc_day_text, "sqlite")
def _sqlite_day(element: FunctionElement[Any], compiler: SQLCompiler, **kw: Any) -> str:
    return f"date({compiler.process(element.clauses, **kw)})"
