"""Signing in with an API key (exchanged for the session cookie), signing out, the language switch,
and the console's front door (each role's first page)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from api import auth
from api.deps import NowDep, SessionDep
from console.auth import SessionCookie, Viewer, lifetime, signer
from console.i18n import LANG_COOKIE, LANGUAGES
from console.nav import home_for
from console.session import COOKIE, ConsoleSession
from console.templating import render

router = APIRouter()
ONE_YEAR = 365 * 24 * 3600


def safe_next(target: str | None) -> str | None:
    """A console path to return to; anything else (another site, a scheme) is dropped."""
    if not target or not target.startswith("/console/") or "//" in target or "\\" in target:
        return None
    return target


def set_session(request: Request, response: Response, session: ConsoleSession) -> None:
    response.set_cookie(
        COOKIE,
        signer(request).dumps(session),
        max_age=int(lifetime(request).total_seconds()),
        path="/console",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


@router.get("", include_in_schema=False)
@router.get("/")
def home(principal: Viewer) -> RedirectResponse:
    return RedirectResponse(home_for(principal), status_code=303)


@router.get("/signin")
def sign_in_page(
    request: Request, session: SessionDep, cookie: SessionCookie, now: NowDep, next: str | None = None
) -> Response:
    if cookie is not None and cookie.key_id is not None:
        principal = auth.lookup_id(session, cookie.key_id)
        if principal is not None:
            return RedirectResponse(safe_next(next) or home_for(principal), status_code=303)
    fresh = cookie if cookie is not None and cookie.key_id is None else ConsoleSession.anonymous(now, lifetime(request))
    request.state.console_session = fresh
    response = render(request, "signin.html", {"next": safe_next(next) or "", "failed": False})
    set_session(request, response, fresh)
    return response


@router.post("/signin")
def sign_in(
    request: Request,
    session: SessionDep,
    cookie: SessionCookie,
    now: NowDep,
    api_key: Annotated[str, Form(max_length=200)],
    next: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Exchange a live API key for a session: the cookie holds the key's id, never the key."""
    principal = auth.lookup(session, api_key.strip())
    if principal is None:
        request.state.console_session = cookie
        return render(request, "signin.html", {"next": safe_next(next) or "", "failed": True}, status_code=401)
    assert cookie is not None  # csrf_protect refused the POST otherwise
    response = RedirectResponse(safe_next(next) or home_for(principal), status_code=303)
    set_session(request, response, cookie.signed_in(principal.key_id, now, lifetime(request)))
    return response


@router.post("/signout")
def sign_out(request: Request) -> Response:
    response = RedirectResponse("/console/signin", status_code=303)
    response.delete_cookie(COOKIE, path="/console", httponly=True, samesite="strict")
    return response


@router.post("/language")
def switch_language(
    lang: Annotated[str, Form(pattern="^(" + "|".join(LANGUAGES) + ")$")],
    back: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    response = RedirectResponse(safe_next(back) or "/console/", status_code=303)
    response.set_cookie(LANG_COOKIE, lang, max_age=ONE_YEAR, path="/console", samesite="strict")
    return response
