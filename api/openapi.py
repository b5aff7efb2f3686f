"""The OpenAPI description as client generators read it: every operation's id is its handler's
name (`validate_strategy`, `next_task`), and the bodies that routes read by hand (a strategy as
YAML or JSON, accounts as CSV or JSON, the signed webhooks) are named schemas in `components`,
referenced from their `requestBody`, like every body FastAPI reads itself.

Generators name a client's functions after operation ids and its classes after schema names, so
both must be unique and say what they are: FastAPI's defaults (`list_accounts_accounts_get`, an
inline body named after its route) make clients that read badly and change when a path does.
tests/api/test_openapi_description.py checks the whole description for this.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

REF_TEMPLATE = "#/components/schemas/{model}"


def operation_id(route: APIRoute) -> str:
    """The handler's own name: stable across path changes, and what a generated client calls."""
    return route.name


def schema_ref(name: str) -> dict[str, str]:
    """A reference to the component schema `name` (a model's class name, or a hand-written
    schema's title, given to `describe_hand_read_bodies`)."""
    return {"$ref": REF_TEMPLATE.format(model=name)}


def named_schemas(models: Iterable[type[BaseModel]], raw: Iterable[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Component schemas for `models` (and the models they use), plus hand-written ones named by
    their `title`."""
    _, top = models_json_schema([(model, "validation") for model in models], ref_template=REF_TEMPLATE)
    schemas: dict[str, dict[str, Any]] = dict(top.get("$defs", {}))
    for schema in raw:
        schemas[schema["title"]] = schema
    return schemas


def describe_hand_read_bodies(
    app: FastAPI, models: Iterable[type[BaseModel]], raw: Iterable[dict[str, Any]] = ()
) -> None:
    """Add the schemas of bodies that routes read themselves to the app's description, so that
    their `openapi_extra` can reference them by name. A name FastAPI already gave to a different
    schema is an error here, not a client that silently lacks one of the two."""
    extra = named_schemas(models, raw)
    describe: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        spec = describe()
        components = spec.setdefault("components", {}).setdefault("schemas", {})
        for name, schema in extra.items():
            if name in components and components[name] != schema:
                raise RuntimeError(f"two different schemas are named {name!r} in the OpenAPI description")
            components[name] = schema
        return spec

    app.openapi = openapi  # type: ignore[method-assign]
