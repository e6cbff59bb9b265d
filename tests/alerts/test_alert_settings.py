"""The alert settings: empty values, address lists, security modes and the secret password."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from durban_valuations.config import Settings

ALERT_VARIABLES = (
    "SMTP_SERVER",
    "SMTP_PORT",
    "SMTP_SECURITY",
    "SMTP_TIMEOUT",
    "SMTP_CA_FILE",
    "SENDER_EMAIL",
    "SMTP_USERNAME",
    "EMAIL_PASSWORD",
    "RECIPIENT_EMAIL",
    "ALERT_API_URL",
)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in ALERT_VARIABLES:
        monkeypatch.delenv(variable, raising=False)


def test_empty_values_mean_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in ALERT_VARIABLES:
        if variable not in ("SMTP_PORT", "SMTP_TIMEOUT"):
            monkeypatch.setenv(variable, "")

    settings = Settings(_env_file=None)

    assert settings.smtp_server is None
    assert settings.smtp_security is None
    assert settings.smtp_ca_file is None
    assert settings.sender_email is None
    assert settings.smtp_username is None
    assert settings.email_password is None
    assert settings.recipient_email is None
    assert settings.alert_api_url is None
    assert settings.recipient_addresses == ()


def test_alert_defaults() -> None:
    settings = Settings(_env_file=None)
    assert settings.smtp_port == 587
    assert settings.smtp_security is None
    assert settings.smtp_timeout == 30.0


def test_recipients_split_on_commas(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "RECIPIENT_EMAIL", " ops@durban-valuations.test, Data Team <data@durban-valuations.test>,"
    )
    settings = Settings(_env_file=None)
    assert settings.recipient_addresses == (
        "ops@durban-valuations.test",
        "Data Team <data@durban-valuations.test>",
    )


def test_password_hidden_in_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMAIL_PASSWORD", "hunter2-not-shown")
    settings = Settings(_env_file=None)
    assert settings.email_password is not None
    assert settings.email_password.get_secret_value() == "hunter2-not-shown"
    assert "hunter2-not-shown" not in repr(settings)
    assert "hunter2-not-shown" not in str(settings)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("SMTP_SECURITY", "tls"),
        ("SMTP_SECURITY", "STARTTLS"),
        ("SMTP_TIMEOUT", "0"),
        ("SMTP_PORT", "0"),
        ("SENDER_EMAIL", "alerts"),
        ("SENDER_EMAIL", "a@durban-valuations.test, b@durban-valuations.test"),
        ("RECIPIENT_EMAIL", "ops@durban-valuations.test, nobody"),
        ("RECIPIENT_EMAIL", "ops at durban-valuations.test"),
        ("ALERT_API_URL", "not a url"),
    ],
)
def test_invalid_alert_setting_rejected(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValidationError) as raised:
        Settings(_env_file=None)
    assert raised.value.errors()[0]["loc"] == (variable.lower(),)


@pytest.mark.parametrize("value", ["starttls", "ssl", "none"])
def test_security_modes_accepted(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("SMTP_SECURITY", value)
    assert Settings(_env_file=None).smtp_security == value
