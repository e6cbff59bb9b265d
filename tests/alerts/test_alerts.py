"""Alert incidents driven by run events: one mail per incident, no repeats, one recovery."""

from __future__ import annotations

import logging
from collections.abc import Callable
from email.message import EmailMessage

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, select

from durban_valuations.alerts import notifier as notifier_module
from durban_valuations.alerts.incidents import (
    BLOCKED,
    RUN_FAILED,
    RUN_SUSPECT,
    IncidentRecord,
    alert_incidents,
)
from durban_valuations.alerts.mail import mail_config
from durban_valuations.alerts.notifier import AlertNotifier, AlertsHandle
from durban_valuations.config import Settings
from durban_valuations.jobs import events
from durban_valuations.store.database import make_engine
from durban_valuations.store.tables import Base

from .conftest import (
    LOGIN,
    PASSWORD,
    RECIPIENTS,
    Certificates,
    Recorder,
    StartServer,
    alert_settings,
    blocked_details,
    closed_port,
    record_run,
    run_in_threads,
    start_running_run,
)

Install = Callable[[Settings], AlertsHandle]
CONNECT_ERROR = "ConnectError: All connection attempts failed"


def finish(details: dict[str, object]) -> None:
    """Emit the events that the scrape job emits at the end of a run."""
    if details["status"] == "failed":
        events.emit(
            "run_failed",
            {"run_id": details["run_id"], "status": "failed", "error": details["error"]},
        )
    if details.get("suspect_reason"):
        events.emit(
            "run_suspect", {"run_id": details["run_id"], "reason": details["suspect_reason"]}
        )
    events.emit("run_finished", details)


def flat(body: str) -> str:
    """Return `body` with every run of whitespace as one space, to check wrapped prose."""
    return " ".join(body.split())


def all_incidents(engine: Engine) -> list[IncidentRecord]:
    with engine.connect() as connection:
        rows = connection.execute(select(alert_incidents).order_by(alert_incidents.c.id))
        return [IncidentRecord(**row._mapping) for row in rows]


def subjects(messages: list[EmailMessage]) -> list[str]:
    # smtplib folds a long subject before its first word, and the email parser keeps the
    # space of that fold, which mail clients drop.
    return [str(message["Subject"]).strip() for message in messages]


def test_failed_run_sends_one_mail(
    engine: Engine, smtp_server: StartServer, install: Install
) -> None:
    server = smtp_server()
    handle = install(alert_settings(server.port))
    run = record_run(engine, "failed", error=CONNECT_ERROR, properties=0)

    finish(run)
    assert handle.flush(timeout=30)

    run_id = run["run_id"]
    assert subjects(server.messages) == [
        f"[durban-valuations] Scrape run {run_id} failed: {CONNECT_ERROR}"
    ]
    message = server.messages[0]
    assert message["To"] == ", ".join(RECIPIENTS)
    body = message.get_content()
    assert f"Run {run_id}\n  status:    failed\n" in body
    assert f"  error:     {CONNECT_ERROR}\n" in body
    assert "  roll year: 2022\n" in body
    assert "  started:   " in body
    assert "  full: 0 properties, 189 searches, 0 failed, 0 pending\n" in body
    assert "  requests: 412, retries: 7, blocks: 0\n" in body
    assert f"  Run report: GET /runs/{run_id} on the API" in body
    assert "`durban-valuations serve`" in body
    assert f"Log: the records with run_id {run_id} in the log" in flat(body)
    [incident] = all_incidents(engine)
    assert incident.kind == RUN_FAILED
    assert incident.opened_by_run_id == run_id
    assert incident.occurrences == 1
    assert incident.mailed_at is not None
    assert incident.resolved_at is None


def test_repeated_failure_sends_no_second_mail(
    engine: Engine, smtp_server: StartServer, install: Install
) -> None:
    server = smtp_server()
    handle = install(alert_settings(server.port))
    first = record_run(engine, "failed", error=CONNECT_ERROR, properties=0)
    second = record_run(engine, "failed", error="ReadTimeout: timed out", properties=0)
    third = record_run(engine, "incomplete", failed_searches=2)

    for run in (first, second, third):
        finish(run)
    assert handle.flush(timeout=30)

    assert len(server.messages) == 1
    [incident] = all_incidents(engine)
    assert incident.opened_by_run_id == first["run_id"]
    assert incident.last_run_id == third["run_id"]
    assert incident.occurrences == 3
    assert incident.summary == "2 searches failed"


