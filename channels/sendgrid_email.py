"""Email through the official SendGrid SDK (v3 Mail Send), with its failures mapped onto ChannelError."""

from __future__ import annotations

import base64
import http.client
import json
from email.utils import parseaddr
from typing import Any

from python_http_client.exceptions import HTTPError
from sendgrid import SendGridAPIClient
from sendgrid.helpers.mail import Attachment, CustomArg, Disposition, FileContent, FileName, FileType, Mail

from channels.base import ChannelError, ErrorKind, OutgoingMessage, ProviderReceipt

DEFAULT_HOST = "https://api.sendgrid.com"
PROVIDER = "sendgrid"


class SendGridSender:
    """Sends plain-text email, with its attachments (the PDF statement); only the opaque `collect_key` travels as
    a custom arg (SendGrid keeps those long)."""

    provider: str = PROVIDER

    def __init__(
        self,
        api_key: str,
        from_email: str,
        from_name: str,
        host: str | None = None,
        *,
        timeout: float = 10.0,
    ) -> None:
        self._client = SendGridAPIClient(api_key=api_key, host=host or DEFAULT_HOST)
        # The SDK has no timeout argument; without this a hung connection blocks the activity thread forever.
        self._client.client.timeout = timeout
        self._from_email = from_email
        self._from_name = from_name

    def send(self, message: OutgoingMessage) -> ProviderReceipt:
        """Send one email and return SendGrid's X-Message-Id as the provider id."""
        if message.channel != "email":
            raise ValueError(f"SendGridSender sends email only, got channel {message.channel!r}")
        if "@" not in parseaddr(message.to)[1]:
            # The SDK would turn it into a name-only recipient and crash building the payload; no point calling.
            raise ChannelError(PROVIDER, "invalid_recipient", "recipient is not an email address", code="local")
        mail = Mail(
            from_email=(self._from_email, self._from_name),
            to_emails=message.to,
            subject=message.subject,
            plain_text_content=message.body,
        )
        # Per-personalization rather than top-level: the official OpenAPI spec types top-level custom_args as a
        # string, and SendGrid echoes personalization args on every event webhook all the same.
        mail.custom_arg = CustomArg("collect_key", message.key, p=0)
        for document in message.attachments:
            mail.add_attachment(
                Attachment(
                    FileContent(base64.b64encode(document.content).decode("ascii")),
                    FileName(document.filename),
                    FileType(document.content_type),
                    Disposition("attachment"),
                )
            )
        try:
            response = self._client.send(mail)
        except HTTPError as exc:
            raise _classify_http_error(exc) from exc
        except (OSError, http.client.HTTPException) as exc:
            # URLError (refused/DNS), TimeoutError, ConnectionResetError, RemoteDisconnected, IncompleteRead.
            raise ChannelError(PROVIDER, "network", f"{type(exc).__name__}: {exc}") from exc
        message_id = response.headers.get("X-Message-Id") if response.headers is not None else None
        return ProviderReceipt(provider=PROVIDER, provider_id=message_id or message.key, status="accepted")


def _classify_http_error(exc: HTTPError) -> ChannelError:
    status = int(exc.status_code)
    raw = exc.body if isinstance(exc.body, bytes) else str(exc.body or "").encode()
    text = raw.decode("utf-8", errors="replace")
    errors = _error_entries(text)
    detail = "; ".join(str(e.get("message", "")) for e in errors if e.get("message")) or text or str(exc.reason)
    kind: ErrorKind
    if status == 429:
        kind = "throttled"
    elif status >= 500:
        kind = "server"
    elif status in (401, 403):
        kind = "auth"
    elif status == 400 and any(_is_recipient_error(e) for e in errors):
        kind = "invalid_recipient"
    else:
        kind = "rejected"
    return ChannelError(PROVIDER, kind, detail, code=str(status))


def _error_entries(text: str) -> list[dict[str, Any]]:
    try:
        payload = json.loads(text)
    except ValueError:
        return [{"message": text}] if text else []
    entries = payload.get("errors") if isinstance(payload, dict) else None
    return [e for e in entries if isinstance(e, dict)] if isinstance(entries, list) else []


def _is_recipient_error(error: dict[str, Any]) -> bool:
    """A 400 about the to/cc/bcc address, not about our own from address or the payload shape."""
    field = str(error.get("field") or "").lower()
    text = str(error.get("message") or "").lower()
    if field:
        return field.startswith("personalizations") and "email" in field
    return "recipient" in text or ("email" in text and "from" not in text)
