"""The one data converter every process uses with Temporal (worker, API, CLI, tests): pydantic
payloads, sealed by the encryption codec with the keys from settings, and failure messages and stack
traces moved into sealed payloads too (an exception's text can quote a debtor's details).

With no keys configured, a local Temporal gets a development key kept in a file (see config.py);
a production-like connection refuses to start instead.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import os
from pathlib import Path

from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter, DefaultFailureConverterWithEncodedAttributes

from config import PAYLOAD_KEY_BYTES, Settings
from workflows.codec import EncryptionCodec


class PayloadKeysMissing(RuntimeError):
    """No payload keys configured where a made-up development key would do harm."""


def data_converter(settings: Settings) -> DataConverter:
    """pydantic_data_converter with the encryption codec built from `settings`."""
    return converter_for(payload_codec(settings))


def converter_for(codec: EncryptionCodec) -> DataConverter:
    """The product's converter around a given codec (tests build codecs with their own keys)."""
    return dataclasses.replace(
        pydantic_data_converter,
        payload_codec=codec,
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )


def payload_codec(settings: Settings) -> EncryptionCodec:
    """The codec for the configured keys, or for the development key on a local Temporal."""
    if settings.payload_keys:
        keys = {key_id: base64.b64decode(key.get_secret_value()) for key_id, key in settings.payload_keys.items()}
        assert settings.payload_key_id is not None  # Settings checks the current id is listed
        return EncryptionCodec(keys, settings.payload_key_id)
    if settings.temporal_is_production_like:
        raise PayloadKeysMissing(
            "Temporal is a TLS cluster or Temporal Cloud but no payload keys are configured: set "
            "COLLECT_PAYLOAD_KEYS and COLLECT_PAYLOAD_KEY_ID (see README, 'Encrypted payloads')"
        )
    key_id, key = development_key(Path(settings.payload_dev_key_path))
    return EncryptionCodec({key_id: key}, key_id)


def current_key_id(settings: Settings) -> str | None:
    """The id `payload_codec` seals under, without making a development key: None when none is
    configured and no development key exists yet (or none may be made here)."""
    if settings.payload_keys:
        return settings.payload_key_id
    path = Path(settings.payload_dev_key_path)
    if settings.temporal_is_production_like or not path.exists():
        return None
    try:
        return development_key(path)[0]
    except (PayloadKeysMissing, ValueError, OSError):  # a damaged file: payload_codec will say so
        return None


def development_key(path: Path) -> tuple[str, bytes]:
    """The key in `path`, created (readable by the owner only) if missing. Several processes may
    start at once: the key is written to a private file and linked into place, so every process
    reads the same complete key. Its id carries a fingerprint, so a process with a different file
    fails to decode with a message naming both ids."""
    if not path.exists():
        fresh = path.with_name(f".{path.name}.{os.getpid()}")
        fd = os.open(fresh, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(base64.b64encode(os.urandom(PAYLOAD_KEY_BYTES)).decode() + "\n")
        try:
            os.link(fresh, path)
        except FileExistsError:
            pass  # another process won; use its key
        finally:
            fresh.unlink()
    key = base64.b64decode(path.read_text().strip(), validate=True)
    if len(key) != PAYLOAD_KEY_BYTES:
        raise PayloadKeysMissing(f"{path} holds no {PAYLOAD_KEY_BYTES}-byte base64 key; delete it to make a new one")
    return f"dev-{hashlib.sha256(key).hexdigest()[:8]}", key
