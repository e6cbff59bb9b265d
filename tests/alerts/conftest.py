"""A real SMTP server (aiosmtpd) on 127.0.0.1, test certificates, and realistic runs.

`smtp_server` starts a server with the options a test requests and stops it at the end.
Each server records the messages it accepted, parsed with the standard `email` package.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from sqlalchemy import Engine

from durban_valuations.alerts.notifier import AlertsHandle, install_alerts
from durban_valuations.config import Settings
from durban_valuations.store.runs import finish_run, start_run

SENDER = "alerts@durban-valuations.test"
RECIPIENTS = ("ops@durban-valuations.test", "data@durban-valuations.test")
LOGIN = "alerts-login"
PASSWORD = "Pa55-w0rd-never-logged"
SITE_URL = "http://127.0.0.1:8022"


@dataclass
class Recorder:
    """aiosmtpd handler that keeps every accepted message, or rejects with `reject`."""

    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[Envelope] = field(default_factory=list)
    reject: str | None = None
    delay_seconds: float = 0.0

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.delay_seconds:
            await asyncio.sleep(self.delay_seconds)
        if self.reject is not None:
            return self.reject
        content = envelope.content
        assert isinstance(content, bytes)
        # SMTP carries CRLF line endings; the tests compare bodies with "\n".
        parsed = email.message_from_bytes(
            content.replace(b"\r\n", b"\n"), policy=email.policy.default
        )
        assert isinstance(parsed, EmailMessage)
        self.envelopes.append(envelope)
        self.messages.append(parsed)
        return "250 OK"


class LocalController(Controller):
    """aiosmtpd controller on a port of 127.0.0.1 that the system picked."""

    def __init__(self, handler: Recorder, **kwargs: Any) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.bind(("127.0.0.1", 0))
        port = self._socket.getsockname()[1]
        super().__init__(handler, hostname="127.0.0.1", port=port, **kwargs)

    def _create_server(self) -> Any:
        return self.loop.create_server(
            self._factory_invoker, sock=self._socket, ssl=self.ssl_context
        )


@dataclass
class SmtpServer:
    """A running local SMTP server: its port, recorder and the logins it accepted."""

    port: int
    recorder: Recorder
    logins: list[str]

    @property
    def messages(self) -> list[EmailMessage]:
        """Messages accepted so far, oldest first."""
        return self.recorder.messages


def check_login(logins: list[str]) -> Callable[..., AuthResult]:
    """Return an aiosmtpd authenticator that accepts only LOGIN with PASSWORD."""

    def authenticate(
        server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        if not isinstance(data, LoginPassword):
            return AuthResult(success=False, handled=False)
        if data.login.decode() == LOGIN and data.password.decode() == PASSWORD:
            logins.append(data.login.decode())
            return AuthResult(success=True)
        return AuthResult(success=False, handled=False)

    return authenticate


@dataclass(frozen=True)
class Certificates:
    """A test CA, its PEM file, and a server context with a certificate for 127.0.0.1."""

    ca_file: Path
    server_context: ssl.SSLContext


@pytest.fixture(scope="session")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    ca = trustme.CA()
    ca_file = tmp_path_factory.mktemp("tls") / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    return Certificates(ca_file, context)


StartServer = Callable[..., SmtpServer]


@pytest.fixture
def smtp_server(certificates: Certificates) -> Iterator[StartServer]:
    """Start a local SMTP server: `smtp_server(tls="none"|"starttls"|"ssl", auth=bool)`."""
    controllers: list[LocalController] = []

    def start(
        tls: str = "none", *, auth: bool = False, recorder: Recorder | None = None
    ) -> SmtpServer:
        recorder = recorder or Recorder()
        logins: list[str] = []
        options: dict[str, Any] = {}
        if auth:
            options["authenticator"] = check_login(logins)
            # aiosmtpd offers AUTH only after STARTTLS unless auth_require_tls is False,
            # and it does not count implicit TLS as TLS.
            options["auth_require_tls"] = tls == "starttls"
        if tls == "starttls":
            options["tls_context"] = certificates.server_context
            options["require_starttls"] = True
        if tls == "ssl":
            options["ssl_context"] = certificates.server_context
        controller = LocalController(recorder, **options)
        controller.start()
        controllers.append(controller)
        return SmtpServer(controller.port, recorder, logins)

    yield start
    for controller in controllers:
        controller.stop()


def closed_port() -> int:
    """Return a port of 127.0.0.1 with nothing listening on it."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def alert_settings(port: int, **overrides: Any) -> Settings:
    """Settings that send alerts to the local server on `port`, in plain text by default."""
    values: dict[str, Any] = {
        "smtp_server": "127.0.0.1",
        "smtp_port": port,
        "smtp_security": "none",
        "smtp_timeout": 5,
        "sender_email": SENDER,
        "recipient_email": ", ".join(RECIPIENTS),
        "email_password": None,
        "smtp_username": None,
        "smtp_ca_file": None,
        "alert_api_url": None,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)


