"""The SMTP mailer: submits rendered messages with smtplib.

One connection per batch (``with mailer.session() as s: s.send(msg)``), STARTTLS or implicit
TLS with a verifying context (``ca_bundle`` or the system store), login when a username is
set. SMTP failures become :mod:`connectors.errors`: refused credentials ``AuthError``; a 4xx
reply or a dropped connection ``TransientError``; a 5xx reply ``UpstreamError`` (its
``status`` is the SMTP code); TLS verification or a missing server capability
``ConfigError``. The mailer does not retry a message: one that failed is left pending in
the alert ledger and sent again by the next run, while the rest of the batch goes on. A
connection the server dropped between two messages is replaced before the next one. Calls
are counted in ``connectors._http.CALLS`` under "smtp"; logs carry Message-IDs and counts
only.
"""

from __future__ import annotations

import contextlib
import logging
import smtplib
import ssl
import time
from collections.abc import Iterator
from email.message import EmailMessage

from connectors._http import CALLS, CallStats, scrub
from connectors.errors import (
    AuthError,
    ConfigError,
    KartibaError,
    TransientError,
    UpstreamError,
)
from connectors.smtp.settings import SmtpSettings, is_loopback

log = logging.getLogger("kartiba.smtp")

UPSTREAM = "smtp"


def _reply_error(code: int, what: str, detail: str) -> UpstreamError:
    """A 4xx reply is worth retrying later; anything else is final."""
    cls = TransientError if 400 <= code < 500 else UpstreamError
    return cls(f"smtp: {what} ({code})", upstream=UPSTREAM, status=code, detail=scrub(detail))


def map_error(exc: BaseException) -> KartibaError:
    """The kartiba error for an smtplib/ssl/socket exception (messages carry no addresses)."""
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return AuthError(f"smtp: login refused ({exc.smtp_code})", upstream=UPSTREAM,
                         status=exc.smtp_code, detail=scrub(str(exc.smtp_error)))
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = sorted(code for code, _ in exc.recipients.values())
        code = next((c for c in codes if 400 <= c < 500), codes[0] if codes else 550)
        return _reply_error(code, f"{len(exc.recipients)} recipient(s) refused", "")
    if isinstance(exc, smtplib.SMTPSenderRefused):
        if 400 <= exc.smtp_code < 500:
            return _reply_error(exc.smtp_code, "sender refused", str(exc.smtp_error))
        return ConfigError(f"smtp: the server refuses the sender address ({exc.smtp_code})",
                           setting="smtp.sender", detail=scrub(str(exc.smtp_error)))
    if isinstance(exc, smtplib.SMTPResponseException):
        return _reply_error(exc.smtp_code, "server replied with an error", str(exc.smtp_error))
    if isinstance(exc, smtplib.SMTPNotSupportedError) and "SMTPUTF8" in str(exc):
        return UpstreamError("smtp: an address of the message is not ASCII and the server "
                             "does not offer SMTPUTF8", upstream=UPSTREAM)
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return ConfigError(f"smtp: the server does not support it: {scrub(str(exc))}",
                           setting="smtp.security")
    if isinstance(exc, ssl.SSLCertVerificationError):
        return ConfigError("smtp: TLS verification of the server failed; set smtp.ca_bundle "
                           "if it uses a private CA", setting="smtp.ca_bundle",
                           detail=scrub(str(exc)))
    if isinstance(exc, smtplib.SMTPServerDisconnected | OSError):
        return TransientError(f"smtp: connection failed ({type(exc).__name__})",
                              upstream=UPSTREAM, detail=scrub(str(exc)))
    return UpstreamError(f"smtp: {type(exc).__name__}", upstream=UPSTREAM,
                         detail=scrub(str(exc)))


