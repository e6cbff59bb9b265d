"""The committed openapi.yaml matches the app."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from durban_valuations.api.openapi import REGENERATE_COMMAND, export_openapi, render_openapi

COMMITTED = Path(__file__).resolve().parents[2] / "openapi.yaml"


def test_committed_openapi_current() -> None:
    assert COMMITTED.read_text(encoding="utf-8") == render_openapi(), (
        f"openapi.yaml differs from the app's OpenAPI document; regenerate it with "
        f"`{REGENERATE_COMMAND}` from the repository root and commit the result"
    )


def test_export_openapi_writes_yaml(tmp_path: Path) -> None:
    target = export_openapi(tmp_path / "spec.yaml")

    document = yaml.safe_load(target.read_text(encoding="utf-8"))
    assert document["info"]["title"] == "durban-valuations"
    assert set(document["paths"]) == {
        "/properties",
        "/properties.csv",
        "/properties.ndjson",
        "/properties.parquet",
        "/properties/{rate_number}",
        "/properties/{rate_number}/history",
        "/suburbs",
        "/suburbs/{name}/stats",
        "/stats",
        "/health",
        "/runs",
        "/runs/{run_id}",
        "/changes",
    }


def test_openapi_documents_parameters() -> None:
    document = yaml.safe_load(render_openapi())

    parameters = document["paths"]["/properties"]["get"]["parameters"]
    assert all(parameter.get("description") for parameter in parameters)
    limit = next(parameter for parameter in parameters if parameter["name"] == "limit")
    assert (limit["schema"]["minimum"], limit["schema"]["maximum"]) == (1, 500)
    assert "HTTPValidationError" not in document["components"]["schemas"]


@pytest.mark.parametrize("path", ["/runs", "/changes", "/stats", "/suburbs/{name}/stats"])
def test_openapi_documents_history_parameters(path: str) -> None:
    document = yaml.safe_load(render_openapi())

    parameters = document["paths"][path]["get"]["parameters"]
    assert parameters
    assert all(parameter.get("description") for parameter in parameters)
