from pathlib import Path

import pytest
from pydantic import ValidationError

from durban_valuations.config import LIVE_SITE_URL, Settings

ROOT = Path(__file__).resolve().parents[2]


def test_defaults_point_at_live_site(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VALUATION_SITE_URL", raising=False)
    settings = Settings(_env_file=None)
    assert settings.site_url == LIVE_SITE_URL
    assert settings.database_url is None


def test_env_example_documents_every_setting() -> None:
    documented = set()
    lines = (ROOT / ".env.example").read_text().splitlines()
    for index, line in enumerate(lines):
        if line and not line.startswith("#") and "=" in line:
            documented.add(line.split("=", 1)[0])
            # Settings may share one comment, so look above the group of settings.
            above = index - 1
            while above >= 0 and lines[above] and not lines[above].startswith("#"):
                above -= 1
            assert above >= 0, f"{line} has no comment above it"
            assert lines[above].startswith("#"), f"{line} has no comment above it"
    expected = {name.upper() for name in Settings.model_fields}
    assert documented == expected


def test_env_example_values_are_valid() -> None:
    Settings(_env_file=ROOT / ".env.example")


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("REQUEST_RATE", "0"),
        ("REQUEST_RATE", "fast"),
        ("REQUEST_CONCURRENCY", "0"),
        ("EXTRACTION_INTERVAL", "0"),
        ("SMTP_PORT", "70000"),
        ("BLOCK_PAUSE_AFTER", "0"),
        ("BLOCK_PAUSE_SECONDS", "0"),
        ("BLOCK_PAUSE_SECONDS", "-5"),
        ("VALUATION_SITE_URL", "not a url"),
        ("VALUATION_SITE_URL", "https://example.org/?a=1"),
        ("CRAWL_DIMENSIONS", "street"),
        ("CRAWL_DIMENSIONS", "volume,volume"),
        ("CRAWL_DIMENSIONS", ","),
    ],
)
def test_invalid_setting_rejected(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValidationError) as raised:
        Settings(_env_file=None)
    assert raised.value.errors()[0]["loc"] == (variable.lower(),)


def test_block_pause_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BLOCK_PAUSE_AFTER", raising=False)
    monkeypatch.delenv("BLOCK_PAUSE_SECONDS", raising=False)
    settings = Settings(_env_file=None)
    assert settings.block_pause_after == 3
    assert settings.block_pause_seconds == 300.0


def test_block_pause_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BLOCK_PAUSE_AFTER", "5")
    monkeypatch.setenv("BLOCK_PAUSE_SECONDS", "0.5")
    settings = Settings(_env_file=None)
    assert settings.block_pause_after == 5
    assert settings.block_pause_seconds == 0.5


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("volume,rate_number", ("volume", "rate_number")),
        (" suburb , volume ", ("suburb", "volume")),
        ("volume", ("volume",)),
    ],
)
def test_crawl_dimensions_from_environment(
    monkeypatch: pytest.MonkeyPatch, value: str, expected: tuple[str, ...]
) -> None:
    monkeypatch.setenv("CRAWL_DIMENSIONS", value)
    assert Settings(_env_file=None).crawl_dimensions == expected


RDS_SECRET = (
    '{"username": "valuations", "password": "p@ss:w/rd", "host": "db.internal", '
    '"port": 5432, "dbname": "durban_valuations", "engine": "postgres"}'
)


def test_database_credentials_build_a_tls_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("DATABASE_CREDENTIALS", RDS_SECRET)
    settings = Settings(_env_file=None)
    assert settings.database_url == (
        "postgresql://valuations:p%40ss%3Aw%2Frd@db.internal:5432/durban_valuations?sslmode=require"
    )


def test_database_url_wins_over_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://localhost/other")
    monkeypatch.setenv("DATABASE_CREDENTIALS", RDS_SECRET)
    assert Settings(_env_file=None).database_url == "postgresql://localhost/other"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("not json", "is not valid JSON"),
        ("[1, 2]", "must be a JSON object"),
        ('{"username": "u", "password": "secret-value"}', "lacks host, port, dbname"),
        (RDS_SECRET.replace("5432", '"pg"'), "port that is not a number"),
    ],
)
def test_bad_database_credentials_are_named_without_their_values(
    monkeypatch: pytest.MonkeyPatch, value: str, message: str
) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("DATABASE_CREDENTIALS", value)
    with pytest.raises(ValidationError) as raised:
        Settings(_env_file=None)
    (problem,) = raised.value.errors()
    assert problem["loc"] == ("database_credentials",)
    assert message in problem["msg"]
    assert "secret-value" not in problem["msg"]
