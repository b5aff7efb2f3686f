"""What every channel adapter speaks: the outgoing message, the provider's receipt, one error type, the protocol.

Adapters translate provider SDK failures into `ChannelError` so callers (the messaging activities) decide retries
and contact-point invalidation from `kind` alone, without knowing which SDK raised what.
"""

from __future__ import annotations

from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict

ChannelName = Literal["email", "sms", "whatsapp", "voice"]
ErrorKind = Literal["throttled", "server", "network", "auth", "invalid_recipient", "opted_out", "rejected"]

# auth is retryable on purpose: an operator rotates the key and the activity's backoff picks the fix up.
_RETRYABLE: frozenset[ErrorKind] = frozenset({"throttled", "server", "network", "auth"})
_INVALIDATING: frozenset[ErrorKind] = frozenset({"invalid_recipient", "opted_out"})


class Attachment(BaseModel):
    """A document that goes with a message (the PDF statement)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    filename: str
    content_type: str
    content: bytes


class OutgoingMessage(BaseModel):
    """One rendered message for one contact point; `key` is our opaque idempotency/correlation key."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    key: str
    channel: ChannelName
    to: str
    subject: str | None = None
    body: str
    locale: str = "es-CL"
    attachments: tuple[Attachment, ...] = ()


class ProviderReceipt(BaseModel):
    """What the provider accepted: its own id for the message, used to match status webhooks."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    provider: str
    provider_id: str
    status: str


class ChannelError(Exception):
    """A send failed; `kind` says whether to retry and whether the contact point is dead."""

    def __init__(self, provider: str, kind: ErrorKind, message: str, code: str | None = None) -> None:
        super().__init__(f"{provider} {kind}{f' ({code})' if code else ''}: {message}")
        self.provider = provider
        self.kind: ErrorKind = kind
        self.code = code
        self.message = message

    def __reduce__(self) -> tuple[type[ChannelError], tuple[str, ErrorKind, str, str | None]]:
        # Keeps the error picklable (the default would replay only the formatted text into __init__).
        return (ChannelError, (self.provider, self.kind, self.message, self.code))

    @property
    def retryable(self) -> bool:
        """True when sending the same message again later can succeed."""
        return self.kind in _RETRYABLE

    @property
    def invalidates_contact_point(self) -> bool:
        """True when this address/number must not be used again (bad recipient or opted out)."""
        return self.kind in _INVALIDATING


class Sender(Protocol):
    """A blocking adapter over one provider SDK."""

    provider: str

    def send(self, message: OutgoingMessage) -> ProviderReceipt:
        """Send one message; raise ChannelError on any provider or transport failure."""
        ...