class MailerSession:
    """One SMTP connection for a batch of messages; connects on first use."""

    def __init__(self, mailer: Mailer) -> None:
        self._mailer = mailer
        self._smtp: smtplib.SMTP | None = None
        self.sent = 0
        self.failed = 0

    def send(self, message: EmailMessage) -> None:
        """Submit one message; returns once the server accepted it.

        Raises:
            AuthError, ConfigError, TransientError, UpstreamError: see the module docstring.
        """
        settings = self._mailer.settings
        msg_id = str(message.get("Message-ID", "-"))
        started = time.monotonic()
        code: int | None = None
        try:
            smtp = self._connection()
            refused = smtp.send_message(message, from_addr=settings.sender)
            code = 250
        except (smtplib.SMTPException, ssl.SSLError, OSError) as exc:
            code = getattr(exc, "smtp_code", None)
            if isinstance(exc, smtplib.SMTPServerDisconnected | OSError | ssl.SSLError):
                self._drop()
            self.failed += 1
            error = map_error(exc)
            log.warning("smtp: message %s not sent: %s", msg_id, error.message)
            raise error from None
        finally:
            self._mailer.stats.record(UPSTREAM, time.monotonic() - started, code)
        self.sent += 1
        if refused:
            log.warning("smtp: message %s accepted, %d recipient(s) refused", msg_id,
                        len(refused))
        log.info("smtp: message %s accepted", msg_id)

    def noop(self) -> None:
        """Connect (with TLS and login) and send NOOP: a health check."""
        try:
            code, _ = self._connection().noop()
        except (smtplib.SMTPException, OSError) as exc:
            self._drop()
            raise map_error(exc) from None
        if code != 250:
            raise _reply_error(code, "NOOP refused", "")

    def close(self) -> None:
        if self._smtp is not None:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                self._smtp.quit()
            self._drop()
        if self.sent or self.failed:
            log.info("smtp: session closed, %d sent, %d failed", self.sent, self.failed)

    def _drop(self) -> None:
        if self._smtp is not None:
            with contextlib.suppress(OSError):
                self._smtp.close()
        self._smtp = None

    def _connection(self) -> smtplib.SMTP:
        """The open connection; a reused one is probed with NOOP first and replaced if the
        server dropped it meanwhile (idle timeout), which is safe: nothing was sent on it."""
        if self._smtp is not None and self.sent + self.failed > 0:
            try:
                code, _ = self._smtp.noop()
            except (smtplib.SMTPServerDisconnected, OSError):
                code = 0
            if code != 250:
                log.info("smtp: connection dropped by the server; reconnecting")
                self._drop()
        if self._smtp is None:
            self._smtp = self._mailer.connect()
        return self._smtp


class Mailer:
    """Submits e-mails to the configured SMTP server.

    Args:
        settings: server, security, credentials and sender.
        stats: call counters (the shared ``CALLS`` by default).
    """

    def __init__(self, settings: SmtpSettings, *, stats: CallStats = CALLS) -> None:
        self.settings = settings
        self.stats = stats
        if settings.security == "none" and not is_loopback(settings.host):
            log.warning("smtp: sending without TLS to a non-loopback server (security=none)")

    @property
    def sender(self) -> str:
        return self.settings.sender

    def send(self, message: EmailMessage) -> None:
        """Send one message on its own connection."""
        with self.session() as session:
            session.send(message)

    @contextlib.contextmanager
    def session(self) -> Iterator[MailerSession]:
        """A connection for a batch: ``with mailer.session() as s: s.send(msg)``."""
        session = MailerSession(self)
        try:
            yield session
        finally:
            session.close()

    def health(self) -> str:
        """"ok" when the server accepts a connection (TLS and login included)."""
        with self.session() as session:
            session.noop()
        return "ok"

    def tls_context(self) -> ssl.SSLContext:
        """A verifying TLS context (the ``ca_bundle`` if set, else the system store)."""
        return ssl.create_default_context(cafile=self.settings.ca_bundle)

    def connect(self) -> smtplib.SMTP:
        """Open, secure and log in one connection.

        Raises:
            AuthError, ConfigError, TransientError, UpstreamError.
        """
        s = self.settings
        smtp: smtplib.SMTP | None = None
        try:
            if s.security == "ssl":
                smtp = smtplib.SMTP_SSL(s.host, s.port, local_hostname=s.local_hostname,
                                        timeout=s.timeout, context=self.tls_context())
            else:
                smtp = smtplib.SMTP(s.host, s.port, local_hostname=s.local_hostname,
                                    timeout=s.timeout)
            smtp.ehlo()
            if s.security == "starttls":
                if not smtp.has_extn("starttls"):
                    raise ConfigError("smtp: the server does not offer STARTTLS; "
                                      "check smtp.security/port", setting="smtp.security")
                smtp.starttls(context=self.tls_context())
                smtp.ehlo()
            if s.username:
                password = s.password.get_secret_value() if s.password else ""
                smtp.login(s.username, password)
        except KartibaError:
            self._close(smtp)
            raise
        except (smtplib.SMTPException, ssl.SSLError, OSError) as exc:
            self._close(smtp)
            raise map_error(exc) from None
        return smtp

    @staticmethod
    def _close(smtp: smtplib.SMTP | None) -> None:
        if smtp is not None:
            with contextlib.suppress(OSError):
                smtp.close()
