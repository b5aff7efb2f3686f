"""Every date a request accepts is a calendar date, YYYY-MM-DD: a timestamp such as
2026-12-01T00:00:00Z is refused wherever a date is read (bodies and query strings), and a promise
or plan date years away is refused with the limit named."""

from __future__ import annotations

import importlib
import pkgutil
import typing
from datetime import UTC, date, datetime
from typing import Any

import pytest
from clock import TEST_NOW
from pydantic import BaseModel, TypeAdapter, ValidationError

import api.schemas
from api.routers.kpis import FromQuery, ToQuery
from db.models import Account
from services.agent_work import MAX_YEARS_AHEAD, _date_errors

NOT_DATES = ["2026-12-01T00:00:00Z", "2026-12-01T00:00:00", "2026-12-01 00:00", "20261201", "1764547200", "2026-02-30"]


def _mentions_date(annotation: Any) -> bool:
    if annotation is date:
        return True
    return any(_mentions_date(arg) for arg in typing.get_args(annotation))


def date_fields() -> list[tuple[str, Any]]:
    """(model.field, annotated type) of every date field of every request and response model."""
    found = []
    for info in pkgutil.iter_modules(api.schemas.__path__):
        module = importlib.import_module(f"api.schemas.{info.name}")
        for name, model in vars(module).items():
            if not (isinstance(model, type) and issubclass(model, BaseModel) and model.__module__ == module.__name__):
                continue
            for field_name, field in model.model_fields.items():
                if _mentions_date(field.annotation):
                    found.append((f"{name}.{field_name}", field))
    return found


def request_models() -> set[str]:
    """Models that read input: those forbidding unknown fields (the API's request bodies)."""
    names = set()
    for info in pkgutil.iter_modules(api.schemas.__path__):
        module = importlib.import_module(f"api.schemas.{info.name}")
        for name, model in vars(module).items():
            if isinstance(model, type) and issubclass(model, BaseModel) and model.model_config.get("extra") == "forbid":
                names.add(name)
    return names


REQUEST_DATE_FIELDS = [(name, field) for name, field in date_fields() if name.split(".")[0] in request_models()]


def test_the_request_bodies_with_dates_are_found() -> None:
    assert {name for name, _ in REQUEST_DATE_FIELDS} >= {"PromiseIn.due", "PlanIn.first_due"}


@pytest.mark.parametrize(("name", "field"), REQUEST_DATE_FIELDS, ids=[n for n, _ in REQUEST_DATE_FIELDS])
@pytest.mark.parametrize("value", NOT_DATES)
def test_request_bodies_refuse_anything_but_a_calendar_date(name: str, field: Any, value: str) -> None:
    adapter: TypeAdapter[Any] = TypeAdapter(typing.Annotated[field.annotation, *field.metadata])
    assert adapter.validate_json('"2026-12-01"') == date(2026, 12, 1)
    with pytest.raises(ValidationError):
        adapter.validate_json(f'"{value}"')


@pytest.mark.parametrize("query", [FromQuery, ToQuery])
@pytest.mark.parametrize("value", NOT_DATES)
def test_query_dates_refuse_anything_but_a_calendar_date(query: Any, value: str) -> None:
    adapter: TypeAdapter[Any] = TypeAdapter(query)
    assert adapter.validate_python("2026-12-01") == date(2026, 12, 1)
    with pytest.raises(ValidationError):
        adapter.validate_python(value)


def test_a_timestamp_is_not_turned_into_a_date_in_python_either() -> None:
    adapter: TypeAdapter[Any] = TypeAdapter(
        typing.Annotated[REQUEST_DATE_FIELDS[0][1].annotation, *REQUEST_DATE_FIELDS[0][1].metadata]
    )
    with pytest.raises(ValidationError):
        adapter.validate_python(datetime(2026, 12, 1, tzinfo=UTC))


@pytest.mark.parametrize("day", [date(9999, 12, 1), date(9999, 12, 31), date(2200, 1, 1)])
def test_a_promise_or_plan_date_years_away_is_refused_with_the_limit_named(day: date) -> None:
    account = Account(snapshot_json={"timezone": "America/Santiago"})
    (problem,) = _date_errors(day, account, "/body/plan/first_due", TEST_NOW)
    assert problem.pointer == "/body/plan/first_due"
    assert f"more than {MAX_YEARS_AHEAD} years after today" in problem.detail
    assert "must be on or before" in problem.detail
