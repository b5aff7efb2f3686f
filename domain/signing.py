"""The product's HMAC webhook signature, in both directions: payment providers sign what they post
to the API this way (`api.signatures.verify_hmac` checks it), and the `notify` action signs what it
posts to the creditor's systems the same way (`activities.notify`). Pure: the worker imports it
without the API's web stack.

The signed string is `"<timestamp>.<name>.<raw body>"` (the name: the payment provider, or the
campaign), sent as `X-Signature: sha256=<hex>` with `X-Signature-Timestamp: <unix seconds>`.
"""

from __future__ import annotations

import hashlib
import hmac

HMAC_SIGNATURE = "X-Signature"
HMAC_TIMESTAMP = "X-Signature-Timestamp"
HMAC_SCHEME = "sha256="


def payment_signed_content(timestamp: str, provider: str, body: bytes) -> bytes:
    """What is signed: `"<timestamp>.<provider>.<raw body>"`."""
    return b".".join((timestamp.encode(), provider.encode(), body))


def hmac_signature(secret: str, timestamp: str, provider: str, body: bytes) -> str:
    """The `X-Signature` value for `provider`'s `body` sent at `timestamp`."""
    digest = hmac.new(secret.encode(), payment_signed_content(timestamp, provider, body), hashlib.sha256).hexdigest()
    return f"{HMAC_SCHEME}{digest}"
