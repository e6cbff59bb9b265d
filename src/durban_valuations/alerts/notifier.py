"""The event listener that turns run events into alert incidents and mails.

The listener only queues an event, and one background thread per process records the
incident and sends the mail. So the listener returns at once and the job does not wait
for the SMTP server, which matters because the site client emits `blocked_pause` on its
event loop.
"""

from __future__ import annotations

import atexit
import copy
import logging
import queue
import threading
from typing import Any

from sqlalchemy import Engine

from durban_valuations.alerts import incidents
from durban_valuations.alerts.mail import (
    MailConfig,
    MailError,
    mail_config,
    missing_mail_settings,
    send_mail,
)
from durban_valuations.alerts.messages import (
    Mail,
    blocked_summary,
    failed_summary,
    problem_mail,
    recovery_mail,
)
from durban_valuations.config.settings import Settings
from durban_valuations.jobs import events
from durban_valuations.store.runs import get_run

logger = logging.getLogger(__name__)

HANDLED_EVENTS = ("run_finished", "blocked_pause")
# Maximum events waiting for the alert thread. Further events are dropped with a warning.
MAX_QUEUED_EVENTS = 1000
# Each blocking SMTP step (connect, TLS, login, delivery) may take up to SMTP_TIMEOUT, so
# by default uninstalling waits this many timeouts for the queued events: about two mails
# from a server that replies slowly at every step.
DRAIN_TIMEOUTS = 8


class AlertNotifier:
    """Handles the events of this process: queues them and processes them in a thread."""

    def __init__(self, config: MailConfig, engine: Engine, api_url: str | None = None) -> None:
        self.config = config
        self.engine = engine
        self.api_url = api_url
        self._queue: queue.Queue[tuple[str, dict[str, Any]] | threading.Event | None]
        self._queue = queue.Queue(maxsize=MAX_QUEUED_EVENTS)
        self._dropped = 0
        self._closed = False
        self._thread = threading.Thread(target=self._work, name="durban-alerts", daemon=True)
        self._thread.start()

    def handle(self, kind: str, details: dict[str, Any]) -> None:
        """Queue an event for the alert thread (this is the listener given to `events`)."""
        if kind not in HANDLED_EVENTS or self._closed:
            return
        try:
            self._queue.put_nowait((kind, copy.deepcopy(details)))
        except queue.Full:
            self._dropped += 1
            logger.warning(
                "alert queue is full, so an event was dropped",
                extra={"event": kind, "run_id": details.get("run_id"), "dropped": self._dropped},
            )

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every event queued so far is processed, or return False at `timeout`."""
        if not self._thread.is_alive():
            return self._queue.empty()
        done = threading.Event()
        self._queue.put(done)
        return done.wait(timeout)

    def close(self, timeout: float | None = None) -> None:
        """Stop taking events, process the queued ones and stop the thread.

        Waits at most `timeout` seconds, by default DRAIN_TIMEOUTS times SMTP_TIMEOUT,
        and logs the events left unprocessed when the wait ends first.
        """
        if self._closed:
            return
        self._closed = True
        if timeout is None:
            timeout = DRAIN_TIMEOUTS * self.config.timeout
        self._queue.put(None)
        self._thread.join(timeout)
        if self._thread.is_alive():
            logger.error(
                "alert thread did not finish within %.0f s; queued alerts are lost",
                timeout,
                extra={"queued": self._queue.qsize()},
            )

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            if isinstance(item, threading.Event):
                item.set()
                continue
            kind, details = item
            try:
                self.process(kind, details)
            except Exception:
                # A database or programming error loses this alert but never the thread.
                logger.exception(
                    "alert handling failed", extra={"event": kind, "run_id": details.get("run_id")}
                )

    def process(self, kind: str, details: dict[str, Any]) -> None:
        """Record one event and send the mail it calls for, in the calling thread."""
        run_id = details.get("run_id")
        if not isinstance(run_id, int) or isinstance(run_id, bool):
            logger.warning("alert event without a run id ignored", extra={"event": kind})
            return
        if kind == "blocked_pause":
            self._open(incidents.BLOCKED, run_id, blocked_summary(details), details)
            return

        status = details.get("status")
        suspect = bool(details.get("suspect_reason"))
        if status in ("failed", "incomplete"):
            self._open(incidents.RUN_FAILED, run_id, failed_summary(details), details)
        if suspect:
            reason = " ".join(str(details["suspect_reason"]).split())
            self._open(incidents.RUN_SUSPECT, run_id, reason, details)
        if status == "complete" and not suspect:
            self._recover(run_id, details)
        # An interrupted run (deadline reached or process stopped) opens and closes nothing.

    def _open(self, kind: str, run_id: int, summary: str, details: dict[str, Any]) -> None:
        with self.engine.begin() as connection:
            incidents.lock_alerts(connection)
            incident = incidents.record_event(connection, kind, run_id, summary)
            context = {"incident_id": incident.id, "kind": kind, "run_id": run_id}
            if incident.mailed_at is not None:
                logger.info(
                    "alert incident still open, counted without a mail",
                    extra={**context, "occurrences": incident.occurrences},
                )
                return
            mail = problem_mail(incident, details, get_run(connection, run_id), self.api_url)
            error = self._send(mail, context)
            if error is None:
                incidents.mark_mailed(connection, incident.id)
            else:
                incidents.mark_mail_failed(connection, [incident.id], error)

    def _recover(self, run_id: int, details: dict[str, Any]) -> None:
        with self.engine.begin() as connection:
            incidents.lock_alerts(connection)
            resolved = incidents.resolve_open(
                connection, run_id, whole_roll=details.get("scope", "all") == "all"
            )
            for incident in resolved:
                logger.info(
                    "alert incident resolved",
                    extra={"incident_id": incident.id, "kind": incident.kind, "run_id": run_id},
                )
            recovered = incidents.pending_recoveries(connection)
            if not recovered:
                return
            ids = [incident.id for incident in recovered]
            mail = recovery_mail(recovered, details, get_run(connection, run_id), self.api_url)
            error = self._send(mail, {"incident_ids": ids, "kind": "recovery", "run_id": run_id})
            if error is None:
                incidents.mark_recovery_mailed(connection, ids)
            else:
                incidents.mark_mail_failed(connection, ids, error)

    def _send(self, mail: Mail, context: dict[str, Any]) -> str | None:
        """Send `mail` and return None, or log the failure and return its message."""
        try:
            send_mail(self.config, mail.subject, mail.body)
        except MailError as error:
            logger.error(
                "alert mail failed; the next event of this kind retries it",
                extra={**context, "error": str(error)},
            )
            return str(error)
        logger.info(
            "alert mail sent",
            extra={**context, "subject": mail.subject, "recipients": len(self.config.recipients)},
        )
        return None


class AlertsHandle:
    """Handle that `install_alerts` returns. Calling it uninstalls, and `flush` waits."""

    def __init__(self, notifier: AlertNotifier | None) -> None:
        self.notifier = notifier

    @property
    def installed(self) -> bool:
        """Whether alerts are on in this process through this handle."""
        return self.notifier is not None

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until the queued events are processed, or return False at `timeout`."""
        return self.notifier.flush(timeout) if self.notifier is not None else True

    def __call__(self, timeout: float | None = None) -> None:
        """Remove the listener, send what is queued (see `AlertNotifier.close`) and stop."""
        notifier = self.notifier
        if notifier is None:
            return
        self.notifier = None
        _uninstall(notifier, timeout)


