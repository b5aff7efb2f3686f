"""The committed `openapi.json` is the API's contract for client generators: it must be exactly
what the app describes, so every change to the contract shows up in review as a diff of that file.
Regenerate with `collect api openapi > openapi.json`."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from pydantic import create_model

from api.app import create_app
from api.openapi import describe_hand_read_bodies, operation_id
from cli.main import openapi_json
from config import Settings

ROOT = Path(__file__).resolve().parents[2]
# What client generators turn into a class name without mangling it (no `api__schemas__x__Y`,
# `Body_x`, `Page_X_`, `X-Input`).
SCHEMA_NAME = re.compile(r"^[A-Z][A-Za-z0-9]*$")
# A function name: the handler's own (`validate_strategy`), which generators use as is.
OPERATION_ID = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def description() -> dict[str, Any]:
    spec: dict[str, Any] = json.loads((ROOT / "openapi.json").read_text(encoding="utf-8"))
    return spec


def operations(spec: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield f"{method.upper()} {path}", operation


def nodes(value: Any, where: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every object in `value`, with its JSON pointer."""
    if isinstance(value, dict):
        yield where, value
        for key, item in value.items():
            yield from nodes(item, f"{where}/{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from nodes(item, f"{where}/{index}")


def test_the_committed_description_is_current() -> None:
    app = create_app(Settings(database_url="sqlite://"))
    committed = (ROOT / "openapi.json").read_text(encoding="utf-8")
    assert committed.strip() == openapi_json(app), "run: collect api openapi > openapi.json"


def test_every_operation_is_documented_for_client_generators() -> None:
    spec = json.loads((ROOT / "openapi.json").read_text(encoding="utf-8"))
    operation_ids = []
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            operation_ids.append(operation["operationId"])
            assert operation.get("summary"), f"{method.upper()} {path} has no summary"
            assert operation.get("tags"), f"{method.upper()} {path} has no tag"
            if path not in ("/health",):
                problems = operation["responses"]
                assert "422" in problems, f"{method.upper()} {path} documents no 422"
                assert "application/problem+json" in problems["422"]["content"]
    assert len(operation_ids) == len(set(operation_ids)), "operation ids must be unique"


def test_every_schema_has_a_unique_name_a_generator_keeps() -> None:
    """Two models of one name made FastAPI write `api__schemas__strategies__TimelineEntry`, and
    openapi-python-client dropped it and everything using it (the simulation result)."""
    names = list(description()["components"]["schemas"])
    mangled = [name for name in names if not SCHEMA_NAME.match(name)]
    assert mangled == [], "rename the models (or subclass a generic one) so each schema has a plain name"
    folded = [name.lower() for name in names]
    assert len(folded) == len(set(folded)), "schema names that differ only in case become one class"


def test_every_body_is_a_named_schema() -> None:
    """A body described inline gets a name made up from its route by each generator; a named
    schema is one class that every operation using it shares."""
    spec = description()
    inline = []
    for operation_name, operation in operations(spec):
        bodies = {"request": operation.get("requestBody", {})}
        bodies.update({f"response {status}": answer for status, answer in operation["responses"].items()})
        for which, body in bodies.items():
            for media, content in body.get("content", {}).items():
                for where, node in nodes(content.get("schema", {}), ""):
                    if "properties" in node or isinstance(node.get("additionalProperties"), dict):
                        inline.append(f"{operation_name} {which} {media}{where}")
    assert inline == []


def test_every_reference_names_a_schema_that_exists() -> None:
    spec = description()
    known = {f"#/components/schemas/{name}" for name in spec["components"]["schemas"]}
    dangling = [
        f"{where}: {node['$ref']}" for where, node in nodes(spec, "") if "$ref" in node and node["$ref"] not in known
    ]
    assert dangling == []


def test_every_operation_id_is_its_handlers_name() -> None:
    """FastAPI's default ids (`list_accounts_accounts_get`) repeat the path and the method, and
    change when the path does; a generated client's functions are named after them."""
    ids = [(name, operation.get("operationId", "")) for name, operation in operations(description())]
    unreadable = [
        f"{name}: {id_!r}"
        for name, id_ in ids
        if not OPERATION_ID.match(id_) or id_.endswith(tuple(f"_{m}" for m in METHODS))
    ]
    assert unreadable == []
    assert len({id_ for _, id_ in ids}) == len(ids), "operation ids must be unique"


def test_a_hand_read_body_cannot_take_the_name_of_another_schema() -> None:
    """FastAPI renames clashing models itself (`api__schemas__...`); a schema added by hand is
    checked here instead, when the description is built."""
    app = FastAPI(generate_unique_id_function=operation_id)
    read_by_fastapi = create_model("Thing", value=(int, ...))  # described by FastAPI, as an answer
    read_by_hand = create_model("Thing", value=(str, ...))

    @app.get("/thing", summary="A thing", response_model=read_by_fastapi)
    def get_thing() -> dict[str, int]:
        return {"value": 1}

    describe_hand_read_bodies(app, [read_by_hand])
    with pytest.raises(RuntimeError, match="two different schemas are named 'Thing'"):
        app.openapi()