@pytest.fixture
def install(engine: Engine) -> Iterator[Callable[[Settings], AlertsHandle]]:
    """Install alerts on the test's database; every handle is uninstalled at the end."""
    handles: list[AlertsHandle] = []

    def install_for(settings: Settings) -> AlertsHandle:
        handle = install_alerts(settings, engine)
        handles.append(handle)
        return handle

    yield install_for
    for handle in handles:
        handle(timeout=30)


def record_run(
    engine: Engine,
    status: str,
    *,
    error: str | None = None,
    suspect_reason: str | None = None,
    failed_searches: int = 0,
    properties: int = 3912,
    blocks: int = 0,
    scope: str = "all",
) -> dict[str, Any]:
    """Store a finished full-roll run and return its `run_finished` details.

    The details have the shape of `durban_valuations.jobs.scrape.finished_details`.
    """
    searches = 189
    with engine.begin() as connection:
        run_id = start_run(connection, 2022, "full", SITE_URL, scope)
        finish_run(
            connection,
            run_id,
            status,
            searches=searches,
            failed_searches=failed_searches,
            rows_full=properties,
            error=error,
            suspect=suspect_reason is not None,
            suspect_reason=suspect_reason,
            requests=412,
            retries=7,
            blocks=blocks,
        )
    return {
        "run_id": run_id,
        "status": status,
        "error": error,
        "scope": scope,
        "resumed": False,
        "suspect_reason": suspect_reason,
        "rolls": [
            {
                "roll": "full",
                "properties": properties,
                "searches": searches,
                "failed_searches": failed_searches,
                "pending": 0,
            }
        ],
        "failed_searches": failed_searches,
        "inserted": 12,
        "updated": 3,
        "unchanged": properties - 15,
        "not_seen": 0,
        "requests": 412,
        "retries": 7,
        "blocks": blocks,
    }


def start_running_run(engine: Engine) -> int:
    """Store a run that is still running and return its id."""
    with engine.begin() as connection:
        return start_run(connection, 2022, "full", SITE_URL)


def blocked_details(run_id: int) -> dict[str, Any]:
    """Details of a `blocked_pause` event of run `run_id`, as the site client emits them."""
    return {
        "run_id": run_id,
        "blocks_in_a_row": 3,
        "pause_seconds": 300.0,
        "request_rate": 0.125,
        "url": f"{SITE_URL}/FramePages/Result.aspx?Roll=full&Suburb=1203&",
    }


def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> bool:
    """Poll `condition` until it is true or `timeout` seconds pass, and return its value."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def run_in_threads(*actions: Callable[[], None]) -> None:
    """Run the actions in threads that start together, and wait for all of them."""
    barrier = threading.Barrier(len(actions))
    errors: list[BaseException] = []

    def run(action: Callable[[], None]) -> None:
        barrier.wait()
        try:
            action()
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=run, args=(action,)) for action in actions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
