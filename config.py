"""Process settings: the only place that reads the environment.

Everything else receives a `Settings` (or the values it needs) explicitly, so tests can build their own
instead of patching the environment. Variables are prefixed `COLLECT_` (e.g. `COLLECT_DATABASE_URL`).
"""

from __future__ import annotations

from functools import lru_cache

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Database, Temporal and channel configuration; a missing channel credential means "use the sandbox"."""

    model_config = SettingsConfigDict(env_prefix="COLLECT_", extra="ignore")

    database_url: str = "sqlite:///collect.db"

    temporal_address: str = "localhost:7233"
    temporal_namespace: str = "default"
    temporal_task_queue: str = "collect"
    temporal_tls: bool = False
    temporal_tls_cert_path: str | None = None
    temporal_tls_key_path: str | None = None
    temporal_api_key: SecretStr | None = None

    sendgrid_api_key: SecretStr | None = None
    sendgrid_from_email: str = "cobranza@example.com"
    sendgrid_from_name: str = "Collections"
    # Lets tests point the adapter at a local fake instead of api.sendgrid.com.
    sendgrid_host: str | None = None

    twilio_account_sid: str | None = None
    twilio_auth_token: SecretStr | None = None
    twilio_from_sms: str | None = None
    twilio_from_whatsapp: str | None = None
    twilio_from_voice: str | None = None
    # Same purpose as sendgrid_host: a local fake for tests.
    twilio_base_url: str | None = None
    # Twilio must reach the webhook from the internet, so the public URL cannot be derived from the bind address.
    status_callback_base_url: str | None = None

    # API: the largest request body accepted (account imports are the big ones).
    api_max_body_bytes: int = 20 * 1024 * 1024
    # Webhook secrets. SendGrid signs events with ECDSA; this is its public key (base64 DER, as
    # SendGrid shows it). Twilio signs with the account's auth token (twilio_auth_token). Payment
    # providers sign the raw body with HMAC-SHA256 under this shared secret.
    sendgrid_webhook_public_key: str | None = None
    payment_webhook_secret: SecretStr | None = None
    # Signed webhooks older than this are refused (replay protection).
    webhook_tolerance_s: int = 300
    # The public base URL Twilio calls (Twilio signs the URL it used, not the one behind a proxy).
    public_base_url: str | None = None
    # What one message costs, per channel, in minor units of the campaign's currency; feeds the
    # cost-per-amount-collected KPI. JSON in the environment, e.g. {"sms": 8, "email": 0}.
    channel_costs: dict[str, int] = {"email": 0, "sms": 0, "whatsapp": 0, "voice": 0, "letter": 0}

    log_level: str = "INFO"
    # Workflows a worker keeps in memory between tasks (sticky execution). 0 turns stickiness
    # off: every task may go to any worker, at the cost of replaying history each time.
    worker_max_cached_workflows: int = 1000


@lru_cache
def get_settings() -> Settings:
    """Settings read once per process; call `get_settings.cache_clear()` in tests that change the environment."""
    return Settings()
