"""Which channels send for real: a sender per channel whose credentials are configured. A
channel without one falls back to the sandbox (the outbox table), so the product works end to
end with no credentials at all."""

from __future__ import annotations

from channels.base import Sender
from channels.sendgrid_email import SendGridSender
from channels.twilio_messaging import TwilioSender
from config import Settings
from domain.types import Channel


def build_senders(settings: Settings) -> dict[Channel, Sender]:
    senders: dict[Channel, Sender] = {}
    if settings.sendgrid_api_key is not None:
        senders[Channel.EMAIL] = SendGridSender(
            api_key=settings.sendgrid_api_key.get_secret_value(),
            from_email=settings.sendgrid_from_email,
            from_name=settings.sendgrid_from_name,
            host=settings.sendgrid_host,
        )
    if settings.twilio_account_sid and settings.twilio_auth_token is not None:
        callback = settings.status_callback_base_url
        twilio = TwilioSender(
            account_sid=settings.twilio_account_sid,
            auth_token=settings.twilio_auth_token.get_secret_value(),
            from_sms=settings.twilio_from_sms,
            from_whatsapp=settings.twilio_from_whatsapp,
            from_voice=settings.twilio_from_voice,
            status_callback_url=f"{callback.rstrip('/')}/webhooks/twilio/status" if callback else None,
            base_url=settings.twilio_base_url,
        )
        for channel, number in (
            (Channel.SMS, settings.twilio_from_sms),
            (Channel.WHATSAPP, settings.twilio_from_whatsapp),
            (Channel.VOICE, settings.twilio_from_voice),
        ):
            if number:
                senders[channel] = twilio
    return senders
