"""SMS, WhatsApp and voice through the official Twilio SDK, with its failures mapped onto ChannelError."""

from __future__ import annotations

import re
from typing import Any

from requests.exceptions import RequestException
from twilio.base.exceptions import TwilioException, TwilioRestException, TwilioServiceException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client
from twilio.twiml.voice_response import VoiceResponse

from channels.base import ChannelError, ErrorKind, OutgoingMessage, ProviderReceipt

PROVIDER = "twilio"
CALL_STATUS_EVENTS = ["initiated", "ringing", "answered", "completed"]

# https://www.twilio.com/docs/api/errors
INVALID_RECIPIENT_CODES = frozenset({21211, 21214, 21217, 21612, 21614, 63003})
OPTED_OUT_CODES = frozenset({21610})
AUTH_CODES = frozenset({20003})
THROTTLED_CODES = frozenset({20429})

_TWILIO_ORIGIN = re.compile(r"^https://(?:[a-z0-9-]+\.)*twilio\.com(?=/|$)", re.IGNORECASE)


class RedirectingHttpClient(TwilioHttpClient):  # type: ignore[misc]  # twilio ships no py.typed
    """Sends every `https://*.twilio.com` request to `base_url` instead (local fakes, Prism, a simulator)."""

    def __init__(self, base_url: str, *, timeout: float | None = None) -> None:
        super().__init__(timeout=timeout)
        self.base_url = base_url.rstrip("/")

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        """Rewrite the origin, then send as the stock client would."""
        return super().request(method, _TWILIO_ORIGIN.sub(self.base_url, url, count=1), *args, **kwargs)


class TwilioSender:
    """One Twilio account; the from-number for each channel is optional until a message for it is sent."""

    provider: str = PROVIDER

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        from_sms: str | None,
        from_whatsapp: str | None,
        from_voice: str | None,
        status_callback_url: str | None,
        base_url: str | None = None,
        *,
        timeout: float = 10.0,
    ) -> None:
        http_client = (
            RedirectingHttpClient(base_url, timeout=timeout) if base_url else TwilioHttpClient(timeout=timeout)
        )
        # environment={} keeps the SDK from reading TWILIO_* env vars (edge/region would silently reroute).
        self._client = Client(account_sid, auth_token, http_client=http_client, environment={})
        self._from_sms = from_sms
        self._from_whatsapp = from_whatsapp
        self._from_voice = from_voice
        self._status_callback_url = status_callback_url

    def send(self, message: OutgoingMessage) -> ProviderReceipt:
        """Create the message or call and return its sid; ValueError if this channel has no from-number."""
        try:
            if message.channel == "sms":
                instance = self._create_message(message.to, _required(self._from_sms, "twilio_from_sms"), message)
            elif message.channel == "whatsapp":
                from_ = _required(self._from_whatsapp, "twilio_from_whatsapp")
                instance = self._create_message(_whatsapp(message.to), _whatsapp(from_), message)
            elif message.channel == "voice":
                instance = self._create_call(message, _required(self._from_voice, "twilio_from_voice"))
            else:
                raise ValueError(f"TwilioSender cannot send channel {message.channel!r}")
        except (TwilioRestException, TwilioServiceException) as exc:
            raise _classify_api_error(exc) from exc
        except RequestException as exc:
            raise ChannelError(PROVIDER, "network", f"{type(exc).__name__}: {exc}") from exc
        except TwilioException as exc:
            if _caused_by_transport(exc):
                raise ChannelError(PROVIDER, "network", f"{type(exc).__name__}: {exc}") from exc
            raise
        return ProviderReceipt(provider=PROVIDER, provider_id=str(instance.sid), status=str(instance.status))

    def _create_message(self, to: str, from_: str, message: OutgoingMessage) -> Any:
        kwargs: dict[str, Any] = {"to": to, "from_": from_, "body": message.body}
        if self._status_callback_url:
            kwargs["status_callback"] = self._status_callback_url
        return self._client.messages.create(**kwargs)

    def _create_call(self, message: OutgoingMessage, from_: str) -> Any:
        twiml = VoiceResponse()
        twiml.say(message.body, language=message.locale)  # the TwiML builder XML-escapes the text
        kwargs: dict[str, Any] = {"to": message.to, "from_": from_, "twiml": str(twiml)}
        if self._status_callback_url:
            kwargs["status_callback"] = self._status_callback_url
            kwargs["status_callback_event"] = CALL_STATUS_EVENTS
        return self._client.calls.create(**kwargs)


def _required(value: str | None, setting: str) -> str:
    if not value:
        raise ValueError(f"{setting} is not configured")
    return value


def _whatsapp(number: str) -> str:
    return number if number.startswith("whatsapp:") else f"whatsapp:{number}"


def _caused_by_transport(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, RequestException | ConnectionError | TimeoutError) or any(
            isinstance(arg, RequestException) for arg in seen.args
        ):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _classify_api_error(exc: TwilioRestException | TwilioServiceException) -> ChannelError:
    status = int(exc.status)
    code = int(exc.code) if isinstance(exc.code, int | str) and str(exc.code).isdigit() else None
    text = str(exc.msg if isinstance(exc, TwilioRestException) else (exc.detail or exc.title))
    kind: ErrorKind
    if code in INVALID_RECIPIENT_CODES:
        kind = "invalid_recipient"
    elif code in OPTED_OUT_CODES:
        kind = "opted_out"
    elif status == 429 or code in THROTTLED_CODES:
        kind = "throttled"
    elif status >= 500:
        kind = "server"
    elif status in (401, 403) or code in AUTH_CODES:
        kind = "auth"
    else:
        kind = "rejected"
    return ChannelError(PROVIDER, kind, text, code=str(code if code is not None else status))
