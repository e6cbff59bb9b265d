"""Tests of the replica's injected faults over HTTP: each fault strikes and is counted."""

from __future__ import annotations

import logging
import threading
import time

import httpx
import pytest
from selectolax.lexbor import LexborHTMLParser

from durban_valuations.replica import (
    BurstConfig,
    FaultConfig,
    FirewallConfig,
    ReplicaConfig,
    ReplicaRoll,
    generate_roll,
    running_replica,
)
from durban_valuations.replica.errors import CRITERIA_ERROR_SUFFIX, SQL_ERROR_MESSAGES
from durban_valuations.replica.fault_config import SqlError
from durban_valuations.replica.html_firewall import BLOCK_HEADING, BLOCK_TEXT

CRITERIA = "/FramePages/SearchCrit.aspx"
CRITERIA_2 = "/FramePages/SearchCrit2.aspx"
RESULT = "/FramePages/SearchResult.aspx"
PARAMETERS = (
    "Roll", "VolumeNo", "RateNumber", "StreetNo", "StreetName", "Suburb", "ERF", "Portion",
    "DeedsTown", "SchemeName", "SectionNumber", "All",
)  # fmt: skip
HEADLESS_CHROME = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "HeadlessChrome/120.0.0.0 Safari/537.36"
)


def result_params(**values: str) -> dict[str, str]:
    params = dict.fromkeys(PARAMETERS, "")
    params.update(Roll="1", All="false")
    params.update(values)
    return params


@pytest.fixture(scope="module")
def roll() -> ReplicaRoll:
    return generate_roll(3_000)


def fetch_statuses(url: str, path: str, count: int) -> list[int]:
    with httpx.Client(base_url=url, timeout=10) as client:
        return [client.get(path).status_code for _ in range(count)]


@pytest.mark.parametrize("error", ["network", "pool_timeout", "permission_denied"])
def test_criteria_error_page(roll: ReplicaRoll, error: SqlError) -> None:
    faults = FaultConfig(criteria_error_rate=1.0, sql_errors=(error,))
    with (
        running_replica(roll=roll, config=ReplicaConfig(faults=faults)) as replica,
        httpx.Client(base_url=replica.url, timeout=10) as client,
    ):
        responses = [client.get(CRITERIA), client.get(CRITERIA_2)]
        ok = client.get("/FramePages/SearchType.aspx")
    _, message = SQL_ERROR_MESSAGES[error]
    for response in responses:
        assert response.status_code == 500
        assert "Server Error in '/' Application." in response.text
        heading = LexborHTMLParser(response.text).css_first("h2 i").text().strip()
        assert heading == f"{message}{CRITERIA_ERROR_SUFFIX}"
    assert ok.status_code == 200
    assert replica.state.faults["criteria_error"] == 2
    assert [record.faults for record in replica.requests] == [
        ("criteria_error",), ("criteria_error",), (),
    ]  # fmt: skip


def test_sql_messages_are_the_logged_ones() -> None:
    assert (
        "(provider: Named Pipes Provider, error: 40 - Could not open a connection to SQL Server)"
        in (SQL_ERROR_MESSAGES["network"][1])
    )
    assert SQL_ERROR_MESSAGES["pool_timeout"][1] == (
        "Timeout expired.  The timeout period elapsed prior to obtaining a connection from the "
        "pool.  This may have occurred because all pooled connections were in use and max pool "
        "size was reached."
    )
    assert SQL_ERROR_MESSAGES["permission_denied"][1] == (
        "The EXECUTE permission was denied on the object 'Get_DropDownFillValues', "
        "database 'ValuationRoll', schema 'dbo'."
    )


def test_result_and_details_errors(roll: ReplicaRoll) -> None:
    faults = FaultConfig(result_error_rate=1.0, details_error_rate=1.0, sql_errors=("network",))
    prop = roll.full[0]
    with (
        running_replica(roll=roll, config=ReplicaConfig(faults=faults)) as replica,
        httpx.Client(base_url=replica.url, timeout=10) as client,
    ):
        result = client.get(RESULT, params=result_params(RateNumber=prop.rate_number))
        details = client.get(f"/FramePages/SearchDeatils.aspx?id={prop.pin}&PType=1&FType=1")
        criteria = client.get(CRITERIA)
    for response in (result, details):
        assert response.status_code == 500
        assert "error: 40 - Could not open a connection to SQL Server" in response.text
        assert CRITERIA_ERROR_SUFFIX not in response.text
    assert criteria.status_code == 200
    assert replica.state.faults == {"result_error": 1, "details_error": 1}


