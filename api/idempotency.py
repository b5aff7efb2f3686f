"""The `Idempotency-Key` header on state-changing POSTs (draft-ietf-httpapi-idempotency-key-header).

The first request with a key runs and its answer is stored; the same key with the same method,
path and body gets that stored answer again (`Idempotent-Replayed: true`); the same key with
anything else gets 409, as does a repeat while the first is still running. Keys are scoped to the
caller's API key. 5xx answers are not stored, so a failed request can be retried with its key.
Provider webhooks are not covered: they deduplicate by the provider's own event ids.

Written as plain ASGI so the body is read once and handed on unchanged.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.auth import API_KEY_HEADER, hash_key
from api.errors import PROBLEM_JSON, TITLES
from db.models import IdempotencyRecord

HEADER = "idempotency-key"
MAX_KEY_LENGTH = 255
# A first request that has not answered after this long is taken to have died with its process.
STALE_AFTER = timedelta(minutes=5)
EXEMPT_PREFIXES = ("/webhooks/",)


def _problem(status: int, detail: str) -> tuple[int, bytes]:
    body = {"type": "about:blank", "title": TITLES[status], "status": status, "detail": detail}
    return status, json.dumps(body).encode()


class IdempotencyMiddleware:
    def __init__(self, app: ASGIApp, sessions: sessionmaker[Session]) -> None:
        self.app = app
        self.sessions = sessions

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"].startswith(EXEMPT_PREFIXES):
            await self.app(scope, receive, send)
            return
        headers = {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope["headers"]}
        key = headers.get(HEADER)
        api_key = headers.get(API_KEY_HEADER.lower())
        if key is None or not api_key:
            # No key: an ordinary request. No API key: authentication will refuse it anyway.
            await self.app(scope, receive, send)
            return
        if not key or len(key) > MAX_KEY_LENGTH:
            await _send_raw(send, *_problem(400, f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} characters."))
            return

        body = await _read_body(receive)
        principal = hash_key(api_key)
        digest = hashlib.sha256()
        for part in (scope["method"].encode(), scope["path"].encode(), scope.get("query_string", b""), body):
            digest.update(len(part).to_bytes(8, "big") + part)
        fingerprint = digest.hexdigest()

        replay = self._claim(principal, key, fingerprint)
        if replay is not None:
            await _send_raw(send, *replay[:2], content_type=replay[2], replayed=replay[3])
            return

        captured: dict[str, Any] = {"status": 500, "content_type": None, "body": bytearray()}

        pending: list[bytes] = [body]

        async def replay_receive() -> Message:
            if pending:
                return {"type": "http.request", "body": pending.pop(), "more_body": False}
            return await receive()

        async def capture_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                captured["status"] = message["status"]
                for name, value in message.get("headers", []):
                    if name.lower() == b"content-type":
                        captured["content_type"] = value.decode("latin-1")
            elif message["type"] == "http.response.body":
                captured["body"].extend(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, replay_receive, capture_send)
        except BaseException:
            self._release(principal, key)
            raise
        if captured["status"] >= 500:
            self._release(principal, key)
        else:
            self._store(principal, key, captured["status"], captured["content_type"], bytes(captured["body"]))

    def _claim(self, principal: str, key: str, fingerprint: str) -> tuple[int, bytes, str | None, bool] | None:
        """Claim the key for this request (None), or the answer to give instead."""
        with self.sessions() as session:
            try:
                session.add(IdempotencyRecord(principal=principal, key=key, fingerprint=fingerprint))
                session.commit()
                return None
            except IntegrityError:
                session.rollback()
            row = session.scalar(
                select(IdempotencyRecord).where(IdempotencyRecord.principal == principal, IdempotencyRecord.key == key)
            )
            if row is None:  # released between our insert and our read: claim it again
                session.add(IdempotencyRecord(principal=principal, key=key, fingerprint=fingerprint))
                session.commit()
                return None
            if row.fingerprint != fingerprint:
                return (*_problem(409, "This Idempotency-Key was used with another request."), PROBLEM_JSON, False)
            if row.status_code is None:
                if datetime.now(UTC) - row.created_at < STALE_AFTER:
                    return (
                        *_problem(409, "A request with this Idempotency-Key is still running."),
                        PROBLEM_JSON,
                        False,
                    )
                row.created_at = datetime.now(UTC)
                session.commit()
                return None
            return row.status_code, row.body or b"", row.content_type, True

    def _store(self, principal: str, key: str, status: int, content_type: str | None, body: bytes) -> None:
        with self.sessions() as session:
            session.execute(
                update(IdempotencyRecord)
                .where(IdempotencyRecord.principal == principal, IdempotencyRecord.key == key)
                .values(status_code=status, content_type=content_type, body=body)
            )
            session.commit()

    def _release(self, principal: str, key: str) -> None:
        with self.sessions() as session:
            session.execute(
                delete(IdempotencyRecord).where(IdempotencyRecord.principal == principal, IdempotencyRecord.key == key)
            )
            session.commit()


async def _read_body(receive: Receive) -> bytes:
    """The whole body (the size limit middleware, outside this one, bounds it)."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return b"".join(chunks)
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _send_raw(
    send: Send, status: int, body: bytes, content_type: str | None = PROBLEM_JSON, replayed: bool = False
) -> None:
    headers = [(b"content-length", str(len(body)).encode())]
    if content_type:
        headers.append((b"content-type", content_type.encode("latin-1")))
    if replayed:
        headers.append((b"idempotent-replayed", b"true"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
