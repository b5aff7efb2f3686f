"""Who is using the console, with the API's rules: the session cookie names an API key's id, the
key is looked up on every request (revoked: signed out), and pages admit roles through the API's
own `require`, so a role the API refuses is refused here with the same 403, and an account an
agent may not see is the same 404 (the pages call the same visibility rules).

`Viewer`, `Planner`, `Worker`, `Steerer`... are the dependencies pages take; `SignInRequired`
sends a signed-out visitor to the sign-in page (console/errors.py). `csrf_protect` runs on every
console request and refuses a POST whose token (form field or header) is not the session's.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import Depends, Request

from api import auth
from api.auth import Principal
from api.deps import NowDep, SessionDep
from api.errors import ProblemError
from console.session import COOKIE, CSRF_FIELD, CSRF_HEADER, ConsoleSession, Signer, secret_of


class SignInRequired(Exception):
    """The visitor must sign in (again) before seeing this page."""


def signer(request: Request) -> Signer:
    """The app's cookie signer, made on first use (every process derives the same one)."""
    state = request.app.state
    found: Signer | None = getattr(state, "console_signer", None)
    if found is None:
        found = state.console_signer = Signer(secret_of(state.settings))
    return found


def lifetime(request: Request) -> timedelta:
    return timedelta(hours=request.app.state.settings.console_session_hours)


def current_session(request: Request, now: NowDep) -> ConsoleSession | None:
    """The visitor's valid session (signed in or not), or None."""
    return signer(request).loads(request.cookies.get(COOKIE), now)


SessionCookie = Annotated[ConsoleSession | None, Depends(current_session)]


def signed_in(request: Request, session: SessionDep, cookie: SessionCookie) -> Principal:
    """The signed-in principal, checked against the key's revocation; SignInRequired otherwise."""
    if cookie is None or cookie.key_id is None:
        raise SignInRequired
    principal = auth.lookup_id(session, cookie.key_id)
    if principal is None:
        raise SignInRequired
    request.state.principal = principal
    request.state.console_session = cookie
    return principal


async def csrf_protect(request: Request, cookie: SessionCookie) -> None:
    """Refuse (403) a POST without the session's CSRF token in its form or X-CSRF-Token header."""
    if request.method != "POST":
        return
    given = request.headers.get(CSRF_HEADER)
    if given is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        value = (await request.form()).get(CSRF_FIELD)
        given = value if isinstance(value, str) else None
    if cookie is None or not cookie.csrf_matches(given):
        raise ProblemError(403, "This form has expired or did not come from the console; reload the page and retry.")


def _role(*roles: str) -> object:
    return Depends(auth.require(*roles, authenticator=signed_in))


Viewer = Annotated[Principal, Depends(signed_in)]  # any role
Planner = Annotated[Principal, _role(*auth.PLANNERS)]
Worker = Annotated[Principal, _role(*auth.WORKERS)]
Steerer = Annotated[Principal, _role(*auth.STEERERS)]
Strategist = Annotated[Principal, _role(*auth.STRATEGISTS)]
Agent = Annotated[Principal, _role(*auth.AGENTS)]
