"""JSON Schema of the strategy language, for editors (`# yaml-language-server: $schema=...`)."""

from __future__ import annotations

import json
from typing import Any

from strategies.schema import StrategyDoc

SCHEMA_ID = "https://collect.example/strategy.schema.json"


def strategy_schema() -> dict[str, Any]:
    schema = StrategyDoc.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = SCHEMA_ID
    schema["title"] = "Collection campaign strategy"
    return schema


def strategy_schema_json() -> str:
    return json.dumps(strategy_schema(), indent=2, ensure_ascii=False) + "\n"
