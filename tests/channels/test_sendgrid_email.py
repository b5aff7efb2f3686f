"""SendGridSender through the real SendGrid SDK against the in-process fake API."""

from __future__ import annotations

import base64
import socket
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fakes.pdf_text import pdf_text
from fakes.providers import FakeSendGrid

from channels.base import Attachment, ChannelError, OutgoingMessage
from channels.sendgrid_email import SendGridSender
from strategies.statement import statement_pdf

BODY = "Hola Señora Muñoz, su cuota vence mañana. Información: https://pagos.example.cl/abc"
SUBJECT = "Recordatorio de pago — acción requerida"


def _message(to: str = "deudora@example.cl", body: str = BODY) -> OutgoingMessage:
    return OutgoingMessage(key="debtor:camp1:acc1:17", channel="email", to=to, subject=SUBJECT, body=body)


def _sender(fake: FakeSendGrid) -> SendGridSender:
    return SendGridSender("SG.test-key", "cobranzas@example.cl", "Cobranzas Ejemplo", host=fake.url)


@pytest.fixture
def silent_server_url() -> Iterator[str]:
    """A port that accepts connections (kernel backlog) but never answers: provokes read timeouts."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


def _closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


class TestSendGridSender:
    def test_sends_plain_text_mail_with_only_the_key_as_custom_arg(self, fake_sendgrid: FakeSendGrid) -> None:
        receipt = _sender(fake_sendgrid).send(_message())

        [mail] = fake_sendgrid.mails
        assert mail["from"] == {"email": "cobranzas@example.cl", "name": "Cobranzas Ejemplo"}
        assert mail["subject"] == SUBJECT
        assert mail["content"] == [{"type": "text/plain", "value": BODY}]
        [personalization] = mail["personalizations"]
        assert personalization["to"] == [{"email": "deudora@example.cl"}]
        assert personalization["custom_args"] == {"collect_key": "debtor:camp1:acc1:17"}
        assert "custom_args" not in mail  # nothing else travels to SendGrid's long-term storage
        assert receipt.provider == "sendgrid"
        assert receipt.provider_id == fake_sendgrid.message_ids[0]
        assert receipt.status == "accepted"

    def test_an_attachment_travels_base64_encoded_with_its_name_and_type(self, fake_sendgrid: FakeSendGrid) -> None:
        pdf = statement_pdf("Cuota 1  $100.000  impaga", title=None, created_at=datetime(2026, 12, 2, tzinfo=UTC))
        document = Attachment(filename="estado.pdf", content_type="application/pdf", content=pdf)
        _sender(fake_sendgrid).send(_message().model_copy(update={"attachments": (document,)}))

        [mail] = fake_sendgrid.mails
        [sent] = mail["attachments"]
        assert (sent["filename"], sent["type"], sent["disposition"]) == ("estado.pdf", "application/pdf", "attachment")
        assert base64.b64decode(sent["content"]) == pdf
        assert "Cuota 1  $100.000  impaga" in pdf_text(base64.b64decode(sent["content"]))

    def test_without_attachments_none_are_sent(self, fake_sendgrid: FakeSendGrid) -> None:
        _sender(fake_sendgrid).send(_message())
        assert "attachments" not in fake_sendgrid.mails[0]

    def test_sends_auth_and_json_headers(self, fake_sendgrid: FakeSendGrid) -> None:
        _sender(fake_sendgrid).send(_message())

        [request] = fake_sendgrid.requests
        assert (request.method, request.path) == ("POST", "/v3/mail/send")
        assert request.headers["Authorization"] == "Bearer SG.test-key"
        assert request.headers["Content-Type"] == "application/json"

    def test_accented_spanish_text_arrives_intact(self, fake_sendgrid: FakeSendGrid) -> None:
        text = "Ñandú, canción, pingüino: ¿está al día? ¡Sí! áéíóú ÁÉÍÓÚ ñÑ"
        _sender(fake_sendgrid).send(_message(body=text))

        [mail] = fake_sendgrid.mails
        assert mail["content"][0]["value"] == text
        assert mail["subject"] == SUBJECT

    def test_falls_back_to_key_without_message_id_header(
        self, fake_sendgrid: FakeSendGrid, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        sender = _sender(fake_sendgrid)
        original = sender._client.send

        def without_id(mail: object) -> object:
            response = original(mail)
            del response.headers["X-Message-Id"]
            return response

        monkeypatch.setattr(sender._client, "send", without_id)
        assert sender.send(_message()).provider_id == "debtor:camp1:acc1:17"

    def test_429_is_throttled_and_retryable(self, fake_sendgrid: FakeSendGrid) -> None:
        fake_sendgrid.fail_next(429, {"errors": [{"message": "too many requests", "field": None}]})

        with pytest.raises(ChannelError) as caught:
            _sender(fake_sendgrid).send(_message())

        assert caught.value.kind == "throttled"
        assert caught.value.retryable
        assert not caught.value.invalidates_contact_point
        assert caught.value.provider == "sendgrid"
        assert caught.value.code == "429"

    def test_500_is_server_and_retryable(self, fake_sendgrid: FakeSendGrid) -> None:
        fake_sendgrid.fail_next(500, {"errors": [{"message": "internal error"}]})

        with pytest.raises(ChannelError) as caught:
            _sender(fake_sendgrid).send(_message())

        assert (caught.value.kind, caught.value.retryable) == ("server", True)

    @pytest.mark.parametrize("status", [401, 403])
    def test_bad_key_is_auth_and_retryable(self, fake_sendgrid: FakeSendGrid, status: int) -> None:
        fake_sendgrid.fail_next(status, {"errors": [{"message": "The provided authorization grant is invalid"}]})

        with pytest.raises(ChannelError) as caught:
            _sender(fake_sendgrid).send(_message())

        assert (caught.value.kind, caught.value.retryable) == ("auth", True)

    def test_400_invalid_recipient_invalidates_contact_point(self, fake_sendgrid: FakeSendGrid) -> None:
        fake_sendgrid.fail_next(
            400,
            {
                "errors": [
                    {
                        "message": "Does not contain a valid address.",
                        "field": "personalizations.0.to.0.email",
                        "help": "http://sendgrid.com/docs/API_Reference/Web_API_v3/Mail/errors.html",
                    }
                ]
            },
        )

        with pytest.raises(ChannelError) as caught:
            _sender(fake_sendgrid).send(_message(to="deudora@example..cl"))

        assert caught.value.kind == "invalid_recipient"
        assert not caught.value.retryable
        assert caught.value.invalidates_contact_point
        assert "valid address" in caught.value.message
        assert fake_sendgrid.requests[0].body["personalizations"][0]["to"] == [{"email": "deudora@example..cl"}]

    @pytest.mark.parametrize("address", ["sin-arroba", "deudora@@example", "deudora.example.cl@"])
    def test_unparseable_address_is_invalid_recipient_without_a_call(
        self, fake_sendgrid: FakeSendGrid, address: str
    ) -> None:
        with pytest.raises(ChannelError) as caught:
            _sender(fake_sendgrid).send(_message(to=address))

        assert caught.value.kind == "invalid_recipient"
        assert caught.value.invalidates_contact_point
        assert fake_sendgrid.requests == []

    def test_400_about_our_sender_is_rejected_not_the_debtors_fault(self, fake_sendgrid: FakeSendGrid) -> None:
        fake_sendgrid.fail_next(400, {"errors": [{"message": "Does not contain a valid address.", "field": "from"}]})

        with pytest.raises(ChannelError) as caught:
            _sender(fake_sendgrid).send(_message())

        assert caught.value.kind == "rejected"
        assert not caught.value.invalidates_contact_point

    def test_other_4xx_is_rejected(self, fake_sendgrid: FakeSendGrid) -> None:
        fake_sendgrid.fail_next(413, {"errors": [{"message": "payload too large"}]})

        with pytest.raises(ChannelError) as caught:
            _sender(fake_sendgrid).send(_message())

        assert (caught.value.kind, caught.value.retryable) == ("rejected", False)

    def test_failure_then_success_on_retry(self, fake_sendgrid: FakeSendGrid) -> None:
        fake_sendgrid.fail_next(503, {"errors": [{"message": "unavailable"}]}, times=2)
        sender = _sender(fake_sendgrid)

        for _ in range(2):
            with pytest.raises(ChannelError):
                sender.send(_message())
        sender.send(_message())

        assert len(fake_sendgrid.requests) == 3
        assert len(fake_sendgrid.mails) == 1

    def test_unreachable_host_is_network_and_retryable(self) -> None:
        sender = SendGridSender("SG.test-key", "cobranzas@example.cl", "Cobranzas", host=_closed_port_url())

        with pytest.raises(ChannelError) as caught:
            sender.send(_message())

        assert (caught.value.kind, caught.value.retryable) == ("network", True)

    def test_timeout_is_network_and_retryable(self, silent_server_url: str) -> None:
        sender = SendGridSender("SG.k", "cobranzas@example.cl", "Cobranzas", host=silent_server_url, timeout=0.2)

        with pytest.raises(ChannelError) as caught:
            sender.send(_message())

        assert (caught.value.kind, caught.value.retryable) == ("network", True)

    def test_refuses_non_email_channel(self, fake_sendgrid: FakeSendGrid) -> None:
        sms = OutgoingMessage(key="k", channel="sms", to="+56912345678", subject=None, body="hola")

        with pytest.raises(ValueError, match="email only"):
            _sender(fake_sendgrid).send(sms)
        assert fake_sendgrid.requests == []
