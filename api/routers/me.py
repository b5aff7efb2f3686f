"""GET /me: any valid key learns whose it is and what it may do (the CLI's `collect whoami`, and a
client's check that its key works before it does anything else)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from api.auth import Principal, authenticate
from api.schemas.me import Caller

router = APIRouter(tags=["me"])


@router.get("/me", summary="Who this API key belongs to")
def who_am_i(principal: Annotated[Principal, Depends(authenticate)]) -> Caller:
    """The key's subject, role and queues; 401 when the key is missing, unknown or revoked."""
    return Caller(subject=principal.subject, role=principal.role, queues=list(principal.queues))
