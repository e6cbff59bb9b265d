"""The one settings object, read from the environment and `.env`."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, HttpUrl, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

LIVE_SITE_URL = "https://valuation2022.durban.gov.za"


class Settings(BaseSettings):
    """Every setting of durban-valuations; `.env.example` documents each one."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of PostgreSQL; unset starts an embedded server in DATA_DIR.",
    )
    data_dir: Path = Field(
        default=Path("var"), description="Folder of the embedded PostgreSQL and other local state."
    )
    valuation_site_url: HttpUrl = Field(
        default=HttpUrl(LIVE_SITE_URL), description="Base URL of the valuation roll site."
    )
    roll_year: int = Field(default=2022, ge=2000, le=2100, description="Year of the roll scraped.")
    extraction_interval: int = Field(default=1, ge=1, description="Days between scheduled scrapes.")
    request_rate: float = Field(
        default=1.0, gt=0, description="Maximum requests per second sent to the site."
    )
    request_concurrency: int = Field(
        default=2, ge=1, le=64, description="Maximum requests in flight at once."
    )
    request_timeout: float = Field(
        default=60.0, gt=0, description="Seconds to wait for one response before retrying."
    )
    request_retries: int = Field(
        default=5, ge=0, le=20, description="Retries of one request after a timeout or a 5xx."
    )
    block_pause_after: int = Field(
        default=3,
        ge=1,
        description="Consecutive firewall blocks after which all requests pause.",
    )
    block_pause_seconds: float = Field(
        default=300.0,
        gt=0,
        description="Seconds all requests pause after BLOCK_PAUSE_AFTER consecutive blocks.",
    )
    retry_backoff_seconds: float = Field(
        default=2.0,
        gt=0,
        description="Wait before the first retry; each further retry doubles it, plus jitter.",
    )
    retry_backoff_max_seconds: float = Field(
        default=120.0,
        gt=0,
        description="Maximum wait between two retries of one request, in seconds.",
    )
    max_page_bytes: int = Field(
        default=5_000_000,
        ge=100_000,
        description="Largest result page read, in bytes (about 1,000 bytes a row); a search "
        "with a larger page is narrowed instead.",
    )
    crawl_split_policy: Literal["evidence", "always"] = Field(
        default="evidence",
        description="Which searches that show the 1,000-row warning are split: "
        "'always' every one, 'evidence' only those at the largest row count seen in the run.",
    )
    suspect_drop: float = Field(
        default=0.05,
        ge=0,
        le=1,
        description="A run that finds this share fewer properties than the last complete run "
        "is suspect.",
    )
    max_parse_failures: int = Field(
        default=10,
        ge=0,
        description="A run with more result pages that fail to parse is suspect.",
    )
    user_agent: str = Field(
        default="durban-valuations/0.1 (+https://github.com/durban-valuations/durban-valuations)",
        description="User-Agent header sent to the site.",
    )
    smtp_server: str | None = Field(default=None, description="SMTP host for alert emails.")
    smtp_port: int = Field(default=587, ge=1, le=65535, description="SMTP port.")
    sender_email: str | None = Field(default=None, description="From address of alert emails.")
    email_password: str | None = Field(default=None, description="SMTP password of SENDER_EMAIL.")
    recipient_email: str | None = Field(default=None, description="Where alert emails go.")
    api_host: str = Field(default="127.0.0.1", description="Address the API binds to.")
    api_port: int = Field(default=8000, ge=1, le=65535, description="Port the API listens on.")

    @field_validator("valuation_site_url")
    @classmethod
    def _reject_query(cls, value: HttpUrl) -> HttpUrl:
        if value.query or value.fragment:
            raise ValueError(
                f"VALUATION_SITE_URL={value} must be the site root, without a query or fragment"
            )
        return value

    @property
    def site_url(self) -> str:
        """Base URL of the site without a trailing slash."""
        return str(self.valuation_site_url).rstrip("/")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Return the process-wide settings, read once."""
    return Settings()
