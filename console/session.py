"""The console's session: one cookie, signed with HMAC-SHA256, holding the signed-in key's id (never
the key), a CSRF token and when the session ends. Nothing is kept on the server, so any number of
API processes serve the same sessions as long as they share the secret.

A visitor who has not signed in gets a session too (no key id): its CSRF token guards the sign-in
form. Signing in replaces it with a new token. The key's revocation is checked on every request
(console/auth.py), so a revoked key ends its sessions at once.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path

from config import Settings
from workflows.converter import development_key

COOKIE = "collect_console"
CSRF_FIELD = "csrf_token"  # the hidden field of every form
CSRF_HEADER = "X-CSRF-Token"  # what HTMX sends (hx-headers on <body>)


class ConsoleSecretMissing(RuntimeError):
    """No console secret configured where a made-up development secret would do harm."""


@dataclass(frozen=True)
class ConsoleSession:
    csrf: str
    expires: int  # Unix seconds
    key_id: int | None = None  # None: not signed in

    @classmethod
    def anonymous(cls, now: datetime, lifetime: timedelta) -> ConsoleSession:
        return cls(csrf=secrets.token_urlsafe(24), expires=int((now + lifetime).timestamp()))

    def signed_in(self, key_id: int, now: datetime, lifetime: timedelta) -> ConsoleSession:
        """The session after signing in: a fresh CSRF token, so one seen before sign-in is worthless."""
        return replace(ConsoleSession.anonymous(now, lifetime), key_id=key_id)

    def csrf_matches(self, given: str | None) -> bool:
        return given is not None and hmac.compare_digest(self.csrf.encode(), given.encode())


class Signer:
    """Turns a session into a cookie value and back; a value that was tampered with, or has
    expired, reads as no session."""

    def __init__(self, secret: bytes) -> None:
        # A key of its own for cookies, derived from the secret, so it can never sign anything else.
        self._key = hashlib.sha256(b"collect-console-session\x00" + secret).digest()

    def _mac(self, payload: str) -> str:
        return _b64(hmac.new(self._key, payload.encode(), hashlib.sha256).digest())

    def dumps(self, session: ConsoleSession) -> str:
        body = {"c": session.csrf, "e": session.expires, "k": session.key_id}
        payload = _b64(json.dumps(body, separators=(",", ":")).encode())
        return f"{payload}.{self._mac(payload)}"

    def loads(self, value: str | None, now: datetime) -> ConsoleSession | None:
        if not value or value.count(".") != 1:
            return None
        payload, mac = value.split(".")
        if not hmac.compare_digest(mac, self._mac(payload)):
            return None
        try:
            body = json.loads(_unb64(payload))
            session = ConsoleSession(csrf=str(body["c"]), expires=int(body["e"]), key_id=body["k"])
        except (ValueError, KeyError, TypeError, binascii.Error):
            return None
        if session.key_id is not None and not isinstance(session.key_id, int):
            return None
        return session if now.timestamp() < session.expires else None


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def check_secret(settings: Settings) -> None:
    """Raise ConsoleSecretMissing where no secret is configured and a development one would do harm."""
    if settings.console_secret is None and settings.temporal_is_production_like:
        raise ConsoleSecretMissing(
            "Temporal is a TLS cluster or Temporal Cloud but no console secret is configured: set "
            "COLLECT_CONSOLE_SECRET (32 characters or more, the same in every API process)"
        )


def secret_of(settings: Settings) -> bytes:
    """The configured secret, or a development one kept in a file (created on first use, so an app
    built only to print its OpenAPI description leaves no file behind)."""
    check_secret(settings)
    if settings.console_secret is not None:
        return settings.console_secret.get_secret_value().encode()
    return development_key(Path(settings.console_dev_secret_path))[1]
