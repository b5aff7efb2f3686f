"""The request's unit of work: one database session per request, shared by every dependency that
asks for it (the API key check and the endpoint), committed when the endpoint returns and rolled
back when it raises.

Sharing it matters for latency: a separate session for the key check cost a connection checkout,
a BEGIN and a ROLLBACK of its own, which at 50 concurrent callers was a third of a list request's
database round trips (docs/benchmarks.md)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session


def _session(request: Request) -> Iterator[Session]:
    with request.app.state.sessions() as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


# scope="function": commit before the response is sent, so a 2xx means the write is durable.
# FastAPI caches a dependency per request by (callable, scope): every user of this alias gets the
# same session.
SessionDep = Annotated[Session, Depends(_session, scope="function")]
