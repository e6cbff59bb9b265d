"""Values beyond what PostgreSQL stores get a 422 naming the parameter, never a 500.

The checks look at the response text only, so they hold for any error body shape.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from durban_valuations.store.value_limits import BIGINT_MAX, INTEGER_MAX


@pytest.mark.parametrize(
    ("url", "parameter", "expected_text"),
    [
        (f"/properties?use_code={INTEGER_MAX + 1}", "use_code", f"or equal to {INTEGER_MAX}"),
        (f"/properties.csv?use_code={10**22}", "use_code", f"or equal to {INTEGER_MAX}"),
        (f"/properties?min_market_value={BIGINT_MAX + 1}", "min_market_value", str(BIGINT_MAX)),
        (f"/properties.ndjson?max_market_value={10**30}", "max_market_value", str(BIGINT_MAX)),
        ("/properties?min_extent=inf", "min_extent", "finite number"),
        ("/properties?max_extent=1e400", "max_extent", "finite number"),
        ("/properties.parquet?min_extent=-inf", "min_extent", "finite number"),
        (f"/runs?before_id={INTEGER_MAX + 1}", "before_id", str(INTEGER_MAX)),
        (f"/runs/{10**28}", "run_id", str(INTEGER_MAX)),
        ("/properties?q=%00", "q", "NUL character"),
        ("/properties?owner=NAIDOO%00R", "owner", "NUL character"),
        ("/properties?street=MAIN%00", "street", "NUL character"),
        ("/properties.csv?suburb=PINE%00TOWN", "suburb", "NUL character"),
        ("/suburbs/PINE%00TOWN/stats", "name", "NUL character"),
        ("/properties/1000000%00", "rate_number", "NUL character"),
    ],
)  # fmt: skip
def test_out_of_range_value_422(
    client: TestClient, url: str, parameter: str, expected_text: str
) -> None:
    response = client.get(url)

    assert response.status_code == 422, response.text
    assert parameter in response.text
    assert expected_text in response.text


@pytest.mark.parametrize(
    ("url", "status"),
    [
        (f"/properties?use_code={INTEGER_MAX}", 200),
        (f"/properties?min_market_value={BIGINT_MAX}", 200),
        (f"/properties?max_market_value={BIGINT_MAX}", 200),
        ("/properties?max_extent=1e308", 200),
        (f"/runs?before_id={INTEGER_MAX}", 200),
        (f"/runs/{INTEGER_MAX}", 404),
    ],
)
def test_largest_stored_value_accepted(client: TestClient, url: str, status: int) -> None:
    response = client.get(url)

    assert response.status_code == status, response.text


def test_nul_message_names_fix(client: TestClient) -> None:
    response = client.get("/properties", params={"owner": "NAIDOO\x00"})

    assert response.status_code == 422
    assert "'NAIDOO\\\\x00'" in response.text
    assert "remove it" in response.text
