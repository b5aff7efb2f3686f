"""The FastAPI application: `create_app(settings)` wires settings, the database, Temporal, the
problem+json handlers, the body limit, idempotency, the routers (one per audience) and the web
console with the API's documentation pages (console/app.py).

`uvicorn --factory api.app:create_app` serves it; `collect api serve` does the same with settings
from the environment. Tests pass their own session factory and Temporal client.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Literal

from fastapi import FastAPI
from pydantic import BaseModel
from sqlalchemy.orm import Session, sessionmaker
from temporalio.client import Client

from api import errors
from api.cors import CodecCorsMiddleware
from api.deps import Clock, system_clock
from api.idempotency import IdempotencyMiddleware
from api.limits import BodyLimitMiddleware
from api.openapi import describe_hand_read_bodies, operation_id
from api.routers import agents, campaigns, codec, kpis, me, payments, strategies, supervisors, webhooks
from api.schemas.account_rows import AccountRow
from api.schemas.strategies import StrategySource
from api.schemas.webhooks import TWILIO_INBOUND_FORM, TWILIO_STATUS_FORM, PaymentEvent, SendGridEvent
from api.temporal import TemporalGateway
from config import Settings, get_settings
from console import app as console
from db.session import make_engine, make_session_factory
from domain.zone_rules import use_pinned_zone_rules
from services import campaign_notify
from workflows.connect import connect
from workflows.converter import current_key_id

log = logging.getLogger("collect.api")

DESCRIPTION = """
Collection campaigns run as durable workflows, one per account.

* **Strategists** validate, publish, diff and simulate strategies; create campaigns, import accounts
  and launch them.
* **Agents** work their queue of tasks and record outcomes, promises, plans and notes.
* **Supervisors** list accounts, read KPIs and steer accounts and campaigns.
* **Providers** (SendGrid, Twilio, payment processors) call the signed webhooks.
* **Temporal's Web UI and CLI** open the product's encrypted payloads through the codec endpoint
  (supervisors and admins).

Authenticate with a personal key in `X-API-Key`. Every state-changing POST accepts an
`Idempotency-Key`. Errors are `application/problem+json` (RFC 9457).
"""


class Health(BaseModel):
    status: Literal["ok"] = "ok"


def create_app(
    settings: Settings | None = None,
    *,
    sessions: sessionmaker[Session] | None = None,
    client: Client | None = None,
    clock: Clock = system_clock,
) -> FastAPI:
    settings = settings or get_settings()
    use_pinned_zone_rules()  # before any ZoneInfo: quiet hours and dates follow the locked tzdata
    if sessions is None:
        sessions = make_session_factory(make_engine(settings.database_url))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if client is None:
            app.state.temporal = TemporalGateway(await connect(settings), settings.temporal_task_queue)
        # After connecting: the client's converter made the development key, if one is used.
        await asyncio.to_thread(campaign_notify.warn_unsealed, sessions, current_key_id(settings), log)
        yield

    app = FastAPI(
        title="Collect: collection campaign orchestrator",
        version="0.4.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        responses=errors.PROBLEM_RESPONSES,
        # /docs and /redoc are served with pinned local assets by console.install, not from a CDN.
        docs_url=None,
        redoc_url=None,
        generate_unique_id_function=operation_id,
    )
    app.state.settings = settings
    app.state.sessions = sessions
    app.state.clock = clock
    if client is not None:
        app.state.temporal = TemporalGateway(client, settings.temporal_task_queue)
    errors.install(app)
    for router in (me, strategies, campaigns, agents, supervisors, kpis, payments, webhooks, codec):
        app.include_router(router.router)
    console.install(app, settings)

    @app.get("/health", tags=["health"], summary="Liveness: the process answers")
    def health() -> Health:
        return Health()

    describe_hand_read_bodies(
        app,
        [StrategySource, AccountRow, PaymentEvent, SendGridEvent],
        [TWILIO_STATUS_FORM, TWILIO_INBOUND_FORM],
    )

    # Outermost first: the size limit applies before idempotency reads a body.
    app.add_middleware(IdempotencyMiddleware, sessions=sessions)
    app.add_middleware(
        BodyLimitMiddleware,
        max_bytes=settings.api_max_body_bytes,
        per_path={"/strategies": strategies.MAX_BODY_BYTES},
    )
    # Outermost: a refused or failed codec call still carries CORS headers, so the UI can show why.
    app.add_middleware(CodecCorsMiddleware, origins=settings.codec_cors_origins)
    return app
