"""Request dependencies as `Annotated` aliases: the database session (the request is the unit of
work: committed when the endpoint returns, rolled back when it raises), Temporal, settings, the box
for secrets at rest, and one caller type per set of admitted roles, and the time (`NowDep`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Header, Request

from api.auth import AGENTS, PLANNERS, STEERERS, STRATEGISTS, WORKERS, Principal, require
from api.request_session import SessionDep as SessionDep  # re-exported: routers take every dependency from here
from api.temporal import TemporalGateway
from config import Settings
from services.secrets_at_rest import SecretBox


def _temporal(request: Request) -> TemporalGateway:
    gateway: TemporalGateway = request.app.state.temporal
    return gateway


Clock = Callable[[], Awaitable[datetime]]


async def system_clock() -> datetime:
    return datetime.now(UTC)


async def _now(request: Request) -> datetime:
    """The request's moment, from the app's clock (the machine's; tests give the Temporal test
    server's, so the API and the workflows agree on what day it is)."""
    clock: Clock = request.app.state.clock
    return await clock()


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _secrets(request: Request) -> SecretBox:
    """The box for secrets at rest, made on first use (the payload keys, or the development key that
    the API's Temporal client uses too): an app that never touches one creates no key file."""
    box: SecretBox | None = getattr(request.app.state, "secrets", None)
    if box is None:
        box = request.app.state.secrets = SecretBox.from_settings(_settings(request))
    return box


TemporalDep = Annotated[TemporalGateway, Depends(_temporal)]
SecretsDep = Annotated[SecretBox, Depends(_secrets)]
SettingsDep = Annotated[Settings, Depends(_settings)]
NowDep = Annotated[datetime, Depends(_now)]

Admin = Annotated[Principal, Depends(require())]
Strategist = Annotated[Principal, Depends(require(*STRATEGISTS))]
Supervisor = Annotated[Principal, Depends(require(*STEERERS))]
Agent = Annotated[Principal, Depends(require(*AGENTS))]
# Reading strategies, campaigns and accounts: everyone who plans or steers.
Planner = Annotated[Principal, Depends(require(*PLANNERS))]
# Working accounts: agents (limited to their own work) and supervisors.
AgentOrSupervisor = Annotated[Principal, Depends(require(*WORKERS))]

# Documents the header on every state-changing POST; api/idempotency.py does the work.
IdempotencyKeyHeader = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=255,
        description="Repeat a POST safely: the same key and body return the first answer; another body, 409.",
    ),
]