def test_same_run_counted_once(engine: Engine, smtp_server: StartServer, install: Install) -> None:
    server = smtp_server()
    handle = install(alert_settings(server.port))
    run = record_run(engine, "failed", error=CONNECT_ERROR)

    finish(run)
    finish(run)
    assert handle.flush(timeout=30)

    assert len(server.messages) == 1
    assert [incident.occurrences for incident in all_incidents(engine)] == [1]


def test_incomplete_run_sends_mail(
    engine: Engine, smtp_server: StartServer, install: Install
) -> None:
    server = smtp_server()
    handle = install(alert_settings(server.port))
    run = record_run(engine, "incomplete", failed_searches=3)

    finish(run)
    assert handle.flush(timeout=30)

    run_id = run["run_id"]
    assert subjects(server.messages) == [
        f"[durban-valuations] Scrape run {run_id} incomplete: 3 searches failed"
    ]
    body = server.messages[0].get_content()
    assert f"Scrape run {run_id} is incomplete: 3 searches failed" in body
    assert "  full: 3,912 properties, 189 searches, 3 failed, 0 pending\n" in body
    assert "  failed searches: 3\n" in body
    assert "every failed search with its error" in flat(body)


def test_suspect_run_sends_mail(engine: Engine, smtp_server: StartServer, install: Install) -> None:
    server = smtp_server()
    handle = install(alert_settings(server.port))
    reason = "full roll: 2000 properties against 3912 in run 1 (48.9% fewer; SUSPECT_DROP=5%)"
    run = record_run(engine, "complete", suspect_reason=reason, properties=2000)

    finish(run)
    assert handle.flush(timeout=30)

    run_id = run["run_id"]
    assert subjects(server.messages) == [
        f"[durban-valuations] Scrape run {run_id} suspect: {reason}"
    ]
    body = server.messages[0].get_content()
    assert "  status:    complete, suspect\n" in body
    assert f"  suspect:   {reason}\n" in body
    assert "marks no property as not seen" in flat(body)
    [incident] = all_incidents(engine)
    assert incident.kind == RUN_SUSPECT
    assert incident.resolved_at is None


def test_blocked_pauses_send_one_mail(
    engine: Engine, smtp_server: StartServer, install: Install
) -> None:
    server = smtp_server()
    handle = install(alert_settings(server.port))
    run_id = start_running_run(engine)

    events.emit("blocked_pause", blocked_details(run_id))
    events.emit("blocked_pause", blocked_details(run_id))
    assert handle.flush(timeout=30)

    assert subjects(server.messages) == [
        f"[durban-valuations] Scrape run {run_id} blocked: 3 requests in a row, pausing 300 s"
    ]
    body = server.messages[0].get_content()
    assert "every request pauses for 300 s and then resumes at 0.125 requests/s" in flat(body)
    assert "Last blocked URL: http://127.0.0.1:8022/FramePages/Result.aspx" in body
    assert "  status:    running\n" in body
    assert "lower REQUEST_RATE" in flat(body)
    [incident] = all_incidents(engine)
    assert incident.kind == BLOCKED
    assert incident.occurrences == 2


