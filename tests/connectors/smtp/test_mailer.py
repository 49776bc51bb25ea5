"""The SMTP mailer against a real SMTP server on loopback (aiosmtpd): plain, AUTH, STARTTLS,
implicit TLS, refusals, a failed send retried, error mapping and call counting."""

from __future__ import annotations

import datetime as dt
import smtplib
import socket

import pytest
from pydantic import SecretStr, ValidationError

from connectors._http import CallStats
from connectors.errors import AuthError, ConfigError, TransientError, UpstreamError
from connectors.smtp import Mailer, SmtpSettings, build, map_error
from mappings.model import Alert, AlertKind, Audience
from sync_jobs.alerts.compose import AlertItem, Recipient, parse_alerts_header, render_message
from tests.connectors.smtp.server import PASSWORD, USER, free_port

SENDER = "kartiba@school.lv"

# AUTH over plain SMTP is what these loopback tests do on purpose.
pytestmark = pytest.mark.filterwarnings(
    "ignore:Requiring AUTH while not requiring TLS:UserWarning")


def message(to: str = "ilze.kalnina@school.lv", lesson: str = "L1"):
    alert = Alert(AlertKind.UZDOTS_MISSING, lesson, None, (Audience.TEACHER,), ("16",))
    item = AlertItem(alert, dt.date(2026, 11, 30), 2, "Elektrotehnika", "ET-22")
    return render_message(Recipient(to, "Ilze Kalniņa", "teacher"), [item],
                          school_name="Daugavpils tehnikums", sender=SENDER, run_id="r1")


def settings(port: int, **kw) -> SmtpSettings:
    return SmtpSettings(host="127.0.0.1", port=port, security=kw.pop("security", "none"),
                        sender=SENDER, timeout=5, **kw)


def test_plain_send_delivers_the_message_intact(smtp_server) -> None:
    server = smtp_server()
    stats = CallStats()
    msg = message()
    build(settings(server.port), stats=stats).send(msg)
    [(mail_from, rcpt, _)] = server.handler.received
    assert (mail_from, rcpt) == (SENDER, ["ilze.kalnina@school.lv"])
    [got] = server.handler.messages()
    assert got["Subject"] == ("[kartiba] 1 paziņojums par attālinātajām mācībām "
                              "(ET-22, 30.11.2026)")
    assert got["Message-ID"] == msg["Message-ID"]
    assert "ierakstiet UZDOTO e-klasē" in got.get_body(("plain",)).get_content()
    assert parse_alerts_header(got) == [{"kind": "uzdots_missing", "lesson": "L1",
                                         "student": None, "points": ["16"], "excused": None}]
    assert stats.snapshot()["calls"] == {"smtp": 1}


def test_one_session_sends_a_batch_on_one_connection(smtp_server, monkeypatch) -> None:
    server = smtp_server()
    mailer = Mailer(settings(server.port), stats=CallStats())
    connects = []
    real_connect = mailer.connect
    monkeypatch.setattr(mailer, "connect", lambda: connects.append(1) or real_connect())
    with mailer.session() as s:
        for i in range(3):
            s.send(message(lesson=f"L{i}"))
    assert len(connects) == 1
    assert len(server.handler.received) == 3
    assert mailer.stats.snapshot()["calls"] == {"smtp": 3}


@pytest.mark.parametrize(("password", "error"), [
    pytest.param(PASSWORD, None, id="good-credentials"),
    pytest.param("wrong", AuthError, id="bad-password"),
])
def test_auth(smtp_server, password: str, error) -> None:
    server = smtp_server(auth=True)
    mailer = Mailer(settings(server.port, username=USER, password=SecretStr(password)))
    if error is None:
        mailer.send(message())
        assert len(server.handler.received) == 1
    else:
        with pytest.raises(error) as info:
            mailer.send(message())
        assert password not in str(info.value) and password not in info.value.detail
        assert server.handler.received == []


def test_server_requiring_auth_without_credentials_is_refused(smtp_server) -> None:
    server = smtp_server(auth=True)
    with pytest.raises(ConfigError) as info:
        Mailer(settings(server.port)).send(message())
    assert info.value.setting == "smtp.sender"


def test_a_failed_send_is_retried_and_the_batch_goes_on(smtp_server) -> None:
    server = smtp_server()
    server.handler.fail_data = ["451 4.3.0 Try again later"]
    mailer = Mailer(settings(server.port), stats=CallStats())
    first, second, third = (message(lesson=f"L{i}") for i in range(3))
    failed = []
    with mailer.session() as s:
        for msg in (first, second, third):
            try:
                s.send(msg)
            except TransientError as exc:
                assert exc.status == 451
                failed.append(msg)
    assert failed == [first]
    with mailer.session() as s:  # the next run retries what stayed pending
        for msg in failed:
            s.send(msg)
    ids = [m["Message-ID"] for m in server.handler.messages()]
    assert sorted(ids) == sorted(m["Message-ID"] for m in (first, second, third))
    assert len(ids) == 3  # nothing doubled
    assert mailer.stats.snapshot()["calls"] == {"smtp": 4}


