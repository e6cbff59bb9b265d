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
        "/v1/properties",
        "/v1/properties.csv",
        "/v1/properties.ndjson",
        "/v1/properties.parquet",
        "/v1/properties/{rate_number}",
        "/v1/properties/{rate_number}/history",
        "/v1/suburbs",
        "/v1/suburbs/{name}/stats",
        "/v1/stats",
        "/v1/runs",
        "/v1/runs/{run_id}",
        "/v1/changes",
        "/health",
        "/get_properties/property_type/{property_type}",
    }


def test_openapi_documents_parameters() -> None:
    document = yaml.safe_load(render_openapi())

    parameters = document["paths"]["/v1/properties"]["get"]["parameters"]
    assert all(parameter.get("description") for parameter in parameters)
    limit = next(parameter for parameter in parameters if parameter["name"] == "limit")
    assert (limit["schema"]["minimum"], limit["schema"]["maximum"]) == (1, 500)
    assert "HTTPValidationError" not in document["components"]["schemas"]


@pytest.mark.parametrize(
    "path", ["/v1/runs", "/v1/changes", "/v1/stats", "/v1/suburbs/{name}/stats"]
)
def test_openapi_documents_history_parameters(path: str) -> None:
    document = yaml.safe_load(render_openapi())

    parameters = document["paths"][path]["get"]["parameters"]
    assert parameters
    assert all(parameter.get("description") for parameter in parameters)


def test_openapi_errors_are_problem_details() -> None:
    document = yaml.safe_load(render_openapi())

    error_schema = document["components"]["schemas"]["Error"]
    assert set(error_schema["properties"]) == {
        "type", "title", "status", "detail", "instance", "parameter",
    }  # fmt: skip
    for path, operations in document["paths"].items():
        for status, response in operations["get"]["responses"].items():
            if status.startswith(("4", "5")):
                assert set(response["content"]) == {"application/problem+json"}, (path, status)
