"""How every process (worker, API, CLI) connects to Temporal: one place, one data converter
(pydantic payloads sealed by the encryption codec, see workflows/converter.py)."""

from __future__ import annotations

from temporalio.client import Client, TLSConfig

from config import Settings
from workflows.converter import data_converter


async def connect(settings: Settings) -> Client:
    """A client for a local server, a TLS cluster or Temporal Cloud (API key), chosen by settings."""
    tls: TLSConfig | bool = False
    if settings.temporal_tls_cert_path and settings.temporal_tls_key_path:
        with open(settings.temporal_tls_cert_path, "rb") as cert, open(settings.temporal_tls_key_path, "rb") as key:
            tls = TLSConfig(client_cert=cert.read(), client_private_key=key.read())
    elif settings.temporal_tls or settings.temporal_api_key is not None:
        tls = True
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        tls=tls,
        api_key=settings.temporal_api_key.get_secret_value() if settings.temporal_api_key else None,
        data_converter=data_converter(settings),
    )
