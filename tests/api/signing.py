"""Signing webhook requests as the providers do, with real keys and without the code under test:
SendGrid's ECDSA P-256 over timestamp + body (a fresh key pair per test), Twilio's HMAC-SHA1 of
the public URL plus the sorted form parameters (the SDK's own RequestValidator), and the payment
providers' HMAC-SHA256 of "<timestamp>.<body>"."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from twilio.request_validator import RequestValidator


@dataclass(frozen=True)
class SendGridKey:
    private: ec.EllipticCurvePrivateKey
    public_b64: str  # base64 DER SubjectPublicKeyInfo: what SendGrid's settings page shows

    @classmethod
    def generate(cls) -> SendGridKey:
        private = ec.generate_private_key(ec.SECP256R1())
        der = private.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return cls(private=private, public_b64=base64.b64encode(der).decode())

    def headers(self, body: bytes, timestamp: int | None = None) -> dict[str, str]:
        """The signature headers SendGrid sends with `body`."""
        stamp = str(int(time.time()) if timestamp is None else timestamp)
        signature = self.private.sign(stamp.encode() + body, ec.ECDSA(hashes.SHA256()))
        return {
            "X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(signature).decode(),
            "X-Twilio-Email-Event-Webhook-Timestamp": stamp,
            "Content-Type": "application/json",
        }


def sendgrid_body(events: list[dict[str, Any]]) -> bytes:
    """A batch as SendGrid serializes it (the exact bytes are what is signed)."""
    return json.dumps(events, separators=(",", ":")).encode()


def twilio_request(token: str, url: str, params: dict[str, str]) -> tuple[bytes, dict[str, str]]:
    """A form-encoded Twilio webhook body for `url` (the public URL Twilio calls) and its headers."""
    signature = RequestValidator(token).compute_signature(url, params)
    headers = {"X-Twilio-Signature": signature, "Content-Type": "application/x-www-form-urlencoded"}
    return urlencode(params).encode(), headers


def payment_headers(secret: str, provider: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    """The HMAC-SHA256 headers `provider` sends with `body`: it signs "<timestamp>.<provider>.<body>"
    under its own `secret`, so the signature names the provider."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), f"{stamp}.{provider}.".encode() + body, hashlib.sha256).hexdigest()
    return {"X-Signature": f"sha256={digest}", "X-Signature-Timestamp": stamp, "Content-Type": "application/json"}
