"""The channel contract: which failures retry, which kill a contact point, and that payloads are immutable."""

from __future__ import annotations

import pickle

import pytest
from pydantic import ValidationError

from channels.base import ChannelError, OutgoingMessage, ProviderReceipt


class TestChannelError:
    @pytest.mark.parametrize(
        ("kind", "retryable", "invalidates"),
        [
            ("throttled", True, False),
            ("server", True, False),
            ("network", True, False),
            ("auth", True, False),
            ("invalid_recipient", False, True),
            ("opted_out", False, True),
            ("rejected", False, False),
        ],
    )
    def test_kind_decides_retry_and_invalidation(self, kind: str, retryable: bool, invalidates: bool) -> None:
        error = ChannelError("twilio", kind, "boom", code="21211")  # type: ignore[arg-type]

        assert (error.retryable, error.invalidates_contact_point) == (retryable, invalidates)

    def test_attributes_and_text(self) -> None:
        error = ChannelError("sendgrid", "throttled", "too many requests", code="429")

        assert (error.provider, error.kind, error.code, error.message) == (
            "sendgrid",
            "throttled",
            "429",
            "too many requests",
        )
        assert str(error) == "sendgrid throttled (429): too many requests"

    def test_survives_pickling(self) -> None:
        error = pickle.loads(pickle.dumps(ChannelError("twilio", "opted_out", "STOP", code="21610")))

        assert (error.provider, error.kind, error.code, error.message) == ("twilio", "opted_out", "21610", "STOP")


class TestModels:
    def test_outgoing_message_is_frozen_with_chilean_default_locale(self) -> None:
        message = OutgoingMessage(key="k", channel="sms", to="+56912345678", body="hola")

        assert message.locale == "es-CL"
        assert message.subject is None
        with pytest.raises(ValidationError):
            message.body = "otra"  # type: ignore[misc]

    def test_unknown_channel_is_refused(self) -> None:
        with pytest.raises(ValidationError):
            OutgoingMessage.model_validate({"key": "k", "channel": "fax", "to": "x", "body": "hola"})

    def test_receipt_is_frozen(self) -> None:
        receipt = ProviderReceipt(provider="twilio", provider_id="SM1", status="queued")

        with pytest.raises(ValidationError):
            receipt.status = "sent"  # type: ignore[misc]
