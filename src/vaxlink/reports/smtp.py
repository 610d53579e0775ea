"""The mail port: send one message with attachments. `SmtpMailer` is the stdlib adapter."""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Protocol

from vaxlink.reports.config import SmtpSettings
from vaxlink.reports.errors import MailError


@dataclass(frozen=True)
class Attachment:
    """A file to attach."""

    filename: str
    content: bytes
    maintype: str
    subtype: str


class Mailer(Protocol):
    """Anything that can deliver a message."""

    def send(
        self, to: list[str], subject: str, body: str, attachments: list[Attachment]
    ) -> None: ...


def build_message(
    sender: str, to: list[str], subject: str, body: str, attachments: list[Attachment]
) -> EmailMessage:
    """A MIME message with a plain-text body and the attachments."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = ", ".join(to)
    msg["Subject"] = subject
    msg.set_content(body)
    for a in attachments:
        msg.add_attachment(a.content, maintype=a.maintype, subtype=a.subtype, filename=a.filename)
    return msg


class SmtpMailer:
    """Sends through an SMTP server (plain, STARTTLS or implicit TLS, optional login)."""

    def __init__(self, settings: SmtpSettings) -> None:
        if not settings.host:
            raise MailError("no SMTP server configured: set VAXLINK_SMTP_HOST")
        self.settings = settings

    def send(self, to: list[str], subject: str, body: str, attachments: list[Attachment]) -> None:
        """Deliver one message; any refusal or network error becomes a `MailError`."""
        s = self.settings
        msg = build_message(s.sender, to, subject, body, attachments)
        host = s.host or ""
        try:
            smtp: smtplib.SMTP
            if s.ssl:
                smtp = smtplib.SMTP_SSL(host, s.port, timeout=s.timeout,
                                        context=ssl.create_default_context())  # fmt: skip
            else:
                smtp = smtplib.SMTP(host, s.port, timeout=s.timeout)
            with smtp:
                if s.starttls and not s.ssl:
                    smtp.starttls(context=ssl.create_default_context())
                if s.username:
                    password = s.password.get_secret_value() if s.password else ""
                    smtp.login(s.username, password)
                smtp.send_message(msg)
        except (OSError, smtplib.SMTPException) as exc:
            raise MailError(f"the report could not be e-mailed via {host}:{s.port}: {exc}") from exc


def mailer_from(settings: SmtpSettings) -> Mailer | None:
    """The configured mailer, or None when no SMTP server is set."""
    return SmtpMailer(settings) if settings.host else None