def test_result_errors_off_by_default(roll: ReplicaRoll) -> None:
    with running_replica(roll=roll, config=ReplicaConfig(faults=FaultConfig())) as replica:
        statuses = fetch_statuses(replica.url, CRITERIA, 5)
    assert statuses == [200] * 5
    assert sum(replica.state.faults.values()) == 0


def test_error_rate_repeatable_by_seed(roll: ReplicaRoll) -> None:
    def statuses(seed: int) -> list[int]:
        faults = FaultConfig(seed=seed, criteria_error_rate=0.5)
        with running_replica(roll=roll, config=ReplicaConfig(faults=faults)) as replica:
            return fetch_statuses(replica.url, CRITERIA, 24)

    first, again, other = statuses(3), statuses(3), statuses(4)
    assert first == again
    assert first != other
    assert 200 in first
    assert 500 in first


def test_injected_fault_logged(roll: ReplicaRoll, caplog: pytest.LogCaptureFixture) -> None:
    faults = FaultConfig(criteria_error_rate=1.0)
    with (
        caplog.at_level(logging.INFO, logger="durban_valuations.replica"),
        running_replica(roll=roll, config=ReplicaConfig(faults=faults)) as replica,
    ):
        fetch_statuses(replica.url, CRITERIA, 1)
    messages = [r.getMessage() for r in caplog.records if r.name == "durban_valuations.replica"]
    assert any("injected fault criteria_error into request 1" in m for m in messages)


def test_burst_windows_fail_database_pages(roll: ReplicaRoll) -> None:
    # Windows cover requests 2-4, 12-14 and 22-24.
    faults = FaultConfig(burst=BurstConfig(length=3, start=2, every=10))
    search = result_params(RateNumber=roll.full[0].rate_number)
    with (
        running_replica(roll=roll, config=ReplicaConfig(faults=faults)) as replica,
        httpx.Client(base_url=replica.url, timeout=10) as client,
    ):
        statuses = [client.get(CRITERIA).status_code for _ in range(21)]
        static_in_window = client.get("/PropertySearch.htm")
        result_in_window = client.get(RESULT, params=search)
        criteria_in_window = client.get(CRITERIA_2)
        after_window = client.get(CRITERIA)
    assert statuses == [200] + [500] * 3 + [200] * 7 + [500] * 3 + [200] * 7
    assert static_in_window.status_code == 200
    assert result_in_window.status_code == 500
    assert "error: 40" in criteria_in_window.text
    assert criteria_in_window.status_code == 500
    assert after_window.status_code == 200
    assert replica.state.faults["burst"] == 8


def test_burst_window_covers_numbers() -> None:
    once = BurstConfig(length=2, start=5)
    assert [n for n in range(1, 12) if once.covers(n)] == [5, 6]
    recurring = BurstConfig(length=2, start=5, every=4)
    assert [n for n in range(1, 15) if recurring.covers(n)] == [5, 6, 9, 10, 13, 14]


def test_slow_search_times_out_client(roll: ReplicaRoll) -> None:
    faults = FaultConfig(slow_search_min_matches=50, slow_search_seconds=1.5)
    narrow = result_params(RateNumber=roll.full[0].rate_number)
    with (
        running_replica(roll=roll, config=ReplicaConfig(faults=faults)) as replica,
        httpx.Client(base_url=replica.url, timeout=0.3) as client,
    ):
        with pytest.raises(httpx.ReadTimeout):
            client.get(RESULT, params=result_params(RateNumber="1"))
        started = time.perf_counter()
        fast = client.get(RESULT, params=narrow)
        fast_seconds = time.perf_counter() - started
    assert fast.status_code == 200
    assert fast_seconds < 0.3
    assert replica.state.faults["slow_search"] == 1


def test_slow_search_serves_others_meanwhile(roll: ReplicaRoll) -> None:
    faults = FaultConfig(slow_search_min_matches=50, slow_search_seconds=1.0)
    slow_statuses: list[int] = []
    with running_replica(roll=roll, config=ReplicaConfig(faults=faults)) as replica:

        def slow_search() -> None:
            with httpx.Client(base_url=replica.url, timeout=10) as slow_client:
                response = slow_client.get(RESULT, params=result_params(RateNumber="1"))
                slow_statuses.append(response.status_code)

        thread = threading.Thread(target=slow_search)
        thread.start()
        time.sleep(0.2)
        started = time.perf_counter()
        fast_statuses = fetch_statuses(replica.url, CRITERIA, 1)
        fast_seconds = time.perf_counter() - started
        thread.join(timeout=10)
    assert fast_statuses == [200]
    assert fast_seconds < 0.5
    assert slow_statuses == [200]