def test_recovery_sends_one_mail(
    engine: Engine, smtp_server: StartServer, install: Install
) -> None:
    server = smtp_server()
    handle = install(alert_settings(server.port))
    failed = record_run(engine, "failed", error=CONNECT_ERROR, properties=0)
    blocked_run = start_running_run(engine)
    finish(failed)
    events.emit("blocked_pause", blocked_details(blocked_run))
    assert handle.flush(timeout=30)
    assert len(server.messages) == 2

    recovered = record_run(engine, "complete")
    finish(recovered)
    later = record_run(engine, "complete")
    finish(later)
    assert handle.flush(timeout=30)

    run_id = recovered["run_id"]
    assert subjects(server.messages)[2:] == [
        f"[durban-valuations] Scrape run {run_id} recovered: failed or incomplete runs, "
        "firewall blocks"
    ]
    body = server.messages[2].get_content()
    assert f"Scrape run {run_id} completed and is not suspect" in flat(body)
    assert f"  - Failed or incomplete runs since run {failed['run_id']} (" in body
    assert f"    Last: {CONNECT_ERROR}\n" in body
    assert f"  - Firewall blocks since run {blocked_run} (" in body
    assert "  status:    complete\n" in body
    assert "  full: 3,912 properties, 189 searches, 0 failed, 0 pending\n" in body
    for incident in all_incidents(engine):
        assert incident.resolved_by_run_id == run_id
        assert incident.recovery_mailed_at is not None


def test_new_failure_after_recovery_mails_again(
    engine: Engine, smtp_server: StartServer, install: Install
) -> None:
    server = smtp_server()
    handle = install(alert_settings(server.port))

    for run in (
        record_run(engine, "failed", error=CONNECT_ERROR),
        record_run(engine, "complete"),
        record_run(engine, "failed", error=CONNECT_ERROR),
    ):
        finish(run)
    assert handle.flush(timeout=30)

    assert [subject.split(":")[0].rsplit(" ", 1)[1] for subject in subjects(server.messages)] == [
        "failed",
        "recovered",
        "failed",
    ]
    assert [incident.resolved_at is None for incident in all_incidents(engine)] == [False, True]


def test_suspect_run_resolves_nothing(
    engine: Engine, smtp_server: StartServer, install: Install
) -> None:
    server = smtp_server()
    handle = install(alert_settings(server.port))
    finish(record_run(engine, "failed", error=CONNECT_ERROR))

    finish(record_run(engine, "complete", suspect_reason="12 pages could not be parsed"))
    assert handle.flush(timeout=30)

    assert len(server.messages) == 2
    assert all(incident.resolved_at is None for incident in all_incidents(engine))


def test_limited_run_keeps_suspect_open(
    engine: Engine, smtp_server: StartServer, install: Install
) -> None:
    server = smtp_server()
    handle = install(alert_settings(server.port))
    finish(record_run(engine, "complete", suspect_reason="full roll: 10% fewer"))
    finish(record_run(engine, "failed", error=CONNECT_ERROR))

    finish(record_run(engine, "complete", scope="suburbs:sea view"))
    assert handle.flush(timeout=30)

    assert len(server.messages) == 3
    assert "recovered: failed or incomplete runs" in subjects(server.messages)[2]
    still_open = [item.kind for item in all_incidents(engine) if item.resolved_at is None]
    assert still_open == [RUN_SUSPECT]


def test_blocked_in_complete_run_stays_open(
    engine: Engine, smtp_server: StartServer, install: Install
) -> None:
    server = smtp_server()
    handle = install(alert_settings(server.port))
    blocked = record_run(engine, "complete", blocks=9)
    events.emit("blocked_pause", blocked_details(blocked["run_id"]))

    finish(blocked)
    assert handle.flush(timeout=30)
    assert len(server.messages) == 1
    assert all_incidents(engine)[0].resolved_at is None

    finish(record_run(engine, "complete"))
    assert handle.flush(timeout=30)
    assert "recovered: firewall blocks" in subjects(server.messages)[1]


def test_interrupted_run_changes_nothing(
    engine: Engine, smtp_server: StartServer, install: Install
) -> None:
    server = smtp_server()
    handle = install(alert_settings(server.port))
    finish(record_run(engine, "failed", error=CONNECT_ERROR))

    finish(record_run(engine, "interrupted", error="deadline reached"))
    assert handle.flush(timeout=30)

    assert len(server.messages) == 1
    [incident] = all_incidents(engine)
    assert incident.occurrences == 1
    assert incident.resolved_at is None


def test_complete_run_without_incidents_sends_nothing(
    engine: Engine, smtp_server: StartServer, install: Install
) -> None:
    server = smtp_server()
    handle = install(alert_settings(server.port))

    finish(record_run(engine, "complete"))
    assert handle.flush(timeout=30)

    assert server.messages == []
    assert all_incidents(engine) == []


