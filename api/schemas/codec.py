"""Bodies of the codec endpoint: Temporal's `Payloads` message in its protobuf JSON form, as the
Temporal Web UI and CLI send it (metadata values and data are base64)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class PayloadJson(BaseModel):
    """One payload: `metadata` (e.g. `encoding`) and `data`, each value base64."""

    metadata: dict[str, str] = Field(default_factory=dict)
    data: str = ""


class PayloadsJson(BaseModel):
    """What `/codec/decode` and `/codec/encode` take and give back."""

    payloads: list[PayloadJson] = Field(default_factory=list, max_length=1000)
