"""Log lines: JSON or text by terminal, run and request ids, secrets redacted."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import select
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import SecretStr

from durban_valuations.config.log_setup import (
    Redactor,
    bind_request_id,
    bind_run_id,
    collect_secrets,
    configure_logging,
    log_level_from_environment,
    make_handler,
    resolve_log_format,
)
from durban_valuations.config.settings import Settings

LOGGER_NAME = "durban_valuations.tests.logs"
# A logger with its own handler that does not propagate, kept apart from LOGGER_NAME.
JSON_LOGGER_NAME = "durban_valuations.tests.json_logs"


class Terminal:
    """A pseudo-terminal: writes go to a real tty, reads return what was written."""

    def __init__(self) -> None:
        self.controller, follower = os.openpty()
        self.stream = os.fdopen(follower, "w", encoding="utf-8")

    def read(self) -> str:
        """Return what was written so far; empty when nothing arrives within 5 s."""
        self.stream.flush()
        ready, _, _ = select.select([self.controller], [], [], 5.0)
        return os.read(self.controller, 65536).decode("utf-8") if ready else ""

    def close(self) -> None:
        self.stream.close()
        os.close(self.controller)


@pytest.fixture
def terminal() -> Iterator[Terminal]:
    pty = Terminal()
    yield pty
    pty.close()


@pytest.fixture
def root_logger() -> Iterator[logging.Logger]:
    """The root logger, with its handlers and level restored after the test."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield root
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture(autouse=True)
def no_log_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("LOG_FORMAT", "LOG_LEVEL", "EMAIL_PASSWORD", "DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)


def _json_logger(secrets: list[str] | None = None) -> tuple[logging.Logger, io.StringIO]:
    stream = io.StringIO()
    logger = logging.getLogger(JSON_LOGGER_NAME)
    logger.handlers[:] = [make_handler(stream, "json", secrets=secrets or [])]
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    return logger, stream


def _lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_json_line_fields() -> None:
    logger, stream = _json_logger()

    logger.info("suburb %s scraped", "PINETOWN", extra={"rows": 12, "roll": "full"})

    [line] = stream.getvalue().splitlines()
    record = json.loads(line)
    assert record["level"] == "INFO"
    assert record["logger"] == JSON_LOGGER_NAME
    assert record["message"] == "suburb PINETOWN scraped"
    assert record["event"] == "suburb %s scraped"
    assert record["run_id"] is None
    assert record["request_id"] is None
    assert record["process"] == os.getpid()
    assert record["rows"] == 12
    assert record["roll"] == "full"
    assert record["time"].endswith("Z")


def test_json_event_from_extra() -> None:
    logger, stream = _json_logger()

    logger.warning("run event %s", "run_failed", extra={"event": "run_failed", "run_id": 7})

    [record] = _lines(stream)
    assert record["event"] == "run_failed"
    assert record["run_id"] == 7


def test_json_exception_one_line() -> None:
    logger, stream = _json_logger()

    try:
        raise ValueError("bad page\nsecond line")
    except ValueError:
        logger.exception("parse failed")

    [line] = stream.getvalue().splitlines()
    record = json.loads(line)
    assert record["level"] == "ERROR"
    assert "ValueError: bad page" in record["exception"]
    assert "Traceback" in record["exception"]


def test_json_values_not_serializable() -> None:
    logger, stream = _json_logger()

    logger.info("sizes", extra={"sizes": {1, 2}, "path": object.__new__(object)})

    [record] = _lines(stream)
    assert sorted(record["sizes"]) == [1, 2]
    assert record["path"].startswith("<object object")


def test_run_id_from_context() -> None:
    logger, stream = _json_logger()

    async def scrape_task() -> None:
        logger.info("inside a task")

    with bind_run_id(42):
        logger.info("inside")
        asyncio.run(scrape_task())
    logger.info("outside")

    assert [record["run_id"] for record in _lines(stream)] == [42, 42, None]


def test_request_id_from_context() -> None:
    logger, stream = _json_logger()

    with bind_request_id("req-1"):
        logger.info("inside")
    logger.info("outside")

    assert [record["request_id"] for record in _lines(stream)] == ["req-1", None]


def test_format_auto_terminal(terminal: Terminal) -> None:
    assert resolve_log_format(terminal.stream, "auto") == "text"
    assert resolve_log_format(io.StringIO(), "auto") == "json"


@pytest.mark.parametrize(
    ("variable", "expected"), [("json", "json"), ("TEXT", "text"), ("", "text")]
)
def test_format_from_variable(
    monkeypatch: pytest.MonkeyPatch, terminal: Terminal, variable: str, expected: str
) -> None:
    monkeypatch.setenv("LOG_FORMAT", variable)

    assert resolve_log_format(terminal.stream) == expected


def test_format_invalid_raises() -> None:
    with pytest.raises(ValueError, match="invalid LOG_FORMAT 'xml': use json, text or auto"):
        resolve_log_format(io.StringIO(), "xml")


def test_configure_text_on_terminal(root_logger: logging.Logger, terminal: Terminal) -> None:
    configure_logging("INFO", stream=terminal.stream)

    with bind_request_id("req-9"):
        logging.getLogger(LOGGER_NAME).info("started", extra={"rows": 3})

    output = terminal.read()
    assert f"INFO {LOGGER_NAME}: started" in output
    assert "request_id='req-9'" in output
    assert "rows=3" in output
    assert not output.lstrip().startswith("{")


def test_configure_json_off_terminal(root_logger: logging.Logger) -> None:
    stream = io.StringIO()
    configure_logging("INFO", stream=stream)

    logging.getLogger(LOGGER_NAME).info("started")
    logging.getLogger(LOGGER_NAME).debug("hidden")

    [record] = _lines(stream)
    assert record["message"] == "started"


def test_configure_text_forced(
    root_logger: logging.Logger, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOG_FORMAT", "text")
    stream = io.StringIO()
    configure_logging("INFO", stream=stream)

    logging.getLogger(LOGGER_NAME).info("started")

    assert f"INFO {LOGGER_NAME}: started" in stream.getvalue()


def test_configure_invalid_format_warns(
    root_logger: logging.Logger, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOG_FORMAT", "xml")
    stream = io.StringIO()
    configure_logging("INFO", stream=stream)

    [record] = _lines(stream)
    assert record["level"] == "WARNING"
    assert record["message"] == "invalid LOG_FORMAT 'xml': use json, text or auto; using auto"


def test_configure_default_stream_stderr(
    root_logger: logging.Logger, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging("WARNING")

    logging.getLogger(LOGGER_NAME).warning("to standard error")

    captured = capsys.readouterr()
    assert captured.out == ""
    assert json.loads(captured.err)["message"] == "to standard error"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            "connecting to postgresql://valuer:s3cret-pw@db.internal:5432/roll",
            "connecting to postgresql://valuer:***@db.internal:5432/roll",
        ),
        (
            "postgresql+psycopg://valuer:p@ss@db/roll failed",
            "postgresql+psycopg://valuer:***@db/roll failed",
        ),
        ("broker redis://:hunter22@cache:6379/0", "broker redis://:***@cache:6379/0"),
        ("dsn host=db user=valuer password=s3cret-pw", "dsn host=db user=valuer password=***"),
        ("dsn password='two words' host=db", "dsn password=*** host=db"),
        ("no secret in https://example.org/path", "no secret in https://example.org/path"),
    ],
)
def test_redact_patterns(line: str, expected: str) -> None:
    assert Redactor().redact(line) == expected


def test_redact_known_secrets_longest_first() -> None:
    redactor = Redactor(["abcd", "abcdefgh", "xyz"])

    assert redactor.redact("values abcdefgh abcd xyz") == "values *** *** xyz"


def test_collect_secrets_from_settings() -> None:
    settings = Settings(
        _env_file=None,
        email_password=SecretStr("mail-secret-1"),
        database_url="postgresql://valuer:db%2Fsecret@db:5432/roll",
    )

    secrets = collect_secrets(settings, environ={})

    assert "mail-secret-1" in secrets
    assert {"db%2Fsecret", "db/secret"} <= secrets


def test_collect_secrets_from_environment() -> None:
    environ = {
        "GITHUB_TOKEN": "ghp-token-value",
        "AWS_SECRET_ACCESS_KEY": "aws-secret-value",
        "PGPASSWORD": "pg-password-value",
        "CELERY_BROKER_URL": "redis://:broker-pw@cache:6379/0",
        "ROLL_YEAR": "2022",
    }

    secrets = collect_secrets(None, environ=environ)

    assert secrets == {"ghp-token-value", "aws-secret-value", "pg-password-value", "broker-pw"}


def test_secret_never_logged(root_logger: logging.Logger, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMAIL_PASSWORD", "mail-Pa55-secret")
    monkeypatch.setenv("DATABASE_URL", "postgresql://valuer:db-Pa55-secret@db:5432/roll")
    stream = io.StringIO()
    configure_logging("INFO", stream=stream, settings=Settings(_env_file=None))
    logger = logging.getLogger(LOGGER_NAME)

    logger.info("password is %s", "mail-Pa55-secret")
    logger.info("settings", extra={"smtp": {"password": "mail-Pa55-secret"}, "tries": 2})
    try:
        raise ConnectionError("login with db-Pa55-secret refused")
    except ConnectionError:
        logger.exception("connect failed")
    logger.info("stack", stack_info=True, extra={"note": "db-Pa55-secret"})

    output = stream.getvalue()
    assert "mail-Pa55-secret" not in output
    assert "db-Pa55-secret" not in output
    records = _lines(stream)
    assert records[0]["message"] == "password is ***"
    assert records[1]["smtp"] == {"password": "***"}
    assert "login with *** refused" in records[2]["exception"]
    assert records[3]["note"] == "***"


def test_secret_never_in_text(root_logger: logging.Logger, terminal: Terminal) -> None:
    configure_logging(
        "INFO",
        stream=terminal.stream,
        settings=Settings(_env_file=None, email_password=SecretStr("mail-Pa55-secret")),
    )

    logging.getLogger(LOGGER_NAME).info("sent with %s", "mail-Pa55-secret")

    output = terminal.read()
    assert "sent with ***" in output
    assert "mail-Pa55-secret" not in output


def test_short_secret_kept() -> None:
    redactor = Redactor(collect_secrets(None, environ={"USE_TOKEN": "1"}))

    assert redactor.redact("page 1 of 10") == "page 1 of 10"


@pytest.mark.parametrize(("value", "expected"), [("", "INFO"), ("debug", "DEBUG")])
def test_log_level_from_environment(
    monkeypatch: pytest.MonkeyPatch, value: str, expected: str
) -> None:
    monkeypatch.setenv("LOG_LEVEL", value)

    assert log_level_from_environment() == expected


def test_log_level_invalid(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOG_LEVEL", "LOUD")

    with pytest.raises(ValueError, match="invalid LOG_LEVEL 'LOUD'"):
        log_level_from_environment()
