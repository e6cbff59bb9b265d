"""Log setup for the command line: one line per event with its named fields appended."""

from __future__ import annotations

import logging

# Attributes every LogRecord has; anything else was passed through `extra=` and is shown.
_STANDARD_ATTRIBUTES = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class FieldsFormatter(logging.Formatter):
    """Formats a record as `time level logger: message key=value ...`."""

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        fields = {
            key: value for key, value in vars(record).items() if key not in _STANDARD_ATTRIBUTES
        }
        if fields:
            line += " " + " ".join(f"{key}={value!r}" for key, value in fields.items())
        return line


def configure_logging(level: str = "INFO") -> None:
    """Send log records of every logger to standard error, once."""
    handler = logging.StreamHandler()
    handler.setFormatter(FieldsFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # httpx logs every request at INFO; the client's own counters replace that noise.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    # pgserver logs the whole output of initdb and pg_ctl at INFO.
    logging.getLogger("pgserver").setLevel(logging.WARNING)
