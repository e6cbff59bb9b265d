"""Sending mail to a real local SMTP server: plain, STARTTLS, implicit TLS and login."""

from __future__ import annotations

import logging

import pytest

from durban_valuations.alerts.mail import (
    MailError,
    default_security,
    mail_config,
    missing_mail_settings,
    send_mail,
)
from durban_valuations.config import Settings

from .conftest import (
    LOGIN,
    PASSWORD,
    RECIPIENTS,
    SENDER,
    Certificates,
    Recorder,
    StartServer,
    alert_settings,
    closed_port,
)


def test_plain_mail_reaches_every_recipient(smtp_server: StartServer) -> None:
    server = smtp_server("none")
    config = mail_config(alert_settings(server.port))

    send_mail(config, "[durban-valuations] test", "first line\nsecond line\n")

    assert len(server.messages) == 1
    message = server.messages[0]
    assert message["Subject"] == "[durban-valuations] test"
    assert message["From"] == SENDER
    assert message.get_content_type() == "text/plain"
    assert message.get_content() == "first line\nsecond line\n"
    assert message["Message-ID"].endswith("@durban-valuations.test>")
    assert server.recorder.envelopes[0].rcpt_tos == list(RECIPIENTS)
    assert server.recorder.envelopes[0].mail_from == SENDER


@pytest.mark.parametrize(
    ("security", "subject"), [("starttls", "over STARTTLS"), ("ssl", "over implicit TLS")]
)
def test_tls_with_login(
    smtp_server: StartServer, certificates: Certificates, security: str, subject: str
) -> None:
    server = smtp_server(security, auth=True)
    settings = alert_settings(
        server.port,
        smtp_security=security,
        smtp_ca_file=certificates.ca_file,
        smtp_username=LOGIN,
        email_password=PASSWORD,
    )

    send_mail(mail_config(settings), subject, "body\n")

    assert server.logins == [LOGIN]
    assert [message["Subject"] for message in server.messages] == [subject]


def test_login_defaults_to_sender(smtp_server: StartServer, certificates: Certificates) -> None:
    server = smtp_server("starttls", auth=True)
    settings = alert_settings(
        server.port,
        smtp_security="starttls",
        smtp_ca_file=certificates.ca_file,
        email_password=PASSWORD,
    )

    # The server accepts only LOGIN, so logging in as SENDER_EMAIL fails.
    with pytest.raises(MailError, match=f"log in as '{SENDER}'") as raised:
        send_mail(mail_config(settings), "subject", "body\n")

    assert "535" in str(raised.value)
    assert "EMAIL_PASSWORD" in str(raised.value)
    assert server.messages == []


def test_wrong_password_rejected(smtp_server: StartServer, certificates: Certificates) -> None:
    server = smtp_server("starttls", auth=True)
    wrong = "wrong-" + PASSWORD
    settings = alert_settings(
        server.port,
        smtp_security="starttls",
        smtp_ca_file=certificates.ca_file,
        smtp_username=LOGIN,
        email_password=wrong,
    )

    with pytest.raises(MailError) as raised:
        send_mail(mail_config(settings), "subject", "body\n")

    assert wrong not in str(raised.value)
    assert server.logins == []
    assert server.messages == []


def test_certificate_verified_by_default(
    smtp_server: StartServer, certificates: Certificates
) -> None:
    server = smtp_server("starttls")
    # Without SMTP_CA_FILE the system's CA store cannot verify the test certificate.
    settings = alert_settings(server.port, smtp_security="starttls")

    with pytest.raises(MailError, match="start TLS with") as raised:
        send_mail(mail_config(settings), "subject", "body\n")

    assert "SMTP_CA_FILE" in str(raised.value)
    assert server.messages == []


def test_implicit_tls_certificate_verified(smtp_server: StartServer) -> None:
    server = smtp_server("ssl")
    settings = alert_settings(server.port, smtp_security="ssl")

    with pytest.raises(MailError, match="CERTIFICATE_VERIFY_FAILED"):
        send_mail(mail_config(settings), "subject", "body\n")

    assert server.messages == []


def test_starttls_missing_on_server(smtp_server: StartServer) -> None:
    server = smtp_server("none")
    settings = alert_settings(server.port, smtp_security="starttls")

    with pytest.raises(MailError, match="offers no STARTTLS"):
        send_mail(mail_config(settings), "subject", "body\n")

    assert server.messages == []


def test_server_down_raises_mail_error() -> None:
    port = closed_port()
    settings = alert_settings(port)

    with pytest.raises(MailError, match=f"could not connect to 127.0.0.1:{port}"):
        send_mail(mail_config(settings), "subject", "body\n")


def test_server_rejecting_data_raises(smtp_server: StartServer) -> None:
    server = smtp_server("none", recorder=Recorder(reject="554 5.7.1 Message rejected"))

    with pytest.raises(MailError, match=r"554 5\.7\.1 Message rejected"):
        send_mail(mail_config(alert_settings(server.port)), "subject", "body\n")


def test_password_never_logged(
    smtp_server: StartServer,
    certificates: Certificates,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    server = smtp_server("starttls", auth=True)
    settings = alert_settings(
        server.port,
        smtp_security="starttls",
        smtp_ca_file=certificates.ca_file,
        smtp_username=LOGIN,
        email_password=PASSWORD,
    )
    config = mail_config(settings)

    send_mail(config, "subject", "body\n")

    assert PASSWORD not in repr(config)
    assert PASSWORD not in repr(settings)
    for record in caplog.records:
        assert PASSWORD not in repr(vars(record))
    output = capfd.readouterr()
    assert PASSWORD not in output.out
    assert PASSWORD not in output.err
    assert len(server.messages) == 1


@pytest.mark.parametrize(
    ("port", "expected"), [(465, "ssl"), (587, "starttls"), (25, "starttls"), (2525, "starttls")]
)
def test_default_security_by_port(port: int, expected: str) -> None:
    assert default_security(port) == expected
    settings = alert_settings(port, smtp_security=None)
    assert mail_config(settings).security == expected


def test_missing_settings_listed() -> None:
    settings = Settings(_env_file=None, smtp_server="", sender_email=None, recipient_email=" , ")
    assert missing_mail_settings(settings) == ["SMTP_SERVER", "SENDER_EMAIL", "RECIPIENT_EMAIL"]
    with pytest.raises(ValueError, match="SMTP_SERVER, SENDER_EMAIL, RECIPIENT_EMAIL"):
        mail_config(settings)


def test_display_name_sender(smtp_server: StartServer) -> None:
    server = smtp_server("none")
    settings = alert_settings(server.port, sender_email=f"Durban Valuations <{SENDER}>")

    send_mail(mail_config(settings), "subject", "body\n")

    assert server.recorder.envelopes[0].mail_from == SENDER
    assert server.messages[0]["From"].addresses[0].addr_spec == SENDER
