"""The codec endpoint Temporal's UI and CLI call: supervisors and admins only (401 without a key,
403 for agents and strategists), the key in `X-API-Key` or as a bearer token; it opens exactly what
the product's converter seals and seals what the UI sends; CORS only for the configured UI origin
and only on `/codec/`; bad input is a clear 4xx."""

from __future__ import annotations

import base64
import json

import pytest
from api_harness import Api
from temporalio.api.common.v1 import Payload
from workers import PAYLOAD_KEY_ID

from workflows.codec import EncryptionCodec

UI = "http://localhost:8233"
NAME = "Ximena Quispe Rotondo"


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def plain(text: str) -> dict[str, object]:
    return {"metadata": {"encoding": b64(b"json/plain")}, "data": b64(json.dumps(text).encode())}


async def sealed_by_the_product(api: Api, text: str) -> dict[str, object]:
    """A payload as the worker and the API's client put it into a history."""
    [payload] = await api.env.client.data_converter.encode([text])
    assert payload.metadata["encoding"] == b"binary/encrypted"
    return {"metadata": {k: b64(v) for k, v in payload.metadata.items()}, "data": b64(payload.data)}


async def test_a_supervisor_reads_what_the_product_sealed(api: Api) -> None:
    body = {"payloads": [await sealed_by_the_product(api, NAME)]}
    response = await api.http.post(
        "/codec/decode", json=body, headers=api.as_("supervisor", **{"X-Namespace": "default"})
    )
    assert response.status_code == 200, response.text
    [opened] = response.json()["payloads"]
    assert base64.b64decode(opened["metadata"]["encoding"]) == b"json/plain"
    assert json.loads(base64.b64decode(opened["data"])) == NAME


async def test_encode_then_decode_round_trips_under_the_current_key(api: Api) -> None:
    headers = api.as_("admin")
    encoded = await api.http.post("/codec/encode", json={"payloads": [plain(NAME)]}, headers=headers)
    assert encoded.status_code == 200, encoded.text
    [sealed] = encoded.json()["payloads"]
    assert base64.b64decode(sealed["metadata"]["encryption-key-id"]).decode() == PAYLOAD_KEY_ID
    assert NAME.encode() not in base64.b64decode(sealed["data"])
    decoded = await api.http.post("/codec/decode", json=encoded.json(), headers=headers)
    assert decoded.json() == {"payloads": [plain(NAME)]}


async def test_payloads_from_before_the_codec_come_back_as_they_are(api: Api) -> None:
    body = {"payloads": [plain("old history")]}
    response = await api.http.post("/codec/decode", json=body, headers=api.as_("supervisor"))
    assert response.json() == body


@pytest.mark.parametrize("path", ["/codec/decode", "/codec/encode"])
async def test_only_supervisors_and_admins_may_call_it(api: Api, path: str) -> None:
    body = {"payloads": [await sealed_by_the_product(api, NAME)]}
    assert (await api.http.post(path, json=body)).status_code == 401
    for who in ("agent", "strategist"):
        refused = await api.http.post(path, json=body, headers=api.as_(who))
        assert refused.status_code == 403, who
        assert NAME not in refused.text
        bearer = await api.http.post(path, json=body, headers={"Authorization": f"Bearer {api.keys[who]}"})
        assert bearer.status_code == 403, who
    bad = await api.http.post(path, json=body, headers={"Authorization": "Bearer ck_nope_nope"})
    assert bad.status_code == 401
    for headers in (api.as_("supervisor"), {"Authorization": f"Bearer {api.keys['supervisor']}"}, api.as_("admin")):
        assert (await api.http.post(path, json=body, headers=headers)).status_code == 200


async def test_cors_admits_the_ui_origin_on_the_codec_only(api: Api) -> None:
    preflight = {
        "Origin": UI,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type,x-namespace,authorization",
    }
    allowed = await api.http.options("/codec/decode", headers=preflight)
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == UI
    assert "x-namespace" in allowed.headers["access-control-allow-headers"].lower()

    elsewhere = await api.http.options("/codec/decode", headers={**preflight, "Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in elsewhere.headers

    # A refusal still carries CORS headers, so the UI can tell the user why.
    refused = await api.http.post("/codec/decode", json={"payloads": []}, headers={"Origin": UI})
    assert (refused.status_code, refused.headers.get("access-control-allow-origin")) == (401, UI)

    other = await api.http.get("/health", headers={"Origin": UI})
    assert "access-control-allow-origin" not in other.headers


async def test_bad_input_is_a_clear_4xx(api: Api) -> None:
    headers = api.as_("supervisor")
    wrong_namespace = await api.http.post(
        "/codec/decode", json={"payloads": []}, headers={**headers, "X-Namespace": "billing"}
    )
    assert wrong_namespace.status_code == 400
    assert "'default', not 'billing'" in wrong_namespace.json()["detail"]

    not_base64 = await api.http.post("/codec/decode", json={"payloads": [{"data": "%%%"}]}, headers=headers)
    assert not_base64.status_code == 422
    assert not_base64.json()["errors"][0]["pointer"] == "/payloads/0/data"

    retired = EncryptionCodec({"retired": b"r" * 32}, "retired").seal(Payload(data=b"x"))
    body = {"payloads": [{"metadata": {k: b64(v) for k, v in retired.metadata.items()}, "data": b64(retired.data)}]}
    unknown_key = await api.http.post("/codec/decode", json=body, headers=headers)
    assert unknown_key.status_code == 422
    assert "key id 'retired', which is not configured" in unknown_key.json()["errors"][0]["detail"]

    not_json = await api.http.post(
        "/codec/decode", content=b"{", headers={**headers, "Content-Type": "application/json"}
    )
    assert not_json.status_code == 422
