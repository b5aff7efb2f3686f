"""TwilioSender through the real Twilio SDK (via RedirectingHttpClient) against the in-process fake API."""

from __future__ import annotations

import base64
import re
import socket
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from fakes.providers import FakeTwilio
from twilio.base.exceptions import TwilioException
from twilio.rest import Client

from channels.base import ChannelError, OutgoingMessage
from channels.twilio_messaging import RedirectingHttpClient, TwilioSender

ACCOUNT = "AC" + "0" * 32
TOKEN = "test-auth-token"
CALLBACK = "https://hooks.example.cl/twilio/status"
DEBTOR = "+56912345678"
BODY = "Hola Sra. Muñoz: su cuota de $125.000 vence mañana. Pague en https://pagos.example.cl/abc"


def _sender(fake_url: str, **overrides: Any) -> TwilioSender:
    settings: dict[str, Any] = {
        "from_sms": "+15005550006",
        "from_whatsapp": "+14155238886",
        "from_voice": "+15005550007",
        "status_callback_url": CALLBACK,
        **overrides,
    }
    return TwilioSender(ACCOUNT, TOKEN, base_url=fake_url, **settings)


def _message(channel: str = "sms", body: str = BODY, to: str = DEBTOR) -> OutgoingMessage:
    return OutgoingMessage.model_validate(
        {"key": "debtor:camp1:acc1:17", "channel": channel, "to": to, "subject": None, "body": body}
    )


def _twilio_error(status: int, code: int, message: str) -> dict[str, Any]:
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


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


class TestTwilioSenderSms:
    def test_sms_arrives_with_to_from_body_and_status_callback(self, fake_twilio: FakeTwilio) -> None:
        receipt = _sender(fake_twilio.url).send(_message())

        [request] = fake_twilio.requests
        assert (request.method, request.path) == ("POST", f"/2010-04-01/Accounts/{ACCOUNT}/Messages.json")
        assert request.body == {"To": DEBTOR, "From": "+15005550006", "Body": BODY, "StatusCallback": CALLBACK}
        [message] = fake_twilio.messages
        assert receipt.provider == "twilio"
        assert receipt.provider_id == message["sid"]
        assert re.fullmatch(r"SM[0-9a-f]{32}", receipt.provider_id)
        assert receipt.status == "queued"

    def test_authenticates_with_account_sid_and_token(self, fake_twilio: FakeTwilio) -> None:
        _sender(fake_twilio.url).send(_message())

        expected = base64.b64encode(f"{ACCOUNT}:{TOKEN}".encode()).decode()
        assert fake_twilio.requests[0].headers["Authorization"] == f"Basic {expected}"

    def test_accented_spanish_text_arrives_intact(self, fake_twilio: FakeTwilio) -> None:
        text = "Ñandú, canción, pingüino: ¿está al día? ¡Sí! áéíóú ÁÉÍÓÚ ñÑ"
        _sender(fake_twilio.url).send(_message(body=text))

        assert fake_twilio.messages[0]["body"] == text
        assert fake_twilio.requests[0].body["Body"] == text

    def test_no_status_callback_when_not_configured(self, fake_twilio: FakeTwilio) -> None:
        _sender(fake_twilio.url, status_callback_url=None).send(_message())

        assert "StatusCallback" not in fake_twilio.requests[0].body

    def test_sent_messages_are_listable_through_the_sdk(self, fake_twilio: FakeTwilio) -> None:
        sender = _sender(fake_twilio.url)
        first = sender.send(_message())
        sender.send(_message(to="+56987654321"))
        second = sender.send(_message())

        client = Client(ACCOUNT, TOKEN, http_client=RedirectingHttpClient(fake_twilio.url))
        listed = client.messages.list(to=DEBTOR)

        assert [m.sid for m in listed] == [second.provider_id, first.provider_id]  # newest first, like Twilio
        assert {m.to for m in listed} == {DEBTOR}
        assert client.messages(first.provider_id).fetch().body == BODY


class TestTwilioSenderWhatsApp:
    def test_whatsapp_prefixes_to_and_from(self, fake_twilio: FakeTwilio) -> None:
        receipt = _sender(fake_twilio.url).send(_message(channel="whatsapp"))

        form = fake_twilio.requests[0].body
        assert form["To"] == f"whatsapp:{DEBTOR}"
        assert form["From"] == "whatsapp:+14155238886"
        assert form["Body"] == BODY
        assert form["StatusCallback"] == CALLBACK
        assert receipt.provider_id == fake_twilio.messages[0]["sid"]

    def test_existing_prefix_is_not_doubled(self, fake_twilio: FakeTwilio) -> None:
        sender = _sender(fake_twilio.url, from_whatsapp="whatsapp:+14155238886")
        sender.send(_message(channel="whatsapp", to=f"whatsapp:{DEBTOR}"))

        form = fake_twilio.requests[0].body
        assert (form["To"], form["From"]) == (f"whatsapp:{DEBTOR}", "whatsapp:+14155238886")


