"""A real local SMTP server (aiosmtpd) that keeps every message it accepts.

Test option: ``SmtpSink.tempfail`` (None: off) is asked about every message before it is
accepted; when it answers True the message is refused with a temporary failure,
``451 4.3.0`` (RFC 5321: "local error in processing"; the client should try again later), and
not kept. The chaos driver sets it from its seeded fault plan; nothing else does.
"""

from __future__ import annotations

import email
import email.policy
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage

from aiosmtpd.controller import Controller


@dataclass
class Received:
    """One accepted message: envelope and the parsed message."""

    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    raw: bytes
    seq: int


TEMPORARY_FAILURE = "451 4.3.0 Temporary local problem, please try again later"

#: Decides whether to refuse one message for now: (mail_from, rcpt_tos, raw message) -> bool.
TempFail = Callable[[str, list[str], bytes], bool]


@dataclass
class _Collector:
    messages: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    tempfail: TempFail | None = None
    refused: int = 0

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 - aiosmtpd API
        raw = envelope.original_content or envelope.content
        decide = self.tempfail
        if decide is not None and decide(envelope.mail_from, list(envelope.rcpt_tos), raw):
            with self.lock:
                self.refused += 1
            return TEMPORARY_FAILURE
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        with self.lock:
            self.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos), msg, raw,
                                          len(self.messages)))
        return "250 Message accepted for delivery"


class SmtpSink:
    """Start/stop a loopback SMTP server; ``messages`` lists what it accepted, in order."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._collector = _Collector()
        self._controller = Controller(self._collector, hostname=host, port=port or _free_port(host))
        self.host = host

    @property
    def port(self) -> int:
        return self._controller.port

    @property
    def tempfail(self) -> TempFail | None:
        """The temporary-failure option (see the module docstring)."""
        return self._collector.tempfail

    @tempfail.setter
    def tempfail(self, decide: TempFail | None) -> None:
        self._collector.tempfail = decide

    @property
    def refused(self) -> int:
        """Messages refused with a temporary failure so far."""
        with self._collector.lock:
            return self._collector.refused

    @property
    def messages(self) -> list[Received]:
        with self._collector.lock:
            return list(self._collector.messages)

    def start(self) -> SmtpSink:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def __enter__(self) -> SmtpSink:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def _free_port(host: str) -> int:
    import socket

    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]
