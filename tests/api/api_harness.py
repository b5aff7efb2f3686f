"""What API tests share: settings for the app under test, the callers (one key per role, plus
agents in and out of the `calls` queue) and the `Api` handle the `api` fixture yields."""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx
from sqlalchemy.orm import Session, sessionmaker
from temporalio.testing import WorkflowEnvironment
from workers import TASK_QUEUE, payload_settings

from config import Settings

WEBHOOK_SECRET = "payment-webhook-secret"  # khipu's
# Every payment provider the app under test knows, each with its own secret.
PAYMENT_SECRETS = {"khipu": WEBHOOK_SECRET, **{f"prov{i}": f"prov{i}-webhook-secret" for i in range(20)}}
TWILIO_TOKEN = "twilio-test-token"
PUBLIC_BASE_URL = "https://collect.example"


@dataclass
class Api:
    """The app under test, with a key per caller: `as_("strategist")` gives that caller's headers.
    `transport` reaches the same app, for clients other than `http` (a generated one)."""

    http: httpx.AsyncClient
    transport: httpx.AsyncBaseTransport
    sessions: sessionmaker[Session]
    env: WorkflowEnvironment
    settings: Settings
    keys: dict[str, str] = field(default_factory=dict)

    def as_(self, who: str, **extra: str) -> dict[str, str]:
        return {"X-API-Key": self.keys[who], **extra}


def api_settings(**overrides: object) -> Settings:
    values: dict[str, object] = {
        "database_url": "sqlite://",  # unused: the app gets the test's session factory
        "temporal_task_queue": TASK_QUEUE,
        "payment_webhook_secrets": PAYMENT_SECRETS,
        "twilio_auth_token": TWILIO_TOKEN,
        "public_base_url": PUBLIC_BASE_URL,
        **payload_settings(),
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


CALLERS = {
    "admin": ("root", "admin", []),
    "strategist": ("sofia", "strategist", []),
    "supervisor": ("marta", "supervisor", []),
    "agent": ("ana", "agent", ["calls"]),
    "other_agent": ("beto", "agent", ["calls"]),
    "outsider_agent": ("carla", "agent", ["legal"]),
}
