"""Process settings: the only place that reads the environment.

Everything else receives a `Settings` (or the values it needs) explicitly, so tests can build their own
instead of patching the environment. Variables are prefixed `COLLECT_` (e.g. `COLLECT_DATABASE_URL`).
"""

from __future__ import annotations

import base64
import binascii
import re
from functools import lru_cache

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# What a payment provider may be called (the webhook's path segment and the ledger's `provider`).
PROVIDER_NAME = re.compile(r"[a-z0-9][a-z0-9_.-]{0,23}")
PAYLOAD_KEY_BYTES = 32  # AES-256-GCM
_KEY_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


class Settings(BaseSettings):
    """Database, Temporal and channel configuration; a missing channel credential means "use the sandbox"."""

    model_config = SettingsConfigDict(env_prefix="COLLECT_", extra="ignore")

    database_url: str = "sqlite:///collect.db"

    temporal_address: str = "localhost:7233"
    temporal_namespace: str = "default"
    temporal_task_queue: str = "collect"
    # Where the launcher starts account workflows; unset, on its own queue. Another queue lets a
    # deployment run accounts on their own workers (and the launch benchmark start accounts with
    # no worker running them, to time the starts alone).
    temporal_account_task_queue: str | None = None
    temporal_tls: bool = False
    temporal_tls_cert_path: str | None = None
    temporal_tls_key_path: str | None = None
    temporal_api_key: SecretStr | None = None

    # Encryption of every payload the product puts in Temporal (workflow inputs, results, signals,
    # updates, activity arguments: names, emails, phones, amounts). AES-256-GCM; each payload names
    # the id of the key that sealed it, so keys rotate: add the new key, make it current, keep the
    # old ones listed until the histories they sealed have passed the namespace's retention.
    # JSON in the environment: COLLECT_PAYLOAD_KEYS='{"2026-11": "<base64 of 32 random bytes>"}'
    # and COLLECT_PAYLOAD_KEY_ID=2026-11. Generate a key with
    # `python -c "import base64,os; print(base64.b64encode(os.urandom(32)).decode())"`.
    payload_keys: dict[str, SecretStr] = {}
    payload_key_id: str | None = None
    # With no keys configured, a local Temporal (no TLS, no API key) gets a development key,
    # generated once and kept in this file (every process started from the same folder shares it).
    # A production-like connection (TLS, client certificate or API key) with no keys refuses to start:
    # a key made up on one machine would leave the others unable to read what it sealed.
    payload_dev_key_path: str = "collect-payload-dev.key"

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
    # The Temporal Web UI origins allowed to call the codec endpoint (/codec/decode, /codec/encode)
    # from the browser. The dev server's UI is http://localhost:8233.
    codec_cors_origins: list[str] = ["http://localhost:8233", "http://127.0.0.1:8233"]
    # Webhook secrets. SendGrid signs events with ECDSA; this is its public key (base64 DER, as
    # SendGrid shows it). Twilio signs with the account's auth token (twilio_auth_token).
    sendgrid_webhook_public_key: str | None = None
    # Payment providers: one secret per provider (lowercase name -> secret), JSON in the environment,
    # e.g. {"khipu": "...", "stripe": "..."}. Each signs "<timestamp>.<provider>.<raw body>" with
    # its own secret, so one provider's signature never books a payment under another's name; a
    # provider not named here is a 404.
    payment_webhook_secrets: dict[str, SecretStr] = {}
    # Replaced by payment_webhook_secrets: one secret shared by every provider name let a signed
    # payment be booked once per name in the URL (issue 9). Setting it is refused, not ignored.
    payment_webhook_secret: SecretStr | None = None
    # The most events one SendGrid Event Webhook batch may carry; a larger one is a 413. SendGrid
    # posts a batch every 30 s or at 768 KB, a few thousand events at most.
    sendgrid_max_batch_events: int = 50_000
    # Signed webhooks older than this are refused (replay protection).
    webhook_tolerance_s: int = 300
    # The public base URL Twilio calls (Twilio signs the URL it used, not the one behind a proxy).
    public_base_url: str | None = None
    # The strategy's `notify` webhooks may go to loopback and private addresses (127.0.0.1, 10.x,
    # 192.168.x...). Off, such a URL is refused when set and before each delivery, so the worker
    # cannot be pointed at the machines around it (SSRF); turn it on for tests and for receivers
    # on a trusted private network.
    notify_allow_private_addresses: bool = False
    # What one message costs, per channel, in minor units of the campaign's currency; feeds the
    # cost-per-amount-collected KPI. JSON in the environment, e.g. {"sms": 8, "email": 0}.
    channel_costs: dict[str, int] = {"email": 0, "sms": 0, "whatsapp": 0, "voice": 0, "letter": 0}

    # Where `collect up` keeps a local stack: the SQLite database, Temporal's state, the payload
    # development key, each part's log and the demo's API keys. Relative paths are read from the
    # directory `collect up` runs in (bin/run: the checkout).
    data_dir: str = ".collect"

    # The web console (/console): its session cookies are signed with this secret (at least 32
    # characters; every API process must share it). Unset, a local Temporal gets a development
    # secret generated once and kept in the file below, like the payload key; a production-like
    # connection refuses to start without one.
    console_secret: SecretStr | None = None
    console_dev_secret_path: str = "collect-console-dev.key"
    # How long a console sign-in lasts; the key's revocation ends it sooner.
    console_session_hours: float = 8.0

    log_level: str = "INFO"
    # Workflows a worker keeps in memory between tasks (sticky execution). 0 turns stickiness
    # off: every task may go to any worker, at the cost of replaying history each time.
    worker_max_cached_workflows: int = 1000
    # The worker's payment reconciler: how often it looks for payments recorded but not yet
    # delivered to their account's workflow (e.g. received while Temporal was down), and how many
    # it delivers per round. 0 turns it off in this worker.
    payment_reconcile_interval_s: float = 30.0
    payment_reconcile_batch: int = 200

    @model_validator(mode="after")
    def _payment_secrets(self) -> Settings:
        if self.payment_webhook_secret is not None:
            raise ValueError(
                "COLLECT_PAYMENT_WEBHOOK_SECRET (one secret for every provider) is no longer read: set "
                'COLLECT_PAYMENT_WEBHOOK_SECRETS to one secret per provider, e.g. {"khipu": "..."}'
            )
        seen: dict[str, str] = {}
        for provider, secret in self.payment_webhook_secrets.items():
            if not PROVIDER_NAME.fullmatch(provider):
                raise ValueError(
                    f"payment_webhook_secrets: {provider!r} is not a provider name ({PROVIDER_NAME.pattern})"
                )
            value = secret.get_secret_value()
            if not value:
                raise ValueError(f"payment_webhook_secrets: the secret of {provider!r} is empty")
            if value in seen:
                raise ValueError(
                    f"payment_webhook_secrets: {seen[value]!r} and {provider!r} share a secret; give each its own"
                )
            seen[value] = provider
        return self

    @field_validator("console_secret")
    @classmethod
    def _console_secret_is_long(cls, secret: SecretStr | None) -> SecretStr | None:
        if secret is not None and len(secret.get_secret_value()) < 32:
            raise ValueError("console_secret must be at least 32 characters (e.g. `openssl rand -base64 32`)")
        return secret

    @field_validator("payload_keys")
    @classmethod
    def _keys_are_aes_256(cls, keys: dict[str, SecretStr]) -> dict[str, SecretStr]:
        for key_id, key in keys.items():
            if not _KEY_ID.fullmatch(key_id):
                raise ValueError(f"payload key id {key_id!r}: use 1-64 letters, digits, '.', '_' or '-'")
            try:
                raw = base64.b64decode(key.get_secret_value(), validate=True)
            except binascii.Error:
                raise ValueError(f"payload key {key_id!r} is not valid base64") from None
            if len(raw) != PAYLOAD_KEY_BYTES:
                raise ValueError(f"payload key {key_id!r} must be {PAYLOAD_KEY_BYTES} bytes, got {len(raw)}")
        return keys

    @model_validator(mode="after")
    def _current_key_is_listed(self) -> Settings:
        if self.payload_keys and self.payload_key_id not in self.payload_keys:
            raise ValueError(
                f"payload_key_id {self.payload_key_id!r} must name one of payload_keys: {', '.join(self.payload_keys)}"
            )
        if self.payload_key_id is not None and not self.payload_keys:
            raise ValueError("payload_key_id is set but payload_keys is empty")
        return self

    @property
    def temporal_is_production_like(self) -> bool:
        """A TLS cluster or Temporal Cloud, as opposed to a local dev or test server."""
        return bool(self.temporal_tls or self.temporal_api_key is not None or self.temporal_tls_cert_path is not None)


class ClientSettings(BaseSettings):
    """What the `collect` CLI needs to reach the API: these variables override its profile file."""

    model_config = SettingsConfigDict(env_prefix="COLLECT_", extra="ignore", populate_by_name=True)

    api_url: str | None = None
    api_key: SecretStr | None = None
    # Where `collect login` keeps its profiles; default $XDG_CONFIG_HOME/collect/profile.json
    # (~/.config/collect/profile.json).
    profile: str | None = None
    config_home: str | None = Field(default=None, validation_alias="XDG_CONFIG_HOME")


@lru_cache
def get_settings() -> Settings:
    """Settings read once per process; call `get_settings.cache_clear()` in tests that change the environment."""
    return Settings()
