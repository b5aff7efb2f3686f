"""Base model for the immutable, JSON-serializable values that cross Temporal and the database."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Frozen(BaseModel):
    """Immutable value object: unknown fields are a bug, so they are refused."""

    model_config = ConfigDict(frozen=True, extra="forbid")
