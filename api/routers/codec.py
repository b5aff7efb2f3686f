"""The codec endpoint for Temporal's Web UI and CLI (Temporal's remote codec protocol): POST
`/codec/decode` opens sealed payloads so a supervisor can read a history; POST `/codec/encode` seals
what the UI sends (a signal or a start from the UI). Both answer with the same `{"payloads": [...]}`.

It uses the very codec of the API's own Temporal client, so it opens exactly what the product seals.
Debtors' personal data is behind it, so only supervisors (and admins) may call it; the key comes in
`X-API-Key` or, for Temporal's tools, `Authorization: Bearer <key>`. Browsers reach it from the UI
origins in `codec_cors_origins` (api/cors.py).
"""

from __future__ import annotations

import base64
import binascii
from typing import Annotated

from fastapi import APIRouter, Depends, Header
from temporalio.api.common.v1 import Payload

from api.auth import Principal, authenticate_key_or_bearer, require
from api.deps import SettingsDep, TemporalDep
from api.errors import ProblemError, ProblemItem
from api.schemas.codec import PayloadJson, PayloadsJson
from api.temporal import TemporalGateway
from workflows.codec import EncryptionCodec, PayloadKeyError

router = APIRouter(prefix="/codec", tags=["codec"])

CodecReader = Annotated[Principal, Depends(require("supervisor", authenticator=authenticate_key_or_bearer))]
NamespaceHeader = Annotated[
    str | None,
    Header(alias="X-Namespace", max_length=255, description="The Temporal namespace the UI is showing."),
]


def _codec(temporal: TemporalGateway, settings_namespace: str, namespace: str | None) -> EncryptionCodec:
    if namespace is not None and namespace != settings_namespace:
        raise ProblemError(400, f"This codec serves the namespace {settings_namespace!r}, not {namespace!r}.")
    codec = temporal.client.data_converter.payload_codec
    if not isinstance(codec, EncryptionCodec):  # cannot happen with workflows.connect; say so if it does
        raise ProblemError(503, "The API's Temporal client has no payload codec.")
    return codec


def _b64(value: str, pointer: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ProblemError(
            422, "A payload is not valid base64.", errors=[ProblemItem(pointer=pointer, detail="not base64")]
        ) from None


def _from_json(body: PayloadsJson) -> list[Payload]:
    return [
        Payload(
            metadata={name: _b64(value, f"/payloads/{n}/metadata/{name}") for name, value in p.metadata.items()},
            data=_b64(p.data, f"/payloads/{n}/data"),
        )
        for n, p in enumerate(body.payloads)
    ]


def _to_json(payloads: list[Payload]) -> PayloadsJson:
    return PayloadsJson(
        payloads=[
            PayloadJson(
                metadata={name: base64.b64encode(value).decode() for name, value in p.metadata.items()},
                data=base64.b64encode(p.data).decode(),
            )
            for p in payloads
        ]
    )


@router.post("/decode", summary="Open sealed payloads (Temporal's codec protocol)")
def decode(
    body: PayloadsJson, _: CodecReader, temporal: TemporalDep, settings: SettingsDep, namespace: NamespaceHeader = None
) -> PayloadsJson:
    codec = _codec(temporal, settings.temporal_namespace, namespace)
    opened = []
    for n, payload in enumerate(_from_json(body)):
        try:
            opened.append(codec.open(payload))
        except PayloadKeyError as exc:
            raise ProblemError(
                422, "A payload cannot be opened.", errors=[ProblemItem(pointer=f"/payloads/{n}", detail=str(exc))]
            ) from None
    return _to_json(opened)


@router.post("/encode", summary="Seal payloads (Temporal's codec protocol)")
def encode(
    body: PayloadsJson, _: CodecReader, temporal: TemporalDep, settings: SettingsDep, namespace: NamespaceHeader = None
) -> PayloadsJson:
    codec = _codec(temporal, settings.temporal_namespace, namespace)
    return _to_json([codec.seal(p) for p in _from_json(body)])
