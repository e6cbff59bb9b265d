"""The one settings object, read from the environment and `.env`."""

from __future__ import annotations

import json
import re
from email.utils import parseaddr
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal, get_args
from urllib.parse import quote

from pydantic import (
    Field,
    HttpUrl,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

LIVE_SITE_URL = "https://valuation2022.durban.gov.za"
CrawlDimension = Literal["volume", "rate_number", "suburb"]
CRAWL_DIMENSIONS: tuple[str, ...] = get_args(CrawlDimension)
SmtpSecurity = Literal["starttls", "ssl", "none"]
# Alert settings that may be left empty, which means unset.
_OPTIONAL_ALERT_SETTINGS = (
    "smtp_server", "smtp_security", "smtp_ca_file", "sender_email", "smtp_username",
    "email_password", "recipient_email", "alert_api_url",
)  # fmt: skip
# One address after parseaddr() removed any display name: a local part, "@" and a domain.
_ADDRESS = re.compile(r"[^@\s]+@[^@\s]+")


class Settings(BaseSettings):
    """Every setting of durban-valuations; `.env.example` documents each one."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of PostgreSQL; unset starts an embedded server in DATA_DIR.",
    )
    database_credentials: SecretStr | None = Field(
        default=None,
        description="JSON with the keys username, password, host, port and dbname, as Amazon RDS "
        "stores database credentials in Secrets Manager; builds DATABASE_URL when that is unset.",
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
        default=100_000_000,
        ge=100_000,
        description="Largest result page read, in bytes (about 1,000 bytes a row); a search "
        "with a larger page is narrowed instead. Large pages are parsed as they arrive, so "
        "this bounds the time of one request rather than memory.",
    )
    crawl_dimensions: Annotated[tuple[CrawlDimension, ...], NoDecode] = Field(
        default=("volume", "rate_number"),
        description="Comma-separated ways of covering each whole roll: 'volume' (01 to 89), "
        "'rate_number' (the 100 two-digit rate-number substrings), 'suburb' (every suburb "
        "option). Two give the coverage report its cross-check.",
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
    smtp_server: str | None = Field(
        default=None, description="SMTP host for alert emails; unset turns alerts off."
    )
    smtp_port: int = Field(default=587, ge=1, le=65535, description="SMTP port.")
    smtp_security: SmtpSecurity | None = Field(
        default=None,
        description="'starttls', 'ssl' (implicit TLS) or 'none'; unset means 'ssl' on port "
        "465 and 'starttls' on any other port.",
    )
    smtp_timeout: float = Field(
        default=30.0, gt=0, description="Seconds to wait for each reply of the SMTP server."
    )
    smtp_ca_file: Path | None = Field(
        default=None,
        description="PEM file of the CA certificates that verify the SMTP server; unset uses "
        "the system's CA store.",
    )
    sender_email: str | None = Field(default=None, description="From address of alert emails.")
    smtp_username: str | None = Field(
        default=None, description="SMTP login name; unset logs in as SENDER_EMAIL."
    )
    email_password: SecretStr | None = Field(
        default=None, description="SMTP password; unset sends without logging in."
    )
    recipient_email: str | None = Field(
        default=None, description="Addresses that alert emails go to, separated by commas."
    )
    alert_api_url: HttpUrl | None = Field(
        default=None,
        description="Base URL of the API as alert recipients reach it; alert emails then "
        "link the run report.",
    )
    celery_broker_url: str = Field(
        default="redis://127.0.0.1:6379/0",
        description="Broker of the Celery workers: redis://… (default) or amqp://… (RabbitMQ).",
    )
    celery_scrape_parts: int = Field(
        default=2,
        ge=1,
        le=64,
        description="Parts a Celery scrape splits each roll's searches into, one task each; "
        "REQUEST_RATE is shared among them.",
    )
    api_host: str = Field(default="127.0.0.1", description="Address the API binds to.")
    api_port: int = Field(default=8000, ge=1, le=65535, description="Port the API listens on.")
    api_database_pool_size: int = Field(
        default=10,
        ge=1,
        le=100,
        description="Database connections each API process keeps open; it opens up to as "
        "many more while all are busy.",
    )
    api_response_cache_mb: float = Field(
        default=32,
        ge=0,
        le=4096,
        description="Megabytes of data responses each API process keeps to serve repeated "
        "requests until the next complete run; 0 turns the response cache off.",
    )
    api_run_cache_seconds: float = Field(
        default=1.0,
        ge=0,
        le=3600,
        description="Seconds an API process reuses the last complete run it read, which "
        "sets ETags, Last-Modified and the statistics cache; 0 reads it on every request.",
    )

    @field_validator("crawl_dimensions", mode="before")
    @classmethod
    def _split_dimensions(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        names = [name.strip() for name in value.split(",") if name.strip()]
        unknown = [name for name in names if name not in CRAWL_DIMENSIONS]
        if unknown or not names or len(set(names)) != len(names):
            raise ValueError(
                f"CRAWL_DIMENSIONS={value!r} must list distinct names among "
                f"{', '.join(CRAWL_DIMENSIONS)}, separated by commas, e.g. 'volume,rate_number'"
            )
        return tuple(names)

    @field_validator(*_OPTIONAL_ALERT_SETTINGS, "database_credentials", mode="before")
    @classmethod
    def _empty_as_unset(cls, value: object) -> object:
        # `.env.example` and the Kubernetes ConfigMap leave unused settings empty.
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator("sender_email", "recipient_email")
    @classmethod
    def _check_addresses(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        name = (info.field_name or "").upper()
        if name == "SENDER_EMAIL" and len(split_addresses(value)) != 1:
            raise ValueError(f"SENDER_EMAIL={value!r} must be one address")
        for address in split_addresses(value):
            if not _ADDRESS.fullmatch(parseaddr(address)[1]):
                raise ValueError(
                    f"{name} contains the invalid address {address!r}: expected "
                    "name@domain, several separated by commas"
                )
        return value

    @field_validator("valuation_site_url")
    @classmethod
    def _reject_query(cls, value: HttpUrl) -> HttpUrl:
        if value.query or value.fragment:
            raise ValueError(
                f"VALUATION_SITE_URL={value} must be the site root, without a query or fragment"
            )
        return value

    @field_validator("database_credentials")
    @classmethod
    def _check_credentials(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            database_url_from_credentials(value.get_secret_value())
        return value

    @model_validator(mode="after")
    def _url_from_credentials(self) -> Settings:
        if not self.database_url and self.database_credentials is not None:
            self.database_url = database_url_from_credentials(
                self.database_credentials.get_secret_value()
            )
        return self

    @property
    def site_url(self) -> str:
        """Base URL of the site without a trailing slash."""
        return str(self.valuation_site_url).rstrip("/")

    @property
    def recipient_addresses(self) -> tuple[str, ...]:
        """The addresses of RECIPIENT_EMAIL, or none when it is unset."""
        return split_addresses(self.recipient_email or "")


_CREDENTIAL_KEYS = ("username", "password", "host", "port", "dbname")


def database_url_from_credentials(document: str) -> str:
    """Build a PostgreSQL URL (TLS required) from an RDS credentials JSON document.

    Error messages name the missing or invalid keys, never their values.
    """
    try:
        credentials = json.loads(document)
    except json.JSONDecodeError as error:
        raise ValueError(
            f"DATABASE_CREDENTIALS is not valid JSON ({error.msg} at character {error.pos}); "
            f"expected an object with the keys {', '.join(_CREDENTIAL_KEYS)}"
        ) from None
    if not isinstance(credentials, dict):
        raise ValueError("DATABASE_CREDENTIALS must be a JSON object")
    missing = [key for key in _CREDENTIAL_KEYS if credentials.get(key) in (None, "")]
    if missing:
        raise ValueError(
            f"DATABASE_CREDENTIALS lacks {', '.join(missing)}; it needs the keys "
            f"{', '.join(_CREDENTIAL_KEYS)}, as in the secret Amazon RDS generates"
        )
    port = credentials["port"]
    if not str(port).isdigit() or not 1 <= int(port) <= 65535:
        raise ValueError("DATABASE_CREDENTIALS has a port that is not a number from 1 to 65535")
    user = quote(str(credentials["username"]), safe="")
    password = quote(str(credentials["password"]), safe="")
    database = quote(str(credentials["dbname"]), safe="")
    return (
        f"postgresql://{user}:{password}@{credentials['host']}:{int(port)}/{database}"
        "?sslmode=require"
    )


# Settings whose values an error message must not show.
SECRET_SETTINGS = frozenset({"DATABASE_CREDENTIALS", "DATABASE_URL", "EMAIL_PASSWORD"})


def setting_problems(error: ValidationError) -> list[str]:
    """Describe each invalid setting of a Settings validation error: name, value, reason, fix.

    The values of SECRET_SETTINGS are shown as (hidden).
    """
    lines = []
    for problem in error.errors():
        name = str(problem["loc"][0]).upper() if problem["loc"] else "?"
        value = "(hidden)" if name in SECRET_SETTINGS else repr(problem.get("input"))
        lines.append(
            f"Invalid setting {name}={value}: {problem['msg']}. "
            "Fix it in the environment or in .env (see .env.example)."
        )
    return lines


def split_addresses(value: str) -> tuple[str, ...]:
    """Split a comma-separated list of email addresses, dropping empty items."""
    return tuple(address.strip() for address in value.split(",") if address.strip())


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Return the process-wide settings, read once."""
    return Settings()
