"""HTTP behaviour: /v1 paths, caching headers and 304 responses, gzip, page size limits."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event

from durban_valuations.api.app import create_app
from durban_valuations.config.settings import Settings

from .problem import problem
from .runs import complete_run

FINISHED_AT = datetime(2026, 5, 4, 3, 2, 1, tzinfo=UTC)
DATA_PATHS = [
    "/properties",
    "/properties/10000001",
    "/properties/10000001/history",
    "/suburbs",
    "/suburbs/PINETOWN/stats",
    "/stats",
    "/changes?since=2020-01-01T00:00:00Z",
    "/properties.csv",
    "/properties.ndjson",
    "/properties.parquet",
    "/get_properties/property_type/FULL",
]


@pytest.fixture
def completed_client(loaded_engine: Engine) -> Iterator[TestClient]:
    """Test client of the loaded database after one complete run that finished at FINISHED_AT."""
    complete_run(loaded_engine, FINISHED_AT)
    app = create_app(loaded_engine, settings=Settings(_env_file=None, roll_year=2022))
    with TestClient(app) as test_client:
        yield test_client


@pytest.mark.parametrize(
    "path",
    [
        "/properties?suburb=PINETOWN",
        "/properties/10000001",
        "/properties/10000001/history",
        "/suburbs",
        "/stats",
        "/suburbs/PINETOWN/stats",
        "/runs",
        "/changes?since=2020-01-01T00:00:00Z",
        "/properties.csv",
        "/properties.ndjson",
    ],
)
def test_v1_path_answers_like_unversioned(client: TestClient, path: str) -> None:
    unversioned = client.get(path)
    versioned = client.get(f"/v1{path}")

    assert unversioned.status_code == 200, unversioned.text
    assert versioned.status_code == 200, versioned.text
    if "stats" in path:
        for body in (unversioned.json(), versioned.json()):
            body.pop("computed_at")
        assert versioned.json().keys() == unversioned.json().keys()
    else:
        assert versioned.content == unversioned.content


def test_v1_cursor_continues_unversioned_listing(client: TestClient) -> None:
    first = client.get("/properties", params={"limit": 3}).json()
    second = client.get("/v1/properties", params={"limit": 3, "cursor": first["next_cursor"]})

    assert second.status_code == 200
    assert second.json()["items"][0]["pin"] not in [item["pin"] for item in first["items"]]


@pytest.mark.parametrize("path", ["/v1/health", "/v1/ready", "/v1/metrics"])
def test_operations_routes_not_versioned(client: TestClient, path: str) -> None:
    response = client.get(path)

    assert response.status_code == 404
    assert problem(response)["instance"] == path


def test_problem_instance_is_request_path(client: TestClient) -> None:
    response = client.get("/v1/properties", params={"limit": 0})

    assert problem(response)["instance"] == "/v1/properties"


@pytest.mark.parametrize("path", DATA_PATHS)
def test_data_route_validators(completed_client: TestClient, path: str) -> None:
    response = completed_client.get(path)

    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "public, max-age=300"
    assert response.headers["etag"].startswith('W/"')
    assert response.headers["last-modified"] == "Mon, 04 May 2026 03:02:01 GMT"


@pytest.mark.parametrize("path", DATA_PATHS)
def test_if_none_match_304(completed_client: TestClient, path: str) -> None:
    etag = completed_client.get(path).headers["etag"]

    response = completed_client.get(path, headers={"If-None-Match": etag})

    assert response.status_code == 304
    assert response.content == b""
    assert response.headers["etag"] == etag
    assert response.headers["cache-control"] == "public, max-age=300"


def test_if_none_match_list_and_strong_form(completed_client: TestClient) -> None:
    etag = completed_client.get("/v1/stats").headers["etag"]
    strong = etag.removeprefix("W/")

    listed = completed_client.get("/v1/stats", headers={"If-None-Match": f'"other", {etag}'})
    compared_weakly = completed_client.get("/v1/stats", headers={"If-None-Match": strong})
    star = completed_client.get("/v1/stats", headers={"If-None-Match": "*"})
    other = completed_client.get("/v1/stats", headers={"If-None-Match": '"other"'})

    assert listed.status_code == 304
    assert compared_weakly.status_code == 304
    assert star.status_code == 304
    assert other.status_code == 200


def test_etag_differs_by_query_and_path(completed_client: TestClient) -> None:
    tags = {
        completed_client.get(url).headers["etag"]
        for url in ("/v1/properties", "/v1/properties?roll=full", "/properties", "/v1/suburbs")
    }

    assert len(tags) == 4


@pytest.mark.parametrize(
    ("since", "status"),
    [
        (FINISHED_AT, 304),
        (FINISHED_AT + timedelta(days=1), 304),
        (FINISHED_AT - timedelta(seconds=1), 200),
    ],
)
def test_if_modified_since(completed_client: TestClient, since: datetime, status: int) -> None:
    header = format_datetime(since, usegmt=True)

    response = completed_client.get("/v1/properties", headers={"If-Modified-Since": header})

    assert response.status_code == status


def test_if_none_match_overrides_if_modified_since(completed_client: TestClient) -> None:
    header = format_datetime(FINISHED_AT, usegmt=True)
    headers = {"If-Modified-Since": header, "If-None-Match": '"other"'}

    response = completed_client.get("/v1/properties", headers=headers)

    assert response.status_code == 200


def test_invalid_if_modified_since_ignored(completed_client: TestClient) -> None:
    response = completed_client.get("/v1/properties", headers={"If-Modified-Since": "yesterday"})

    assert response.status_code == 200


def test_newer_complete_run_changes_etag(
    completed_client: TestClient, loaded_engine: Engine
) -> None:
    before = completed_client.get("/v1/stats")
    complete_run(loaded_engine, FINISHED_AT + timedelta(hours=1))

    after = completed_client.get("/v1/stats", headers={"If-None-Match": before.headers["etag"]})

    assert after.status_code == 200
    assert after.headers["etag"] != before.headers["etag"]
    assert after.headers["last-modified"] == "Mon, 04 May 2026 04:02:01 GMT"


def test_no_complete_run_no_store(client: TestClient) -> None:
    response = client.get("/v1/properties")

    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    assert "etag" not in response.headers
    assert "last-modified" not in response.headers


@pytest.mark.parametrize("path", ["/health", "/ready", "/metrics", "/v1/runs", "/runs"])
def test_changing_routes_no_store(completed_client: TestClient, path: str) -> None:
    response = completed_client.get(path)

    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    assert "etag" not in response.headers


def test_errors_no_store(completed_client: TestClient) -> None:
    response = completed_client.get("/v1/properties/99999999")

    assert response.status_code == 404
    assert response.headers["cache-control"] == "no-store"
    assert "etag" not in response.headers


def _count_run_queries(engine: Engine) -> list[str]:
    statements: list[str] = []

    def record(*args: Any) -> None:
        statement = str(args[2])
        if "scrape_runs" in statement:
            statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    return statements


@pytest.mark.parametrize("path", ["/v1/stats", "/v1/properties", "/v1/properties.csv"])
def test_one_run_query_per_request(
    completed_client: TestClient, loaded_engine: Engine, path: str
) -> None:
    completed_client.get(path)
    statements = _count_run_queries(loaded_engine)

    response = completed_client.get(path)
    etag = response.headers["etag"]
    not_modified = completed_client.get(path, headers={"If-None-Match": etag})

    assert response.status_code == 200
    assert not_modified.status_code == 304
    # A 200 export also reads the runs of the exported rolls for its file name.
    assert len(statements) == (3 if path.endswith(".csv") else 2)


def test_json_gzip_above_minimum_size(client: TestClient) -> None:
    gzip = {"Accept-Encoding": "gzip"}
    large = client.get("/v1/properties", params={"limit": 500}, headers=gzip)
    small = client.get("/health", headers=gzip)
    error = client.get("/v1/properties/99999999", headers=gzip)

    assert large.headers["content-encoding"] == "gzip"
    assert "accept-encoding" in large.headers["vary"].lower()
    assert len(large.json()["items"]) == 8
    assert "content-encoding" not in small.headers
    assert "content-encoding" not in error.headers


def test_parquet_not_gzipped(client: TestClient) -> None:
    response = client.get("/v1/properties.parquet", headers={"Accept-Encoding": "gzip"})

    assert response.status_code == 200
    assert "content-encoding" not in response.headers


@pytest.mark.parametrize(
    ("path", "maximum"),
    [
        ("/v1/properties", 500),
        ("/v1/changes?since=2020-01-01T00:00:00Z", 1000),
        ("/v1/runs", 100),
        ("/get_properties/property_type/FULL", 500),
    ],
)
def test_limit_above_maximum_422(client: TestClient, path: str, maximum: int) -> None:
    separator = "&" if "?" in path else "?"
    response = client.get(f"{path}{separator}limit={maximum + 1}")
    at_maximum = client.get(f"{path}{separator}limit={maximum}")

    error = problem(response)
    assert response.status_code == 422
    assert error["parameter"] == "limit"
    assert f"less than or equal to {maximum}" in error["detail"]
    assert at_maximum.status_code == 200