def test_failed_mail_retried_on_next_event(
    engine: Engine,
    smtp_server: StartServer,
    install: Install,
    caplog: pytest.LogCaptureFixture,
) -> None:
    recorder = Recorder(reject="451 4.3.0 Try again later")
    server = smtp_server(recorder=recorder)
    handle = install(alert_settings(server.port))
    first = record_run(engine, "failed", error=CONNECT_ERROR)

    finish(first)
    assert handle.flush(timeout=30)
    [incident] = all_incidents(engine)
    assert incident.mailed_at is None
    assert incident.mail_error is not None
    assert "451 4.3.0 Try again later" in incident.mail_error
    failures = [record for record in caplog.records if record.levelno == logging.ERROR]
    assert [record.getMessage() for record in failures] == [
        "alert mail failed; the next event of this kind retries it"
    ]

    recorder.reject = None
    second = record_run(engine, "failed", error="ReadTimeout: timed out")
    finish(second)
    assert handle.flush(timeout=30)

    assert subjects(server.messages) == [
        f"[durban-valuations] Scrape run {second['run_id']} failed: ReadTimeout: timed out"
    ]
    body = server.messages[0].get_content()
    assert f"Opened by run {first['run_id']} at " in flat(body)
    assert f"Seen in 2 runs so far, the latest in run {second['run_id']}." in flat(body)
    assert "An earlier alert mail could not be sent: " in flat(body)
    [incident] = all_incidents(engine)
    assert incident.mailed_at is not None
    assert incident.mail_error is None


def test_failed_recovery_mail_retried(
    engine: Engine, smtp_server: StartServer, install: Install
) -> None:
    recorder = Recorder()
    server = smtp_server(recorder=recorder)
    handle = install(alert_settings(server.port))
    finish(record_run(engine, "failed", error=CONNECT_ERROR))
    assert handle.flush(timeout=30)

    recorder.reject = "451 4.3.0 Try again later"
    closing = record_run(engine, "complete")
    finish(closing)
    assert handle.flush(timeout=30)
    [incident] = all_incidents(engine)
    assert incident.resolved_by_run_id == closing["run_id"]
    assert incident.recovery_mailed_at is None

    recorder.reject = None
    finish(record_run(engine, "complete"))
    assert handle.flush(timeout=30)

    assert len(server.messages) == 2
    body = server.messages[1].get_content()
    assert f"Closed by run {closing['run_id']}; this mail was delayed." in body
    assert all_incidents(engine)[0].recovery_mailed_at is not None


def test_server_down_logged_not_raised(
    engine: Engine, install: Install, caplog: pytest.LogCaptureFixture
) -> None:
    port = closed_port()
    handle = install(alert_settings(port))
    run = record_run(engine, "failed", error=CONNECT_ERROR)

    finish(run)
    assert handle.flush(timeout=30)

    errors = [record for record in caplog.records if record.levelno >= logging.ERROR]
    assert len(errors) == 1
    assert f"could not connect to 127.0.0.1:{port}" in errors[0].__dict__["error"]
    assert errors[0].__dict__["run_id"] == run["run_id"]
    [incident] = all_incidents(engine)
    assert incident.mailed_at is None


