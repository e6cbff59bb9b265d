"""GET /properties.csv, .ndjson and .parquet: contents, filters, file names, errors, streaming."""

from __future__ import annotations

import csv
import gzip
import io
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import uvicorn
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from durban_valuations.api.app import create_app
from durban_valuations.config.settings import Settings
from durban_valuations.store.runs import finish_run, start_run
from durban_valuations.store.upsert import upsert_properties

from .conftest import PropertyFactory
from .problem import problem

FORMATS = ("csv", "ndjson", "parquet")
INTEGER_FIELDS = ("roll_year", "pin", "use_code_number", "market_value")


def _listing(client: TestClient, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    response = client.get("/properties", params={**(params or {}), "limit": 500})
    assert response.status_code == 200, response.text
    assert response.json()["next_cursor"] is None
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def _typed_csv_row(row: dict[str, str]) -> dict[str, Any]:
    """Turn a CSV row into the types of the JSON listing; an empty field is null."""
    typed: dict[str, Any] = {}
    for name, value in row.items():
        if value == "":
            typed[name] = None
        elif name in INTEGER_FIELDS:
            typed[name] = int(value)
        elif name == "registered_extent":
            typed[name] = float(value)
        elif name == "is_remainder":
            assert value in ("true", "false"), value
            typed[name] = value == "true"
        else:
            typed[name] = value
    return typed


def _read_csv(content: bytes) -> list[dict[str, Any]]:
    return [_typed_csv_row(row) for row in csv.DictReader(io.StringIO(content.decode("utf-8")))]


def _read_ndjson(content: bytes) -> list[dict[str, Any]]:
    text_lines = content.decode("utf-8").split("\n")
    assert text_lines[-1] == "", "the file must end with a newline"
    return [json.loads(line) for line in text_lines[:-1]]


def _read_parquet(content: bytes) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = pq.read_table(io.BytesIO(content)).to_pylist()
    return rows


READERS: dict[str, Callable[[bytes], list[dict[str, Any]]]] = {
    "csv": _read_csv,
    "ndjson": _read_ndjson,
    "parquet": _read_parquet,
}


def _export(client: TestClient, extension: str, params: dict[str, Any] | None = None) -> bytes:
    response = client.get(f"/properties.{extension}", params=params or {})
    assert response.status_code == 200, response.text
    return response.content


@pytest.mark.parametrize("extension", FORMATS)
def test_export_round_trips_listing(client: TestClient, extension: str) -> None:
    expected = _listing(client)

    rows = READERS[extension](_export(client, extension))

    assert [row["pin"] for row in rows] == [item["pin"] for item in expected]
    assert rows == expected


@pytest.mark.parametrize("extension", FORMATS)
def test_export_field_names_match_listing(client: TestClient, extension: str) -> None:
    expected = list(_listing(client)[0])

    rows = READERS[extension](_export(client, extension))

    assert list(rows[0]) == expected


def test_csv_header_and_text(client: TestClient) -> None:
    content = _export(client, "csv", {"street": "%"}).decode("utf-8")
    header, row = content.splitlines()

    assert header.split(",")[:4] == ["roll_year", "roll", "pin", "rate_number"]
    assert row.startswith('2022,full,4,10000004,ERF 4 of WESTVILLE,"4 100% LANE, WESTVILLE",')
    assert ",false," in row


def test_csv_distinguishes_null_from_empty_text(
    engine: Engine, make_property: PropertyFactory
) -> None:
    with engine.begin() as connection:
        run_id = start_run(connection, 2022, "all", "http://127.0.0.1:8001")
        stored = make_property(1, address="1 MAIN STREET", portion="", scheme_name=None)
        upsert_properties(connection, 2022, run_id, [stored])
    app = create_app(engine, settings=Settings(_env_file=None, roll_year=2022))
    with TestClient(app) as client:
        line = _export(client, "csv").decode("utf-8").splitlines()[1]

    fields = line.split(",")
    portion, scheme_name = fields[17], fields[21]
    assert portion == '""'
    assert scheme_name == ""


@pytest.mark.parametrize("extension", FORMATS)
def test_export_keeps_special_characters(
    engine: Engine, make_property: PropertyFactory, extension: str
) -> None:
    owner = 'NAIDOO "R", \\ TRUST\nLINE 2\tTAB \x01\x02 ÉMILE 中'
    with engine.begin() as connection:
        run_id = start_run(connection, 2022, "all", "http://127.0.0.1:8001")
        upsert_properties(connection, 2022, run_id, [make_property(1, first_owner=owner)])
    app = create_app(engine, settings=Settings(_env_file=None, roll_year=2022))
    with TestClient(app) as client:
        rows = READERS[extension](_export(client, extension))

    assert [row["first_owner"] for row in rows] == [owner]


def test_parquet_column_types(client: TestClient) -> None:
    schema = pq.read_schema(io.BytesIO(_export(client, "parquet")))

    assert schema.field("roll_year").type == pa.int32()
    assert schema.field("pin").type == pa.int64()
    assert schema.field("market_value").type == pa.int64()
    assert schema.field("use_code_number").type == pa.int32()
    assert schema.field("registered_extent").type == pa.decimal128(18, 2)
    assert schema.field("is_remainder").type == pa.bool_()
    assert schema.field("rate_number").type == pa.string()
    assert not schema.field("pin").nullable
    assert schema.field("market_value").nullable


def test_parquet_keeps_extent_decimals(client: TestClient) -> None:
    rows = _read_parquet(_export(client, "parquet", {"use_code": 47}))

    assert [row["registered_extent"] for row in rows] == [Decimal("2500.50"), None]


@pytest.mark.parametrize("extension", FORMATS)
@pytest.mark.parametrize(
    "params",
    [
        {"roll": "sectional"},
        {"rate_number": "10000001"},
        {"suburb": "pinetown"},
        {"street": "%"},
        {"use_code": 47},
        {"min_market_value": 250_000, "max_market_value": 500_000},
        {"min_extent": 1000},
        {"owner": "pillay"},
        {"q": "hawthorn"},
        {"roll": "full", "suburb": "PINETOWN", "min_market_value": 300_000},
        {"sort": "-market_value"},
        {"sort": "suburb", "roll": "full"},
    ],
)
def test_export_applies_filters_and_sort(
    client: TestClient, extension: str, params: dict[str, Any]
) -> None:
    expected = [item["pin"] for item in _listing(client, params)]

    rows = READERS[extension](_export(client, extension, params))

    assert [row["pin"] for row in rows] == expected


@pytest.mark.parametrize("extension", FORMATS)
def test_export_leaves_out_other_roll_years(client: TestClient, extension: str) -> None:
    rows = READERS[extension](_export(client, extension, {"rate_number": "10000001"}))

    assert {row["roll_year"] for row in rows} == {2022}


def test_empty_csv_has_header_row(client: TestClient) -> None:
    content = _export(client, "csv", {"suburb": "nowhere"}).decode("utf-8")

    assert content.splitlines() == [content.splitlines()[0]]
    assert content.startswith("roll_year,roll,pin,rate_number,")
    assert content.endswith("scheme_name\n")


def test_empty_ndjson_is_empty(client: TestClient) -> None:
    assert _export(client, "ndjson", {"suburb": "nowhere"}) == b""


def test_empty_parquet_has_schema(client: TestClient) -> None:
    table = pq.read_table(io.BytesIO(_export(client, "parquet", {"suburb": "nowhere"})))

    assert table.num_rows == 0
    assert table.schema.names[:3] == ["roll_year", "roll", "pin"]
    assert table.schema.field("market_value").type == pa.int64()


@pytest.mark.parametrize(
    ("extension", "media_type"),
    [
        ("csv", "text/csv; charset=utf-8"),
        ("ndjson", "application/x-ndjson"),
        ("parquet", "application/vnd.apache.parquet"),
    ],
)
def test_export_media_type(client: TestClient, extension: str, media_type: str) -> None:
    response = client.get(f"/properties.{extension}")

    assert response.headers["content-type"] == media_type


def _attachment_name(client: TestClient, path: str, params: dict[str, Any]) -> str:
    response = client.get(path, params=params)
    assert response.status_code == 200, response.text
    disposition = response.headers["content-disposition"]
    prefix = 'attachment; filename="'
    assert disposition.startswith(prefix), disposition
    assert disposition.endswith('"'), disposition
    return disposition[len(prefix) : -1]


def test_filename_without_complete_run_has_today(client: TestClient) -> None:
    today = datetime.now(UTC).date().isoformat()

    name = _attachment_name(client, "/properties.csv", {})

    assert name == f"durban-valuations-2022-all-{today}.csv"


def _finish_complete_run(engine: Engine, rolls: str, finished_at: datetime) -> None:
    with engine.begin() as connection:
        run_id = start_run(connection, 2022, rolls, "http://127.0.0.1:8001")
        finish_run(connection, run_id, "complete")
        connection.execute(
            text("UPDATE scrape_runs SET finished_at = :at WHERE id = :id"),
            {"at": finished_at, "id": run_id},
        )


def test_filename_names_roll_filters_and_run_date(
    client: TestClient, loaded_engine: Engine
) -> None:
    _finish_complete_run(loaded_engine, "full", datetime(2026, 12, 5, 23, 30, tzinfo=UTC))

    name = _attachment_name(
        client,
        "/properties.parquet",
        {"roll": "full", "suburb": "Pine Town!", "min_market_value": 300_000},
    )

    assert name == (
        "durban-valuations-2022-full-suburb-pine-town-min-market-value-300000-2026-12-05.parquet"
    )


def test_filename_uses_run_covering_both_rolls(client: TestClient, loaded_engine: Engine) -> None:
    _finish_complete_run(loaded_engine, "all", datetime(2026, 11, 1, 8, 0, tzinfo=UTC))
    _finish_complete_run(loaded_engine, "full", datetime(2026, 12, 5, 8, 0, tzinfo=UTC))

    assert _attachment_name(client, "/properties.ndjson", {}) == (
        "durban-valuations-2022-all-2026-11-01.ndjson"
    )
    assert _attachment_name(client, "/properties.csv", {"roll": "full"}) == (
        "durban-valuations-2022-full-2026-12-05.csv"
    )


def test_filename_shortens_long_filters(client: TestClient) -> None:
    name = _attachment_name(
        client,
        "/properties.csv",
        {"q": "x" * 200, "owner": "y" * 200, "street": "z" * 200},
    )

    today = datetime.now(UTC).date().isoformat()
    assert name == f"durban-valuations-2022-all-filtered-{today}.csv"


@pytest.mark.parametrize("extension", FORMATS)
@pytest.mark.parametrize(
    ("params", "parameter", "message_part"),
    [
        ({"min_market_value": -1}, "min_market_value", "invalid min_market_value '-1'"),
        ({"sort": "owner"}, "sort", "expected one of rate_number"),
        ({"rate_number": "123"}, "rate_number", "expected 8 digits"),
        ({"roll": "both"}, "roll", "invalid roll 'both'"),
        (
            {"min_extent": 10, "max_extent": 5},
            "min_extent",
            "min_extent=10 is greater than max_extent=5",
        ),
        ({"limit": 10}, "limit", "unknown query parameter 'limit'"),
        ({"cursor": "abc"}, "cursor", "unknown query parameter 'cursor'"),
        ({"suburbb": "PINETOWN"}, "suburbb", "unknown query parameter 'suburbb'"),
    ],
)
def test_export_rejects_bad_parameters(
    client: TestClient,
    extension: str,
    params: dict[str, Any],
    parameter: str,
    message_part: str,
) -> None:
    response = client.get(f"/properties.{extension}", params=params)

    assert response.status_code == 422
    error = problem(response)
    assert error["parameter"] == parameter
    assert message_part in error["detail"]
    assert "content-disposition" not in response.headers


def test_listing_still_rejects_unknown_parameters(client: TestClient) -> None:
    response = client.get("/properties", params={"suburbb": "PINETOWN"})

    assert response.status_code == 422
    assert "expected one of" in problem(response)["detail"]
    assert "filters" not in problem(response)["detail"]


def test_export_without_database_is_503() -> None:
    url = "postgresql://nobody@127.0.0.1:9/none"
    app = create_app(url, settings=Settings(_env_file=None, roll_year=2022))
    with TestClient(app) as client:
        response = client.get("/properties.csv")

    assert response.status_code == 503
    assert "database is unreachable" in problem(response)["detail"]


# Streaming through a real server: enough rows that each file outgrows the socket
# buffers, so the server is still inside the export when the client stops reading. Legal
# descriptions of random hex digits keep the Parquet file large (about 10 MB).
STREAMED_ROWS = 50_000


def _insert_generated_properties(engine: Engine, count: int) -> None:
    with engine.begin() as connection:
        run_id = start_run(connection, 2022, "all", "http://127.0.0.1:8001")
        connection.execute(
            text(
                """
                INSERT INTO properties (
                    roll_year, pin, roll, ptype, ftype, details_href, rate_number,
                    legal_description, address, street_name, suburb, first_owner,
                    market_value, registered_extent, is_remainder,
                    raw_rate_number, raw_legal_description, raw_address, raw_first_owner,
                    raw_use_code, raw_rating_category, raw_market_value,
                    raw_registered_extent, first_seen_run_id)
                SELECT 2022, n, 'full', 'F', 'R', '/FramePages/Details.aspx?PIN=' || n,
                    lpad(n::text, 8, '0'), 'ERF ' || n || ' ' || repeat(md5(n::text), 6),
                    n || ' MAIN ROAD, PINETOWN', 'MAIN ROAD', 'PINETOWN', 'OWNER ' || n,
                    100000 + n, 400 + n % 50, false,
                    lpad(n::text, 8, '0'), 'ERF ' || n || ' of PINETOWN',
                    n || ' MAIN ROAD, PINETOWN', 'OWNER ' || n, '', '', '', '', :run_id
                FROM generate_series(1, :count) AS n
                """
            ),
            {"run_id": run_id, "count": count},
        )


@pytest.fixture
def served_engine(engine: Engine) -> Iterator[tuple[Engine, int]]:
    """The test database with STREAMED_ROWS properties, served by Uvicorn on 127.0.0.1."""
    _insert_generated_properties(engine, STREAMED_ROWS)
    app = create_app(engine, settings=Settings(_env_file=None, roll_year=2022))
    # Accepted sockets inherit the small send buffer of the listening socket (Linux), so
    # a client that stops reading blocks the server after a few kilobytes, also when
    # gzip makes the whole export fit into the default buffers.
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    listener.bind(("127.0.0.1", 0))
    port = int(listener.getsockname()[1])
    server = uvicorn.Server(uvicorn.Config(app, log_level="error"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start within 30 s"
        time.sleep(0.05)
    yield engine, port
    server.should_exit = True
    thread.join(timeout=30)
    listener.close()


def _running_copies(engine: Engine) -> int:
    with engine.connect() as connection:
        count = connection.execute(
            text(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND query LIKE 'COPY (SELECT%'"
                " AND state = 'active'"
            )
        ).scalar_one()
    return int(count)


def _wait_for(condition: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def test_export_streams_whole_roll_over_http(served_engine: tuple[Engine, int]) -> None:
    engine, port = served_engine
    with socket.create_connection(("127.0.0.1", port)) as connection:
        connection.sendall(b"GET /properties.ndjson HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        received = bytearray()
        while chunk := connection.recv(1 << 20):
            received += chunk
            if received.endswith(b"\r\n0\r\n\r\n"):
                break

    head, _, body = bytes(received).partition(b"\r\n\r\n")
    assert b"transfer-encoding: chunked" in head.lower()
    assert body.count(b'{"roll_year"') == STREAMED_ROWS
    assert _wait_for(lambda: engine.pool.checkedout() == 0, 10)


def _dechunk(body: bytes) -> tuple[bytes, int]:
    """Decode an HTTP/1.1 chunked body; return the content and the number of chunks."""
    content = bytearray()
    chunks = 0
    while True:
        size_line, _, body = body.partition(b"\r\n")
        size = int(size_line, 16)
        if size == 0:
            return bytes(content), chunks
        content += body[:size]
        chunks += 1
        body = body[size + 2 :]


def _get_raw(port: int, path: str, headers: str = "") -> tuple[bytes, bytes]:
    request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{headers}\r\n"
    with socket.create_connection(("127.0.0.1", port)) as connection:
        connection.sendall(request.encode())
        received = bytearray()
        while chunk := connection.recv(1 << 20):
            received += chunk
            if received.endswith(b"\r\n0\r\n\r\n"):
                break
    head, _, body = bytes(received).partition(b"\r\n\r\n")
    return head.lower(), body


@pytest.mark.parametrize(
    ("extension", "row_start"), [("csv", b"2022,"), ("ndjson", b'{"roll_year"')]
)
def test_gzip_export_streams_over_http(
    served_engine: tuple[Engine, int], extension: str, row_start: bytes
) -> None:
    _, port = served_engine

    head, body = _get_raw(port, f"/v1/properties.{extension}", "Accept-Encoding: gzip\r\n")
    compressed, chunks = _dechunk(body)
    content = gzip.decompress(compressed)

    assert b"content-encoding: gzip" in head
    assert b"transfer-encoding: chunked" in head
    assert chunks >= 10
    lines = content.splitlines()
    assert sum(line.startswith(row_start) for line in lines) == STREAMED_ROWS
    assert len(compressed) < len(content) / 3


def test_parquet_export_not_gzipped(served_engine: tuple[Engine, int]) -> None:
    _, port = served_engine

    head, body = _get_raw(port, "/v1/properties.parquet", "Accept-Encoding: gzip\r\n")
    content, _ = _dechunk(body)

    assert b"content-encoding" not in head
    assert pq.read_table(io.BytesIO(content)).num_rows == STREAMED_ROWS


@pytest.mark.parametrize("encoding", ["identity", "gzip"])
@pytest.mark.parametrize("extension", FORMATS)
def test_disconnect_releases_database_connection(
    served_engine: tuple[Engine, int], extension: str, encoding: str
) -> None:
    engine, port = served_engine
    request = (
        f"GET /properties.{extension} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Accept-Encoding: {encoding}\r\n\r\n"
    )
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as connection:
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        connection.connect(("127.0.0.1", port))
        connection.sendall(request.encode())
        assert connection.recv(4096).startswith(b"HTTP/1.1 200")
        # The client stops reading, so the server fills the socket buffers and waits
        # in the middle of the export, holding its database connection.
        time.sleep(0.5)
        assert engine.pool.checkedout() == 1
        if extension != "parquet":
            assert _wait_for(lambda: _running_copies(engine) == 1, 10)

    assert _wait_for(lambda: engine.pool.checkedout() == 0, 10)
    assert _running_copies(engine) == 0


@pytest.mark.parametrize("extension", FORMATS)
def test_export_rejects_search_without_words(client: TestClient, extension: str) -> None:
    response = client.get(f"/properties.{extension}", params={"q": "&&&"})

    assert response.status_code == 422
    assert problem(response)["parameter"] == "q"
