"""Errors as RFC 9457 `application/problem+json`: one model, one exception, and the handlers that
turn FastAPI's own errors (404, 405, validation) into it. Expected failures never become a 500."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from services.errors import ServiceError

PROBLEM_JSON = "application/problem+json"

TITLES = {
    400: "Bad request",
    401: "Not authenticated",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Payload too large",
    415: "Unsupported media type",
    422: "Unprocessable content",
    429: "Too many requests",
    502: "Bad gateway",
    503: "Service unavailable",
}


class ProblemItem(BaseModel):
    """One thing wrong with the input: where (`pointer` into the body, or `line`/`column` of a YAML
    document, or `row` of an import) and what."""

    pointer: str | None = None
    line: int | None = None
    column: int | None = None
    row: int | None = None
    detail: str


class Problem(BaseModel):
    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    errors: list[ProblemItem] = Field(default_factory=list)


class ProblemError(Exception):
    """Raise anywhere in a request to answer with a problem document."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        errors: list[ProblemItem] | None = None,
        headers: dict[str, str] | None = None,
        type_: str = "about:blank",
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.errors = errors or []
        self.headers = headers
        self.type = type_


def problem_response(
    status: int,
    detail: str | None,
    *,
    instance: str | None = None,
    errors: list[ProblemItem] | None = None,
    headers: dict[str, str] | None = None,
    type_: str = "about:blank",
) -> JSONResponse:
    problem = Problem(
        type=type_,
        title=TITLES.get(status, "Error"),
        status=status,
        detail=detail,
        instance=instance,
        errors=errors or [],
    )
    return JSONResponse(
        problem.model_dump(mode="json", exclude_none=True), status_code=status, media_type=PROBLEM_JSON, headers=headers
    )


def _pointer(loc: tuple[Any, ...]) -> str:
    # FastAPI prefixes the location with where the value came from ("body", "query", ...).
    return "/" + "/".join(str(part) for part in loc)


def install(app: FastAPI) -> None:
    """Register the handlers that turn every error into a problem document."""

    @app.exception_handler(ProblemError)
    async def _problem(request: Request, exc: ProblemError) -> JSONResponse:
        return problem_response(
            exc.status, exc.detail, instance=request.url.path, errors=exc.errors, headers=exc.headers, type_=exc.type
        )

    @app.exception_handler(ServiceError)
    async def _refused(request: Request, exc: ServiceError) -> JSONResponse:
        errors = [ProblemItem(pointer=f.pointer, line=f.line, column=f.column, detail=f.detail) for f in exc.fields]
        return problem_response(exc.status, exc.detail, instance=request.url.path, errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return problem_response(
            exc.status_code, str(exc.detail), instance=request.url.path, headers=getattr(exc, "headers", None)
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            ProblemItem(pointer=_pointer(tuple(e.get("loc", ()))), detail=str(e.get("msg"))) for e in exc.errors()
        ]
        return problem_response(422, "The request does not match its schema.", instance=request.url.path, errors=errors)


# Declared on the app so every operation documents its problem answers in OpenAPI.
PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": Problem, "content": {PROBLEM_JSON: {}}, "description": TITLES[status]}
    for status in (400, 401, 403, 404, 409, 413, 422, 503)
}