def test_password_not_logged_on_login_failure(
    engine: Engine,
    smtp_server: StartServer,
    certificates: Certificates,
    install: Install,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    server = smtp_server("starttls", auth=True)
    wrong = PASSWORD + "-typo"
    settings = alert_settings(
        server.port,
        smtp_security="starttls",
        smtp_ca_file=certificates.ca_file,
        smtp_username=LOGIN,
        email_password=wrong,
    )
    handle = install(settings)

    finish(record_run(engine, "failed", error=CONNECT_ERROR))
    assert handle.flush(timeout=30)

    errors = [record for record in caplog.records if record.levelno >= logging.ERROR]
    assert len(errors) == 1
    assert "535" in errors[0].__dict__["error"]
    for record in caplog.records:
        assert wrong not in repr(vars(record))
        assert wrong not in record.getMessage()
    assert server.messages == []


def test_alerts_off_logged_once(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(notifier_module, "_off_logged", False)
    caplog.set_level(logging.INFO, logger="durban_valuations.alerts")
    listeners = list(events._listeners)
    settings = Settings(_env_file=None, smtp_server=None, sender_email=None, recipient_email=None)

    first = notifier_module.install_alerts(settings, engine)
    second = notifier_module.install_alerts(settings, engine)

    assert not first.installed
    assert not second.installed
    assert events._listeners == listeners
    messages = [record.getMessage() for record in caplog.records]
    assert messages == ["email alerts are off: SMTP_SERVER, SENDER_EMAIL, RECIPIENT_EMAIL unset"]
    first()
    assert first.flush(timeout=1)


def test_uninstall_removes_listener(
    engine: Engine, smtp_server: StartServer, install: Install
) -> None:
    server = smtp_server()
    handle = install(alert_settings(server.port))
    handle(timeout=30)

    finish(record_run(engine, "failed", error=CONNECT_ERROR))

    assert not handle.installed
    assert server.messages == []
    assert all_incidents(engine) == []


def test_uninstall_sends_queued_mail(
    engine: Engine, smtp_server: StartServer, install: Install
) -> None:
    server = smtp_server()
    handle = install(alert_settings(server.port))

    finish(record_run(engine, "failed", error=CONNECT_ERROR))
    handle(timeout=30)

    assert len(server.messages) == 1


def test_second_install_replaces_first(
    engine: Engine, smtp_server: StartServer, install: Install
) -> None:
    server = smtp_server()
    install(alert_settings(server.port))
    handle = install(alert_settings(server.port))

    finish(record_run(engine, "failed", error=CONNECT_ERROR))
    assert handle.flush(timeout=30)

    assert len(server.messages) == 1
    assert [incident.occurrences for incident in all_incidents(engine)] == [1]


def test_api_url_links_run_report(
    engine: Engine, smtp_server: StartServer, install: Install
) -> None:
    server = smtp_server()
    handle = install(alert_settings(server.port, alert_api_url="http://127.0.0.1:8000/"))
    run = record_run(engine, "failed", error=CONNECT_ERROR)

    finish(run)
    assert handle.flush(timeout=30)

    body = server.messages[0].get_content()
    assert f"  Run report: http://127.0.0.1:8000/runs/{run['run_id']}\n" in body


def test_unknown_run_logged_not_raised(
    engine: Engine,
    smtp_server: StartServer,
    install: Install,
    caplog: pytest.LogCaptureFixture,
) -> None:
    server = smtp_server()
    handle = install(alert_settings(server.port))

    events.emit("blocked_pause", blocked_details(run_id=987654))
    assert handle.flush(timeout=30)

    assert [record.getMessage() for record in caplog.records if record.levelno >= 40] == [
        "alert handling failed"
    ]
    assert server.messages == []


def test_two_processes_mail_once(
    engine: Engine, database_url: str, smtp_server: StartServer
) -> None:
    # Each notifier has its own engine, as two processes would. The SMTP server replies
    # slowly, so both handle their event while the other one is sending.
    server = smtp_server(recorder=Recorder(delay_seconds=0.5))
    config = mail_config(alert_settings(server.port))
    engines = [make_engine(database_url), make_engine(database_url)]
    notifiers = [AlertNotifier(config, item) for item in engines]
    first = record_run(engine, "failed", error=CONNECT_ERROR)
    second = record_run(engine, "incomplete", failed_searches=1)
    try:
        run_in_threads(
            lambda: notifiers[0].process("run_finished", first),
            lambda: notifiers[1].process("run_finished", second),
        )
    finally:
        for notifier in notifiers:
            notifier.close(timeout=30)
        for item in engines:
            item.dispose()

    assert len(server.messages) == 1
    [incident] = all_incidents(engine)
    assert incident.occurrences == 2


def test_migration_matches_table(engine: Engine) -> None:
    # Base.metadata contains alert_incidents once durban_valuations.alerts is imported.
    assert "alert_incidents" in Base.metadata.tables
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    assert differences == []
