"""Outgoing mail: an SMTP client for a configured server, or a local outbox of .eml files.

The outbox is for development (``API_SMTP_HOST`` unset): each message is one file in
``API_OUTBOX_DIR``, readable with any mail client or ``cat``.
"""

from __future__ import annotations

import asyncio
import smtplib
import time
import uuid
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol

from api.settings import ApiSettings
from core.errors import ServiceUnavailable


class Mailer(Protocol):
    async def send(self, to: str, subject: str, text: str) -> None: ...


def _message(sender: str, to: str, subject: str, text: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Message-ID"] = f"<{uuid.uuid4().hex}@creator-api>"
    msg.set_content(text)
    return msg


class SmtpMailer:
    def __init__(
        self, host: str, port: int, sender: str, *, username: str = "", password: str = "", starttls: bool = False
    ) -> None:
        self.host, self.port, self.sender = host, port, sender
        self.username, self.password, self.starttls = username, password, starttls

    def _send(self, msg: EmailMessage) -> None:
        with smtplib.SMTP(self.host, self.port, timeout=10) as smtp:
            if self.starttls:
                smtp.starttls()
            if self.username:
                smtp.login(self.username, self.password)
            smtp.send_message(msg)

    async def send(self, to: str, subject: str, text: str) -> None:
        try:
            await asyncio.to_thread(self._send, _message(self.sender, to, subject, text))
        except (OSError, smtplib.SMTPException) as exc:
            raise ServiceUnavailable(
                "the mail server refused or is unreachable", details={"error": type(exc).__name__}
            ) from exc


class OutboxMailer:
    def __init__(self, directory: Path, sender: str) -> None:
        self.directory, self.sender = directory, sender

    def _write(self, msg: EmailMessage) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        name = f"{time.time_ns()}-{uuid.uuid4().hex[:8]}.eml"
        (self.directory / name).write_bytes(bytes(msg))

    async def send(self, to: str, subject: str, text: str) -> None:
        await asyncio.to_thread(self._write, _message(self.sender, to, subject, text))


def mailer_from(settings: ApiSettings) -> Mailer:
    if settings.smtp_host:
        return SmtpMailer(
            settings.smtp_host,
            settings.smtp_port,
            settings.mail_from,
            username=settings.smtp_username,
            password=settings.smtp_password.get_secret_value(),
            starttls=settings.smtp_starttls,
        )
    return OutboxMailer(settings.outbox_dir, settings.mail_from)
