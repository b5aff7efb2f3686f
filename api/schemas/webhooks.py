"""Bodies of the provider webhooks: what a payment provider, SendGrid and Twilio send, and what
we answer. Bodies are parsed only after their signature holds (api/signatures.py), so these
models describe the content, not who may send it.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from api.schemas.payments import AccountId, Currency, MinorUnits, Moment, ProviderPaymentId

_NO_NUL = r"^[^\x00]*$"
EventId = Annotated[str, Field(min_length=1, max_length=255, pattern=_NO_NUL)]


class PaymentEvent(BaseModel):
    """A payment provider's notice that money arrived.

    The account is named either by our `account_id`, or by the creditor's `external_account_id`
    within `campaign_id` (what a provider that only knows the creditor's reference can send),
    never both. `event_id` identifies the delivery: a redelivered event counts once.
    """

    model_config = ConfigDict(extra="forbid", strict=True)

    event_id: EventId
    account_id: AccountId | None = None
    campaign_id: Annotated[str, Field(min_length=1, max_length=64, pattern=_NO_NUL)] | None = None
    external_account_id: Annotated[str, Field(min_length=1, max_length=255, pattern=_NO_NUL)] | None = None
    provider_payment_id: ProviderPaymentId
    amount: MinorUnits
    currency: Currency
    paid_at: Moment = Field(description="When the money arrived, ISO 8601 with a UTC offset.")

    @model_validator(mode="after")
    def _one_account_reference(self) -> Self:
        by_id = self.account_id is not None
        by_reference = self.campaign_id is not None or self.external_account_id is not None
        if by_id == by_reference:
            raise ValueError("name the account by account_id, or by campaign_id and external_account_id (not both)")
        if by_reference and (self.campaign_id is None or self.external_account_id is None):
            raise ValueError("campaign_id and external_account_id go together")
        return self


class PaymentWebhookAck(BaseModel):
    """`recorded`: the payment is new; `duplicate`: this event, or this provider payment, was
    already recorded and nothing changed. Either way the payment is safely in the ledger."""

    status: Literal["recorded", "duplicate"]
    payment_id: int | None = None
    allocated_to: str | None = None
    signalled: bool = Field(default=False, description="Same as `delivered` (kept for existing integrations).")
    delivered: bool = Field(
        default=False,
        description="Whether the account's workflow has the payment. False while Temporal is unavailable: the "
        "payment is recorded and delivered later by the worker's reconciler, so there is nothing to retry.",
    )


class SendGridEvent(BaseModel):
    """One event of SendGrid's Event Webhook. SendGrid adds fields over time, so unknown ones are
    kept; our own custom arg `collect_key` names the communication."""

    model_config = ConfigDict(extra="allow")

    sg_event_id: EventId
    event: Annotated[str, Field(min_length=1, max_length=64, pattern=_NO_NUL)]
    timestamp: int | None = Field(default=None, description="Unix seconds.")
    email: Annotated[str, Field(max_length=320, pattern=_NO_NUL)] | None = None
    collect_key: Annotated[str, Field(max_length=255, pattern=_NO_NUL)] | None = Field(
        default=None, description="The communication's key, sent as a custom arg."
    )

    def raw(self) -> dict[str, Any]:
        """The event as SendGrid sent it (for the stored payload)."""
        return self.model_dump(mode="json", exclude_none=True)


class SendGridAck(BaseModel):
    received: int = Field(description="Events in the batch.")
    recorded: int = Field(description="Events seen for the first time and stored.")
    duplicates: int = Field(description="Events already received before (SendGrid redelivers often).")
    signalled: int = Field(description="Signals sent to account workflows.")


# Documented in OpenAPI only: Twilio posts form fields, read after the signature is checked.
TWILIO_STATUS_FORM: dict[str, Any] = {
    "title": "TwilioStatusCallback",
    "type": "object",
    "properties": {
        "MessageSid": {"type": "string"},
        "MessageStatus": {
            "type": "string",
            "enum": ["queued", "sending", "sent", "delivered", "undelivered", "failed", "read"],
        },
        "ErrorCode": {"type": "string"},
        "CallSid": {"type": "string"},
        "CallStatus": {"type": "string"},
    },
}
TWILIO_INBOUND_FORM: dict[str, Any] = {
    "title": "TwilioInboundMessage",
    "type": "object",
    "properties": {
        "MessageSid": {"type": "string"},
        "From": {"type": "string", "description": "E.164 number, `whatsapp:`-prefixed for WhatsApp."},
        "To": {"type": "string"},
        "Body": {"type": "string"},
        "OptOutType": {"type": "string", "enum": ["STOP", "START", "HELP"]},
    },
    "required": ["MessageSid", "From"],
}
