"""Keyset pagination: `?limit=1..100&cursor=...`, answered with `{items, next_cursor}`.

The cursor is opaque to clients (base64url of JSON); a cursor that cannot be decoded is a 400, not
a 500. Lists are ordered by an increasing integer id, so the cursor is the last id returned.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel

from api.errors import ProblemError

T = TypeVar("T")

LimitQuery = Annotated[int, Query(ge=1, le=100, description="Items per page.")]
CursorQuery = Annotated[str | None, Query(max_length=200, description="`next_cursor` of the previous page.")]


class Page(BaseModel, Generic[T]):
    """Subclass it per item type (`class TaskPage(Page[TaskPublic])`): the subclass's name is the
    schema's name in the OpenAPI description, where `Page[TaskPublic]` would be `Page_TaskPublic_`."""

    items: list[T]
    next_cursor: str | None = None


P = TypeVar("P", bound=Page[Any])


def encode_cursor(after_id: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"after": after_id}).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int | None:
    """The id to continue after, or None for the first page; 400 for a cursor we did not issue."""
    if cursor is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        after = json.loads(raw)["after"]
    except (binascii.Error, ValueError, KeyError, TypeError, UnicodeDecodeError, RecursionError):
        raise ProblemError(400, "The cursor is not one this API issued; start again without it.") from None
    # Ids are 64-bit at most; a larger number would fail in the database instead of here.
    if not isinstance(after, int) or isinstance(after, bool) or not 0 <= after < 2**63:
        raise ProblemError(400, "The cursor is not one this API issued; start again without it.")
    return after


def page_of(page: type[P], items: list[Any], ids: list[int], limit: int) -> P:
    """A `page` from up to `limit + 1` fetched rows: the extra row only says that more exist."""
    more = len(items) > limit
    return page(items=items[:limit], next_cursor=encode_cursor(ids[limit - 1]) if more else None)