@pytest.mark.parametrize(("reply", "error", "status"), [
    pytest.param("550 5.1.1 No such user", UpstreamError, 550, id="permanent"),
    pytest.param("452 4.2.2 Mailbox full", TransientError, 452, id="temporary"),
])
def test_refused_recipient(smtp_server, reply: str, error, status: int) -> None:
    server = smtp_server()
    server.handler.refuse_rcpt["gone@school.lv"] = reply
    with Mailer(settings(server.port)).session() as s:
        with pytest.raises(error) as info:
            s.send(message(to="gone@school.lv"))
        assert type(info.value) is error
        assert info.value.status == status
        assert "gone@" not in info.value.message
        s.send(message(to="ilze.kalnina@school.lv"))  # the session is still usable
    assert [rcpt for _, rcpt, _ in server.handler.received] == [["ilze.kalnina@school.lv"]]


@pytest.mark.parametrize("mode", ["starttls", "ssl"])
def test_tls_verifies_the_server_with_the_ca_bundle(smtp_server, pki, mode: str) -> None:
    tls = {"starttls": pki.server_context} if mode == "starttls" else {
        "implicit_tls": pki.server_context}
    server = smtp_server(auth=True, **tls)
    good = settings(server.port, security=mode, ca_bundle=str(pki.ca_file), username=USER,
                    password=SecretStr(PASSWORD))
    Mailer(good).send(message())
    assert len(server.handler.received) == 1
    untrusted = good.model_copy(update={"ca_bundle": None})
    with pytest.raises(ConfigError, match="TLS verification"):
        Mailer(untrusted).send(message())
    assert len(server.handler.received) == 1


def test_starttls_required_but_not_offered(smtp_server) -> None:
    server = smtp_server()
    with pytest.raises(ConfigError, match="STARTTLS"):
        Mailer(settings(server.port, security="starttls")).send(message())


def test_no_server_is_a_transient_error() -> None:
    with pytest.raises(TransientError):
        Mailer(settings(free_port())).send(message())


def test_health(smtp_server) -> None:
    server = smtp_server(auth=True)
    ok = settings(server.port, username=USER, password=SecretStr(PASSWORD))
    assert Mailer(ok).health() == "ok"
    with pytest.raises(AuthError):
        Mailer(ok.model_copy(update={"password": SecretStr("x")})).health()


@pytest.mark.parametrize(("exc", "error", "status"), [
    pytest.param(smtplib.SMTPAuthenticationError(535, b"bad"), AuthError, 535, id="auth"),
    pytest.param(smtplib.SMTPRecipientsRefused({"a@x.lv": (550, b"no")}), UpstreamError, 550,
                 id="rcpt-5xx"),
    pytest.param(smtplib.SMTPRecipientsRefused({"a@x.lv": (550, b"no"), "b@x.lv": (450, b"")}),
                 TransientError, 450, id="rcpt-some-4xx"),
    pytest.param(smtplib.SMTPSenderRefused(451, b"later", "k@x.lv"), TransientError, 451,
                 id="sender-4xx"),
    pytest.param(smtplib.SMTPDataError(554, b"spam"), UpstreamError, 554, id="data-5xx"),
    pytest.param(smtplib.SMTPServerDisconnected("gone"), TransientError, None, id="dropped"),
    pytest.param(ConnectionRefusedError(111, "refused"), TransientError, None, id="refused"),
])
def test_error_mapping(exc, error, status) -> None:
    mapped = map_error(exc)
    assert type(mapped) is error
    assert mapped.status == status
    assert "@" not in mapped.message


@pytest.mark.parametrize(("fields", "problem"), [
    pytest.param({"sender": "not an address"}, "sender", id="bad-sender"),
    pytest.param({"username": "u"}, "password", id="username-without-password"),
    pytest.param({"host": "smtp.school.lv", "security": "none", "username": "u",
                  "password": "p"}, "clear text", id="credentials-in-clear"),
    pytest.param({"security": "tls"}, "security", id="unknown-security"),
    pytest.param({"colour": "red"}, "colour", id="unknown-field"),
])
def test_settings_validation(fields: dict, problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        SmtpSettings(**fields)


def test_settings_defaults_and_secret() -> None:
    s = SmtpSettings(host="127.0.0.1", security="none", username="u", password="p")
    assert (SmtpSettings().host, SmtpSettings().port, SmtpSettings().security) == (
        "localhost", 25, "starttls")
    assert "p" not in repr(s.password) and s.password.get_secret_value() == "p"


def test_session_replaces_a_connection_the_server_dropped(smtp_server, monkeypatch) -> None:
    server = smtp_server()
    mailer = Mailer(settings(server.port), stats=CallStats())
    connects = []
    real_connect = mailer.connect
    monkeypatch.setattr(mailer, "connect", lambda: connects.append(1) or real_connect())
    with mailer.session() as s:
        s.send(message(lesson="L1"))
        s._smtp.sock.shutdown(socket.SHUT_RDWR)  # as if the server timed the idle one out
        s.send(message(lesson="L2"))
    assert len(connects) == 2
    assert len(server.handler.received) == 2
