"""Secrets the product must use again (a webhook signing secret: it signs, so it cannot be hashed)
kept sealed in the database, so a copy of the database (a backup, a reporting replica) cannot forge
what they sign.

They are sealed with the payload keys (COLLECT_PAYLOAD_KEYS, COLLECT_PAYLOAD_KEY_ID; with none, the
local development key), by the payload codec's own AES-256-GCM (workflows/codec.py): one key map,
one rotation story. A sealed value reads `sealed:v1:<key id>:<base64 of nonce + ciphertext>`. Its
associated data names what it is and whose it is (e.g. campaign `c1`'s notify secret), so a value
copied to another row, or another column, does not open there.

A value without the prefix is a secret stored before sealing (in clear): it is read as it is, and
sealed when next written or by `collect db seal-secrets`.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from config import Settings
from workflows.codec import EncryptionCodec, PayloadKeyError

PREFIX = "sealed:v1:"


class SealedSecretError(ValueError):
    """A sealed secret these keys cannot open: its key id is not configured, the key under that id
    is another one, or the value was altered or belongs to another owner."""


@dataclass(frozen=True)
class Sealed:
    """A stored value read apart: `key_id` None for a secret stored in clear."""

    key_id: str | None
    data: str


def parse(stored: str) -> Sealed:
    if not stored.startswith(PREFIX):
        return Sealed(None, stored)
    key_id, sep, data = stored[len(PREFIX) :].partition(":")
    if not sep or not key_id:
        raise SealedSecretError("a sealed secret without a key id (sealed:v1:<key id>:<data>)")
    return Sealed(key_id, data)


def is_sealed(stored: str) -> bool:
    return stored.startswith(PREFIX)


class SecretBox:
    """Seals and opens secrets at rest with the payload codec's keys."""

    def __init__(self, codec: EncryptionCodec) -> None:
        self._codec = codec

    @classmethod
    def from_settings(cls, settings: Settings) -> SecretBox:
        """The box for the configured payload keys (or the development key), as the worker's and the
        API's Temporal clients have them."""
        from workflows.converter import payload_codec  # imports temporalio's converter: only when needed

        return cls(payload_codec(settings))

    @property
    def current_key_id(self) -> str:
        return self._codec.current

    def seal(self, secret: str, context: str) -> str:
        """`secret` sealed under the current key, opening only with the same `context` (what the
        secret is and whose, e.g. "campaigns.notify_secret:c1")."""
        key_id, sealed = self._codec.seal_bytes(secret.encode(), context.encode())
        return f"{PREFIX}{key_id}:{base64.b64encode(sealed).decode()}"

    def open(self, stored: str, context: str) -> str:
        """The secret in `stored` (a sealed value or a legacy clear one). SealedSecretError naming
        the key id when it cannot be opened here."""
        value = parse(stored)
        if value.key_id is None:
            return value.data  # stored before sealing
        try:
            sealed = base64.b64decode(value.data, validate=True)
        except (binascii.Error, ValueError):
            raise SealedSecretError(f"{context}: the sealed value is not valid base64") from None
        try:
            plain = self._codec.open_bytes(value.key_id, sealed, context.encode(), what=context)
        except PayloadKeyError as exc:
            raise SealedSecretError(str(exc)) from None
        return plain.decode()

    def needs_sealing(self, stored: str) -> bool:
        """Stored in clear, or sealed under a key that is no longer the current one (sealing it again
        lets that key be retired)."""
        return parse(stored).key_id != self._codec.current
