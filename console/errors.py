"""Errors on console pages: the API's problems (the same status and detail: an agent opening
another queue's account gets the 404 the API gives) shown as a page instead of problem+json, and
a signed-out visitor sent to the sign-in page (an HTMX request is told to go there with
HX-Redirect, since a redirect would only replace the fragment)."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.errors import TITLES, ProblemError
from console.auth import SignInRequired
from console.templating import render
from services.errors import ServiceError

PREFIX = "/console"


def is_console(request: Request) -> bool:
    path = request.url.path
    return (path == PREFIX or path.startswith(PREFIX + "/")) and not path.startswith(PREFIX + "/static/")


def sign_in_url(request: Request) -> str:
    back = request.url.path
    if request.method != "GET" or back in (PREFIX, PREFIX + "/"):
        return f"{PREFIX}/signin"
    return f"{PREFIX}/signin?next={quote(back + ('?' + request.url.query if request.url.query else ''), safe='')}"


def _page(request: Request, status: int, detail: str, fields: list[str]) -> Response:
    context = {"status": status, "title": TITLES.get(status, "Error"), "detail": detail, "fields": fields}
    return render(request, "error.html", context, status_code=status)


def install(app: FastAPI) -> None:
    """Wrap the API's handlers: console paths get pages, every other path what it got before."""

    async def sign_in(request: Request, exc: Exception) -> Response:
        target = sign_in_url(request)
        if request.headers.get("HX-Request"):
            return Response(status_code=204, headers={"HX-Redirect": target})
        return RedirectResponse(target, status_code=303)

    app.add_exception_handler(SignInRequired, sign_in)

    def wrap(kind: type[Exception], detail_of: Callable[[Exception], tuple[int, str, list[str]]]) -> None:
        api_handler = app.exception_handlers[kind]

        async def handler(request: Request, exc: Exception) -> Response:
            if not is_console(request):
                answer = api_handler(request, exc)
                return await answer if inspect.isawaitable(answer) else answer
            return _page(request, *detail_of(exc))

        app.add_exception_handler(kind, handler)

    def problem(exc: Exception) -> tuple[int, str, list[str]]:
        assert isinstance(exc, ProblemError)
        return exc.status, exc.detail, [item.pointer.rsplit("/", 1)[-1] for item in exc.errors if item.pointer]

    def http(exc: Exception) -> tuple[int, str, list[str]]:
        assert isinstance(exc, StarletteHTTPException)
        return exc.status_code, str(exc.detail), []

    def invalid(exc: Exception) -> tuple[int, str, list[str]]:
        assert isinstance(exc, RequestValidationError)
        return 422, "", [str(e.get("loc", ("?",))[-1]) for e in exc.errors()]

    def refused(exc: Exception) -> tuple[int, str, list[str]]:
        assert isinstance(exc, ServiceError)
        return exc.status, exc.detail, [f.pointer.rsplit("/", 1)[-1] for f in exc.fields if f.pointer]

    wrap(ProblemError, problem)
    wrap(ServiceError, refused)
    wrap(StarletteHTTPException, http)
    wrap(RequestValidationError, invalid)
