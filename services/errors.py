"""What a service refuses, as exceptions every door renders in its own way: the API as
problem+json with the status named here (api/errors.py), the console as a page with the same
status and detail, so a rule gives the same answer wherever it is asked."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Field:
    """Which input was wrong and why: a JSON pointer into the request (e.g. /body/agent), or, in a
    document the request carries (a strategy's YAML), the line and column."""

    pointer: str | None
    detail: str
    line: int | None = None
    column: int | None = None


class ServiceError(Exception):
    status = 400

    def __init__(self, detail: str, *, fields: list[Field] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.fields = fields or []


class NotFound(ServiceError):
    """It does not exist, or the caller may not know that it does (404 either way)."""

    status = 404


class Conflict(ServiceError):
    """It exists but is not in a state that allows this (409)."""

    status = 409


class Invalid(ServiceError):
    """The input is well-formed but names something that cannot be (422)."""

    status = 422
