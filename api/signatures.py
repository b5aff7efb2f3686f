"""Webhook signatures: the only credential a provider webhook carries.

* SendGrid's Event Webhook signs `timestamp + raw body` with ECDSA P-256; the public key (base64
  DER SubjectPublicKeyInfo, as SendGrid shows it) is in settings. The SDK checks the signature but
  not the age, so old timestamps are refused here (replay protection).
* Twilio signs the URL it called plus the sorted form parameters with HMAC-SHA1 under the
  account's auth token (`X-Twilio-Signature`). That URL is the public one, so it is rebuilt from
  `public_base_url`, never taken from the request as seen behind a proxy.
* Payment providers sign `"<timestamp>.<provider>.<raw body>"` with HMAC-SHA256, each under its
  own secret (`X-Signature: sha256=<hex>`, `X-Signature-Timestamp: <unix seconds>`). The provider
  name is signed because it names the payment (the ledger counts a payment once per provider and
  provider payment id): a path segment nobody signed could book one payment under many names.
  The string splits one way only: the timestamp is digits, a provider name has no `{` and no
  white space, and a payment body (a JSON object) starts with one of those.

Every check raises a 403 problem when the signature is missing, malformed, stale or wrong, or when
the secret it needs is not configured (nothing unverifiable is accepted). Nothing here looks at
the body's content before its signature holds.
"""

from __future__ import annotations

import binascii
import hmac
from collections.abc import Mapping
from datetime import datetime

from pydantic import SecretStr
from sendgrid.helpers.eventwebhook import EventWebhook
from starlette.datastructures import URL
from twilio.request_validator import RequestValidator

from api.errors import ProblemError
from domain.signing import HMAC_SCHEME, HMAC_SIGNATURE, HMAC_TIMESTAMP, hmac_signature

SENDGRID_SIGNATURE = "X-Twilio-Email-Event-Webhook-Signature"
SENDGRID_TIMESTAMP = "X-Twilio-Email-Event-Webhook-Timestamp"
TWILIO_SIGNATURE = "X-Twilio-Signature"


def _refuse(detail: str) -> ProblemError:
    return ProblemError(403, detail)


def check_timestamp(raw: str | None, header: str, tolerance_s: int, now: datetime) -> str:
    """The header's unix timestamp, refused when missing, not an integer or off by more than the tolerance."""
    if not raw:
        raise _refuse(f"The {header} header is missing.")
    value = raw.strip()
    if not value.isascii() or not value.isdigit() or len(value) > 12:
        raise _refuse(f"The {header} header must be a unix time in seconds.")
    age = now.timestamp() - int(value)
    if abs(age) > tolerance_s:
        when = f"{int(age)} s in the past" if age > 0 else f"{int(-age)} s in the future"
        raise _refuse(f"The {header} header is {when}; at most {tolerance_s} s either way is accepted.")
    return value


def verify_sendgrid(
    public_key: str | None,
    body: bytes,
    signature: str | None,
    timestamp: str | None,
    *,
    tolerance_s: int,
    now: datetime,
) -> None:
    """Accept a SendGrid Event Webhook request only if its ECDSA signature over timestamp + body holds."""
    if not public_key:
        raise _refuse("The SendGrid webhook is not configured (no verification key).")
    if not signature:
        raise _refuse(f"The {SENDGRID_SIGNATURE} header is missing.")
    stamp = check_timestamp(timestamp, SENDGRID_TIMESTAMP, tolerance_s, now)
    try:
        verifier = EventWebhook(public_key=public_key)
    except (ValueError, TypeError) as exc:
        raise _refuse("The SendGrid webhook is misconfigured: its verification key does not load.") from exc
    try:
        # The SDK signs text; a body that is not UTF-8 cannot be what SendGrid signed.
        valid = verifier.verify_signature(body.decode("utf-8"), signature, stamp)
    except (UnicodeDecodeError, binascii.Error, ValueError):
        valid = False
    if not valid:
        raise _refuse(f"The {SENDGRID_SIGNATURE} signature does not match the body and timestamp.")


def public_url(base: str | None, url: URL) -> str:
    """The URL Twilio called: the configured public base, plus the request's path and query."""
    if not base:
        return str(url)  # no proxy in front: the URL as received is the one Twilio called
    query = f"?{url.query}" if url.query else ""
    return f"{base.rstrip('/')}{url.path}{query}"


def verify_twilio(auth_token: SecretStr | None, url: str, params: Mapping[str, object], signature: str | None) -> None:
    """Accept a Twilio webhook only if `X-Twilio-Signature` holds for the public URL and the form."""
    if auth_token is None:
        raise _refuse("The Twilio webhooks are not configured (no auth token).")
    if not signature:
        raise _refuse(f"The {TWILIO_SIGNATURE} header is missing.")
    if not RequestValidator(auth_token.get_secret_value()).validate(url, params, signature):
        raise _refuse(f"The {TWILIO_SIGNATURE} signature does not match {url} and the form parameters.")


def verify_hmac(
    secret: SecretStr | None,
    provider: str,
    body: bytes,
    signature: str | None,
    timestamp: str | None,
    *,
    tolerance_s: int,
    now: datetime,
) -> None:
    """Accept a payment-provider webhook only if its HMAC-SHA256 under `provider`'s own secret over
    "<timestamp>.<provider>.<body>" holds."""
    if secret is None:
        raise _refuse("The payment webhook is not configured (no secret for this provider).")
    if not signature:
        raise _refuse(f"The {HMAC_SIGNATURE} header is missing.")
    if not signature.startswith(HMAC_SCHEME):
        raise _refuse(f"The {HMAC_SIGNATURE} header must read '{HMAC_SCHEME}<hex digest>'.")
    stamp = check_timestamp(timestamp, HMAC_TIMESTAMP, tolerance_s, now)
    expected = hmac_signature(secret.get_secret_value(), stamp, provider, body)
    if not hmac.compare_digest(expected.encode(), signature.strip().lower().encode()):
        raise _refuse(
            f"The {HMAC_SIGNATURE} signature does not match the timestamp, the provider in the path and the body "
            "under this provider's secret."
        )
