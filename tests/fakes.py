"""Fakes that speak a third party's wire protocol, injected through the app factory.

``FakeSmtpServer``: a real SMTP server (aiosmtpd) on a free local port that keeps what it
receives; the API's SMTP client talks to it exactly as it would to a real relay.
"""

from __future__ import annotations

import re
import time
from email import message_from_bytes
from email.message import Message
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from anvil.node import free_port


class _Keep:
    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content: Any = envelope.original_content or envelope.content
        self.messages.append(message_from_bytes(content if isinstance(content, bytes) else content.encode()))
        return "250 OK"


class FakeSmtpServer:
    def __init__(self) -> None:
        self.port = free_port()
        self._handler = _Keep()
        self._controller = Controller(self._handler, hostname="127.0.0.1", port=self.port)

    @property
    def messages(self) -> list[Message]:
        return self._handler.messages

    def start(self) -> FakeSmtpServer:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def code_for(self, email: str, timeout: float = 5.0) -> str:
        """The 6-digit code in the latest message to ``email``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for msg in reversed(self.messages):
                if msg["To"] == email:
                    match = re.search(r"\b(\d{6})\b", str(msg["Subject"]))
                    assert match, msg["Subject"]
                    return match.group(1)
            time.sleep(0.02)
        raise AssertionError(f"no mail to {email}")
