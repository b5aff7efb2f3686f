"""Base model for the immutable, JSON-serializable values that cross Temporal and the database."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

# Marks a field added after strategies were first published (see `added`).
HASH_OMITS_DEFAULT = "hash_omits_default"


class Frozen(BaseModel):
    """Immutable value object: unknown fields are a bug, so they are refused."""

    model_config = ConfigDict(frozen=True, extra="forbid")


def added(default: Any = None, **kwargs: Any) -> Any:
    """A field added to a published model (the compiled strategy and its parts) after versions were
    already published: `strategies.compiler.content_hash` leaves it out while it holds `default`,
    so a version compiled before the field existed keeps the hash it was published with, and a
    running account's strategy (a workflow input) reads back as it was written, with the old
    behaviour, since `default` must mean exactly what happened before the field existed."""
    return Field(default=default, json_schema_extra={HASH_OMITS_DEFAULT: True}, **kwargs)


def omit_added_defaults(model: BaseModel, body: Any) -> Any:
    """`body` (model's JSON dump) without the `added` fields that hold their default, recursively."""
    if not isinstance(body, dict):
        return body
    for name, info in type(model).model_fields.items():
        value = getattr(model, name)
        extra = info.json_schema_extra
        if isinstance(extra, dict) and extra.get(HASH_OMITS_DEFAULT) and value == info.default:
            body.pop(name, None)
            continue
        if name in body:
            body[name] = _omit_in(value, body[name])
    return body


def _omit_in(value: Any, body: Any) -> Any:
    if isinstance(value, BaseModel):
        return omit_added_defaults(value, body)
    if isinstance(value, dict) and isinstance(body, dict):
        return {k: _omit_in(value[k], v) if k in value else v for k, v in body.items()}
    if isinstance(value, tuple | list) and isinstance(body, list):
        return [_omit_in(v, b) for v, b in zip(value, body, strict=True)]
    return body
