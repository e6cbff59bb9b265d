"""Log setup: readable lines on a terminal, JSON lines elsewhere, secrets redacted.

Every record carries the request id of the HTTP request and the run id of the scrape
that produced it, taken from context variables that `bind_request_id` and `bind_run_id`
set. LOG_FORMAT=json or LOG_FORMAT=text overrides the choice by terminal.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import IO, Any, Literal
from urllib.parse import quote, unquote, urlsplit

from pydantic import SecretStr, ValidationError

from durban_valuations.config.settings import Settings

LogFormat = Literal["json", "text"]
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

# The message before its arguments were merged, saved by RedactingFilter for `event`.
_EVENT_TEMPLATE = "_event_template"
# Attributes every LogRecord has; anything else was passed through `extra=` and is shown.
# Uvicorn adds `color_message`, the message with terminal colour codes.
_STANDARD_ATTRIBUTES = set(vars(logging.makeLogRecord({}))) | {
    "message",
    "asctime",
    "color_message",
    _EVENT_TEMPLATE,
}

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)
run_id_var: ContextVar[int | None] = ContextVar("run_id", default=None)

REDACTED = "***"
# Names of settings and environment variables whose values are secrets.
SECRET_NAME_WORDS = ("PASSWORD", "SECRET", "TOKEN")
# Shorter values are not replaced wherever they occur: a value such as "1" or "yes" in
# a *_TOKEN variable is no credential, and replacing it would garble every line.
# Passwords inside URLs are redacted by pattern whatever their length.
MIN_SECRET_LENGTH = 4
# scheme://user:password@host: the password runs to the last "@" before the path.
_URL_PASSWORD = re.compile(r"(?P<prefix>\b[A-Za-z][A-Za-z0-9+.-]*://[^\s:/?#@]*):[^\s/?#]*@")
# libpq key/value connection strings: "host=db password=secret".
_KEYWORD_PASSWORD = re.compile(r"(?P<key>\bpassword\s*=\s*)(?:'[^']*'|[^\s'&;,]+)", re.IGNORECASE)


@contextmanager
def bind_request_id(request_id: str) -> Iterator[None]:
    """Put `request_id` into every log record made in this context."""
    token = request_id_var.set(request_id)
    try:
        yield
    finally:
        request_id_var.reset(token)


@contextmanager
def bind_run_id(run_id: int) -> Iterator[None]:
    """Put `run_id` into every log record made in this context.

    asyncio tasks created inside the context copy it, so their records carry the id too.
    """
    token = run_id_var.set(run_id)
    try:
        yield
    finally:
        run_id_var.reset(token)


class Redactor:
    """Replaces passwords in URLs and connection strings, and known secret values, by ***."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        usable = {secret for secret in secrets if len(secret) >= MIN_SECRET_LENGTH}
        # Longest first, so a secret that contains another is replaced whole.
        self.secrets = sorted(usable, key=len, reverse=True)

    def redact(self, text: str) -> str:
        """Return `text` with every secret replaced by ***."""
        text = _URL_PASSWORD.sub(rf"\g<prefix>:{REDACTED}@", text)
        text = _KEYWORD_PASSWORD.sub(rf"\g<key>{REDACTED}", text)
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        return text

    def redact_value(self, value: object) -> object:
        """Redact the strings in `value`, inside dicts, lists and tuples too."""
        if isinstance(value, str):
            return self.redact(value)
        if isinstance(value, Mapping):
            return {key: self.redact_value(item) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return [self.redact_value(item) for item in value]
        return value


def _is_secret_name(name: str) -> bool:
    upper = name.upper()
    return any(word in upper for word in SECRET_NAME_WORDS)


def _url_password_forms(url: str | None) -> set[str]:
    """Return the password of `url` as written and percent-decoded, or nothing."""
    if not url:
        return set()
    try:
        password = urlsplit(url).password
    except ValueError:
        return set()
    if not password:
        return set()
    return {password, unquote(password), quote(unquote(password), safe="")}


def _plain_value(value: object) -> str | None:
    """Return a setting's value as text (a SecretStr revealed), or None when it is no text."""
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    return value if isinstance(value, str) else None


def collect_secrets(
    settings: Settings | None = None, environ: Mapping[str, str] | None = None
) -> set[str]:
    """Collect the secret values to redact from `settings` and the environment.

    A secret is the value of any setting or environment variable whose name contains
    PASSWORD, SECRET or TOKEN (EMAIL_PASSWORD among them), and the password of any URL
    in a setting or variable (DATABASE_URL among them).
    """
    environ = os.environ if environ is None else environ
    named_values = list(environ.items())
    if settings is not None:
        named_values += [(name, getattr(settings, name)) for name in type(settings).model_fields]
    secrets: set[str] = set()
    for name, value in named_values:
        text = _plain_value(value)
        if not text:
            continue
        if _is_secret_name(name):
            secrets.add(text)
        if "://" in text:
            secrets |= _url_password_forms(text)
    return secrets


def _settings_or_none() -> Settings | None:
    """Read the settings (environment and `.env`) for their secrets, or None when invalid.

    An invalid setting is reported by the command that loads the settings, with the
    variable's name, so it is not reported here.
    """
    try:
        return Settings()
    except ValidationError:
        return None


class RedactingFilter(logging.Filter):
    """Rewrites each record so that no secret reaches any handler.

    It merges the arguments into the message and redacts the message, the `extra`
    fields, the formatted traceback and the stack. Without `secrets` it collects them
    from the settings and the environment when it is created.
    """

    def __init__(self, secrets: Iterable[str] | None = None) -> None:
        super().__init__()
        if secrets is None:
            secrets = collect_secrets(_settings_or_none())
        self.redactor = Redactor(secrets)

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, _EVENT_TEMPLATE):
            setattr(record, _EVENT_TEMPLATE, self.redactor.redact(str(record.msg)))
        record.msg = self.redactor.redact(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redactor.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redactor.redact(record.stack_info)
        for key, value in list(vars(record).items()):
            if key not in _STANDARD_ATTRIBUTES:
                setattr(record, key, self.redactor.redact_value(value))
        return True


def _extra_fields(record: logging.LogRecord) -> dict[str, Any]:
    return {key: value for key, value in vars(record).items() if key not in _STANDARD_ATTRIBUTES}


def _context_fields(record: logging.LogRecord) -> dict[str, Any]:
    """Return the run id and request id of the record: from `extra`, else from the context."""
    fields = _extra_fields(record)
    return {
        "run_id": fields.get("run_id", run_id_var.get()),
        "request_id": fields.get("request_id", request_id_var.get()),
    }


class FieldsFormatter(logging.Formatter):
    """Formats a record as `time level logger: message key=value ...`.

    The request id and run id of the context are appended like `extra` fields.
    """

    def __init__(self, fmt: str | None = TEXT_FORMAT, redactor: Redactor | None = None) -> None:
        super().__init__(fmt)
        self.redactor = redactor or Redactor()

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        fields = {key: value for key, value in _context_fields(record).items() if value is not None}
        fields.update(_extra_fields(record))
        if fields:
            line += " " + " ".join(f"{key}={value!r}" for key, value in fields.items())
        return self.redactor.redact(line)


def _event_template(record: logging.LogRecord) -> str:
    template = getattr(record, _EVENT_TEMPLATE, None)
    return template if isinstance(template, str) else str(record.msg)


def _jsonable(value: object) -> object:
    """Return `value` as JSON types; anything else becomes its str()."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Mapping):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(item) for item in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON object on one line.

    Keys: time (UTC, ISO 8601), level, logger, message, event, run_id, request_id,
    process, then every `extra` field, then `exception` and `stack` when present.
    `event` is the `extra` event name, or else the message before its arguments were
    merged, which stays the same across records of one kind.
    """

    def __init__(self, redactor: Redactor | None = None) -> None:
        super().__init__()
        self.redactor = redactor or Redactor()

    def format(self, record: logging.LogRecord) -> str:
        extra = _extra_fields(record)
        moment = datetime.fromtimestamp(record.created, tz=UTC)
        document: dict[str, Any] = {
            "time": moment.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "event": extra.pop("event", None) or _event_template(record),
            **_context_fields(record),
            "process": record.process,
        }
        for key, value in extra.items():
            document.setdefault(key, value)
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            document["exception"] = record.exc_text
        if record.stack_info:
            document["stack"] = self.formatStack(record.stack_info)
        redacted = self.redactor.redact_value(_jsonable(document))
        return json.dumps(redacted, ensure_ascii=False)


def resolve_log_format(stream: IO[str], value: str | None = None) -> LogFormat:
    """Choose json or text for `stream` from `value` (default: LOG_FORMAT).

    "json" and "text" are used as given. "auto", an empty value and an unset variable
    choose text for a terminal and json for anything else. Raises ValueError for any
    other value.
    """
    choice = (os.environ.get("LOG_FORMAT", "") if value is None else value).strip().lower()
    if choice in ("json", "text"):
        return "json" if choice == "json" else "text"
    if choice not in ("", "auto"):
        raise ValueError(f"invalid LOG_FORMAT {choice!r}: use json, text or auto")
    is_terminal = hasattr(stream, "isatty") and stream.isatty()
    return "text" if is_terminal else "json"


def make_formatter(
    log_format: LogFormat, redactor: Redactor | None = None
) -> JsonFormatter | FieldsFormatter:
    """Create the formatter of `log_format`."""
    if log_format == "json":
        return JsonFormatter(redactor)
    return FieldsFormatter(TEXT_FORMAT, redactor)


def make_handler(
    stream: IO[str], log_format: str | None = None, secrets: Iterable[str] | None = None
) -> logging.StreamHandler[IO[str]]:
    """Create a handler on `stream` with the formatter of `log_format` and a RedactingFilter.

    `log_format` is json, text or auto (default: LOG_FORMAT, then auto), as
    `resolve_log_format` reads it. Without `secrets`, the filter collects them from the
    settings and the environment. Logging configuration files (Gunicorn's
    `logconfig_dict`) call it as a handler factory.
    """
    redacting_filter = RedactingFilter(secrets)
    handler = logging.StreamHandler(stream)
    resolved = resolve_log_format(stream, log_format)
    handler.setFormatter(make_formatter(resolved, redacting_filter.redactor))
    handler.addFilter(redacting_filter)
    return handler


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def log_level_from_environment(default: str = "INFO") -> str:
    """Read LOG_LEVEL (default INFO), upper-cased; raises ValueError for an unknown level."""
    level = os.environ.get("LOG_LEVEL", "").strip().upper() or default
    if level not in LOG_LEVELS:
        raise ValueError(f"invalid LOG_LEVEL {level!r}: use one of {', '.join(LOG_LEVELS)}")
    return level


def quiet_noisy_loggers() -> None:
    """Raise the level of libraries that log routine work at INFO."""
    # httpx logs every request at INFO; the client's own counters replace that noise.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    # pgserver logs the whole output of initdb and pg_ctl at INFO.
    logging.getLogger("pgserver").setLevel(logging.WARNING)


def configure_logging(
    level: str = "INFO",
    *,
    stream: IO[str] | None = None,
    log_format: str | None = None,
    settings: Settings | None = None,
) -> None:
    """Send log records of every logger to `stream` (default: standard error), once.

    The format is text on a terminal and JSON lines elsewhere, unless `log_format` or
    LOG_FORMAT is json or text. An invalid LOG_FORMAT is logged as a warning and
    auto is used. Secrets of `settings` (read from the environment and `.env` when
    None) and of the environment are redacted from every line.
    """
    target = sys.stderr if stream is None else stream
    try:
        resolve_log_format(target, log_format)
        invalid_format = None
    except ValueError as error:
        invalid_format = str(error)
        log_format = "auto"
    secrets = collect_secrets(settings or _settings_or_none())
    handler = make_handler(target, log_format, secrets)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    quiet_noisy_loggers()
    if invalid_format:
        logging.getLogger(__name__).warning("%s; using auto", invalid_format)
