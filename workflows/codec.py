"""The payload codec: every payload the product hands to Temporal is sealed with AES-256-GCM, so a
history holds no debtor's name, email, phone or amount in plain text.

Each sealed payload names the key that sealed it (`encryption-key-id` metadata), so keys rotate:
encode uses the current key, decode uses whichever listed key the payload names. Payloads without
the `binary/encrypted` encoding pass through decode untouched, so histories written before the codec
still replay and read. (The shape follows temporalio/samples-python encryption/codec.py, so Temporal's
own tools recognise the encoding.) Not workflow code: it runs in the client and the worker, outside
the sandbox.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec

ENCODING = b"binary/encrypted"
KEY_ID = "encryption-key-id"
_NONCE_BYTES = 12
_TAG_BYTES = 16


class PayloadKeyError(ValueError):
    """A sealed payload that these keys cannot open: its key is not configured, or does not match."""


class EncryptionCodec(PayloadCodec):
    """AES-256-GCM over the serialized payload; a fresh random nonce per payload."""

    def __init__(self, keys: Mapping[str, bytes], current: str) -> None:
        if current not in keys:
            raise ValueError(f"the current payload key {current!r} is not among the keys: {', '.join(keys)}")
        self._ciphers = {key_id: AESGCM(key) for key_id, key in keys.items()}
        self.current = current

    @property
    def key_ids(self) -> tuple[str, ...]:
        return tuple(self._ciphers)

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.seal(p) for p in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return self.open_all(payloads)

    def seal(self, payload: Payload) -> Payload:
        key_id, sealed = self.seal_bytes(payload.SerializeToString())
        return Payload(metadata={"encoding": ENCODING, KEY_ID: key_id.encode()}, data=sealed)

    def open_all(self, payloads: Iterable[Payload]) -> list[Payload]:
        return [self.open(p) for p in payloads]

    def open(self, payload: Payload) -> Payload:
        if payload.metadata.get("encoding") != ENCODING:
            return payload  # written before the codec (or by a tool that does not encrypt): readable as it is
        key_id = payload.metadata.get(KEY_ID, b"").decode(errors="replace")
        return Payload.FromString(self.open_bytes(key_id, payload.data))

    # The same sealing for what the product keeps outside Temporal (services/secrets_at_rest.py):
    # one key map, one cipher, one place that knows the layout (nonce, then ciphertext and tag).

    def seal_bytes(self, plain: bytes, associated: bytes | None = None) -> tuple[str, bytes]:
        """`plain` sealed under the current key (the id it returns), bound to `associated`: what
        it seals opens only with the same associated data."""
        nonce = os.urandom(_NONCE_BYTES)
        return self.current, nonce + self._ciphers[self.current].encrypt(nonce, plain, associated)

    def open_bytes(
        self, key_id: str, sealed: bytes, associated: bytes | None = None, *, what: str = "payload"
    ) -> bytes:
        """What `seal_bytes` sealed under `key_id`; PayloadKeyError naming the key id when that key
        is not configured or does not open it (`what` names the thing in the message)."""
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise PayloadKeyError(
                f"{what} sealed with key id {key_id!r}, which is not configured (configured: "
                f"{', '.join(self._ciphers)}); add that key to COLLECT_PAYLOAD_KEYS to read it"
            )
        if len(sealed) < _NONCE_BYTES + _TAG_BYTES:
            raise PayloadKeyError(f"{what} sealed with key id {key_id!r} is too short to be sealed")
        try:
            return cipher.decrypt(sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:], associated)
        except InvalidTag:
            raise PayloadKeyError(
                f"{what} sealed with key id {key_id!r} does not open with the key configured under that id "
                "(a different key, or altered or moved data)"
            ) from None
