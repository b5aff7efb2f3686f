"""The committed `openapi.json` is the API's contract for client generators: it must be exactly
what the app describes, so every change to the contract shows up in review as a diff of that file.
Regenerate with `collect api openapi > openapi.json`."""

from __future__ import annotations

import json
from pathlib import Path

from api.app import create_app
from cli.main import openapi_json
from config import Settings

ROOT = Path(__file__).resolve().parents[2]


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
