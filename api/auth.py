"""API keys and roles. A key is `ck_<prefix>_<secret>`; the database keeps its SHA-256 and the
prefix (to tell keys apart in listings), never the key. Every endpoint names the roles it admits;
admin is admitted everywhere."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from api.errors import ProblemError
from api.request_session import SessionDep
from db.models import ROLES, ApiKey

API_KEY_HEADER = "X-API-Key"
_scheme = APIKeyHeader(
    name=API_KEY_HEADER, auto_error=False, description="A personal API key (`collect api-key create`)."
)

# The same key as a bearer token, admitted only where a client cannot set our header: Temporal's
# codec clients (`temporal ... --codec-auth "Bearer ck_..."`) send `Authorization`.
_bearer = HTTPBearer(auto_error=False, description="A personal API key as a bearer token (codec endpoint only).")


@dataclass(frozen=True)
class Principal:
    """Who is calling: `subject` names them in tasks, outcomes and audit columns."""

    key_id: int
    subject: str
    role: str
    queues: tuple[str, ...] = field(default_factory=tuple)

    @property
    def is_agent(self) -> bool:
        return self.role == "agent"


@dataclass(frozen=True)
class IssuedKey:
    key: str  # shown once, at creation
    prefix: str
    subject: str
    role: str


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def issue_key(session: Session, subject: str, role: str, queues: list[str] | None = None) -> IssuedKey:
    """Create a key for `subject` with `role`; the caller commits. The plain key is returned once."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}: expected one of {', '.join(ROLES)}")
    if not subject.strip():
        raise ValueError("subject must not be empty")
    prefix = secrets.token_hex(4)
    key = f"ck_{prefix}_{secrets.token_urlsafe(32)}"
    session.add(ApiKey(subject=subject, role=role, queues=list(queues or []), prefix=prefix, key_hash=hash_key(key)))
    session.flush()
    return IssuedKey(key=key, prefix=prefix, subject=subject, role=role)


def revoke_key(session: Session, prefix: str) -> bool:
    """Revoke the key with this prefix; False when there is no such live key. The caller commits."""
    result = session.execute(
        update(ApiKey).where(ApiKey.prefix == prefix, ApiKey.revoked_at.is_(None)).values(revoked_at=datetime.now(UTC))
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def lookup(session: Session, key: str) -> Principal | None:
    """The live key's principal, or None. Compared by hash, in constant time."""
    digest = hash_key(key)
    row = session.scalar(select(ApiKey).where(ApiKey.key_hash == digest, ApiKey.revoked_at.is_(None)))
    if row is None or not hmac.compare_digest(row.key_hash, digest):
        return None
    return Principal(key_id=row.id, subject=row.subject, role=row.role, queues=tuple(row.queues))


def _unauthenticated(detail: str) -> ProblemError:
    return ProblemError(401, detail, headers={"WWW-Authenticate": f'ApiKey header="{API_KEY_HEADER}"'})


def authenticate(request: Request, session: SessionDep, key: Annotated[str | None, Depends(_scheme)]) -> Principal:
    """The caller's principal; 401 when the key is missing, unknown or revoked."""
    return _principal(request, session, key)


def authenticate_key_or_bearer(
    request: Request,
    session: SessionDep,
    key: Annotated[str | None, Depends(_scheme)],
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """`authenticate`, also taking the key from `Authorization: Bearer <key>`."""
    return _principal(request, session, key or (bearer.credentials if bearer else None))


def _principal(request: Request, session: Session, key: str | None) -> Principal:
    if not key:
        raise _unauthenticated(f"Send your API key in the {API_KEY_HEADER} header.")
    # The request's own session: the key check shares the endpoint's transaction and connection.
    principal = lookup(session, key)
    if principal is None:
        raise _unauthenticated("The API key is unknown or revoked.")
    request.state.principal = principal
    return principal


def require(*roles: str, authenticator: Callable[..., Principal] = authenticate) -> Callable[[Principal], Principal]:
    """A dependency admitting admin and `roles`; 403 for everyone else."""
    admitted = {"admin", *roles}

    # A default, not an Annotated hint: the hint would be a string naming this closure's variable,
    # which FastAPI cannot resolve (annotations are postponed in this module).
    def check(principal: Principal = Depends(authenticator)) -> Principal:  # noqa: B008
        if principal.role not in admitted:
            raise ProblemError(
                403, f"The {principal.role} role may not do this; it needs one of: {', '.join(sorted(admitted))}."
            )
        return principal

    return check
