"""In-process fake SendGrid and Twilio HTTP APIs for driving the official SDKs in tests.

Each fake is a stdlib ThreadingHTTPServer on 127.0.0.1 (ephemeral port) that records every request and can be
scripted to fail the next N requests. Point the SDKs at `fake.url`: SendGrid via `host=`, Twilio via the
`RedirectingHttpClient(base_url)` in channels.twilio_messaging.

Test modules use the fixtures by importing them:
    from fakes.providers import fake_sendgrid, fake_twilio  # noqa: F401
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

import pytest

__all__ = [
    "FakeProvider",
    "FakeSendGrid",
    "FakeTwilio",
    "RecordedRequest",
    "ScriptedFailure",
    "fake_sendgrid",
    "fake_twilio",
]


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the fake saw it. `body`: parsed JSON (SendGrid) or form fields (Twilio; repeated → list)."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any
    raw: bytes


@dataclass
class ScriptedFailure:
    status: int
    body: dict[str, Any]
    times: int
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class _Reply:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, status: int, payload: Any, headers: dict[str, str] | None = None) -> _Reply:
        return cls(status, json.dumps(payload).encode(), {"Content-Type": "application/json", **(headers or {})})


class FakeProvider:
    """Server plumbing shared by the fakes: lifecycle, request log, scripted failures."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: list[RecordedRequest] = []
        self._failures: list[ScriptedFailure] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # lifecycle -----------------------------------------------------------------------------------------------
    def start(self) -> Self:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                fake._handle(self)

            def do_POST(self) -> None:
                fake._handle(self)

            def do_DELETE(self) -> None:
                fake._handle(self)

            def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name=type(self).__name__, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """Base URL, e.g. http://127.0.0.1:54321 (no trailing slash)."""
        assert self._server is not None, "fake not started"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    # scripting and inspection ----------------------------------------------------------------------------------
    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received so far (a snapshot), failed ones included."""
        with self._lock:
            return list(self._requests)

    def fail_next(
        self, status: int, body: dict[str, Any], times: int = 1, headers: dict[str, str] | None = None
    ) -> None:
        """Answer the next `times` requests with `status` and JSON `body` instead of the normal response."""
        with self._lock:
            self._failures.append(ScriptedFailure(status, body, times, dict(headers or {})))

    def reset(self) -> None:
        """Forget requests, created resources and pending scripted failures."""
        with self._lock:
            self._requests.clear()
            self._failures.clear()
            self._reset_state()

    # internals -------------------------------------------------------------------------------------------------
    def _reset_state(self) -> None:
        """Subclasses clear their created resources (called with the lock held)."""

    def _parse_body(self, headers: dict[str, str], raw: bytes) -> Any:
        return raw

    def _respond(self, request: RecordedRequest) -> _Reply:
        """Subclasses answer a request that was not scripted to fail (called with the lock held)."""
        raise NotImplementedError

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        parts = urlsplit(handler.path)
        headers = {k: v for k, v in handler.headers.items()}
        try:
            body = self._parse_body(headers, raw)
        except ValueError:
            body = None
        request = RecordedRequest(
            method=handler.command,
            path=parts.path,
            query=parse_qs(parts.query, keep_blank_values=True),
            headers=headers,
            body=body,
            raw=raw,
        )
        with self._lock:
            self._requests.append(request)
            reply = self._scripted_failure() or self._respond(request)
        handler.send_response(reply.status)
        for name, value in reply.headers.items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(reply.body)))
        handler.end_headers()
        handler.wfile.write(reply.body)

    def _scripted_failure(self) -> _Reply | None:
        if not self._failures:
            return None
        failure = self._failures[0]
        failure.times -= 1
        if failure.times <= 0:
            self._failures.pop(0)
        return _Reply.json(failure.status, failure.body, failure.headers)


class FakeSendGrid(FakeProvider):
    """POST /v3/mail/send → 202 with an X-Message-Id header (like the real API: empty body)."""

    def __init__(self) -> None:
        super().__init__()
        self._mails: list[dict[str, Any]] = []
        self._message_ids: list[str] = []

    @property
    def mails(self) -> list[dict[str, Any]]:
        """The JSON bodies of accepted mail sends, in order."""
        with self._lock:
            return list(self._mails)

    @property
    def message_ids(self) -> list[str]:
        """The X-Message-Id given to each accepted mail, aligned with `mails`."""
        with self._lock:
            return list(self._message_ids)

    def _reset_state(self) -> None:
        self._mails.clear()
        self._message_ids.clear()

    def _parse_body(self, headers: dict[str, str], raw: bytes) -> Any:
        return json.loads(raw.decode("utf-8")) if raw else None

    def _respond(self, request: RecordedRequest) -> _Reply:
        if request.method != "POST" or request.path != "/v3/mail/send":
            return _Reply.json(404, {"errors": [{"message": f"no route {request.method} {request.path}"}]})
        if not request.headers.get("Authorization", "").startswith("Bearer "):
            return _Reply.json(401, {"errors": [{"message": "authorization required", "field": None}]})
        if not isinstance(request.body, dict) or not request.body.get("personalizations"):
            return _Reply.json(
                400, {"errors": [{"message": "The personalizations field is required.", "field": "personalizations"}]}
            )
        message_id = base64.urlsafe_b64encode(secrets.token_bytes(16)).decode().rstrip("=")
        self._mails.append(request.body)
        self._message_ids.append(message_id)
        return _Reply(202, b"", {"X-Message-Id": message_id})


_ACCOUNT_PATH = re.compile(r"^/2010-04-01/Accounts/(?P<account>AC[0-9a-zA-Z]+)/(?P<rest>.+)$")


class FakeTwilio(FakeProvider):
    """The 2010-04-01 API subset we use: create/list/fetch Messages and Calls (form posts, JSON replies)."""

    def __init__(self) -> None:
        super().__init__()
        self._messages: list[dict[str, Any]] = []
        self._calls: list[dict[str, Any]] = []

    @property
    def messages(self) -> list[dict[str, Any]]:
        """Created messages, oldest first: the Twilio JSON resource (sid, to, from, body, status, ...) plus
        "form", the form fields as posted (To, From, Body, StatusCallback, ...)."""
        with self._lock:
            return [{**m, "form": dict(m["form"])} for m in self._messages]

    @property
    def calls(self) -> list[dict[str, Any]]:
        """Created calls, oldest first: the Twilio JSON resource plus "form" (To, From, Twiml, StatusCallback,
        StatusCallbackEvent as a list when repeated)."""
        with self._lock:
            return [{**c, "form": dict(c["form"])} for c in self._calls]

    def _reset_state(self) -> None:
        self._messages.clear()
        self._calls.clear()

    def _parse_body(self, headers: dict[str, str], raw: bytes) -> Any:
        fields = parse_qs(raw.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
        return {k: v[0] if len(v) == 1 else v for k, v in fields.items()}

    def _respond(self, request: RecordedRequest) -> _Reply:
        match = _ACCOUNT_PATH.match(request.path)
        if match is None:
            return _not_found(request.path)
        account, rest = match["account"], match["rest"]
        form: dict[str, Any] = request.body or {}
        for collection, prefix, store in (("Messages", "SM", self._messages), ("Calls", "CA", self._calls)):
            if rest == f"{collection}.json" and request.method == "POST":
                missing = [name for name in ("To", "From") if not form.get(name)]
                if missing:
                    return _twilio_error(400, 21604, f"A '{missing[0]}' phone number is required.")
                resource = _new_resource(collection, prefix, account, form)
                store.append({**resource, "form": dict(form)})
                return _Reply.json(201, resource)
            if rest == f"{collection}.json" and request.method == "GET":
                return _Reply.json(200, _list_page(collection, account, store, request.query))
            if rest.startswith(f"{collection}/") and rest.endswith(".json") and request.method == "GET":
                sid = rest[len(collection) + 1 : -len(".json")]
                found = next((r for r in store if r["sid"] == sid), None)
                return _Reply.json(200, _public(found)) if found else _not_found(request.path)
        return _not_found(request.path)


def _rfc2822_now() -> str:
    return format_datetime(datetime.now(UTC), usegmt=False).replace("-0000", "+0000")


def _new_resource(collection: str, prefix: str, account: str, form: dict[str, Any]) -> dict[str, Any]:
    sid = prefix + secrets.token_hex(16)
    now = _rfc2822_now()
    uri = f"/2010-04-01/Accounts/{account}/{collection}/{sid}.json"
    common: dict[str, Any] = {
        "sid": sid,
        "account_sid": account,
        "to": form["To"],
        "from": form["From"],
        "status": "queued",
        "direction": "outbound-api",
        "api_version": "2010-04-01",
        "date_created": now,
        "date_updated": now,
        "price": None,
        "price_unit": "USD",
        "uri": uri,
    }
    if collection == "Messages":
        return {
            **common,
            "body": form.get("Body", ""),
            "date_sent": None,
            "error_code": None,
            "error_message": None,
            "messaging_service_sid": form.get("MessagingServiceSid"),
            "num_media": "0",
            "num_segments": "1",
            "subresource_uris": {"media": uri.replace(".json", "/Media.json")},
        }
    return {
        **common,
        "start_time": None,
        "end_time": None,
        "duration": None,
        "answered_by": None,
        "caller_name": None,
        "forwarded_from": None,
        "group_sid": None,
        "parent_call_sid": None,
        "phone_number_sid": None,
        "queue_time": "0",
        "trunk_sid": None,
        "to_formatted": form["To"],
        "from_formatted": form["From"],
        "subresource_uris": {"recordings": uri.replace(".json", "/Recordings.json")},
    }


def _public(stored: dict[str, Any]) -> dict[str, Any]:
    """What the API returns: the resource without the posted form the fake keeps alongside it."""
    return {k: v for k, v in stored.items() if k != "form"}


def _list_page(
    collection: str, account: str, store: list[dict[str, Any]], query: dict[str, list[str]]
) -> dict[str, Any]:
    items = [r for r in reversed(store) if "To" not in query or r["to"] == query["To"][0]]  # newest first
    if "From" in query:
        items = [r for r in items if r["from"] == query["From"][0]]
    page_size = int(query.get("PageSize", ["50"])[0])
    items = items[:page_size]
    uri = f"/2010-04-01/Accounts/{account}/{collection}.json?PageSize={page_size}&Page=0"
    return {
        collection.lower(): [_public(r) for r in items],
        "first_page_uri": uri,
        "next_page_uri": None,
        "previous_page_uri": None,
        "page": 0,
        "page_size": page_size,
        "start": 0,
        "end": max(len(items) - 1, 0),
        "uri": uri,
    }


def _twilio_error(status: int, code: int, message: str) -> _Reply:
    return _Reply.json(
        status,
        {"code": code, "message": message, "more_info": f"https://www.twilio.com/docs/errors/{code}", "status": status},
    )


def _not_found(path: str) -> _Reply:
    return _twilio_error(404, 20404, f"The requested resource {path} was not found")


@pytest.fixture
def fake_sendgrid() -> Iterator[FakeSendGrid]:
    """A started FakeSendGrid; `.url` is the SDK host."""
    with FakeSendGrid() as fake:
        yield fake


@pytest.fixture
def fake_twilio() -> Iterator[FakeTwilio]:
    """A started FakeTwilio; `.url` is the base_url for RedirectingHttpClient."""
    with FakeTwilio() as fake:
        yield fake