def test_firewall_blocks_headless_chrome(roll: ReplicaRoll) -> None:
    faults = FaultConfig(firewall=FirewallConfig())
    with (
        running_replica(roll=roll, config=ReplicaConfig(faults=faults)) as replica,
        httpx.Client(base_url=replica.url, timeout=10) as client,
    ):
        blocked = client.get(CRITERIA, headers={"User-Agent": HEADLESS_CHROME})
        allowed = client.get(CRITERIA, headers={"User-Agent": "python-httpx"})
    assert blocked.status_code == 200
    assert BLOCK_HEADING in blocked.text
    assert BLOCK_TEXT in blocked.text
    port = replica.url.rsplit(":", 1)[1]
    assert f"URL: 127.0.0.1:{port}/FramePages/SearchCrit.aspx" in blocked.text
    assert "Client IP: 127.0.0.1" in blocked.text
    assert "Attack ID: 20000052" in blocked.text
    assert "Message ID: 000030605607" in blocked.text
    assert BLOCK_HEADING not in allowed.text
    assert replica.state.faults["firewall"] == 1


def test_firewall_rate_limit_blocks(roll: ReplicaRoll) -> None:
    firewall = FirewallConfig(
        user_agent_patterns=(), max_requests=5, window_seconds=30, block_seconds=0.5, status=403
    )
    with (
        running_replica(
            roll=roll, config=ReplicaConfig(faults=FaultConfig(firewall=firewall))
        ) as replica,
        httpx.Client(base_url=replica.url, timeout=10) as client,
    ):
        burst = [client.get(CRITERIA) for _ in range(7)]
        time.sleep(0.6)
        after_block = client.get(CRITERIA)
    assert [response.status_code for response in burst] == [200] * 5 + [403] * 2
    assert BLOCK_HEADING in burst[5].text
    assert after_block.status_code == 200
    assert replica.state.faults["firewall"] == 2


def test_firewall_random_block(roll: ReplicaRoll) -> None:
    firewall = FirewallConfig(user_agent_patterns=(), block_rate=1.0)
    with running_replica(
        roll=roll, config=ReplicaConfig(faults=FaultConfig(firewall=firewall))
    ) as replica:
        statuses = fetch_statuses(replica.url, "/PropertySearch.htm", 3)
    assert statuses == [200] * 3
    assert replica.state.faults["firewall"] == 3
    assert all(record.faults == ("firewall",) for record in replica.requests)


def test_truncated_page_has_matching_length(roll: ReplicaRoll) -> None:
    with running_replica(roll=roll) as plain:
        full_page = httpx.get(plain.url + CRITERIA, timeout=10).content
    faults = FaultConfig(truncate_rate=1.0)
    with running_replica(roll=roll, config=ReplicaConfig(faults=faults)) as replica:
        responses = [httpx.get(replica.url + CRITERIA, timeout=10) for _ in range(3)]
    for response in responses:
        assert response.status_code == 200
        assert int(response.headers["content-length"]) == len(response.content)
        assert 0 < len(response.content) < len(full_page)
        assert full_page.startswith(response.content)
        assert not response.content.rstrip().endswith(b"</html>")
    assert replica.state.faults["truncated"] == 3


def test_dropped_connection_raises(roll: ReplicaRoll) -> None:
    faults = FaultConfig(drop_rate=1.0)
    with (
        running_replica(roll=roll, config=ReplicaConfig(faults=faults)) as replica,
        httpx.Client(base_url=replica.url, timeout=5) as client,
    ):
        started = time.perf_counter()
        for _ in range(2):
            with pytest.raises(httpx.TransportError):
                client.get(CRITERIA)
        elapsed = time.perf_counter() - started
    assert elapsed < 2
    assert replica.state.faults["dropped"] == 2


@pytest.mark.parametrize(
    "settings",
    [
        {"criteria_error_rate": 1.5},
        {"drop_rate": -0.1},
        {"slow_search_seconds": -1},
        {"sql_errors": ()},
    ],
)
def test_fault_config_rejects_invalid(settings: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="must"):
        FaultConfig(**settings)  # type: ignore[arg-type]
