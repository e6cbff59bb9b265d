"""Send a plain-text mail over SMTP with STARTTLS, implicit TLS or no encryption.

The server's certificate is always verified, against SMTP_CA_FILE when it is set and the
system's CA store otherwise.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from pathlib import Path

from durban_valuations.config.settings import Settings, SmtpSecurity

logger = logging.getLogger(__name__)

# Port of SMTP submission over implicit TLS (RFC 8314). Any other port defaults to STARTTLS.
IMPLICIT_TLS_PORT = 465


class MailError(Exception):
    """Error of a mail that could not be sent, naming the server, the step and the reason."""


@dataclass(frozen=True, slots=True)
class MailConfig:
    """SMTP server, security mode, login and addresses of alert mails, from the settings."""

    host: str
    port: int
    security: SmtpSecurity
    sender: str
    recipients: tuple[str, ...]
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout: float = 30.0
    ca_file: Path | None = None

    @property
    def server(self) -> str:
        """`host:port (security)`, for messages."""
        return f"{self.host}:{self.port} ({self.security})"

    @property
    def login_name(self) -> str:
        """The name to log in with: SMTP_USERNAME, or else the sender's address."""
        return self.username or parseaddr(self.sender)[1]


def default_security(port: int) -> SmtpSecurity:
    """Return the security mode for a port when SMTP_SECURITY is unset."""
    return "ssl" if port == IMPLICIT_TLS_PORT else "starttls"


def missing_mail_settings(settings: Settings) -> list[str]:
    """Return the names of the settings that alert mails need but that are unset."""
    required = {
        "SMTP_SERVER": bool(settings.smtp_server),
        "SENDER_EMAIL": bool(settings.sender_email),
        "RECIPIENT_EMAIL": bool(settings.recipient_addresses),
    }
    return [name for name, present in required.items() if not present]


def mail_config(settings: Settings) -> MailConfig:
    """Build the mail configuration. Raises ValueError when a required setting is unset."""
    missing = missing_mail_settings(settings)
    if missing or settings.smtp_server is None or settings.sender_email is None:
        raise ValueError(
            f"missing alert mail settings: {', '.join(missing)}; set them in the environment "
            "or in .env"
        )
    password = settings.email_password.get_secret_value() if settings.email_password else None
    return MailConfig(
        host=settings.smtp_server,
        port=settings.smtp_port,
        security=settings.smtp_security or default_security(settings.smtp_port),
        sender=settings.sender_email,
        recipients=settings.recipient_addresses,
        username=settings.smtp_username,
        password=password or None,
        timeout=settings.smtp_timeout,
        ca_file=settings.smtp_ca_file,
    )


def build_message(config: MailConfig, subject: str, body: str) -> EmailMessage:
    """Build a plain-text message from the sender to every recipient."""
    message = EmailMessage()
    message["From"] = config.sender
    message["To"] = ", ".join(config.recipients)
    message["Subject"] = subject
    message["Date"] = formatdate(usegmt=True)
    # The sender's domain names the Message-ID; make_msgid would otherwise look up this
    # host's fully qualified name.
    domain = parseaddr(config.sender)[1].rpartition("@")[2]
    message["Message-ID"] = make_msgid(domain=domain)
    message.set_content(body)
    return message


def send_mail(config: MailConfig, subject: str, body: str) -> None:
    """Send one plain-text mail to every recipient.

    Raises MailError when the connection, TLS, the login or the delivery fails, or when
    the server rejects every recipient. A server that rejects only some recipients is
    logged as a warning and the mail counts as sent.
    """
    message = build_message(config, subject, body)
    step = "connect to"
    try:
        with _connect(config) as smtp:
            if config.security == "starttls":
                step = "start TLS with"
                smtp.starttls(context=_tls_context(config))
            if config.password is not None:
                step = f"log in as {config.login_name!r} on"
                smtp.login(config.login_name, config.password)
            step = "send the mail through"
            refused = smtp.send_message(message)
    except UnicodeEncodeError as error:
        # smtplib encodes AUTH in ASCII. The error's own text would quote a character of
        # the password, so it is left out.
        reason = "the login name or password contains characters outside ASCII"
        if not step.startswith("log in"):
            reason = "an address or header contains characters the server cannot take"
        raise MailError(f"could not {step} {config.server}: {reason}") from error
    except (smtplib.SMTPException, OSError) as error:
        reason = _redact(_describe(error), config.password)
        hint = _hint(error, step)
        raise MailError(f"could not {step} {config.server}: {reason}{hint}") from error

    if refused:
        logger.warning(
            "the SMTP server rejected some recipients of the alert mail",
            extra={"server": config.server, "refused": sorted(refused)},
        )


def _connect(config: MailConfig) -> smtplib.SMTP:
    if config.security == "ssl":
        return smtplib.SMTP_SSL(
            config.host, config.port, timeout=config.timeout, context=_tls_context(config)
        )
    return smtplib.SMTP(config.host, config.port, timeout=config.timeout)


def _tls_context(config: MailConfig) -> ssl.SSLContext:
    cafile = str(config.ca_file) if config.ca_file is not None else None
    # Verifies the certificate chain and the host name, as create_default_context does.
    return ssl.create_default_context(cafile=cafile)


def _describe(error: BaseException) -> str:
    if isinstance(error, smtplib.SMTPResponseException):
        reply = error.smtp_error
        reply_text = reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply)
        return f"{error.smtp_code} {reply_text}"
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return "every recipient was rejected: " + ", ".join(
            f"{address} ({code} {reply.decode(errors='replace')})"
            for address, (code, reply) in error.recipients.items()
        )
    return f"{type(error).__name__}: {error}"


def _hint(error: BaseException, step: str) -> str:
    if isinstance(error, ssl.SSLCertVerificationError):
        return "; set SMTP_CA_FILE to the CA that signed the server's certificate"
    if isinstance(error, smtplib.SMTPNotSupportedError) and step.startswith("start TLS"):
        return "; the server offers no STARTTLS, so check SMTP_PORT and SMTP_SECURITY"
    if isinstance(error, smtplib.SMTPNotSupportedError):
        return "; the server offers no login here, so leave EMAIL_PASSWORD empty or use TLS"
    if isinstance(error, smtplib.SMTPAuthenticationError):
        return "; check SMTP_USERNAME (or SENDER_EMAIL) and EMAIL_PASSWORD"
    return ""


def _redact(message: str, password: str | None) -> str:
    # No SMTP reply should quote the password, but a log line must never show it.
    if password:
        return message.replace(password, "***")
    return message
