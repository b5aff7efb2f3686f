"""Request body size limit: 413 before the body is read into memory, whether or not the client
sent a Content-Length. Paths may have a tighter limit than the app's (a strategy is small; an
account import is not)."""

from __future__ import annotations

import contextlib
import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import PROBLEM_JSON, TITLES


class BodyTooLarge(Exception):
    pass


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, max_bytes: int, per_path: dict[str, int] | None = None) -> None:
        """`per_path`: path prefix -> a tighter limit for the paths under it."""
        self.app = app
        self.max_bytes = max_bytes
        self.per_path = per_path or {}

    def limit_for(self, path: str) -> int:
        return min(
            [self.max_bytes]
            + [limit for prefix, limit in self.per_path.items() if path == prefix or path.startswith(prefix + "/")]
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope.get("path", ""))
        for name, value in scope["headers"]:
            if name.lower() == b"content-length" and value.isdigit() and int(value) > limit:
                await self._refuse(send, limit, scope)
                return
        seen = 0
        exceeded = False

        async def counting_receive() -> Message:
            nonlocal seen, exceeded
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    exceeded = True
                    raise BodyTooLarge
            return message

        async def guarded_send(message: Message) -> None:
            # Once the body overflowed, whatever the app answers (frameworks turn a failed body read
            # into their own 400) is replaced by the 413.
            if not exceeded:
                await send(message)

        with contextlib.suppress(BodyTooLarge):
            await self.app(scope, counting_receive, guarded_send)
        if exceeded:
            await self._refuse(send, limit, scope)

    async def _refuse(self, send: Send, limit: int, scope: Scope) -> None:
        detail = f"The request body is larger than {limit:,} bytes, the most this endpoint accepts."
        # The same shape as every other problem (api/errors.py): where it happened and what.
        problem = {
            "type": "about:blank",
            "title": TITLES[413],
            "status": 413,
            "detail": detail,
            "instance": scope.get("path"),
            "errors": [{"pointer": "/body", "detail": f"more than {limit:,} bytes"}],
        }
        body = json.dumps(problem).encode()
        headers = [(b"content-type", PROBLEM_JSON.encode()), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})