_install_lock = threading.Lock()
_installed: AlertNotifier | None = None
_off_logged = False


def install_alerts(settings: Settings, engine: Engine) -> AlertsHandle:
    """Register the email alert listener of this process and return its handle.

    When SMTP_SERVER, SENDER_EMAIL or RECIPIENT_EMAIL is unset it installs nothing, logs
    once per process that alerts are off, and returns a handle that does nothing. A
    process has at most one listener, so a second call replaces the first. The listener
    thread does not survive a fork: a prefork worker (Celery) calls this in each child.
    Unless uninstalled first, the listener sends its queued mails when the process exits.
    """
    global _installed, _off_logged
    missing = missing_mail_settings(settings)
    if missing:
        with _install_lock:
            if not _off_logged:
                _off_logged = True
                logger.info("email alerts are off: %s unset", ", ".join(missing))
        return AlertsHandle(None)

    config = mail_config(settings)
    _warn_about(config)
    api_url = str(settings.alert_api_url).rstrip("/") if settings.alert_api_url else None
    with _install_lock:
        if _installed is not None:
            logger.info("email alerts installed again; the earlier listener is replaced")
            previous, _installed = _installed, None
            _close(previous, None)
        notifier = AlertNotifier(config, engine, api_url)
        events.add_listener(notifier.handle)
        atexit.register(notifier.close)
        _installed = notifier
    logger.info(
        "email alerts on",
        extra={"server": config.server, "recipients": len(config.recipients)},
    )
    return AlertsHandle(notifier)


def _warn_about(config: MailConfig) -> None:
    if config.security == "none" and config.password is not None:
        logger.warning(
            "SMTP_SECURITY=none sends EMAIL_PASSWORD unencrypted; use starttls or ssl "
            "unless the SMTP server is on this host",
            extra={"server": config.server},
        )
    if config.ca_file is not None and not config.ca_file.is_file():
        logger.error("SMTP_CA_FILE %s is not a file, so every alert mail will fail", config.ca_file)


def _uninstall(notifier: AlertNotifier, timeout: float | None) -> None:
    global _installed
    with _install_lock:
        if _installed is notifier:
            _installed = None
        _close(notifier, timeout)


def _close(notifier: AlertNotifier, timeout: float | None) -> None:
    events.remove_listener(notifier.handle)
    atexit.unregister(notifier.close)
    notifier.close(timeout)