class TestTwilioSenderVoice:
    def test_call_posts_twiml_with_escaped_body_and_status_callback(self, fake_twilio: FakeTwilio) -> None:
        body = 'Señora Muñoz: su deuda de <$125.000> & "intereses" vence mañana.'
        receipt = _sender(fake_twilio.url).send(_message(channel="voice", body=body))

        [request] = fake_twilio.requests
        assert request.path == f"/2010-04-01/Accounts/{ACCOUNT}/Calls.json"
        form = request.body
        assert (form["To"], form["From"]) == (DEBTOR, "+15005550007")
        assert '<Say language="es-CL">' in form["Twiml"]
        assert 'Señora Muñoz: su deuda de &lt;$125.000&gt; &amp; "intereses" vence mañana.</Say>' in form["Twiml"]
        assert "<$125.000>" not in form["Twiml"]
        assert form["StatusCallback"] == CALLBACK
        assert form["StatusCallbackEvent"] == ["initiated", "ringing", "answered", "completed"]
        assert re.fullmatch(r"CA[0-9a-f]{32}", receipt.provider_id)
        assert receipt.provider_id == fake_twilio.calls[0]["sid"]


class TestTwilioSenderErrors:
    def test_21211_is_invalid_recipient(self, fake_twilio: FakeTwilio) -> None:
        fake_twilio.fail_next(400, _twilio_error(400, 21211, "The 'To' number +5691234 is not a valid phone number."))

        with pytest.raises(ChannelError) as caught:
            _sender(fake_twilio.url).send(_message(to="+5691234"))

        error = caught.value
        assert (error.provider, error.kind, error.code) == ("twilio", "invalid_recipient", "21211")
        assert not error.retryable
        assert error.invalidates_contact_point
        assert "not a valid phone number" in error.message

    @pytest.mark.parametrize("code", [21214, 21217, 21612, 21614, 63003])
    def test_other_bad_number_codes_are_invalid_recipient(self, fake_twilio: FakeTwilio, code: int) -> None:
        fake_twilio.fail_next(400, _twilio_error(400, code, "bad number"))

        with pytest.raises(ChannelError) as caught:
            _sender(fake_twilio.url).send(_message())

        assert caught.value.kind == "invalid_recipient"

    def test_21610_is_opted_out(self, fake_twilio: FakeTwilio) -> None:
        fake_twilio.fail_next(400, _twilio_error(400, 21610, "Attempt to send to unsubscribed recipient"))

        with pytest.raises(ChannelError) as caught:
            _sender(fake_twilio.url).send(_message())

        assert (caught.value.kind, caught.value.code) == ("opted_out", "21610")
        assert not caught.value.retryable
        assert caught.value.invalidates_contact_point

    def test_429_is_throttled(self, fake_twilio: FakeTwilio) -> None:
        fake_twilio.fail_next(429, _twilio_error(429, 20429, "Too Many Requests"))

        with pytest.raises(ChannelError) as caught:
            _sender(fake_twilio.url).send(_message())

        assert (caught.value.kind, caught.value.retryable) == ("throttled", True)
        assert not caught.value.invalidates_contact_point

    def test_503_is_server(self, fake_twilio: FakeTwilio) -> None:
        fake_twilio.fail_next(503, _twilio_error(503, 20503, "Service Unavailable"))

        with pytest.raises(ChannelError) as caught:
            _sender(fake_twilio.url).send(_message(channel="voice"))

        assert (caught.value.kind, caught.value.retryable) == ("server", True)

    def test_401_20003_is_auth_and_retryable(self, fake_twilio: FakeTwilio) -> None:
        fake_twilio.fail_next(401, _twilio_error(401, 20003, "Authenticate"))

        with pytest.raises(ChannelError) as caught:
            _sender(fake_twilio.url).send(_message())

        assert (caught.value.kind, caught.value.code, caught.value.retryable) == ("auth", "20003", True)

    def test_rfc9457_problem_body_is_classified_too(self, fake_twilio: FakeTwilio) -> None:
        fake_twilio.fail_next(
            400,
            {"type": "https://www.twilio.com/docs/errors/21610", "title": "Unsubscribed", "status": 400, "code": 21610},
        )

        with pytest.raises(ChannelError) as caught:
            _sender(fake_twilio.url).send(_message())

        assert caught.value.kind == "opted_out"

    def test_other_4xx_is_rejected(self, fake_twilio: FakeTwilio) -> None:
        fake_twilio.fail_next(400, _twilio_error(400, 21602, "Message body is required."))

        with pytest.raises(ChannelError) as caught:
            _sender(fake_twilio.url).send(_message())

        assert (caught.value.kind, caught.value.retryable) == ("rejected", False)
        assert not caught.value.invalidates_contact_point

    def test_non_json_error_body_is_still_classified(self, fake_twilio: FakeTwilio) -> None:
        fake_twilio.fail_next(502, {})

        with pytest.raises(ChannelError) as caught:
            _sender(fake_twilio.url).send(_message())

        assert caught.value.kind == "server"

    def test_unreachable_base_url_is_network_and_retryable(self) -> None:
        with pytest.raises(ChannelError) as caught:
            _sender(_closed_port_url()).send(_message())

        assert (caught.value.kind, caught.value.retryable) == ("network", True)

    def test_timeout_is_network_and_retryable(self, silent_server_url: str) -> None:
        sender = TwilioSender(ACCOUNT, TOKEN, "+15005550006", None, None, None, base_url=silent_server_url, timeout=0.2)

        with pytest.raises(ChannelError) as caught:
            sender.send(_message())

        assert (caught.value.kind, caught.value.retryable) == ("network", True)

    def test_twilio_exception_wrapping_a_transport_error_is_network(
        self, fake_twilio: FakeTwilio, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        def broken(*args: object, **kwargs: object) -> None:
            try:
                raise requests.exceptions.ChunkedEncodingError("connection broken")
            except requests.exceptions.RequestException as exc:
                raise TwilioException("Unable to create record") from exc

        monkeypatch.setattr(RedirectingHttpClient, "request", broken)

        with pytest.raises(ChannelError) as caught:
            _sender(fake_twilio.url).send(_message())

        assert caught.value.kind == "network"

    def test_failure_then_success(self, fake_twilio: FakeTwilio) -> None:
        fake_twilio.fail_next(503, _twilio_error(503, 20503, "Service Unavailable"))
        sender = _sender(fake_twilio.url)

        with pytest.raises(ChannelError):
            sender.send(_message())
        sender.send(_message())

        assert len(fake_twilio.requests) == 2
        assert len(fake_twilio.messages) == 1


class TestTwilioSenderConfiguration:
    @pytest.mark.parametrize(
        ("channel", "setting"),
        [("sms", "twilio_from_sms"), ("whatsapp", "twilio_from_whatsapp"), ("voice", "twilio_from_voice")],
    )
    def test_missing_from_number_names_the_setting(self, fake_twilio: FakeTwilio, channel: str, setting: str) -> None:
        sender = _sender(fake_twilio.url, **{setting.removeprefix("twilio_"): None})

        with pytest.raises(ValueError, match=f"^{setting} is not configured$"):
            sender.send(_message(channel=channel))
        assert fake_twilio.requests == []

    def test_other_channels_still_work_without_an_unrelated_from_number(self, fake_twilio: FakeTwilio) -> None:
        sender = _sender(fake_twilio.url, from_whatsapp=None, from_voice=None)

        sender.send(_message(channel="sms"))

        assert len(fake_twilio.messages) == 1

    def test_refuses_email(self, fake_twilio: FakeTwilio) -> None:
        with pytest.raises(ValueError, match="cannot send channel 'email'"):
            _sender(fake_twilio.url).send(_message(channel="email", to="a@example.cl"))


class TestRedirectingHttpClient:
    @pytest.mark.parametrize(
        "url",
        [
            "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages.json",
            "https://messaging.twilio.com/v1/Services",
            "https://api.dublin.ie1.twilio.com/2010-04-01/Accounts/AC1/Calls.json",
        ],
    )
    def test_rewrites_every_twilio_origin(self, url: str, monkeypatch: pytest.MonkeyPatch) -> None:
        seen: list[str] = []
        monkeypatch.setattr(
            "twilio.http.http_client.TwilioHttpClient.request", lambda self, method, url, *a, **kw: seen.append(url)
        )

        RedirectingHttpClient("http://127.0.0.1:9/").request("GET", url)

        path = url.split(".com", 1)[1]
        assert seen == [f"http://127.0.0.1:9{path}"]

    def test_leaves_other_hosts_alone(self, monkeypatch: pytest.MonkeyPatch) -> None:
        seen: list[str] = []
        monkeypatch.setattr(
            "twilio.http.http_client.TwilioHttpClient.request", lambda self, method, url, *a, **kw: seen.append(url)
        )

        RedirectingHttpClient("http://127.0.0.1:9").request("GET", "https://nottwilio.com.evil.example/x")

        assert seen == ["https://nottwilio.com.evil.example/x"]
