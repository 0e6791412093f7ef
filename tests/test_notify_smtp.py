"""Real SMTP delivery to an aiosmtpd server on 127.0.0.1 started by the test; error classification."""

from __future__ import annotations

import email
import email.policy
import shutil
import socket
import ssl
import subprocess
from datetime import UTC, date, datetime

import pytest
from test_reminders_support import LEAD, cert, of_kind, snapshot

from certflow.lifecycle.entities import Role
from certflow.notify import (
    Addressee,
    DeliveryError,
    MailRenderer,
    SmtpConfig,
    SmtpConfigError,
    classify,
    reminder_message,
    send,
)
from certflow.reminders import plan_reminders

aiosmtpd = pytest.importorskip("aiosmtpd")
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

NOW = datetime(2027, 1, 31, 6, 0, tzinfo=UTC)
SENDER = "certflow <noreply@certflow.example>"
ANNA = Addressee(LEAD.id, "Anna Müller", "anna.mueller@kita.example", Role.KITA_LEAD)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Recorder:
    """Accepts every message; ``rcpt_reply`` / ``data_reply`` simulate refusals."""

    def __init__(self, rcpt_reply: str | None = None, data_reply: str | None = None):
        self.rcpt_reply = rcpt_reply
        self.data_reply = data_reply
        self.received: list = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.rcpt_reply:
            return self.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.data_reply:
            return self.data_reply
        self.received.append(envelope)
        return "250 Message accepted for delivery"


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (b"certflow", b"geheim")
    return AuthResult(success=ok, handled=False)  # not handled: aiosmtpd answers 535 itself


@pytest.fixture
def server(request):
    handler = Recorder(**getattr(request, "param", {}))
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, authenticator=authenticator,
                            auth_require_tls=False, ready_timeout=5)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


def message():
    r = of_kind(plan_reminders(snapshot(certificates=(cert(date(2023, 6, 1)),))), "validity_1m")[0]
    return reminder_message(MailRenderer(), r, ANNA, sender=SENDER, now=NOW)


def config(port: int, **kw) -> SmtpConfig:
    return SmtpConfig(host="127.0.0.1", port=port, tls="none", sender=SENDER, timeout=5, **kw)


def test_delivers_to_a_real_smtp_server(server):
    handler, port = server
    msg = message()
    assert send(msg, config(port)) == msg["Message-ID"]
    (envelope,) = handler.received
    assert envelope.mail_from == "noreply@certflow.example"
    assert envelope.rcpt_tos == ["anna.mueller@kita.example"]
    got = email.message_from_bytes(envelope.content, policy=email.policy.default)
    assert got["Subject"] == "Gütesiegel läuft in 1 Monat ab (31.07.2027) – Familienzentrum Sonnenblume"
    assert got["Message-ID"] == msg["Message-ID"]
    assert "Guten Tag Anna Müller" in got.get_body(("plain",)).get_content()
    assert "<!DOCTYPE html>" in got.get_body(("html",)).get_content()


def test_login_with_credentials(server):
    handler, port = server
    send(message(), config(port, username="certflow", password="geheim"))
    assert len(handler.received) == 1
    with pytest.raises(DeliveryError) as info:
        send(message(), config(port, username="certflow", password="falsch"))
    assert info.value.code == 535 and not info.value.retryable
    assert "Anmeldung" in info.value.message
    assert len(handler.received) == 1


@pytest.mark.parametrize("server", [{"rcpt_reply": "550 5.1.1 Mailbox unbekannt"}], indirect=True)
def test_a_5xx_refusal_is_permanent(server):
    handler, port = server
    with pytest.raises(DeliveryError) as info:
        send(message(), config(port))
    assert not info.value.retryable and info.value.code == 550
    assert "abgelehnt" in info.value.message and "anna.mueller@kita.example" in info.value.message
    assert handler.received == []


@pytest.mark.parametrize("server", [{"rcpt_reply": "451 4.7.1 Greylisting, bitte später"}], indirect=True)
def test_a_4xx_refusal_is_retried(server):
    _, port = server
    with pytest.raises(DeliveryError) as info:
        send(message(), config(port))
    assert info.value.retryable and info.value.code == 451
    assert "vorübergehend abgelehnt" in info.value.message


@pytest.mark.parametrize("server", [{"data_reply": "554 5.6.0 Inhalt abgelehnt"}], indirect=True)
def test_refused_content_is_permanent(server):
    _, port = server
    with pytest.raises(DeliveryError) as info:
        send(message(), config(port))
    assert not info.value.retryable and info.value.code == 554


@pytest.mark.parametrize("server", [{"data_reply": "452 4.3.1 Speicher voll"}], indirect=True)
def test_temporary_data_refusal_is_retried(server):
    _, port = server
    with pytest.raises(DeliveryError) as info:
        send(message(), config(port))
    assert info.value.retryable and info.value.code == 452


def test_the_end_of_data_waits_for_the_hook(server):
    handler, port = server
    seen = []

    def hook():  # the data are out, the terminator is not: the server has accepted nothing yet
        seen.append(len(handler.received))

    msg = message()
    assert send(msg, config(port), before_end_of_data=hook) == msg["Message-ID"]
    assert seen == [0] and len(handler.received) == 1


@pytest.fixture
def closes(monkeypatch):
    """Counts how often the one SMTP client's connection is closed."""
    from certflow.notify.smtp import SMTPClient

    calls = []
    original = SMTPClient.close

    def close(self):
        calls.append(self.sock is not None)
        original(self)

    monkeypatch.setattr(SMTPClient, "close", close)
    return calls


@pytest.mark.parametrize("interrupt", [KeyboardInterrupt, SystemExit, RuntimeError])
def test_anything_raised_before_the_end_of_data_closes_the_connection_and_delivers_nothing(server, closes,
                                                                                           interrupt):
    handler, port = server

    def hook():
        raise interrupt()

    with pytest.raises(interrupt):  # passes through unchanged: not a DeliveryError
        send(message(), config(port), before_end_of_data=hook)
    assert closes and closes[0] is True  # closed while the connection was still open
    assert handler.received == []


def test_an_interrupt_during_login_closes_the_connection(server, closes, monkeypatch):
    from certflow.notify.smtp import SMTPClient

    handler, port = server

    def login(self, user, password):
        raise KeyboardInterrupt

    monkeypatch.setattr(SMTPClient, "login", login)
    with pytest.raises(KeyboardInterrupt):
        send(message(), config(port, username="certflow", password="geheim"))
    assert closes and closes[0] is True and handler.received == []


def test_a_failed_delivery_closes_the_connection_too(server, closes):
    _, port = server
    with pytest.raises(DeliveryError):
        send(message(), config(port, username="certflow", password="falsch"))
    assert closes and closes[0] is True


def test_no_server_is_a_retryable_connection_error():
    port = free_port()  # nothing listens there
    with pytest.raises(DeliveryError) as info:
        send(message(), config(port))
    assert info.value.retryable and info.value.code is None
    assert "127.0.0.1" in info.value.message


def test_starttls_required_but_not_offered_is_permanent(server):
    _, port = server
    with pytest.raises(DeliveryError) as info:
        send(message(), SmtpConfig(host="127.0.0.1", port=port, tls="starttls", sender=SENDER, timeout=5))
    assert not info.value.retryable and "CERTFLOW_SMTP_TLS" in info.value.message


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is needed for a test certificate")
def test_starttls_with_a_trusted_certificate(tmp_path):
    key, crt = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out",
                    str(crt), "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(crt, key)
    handler = Recorder()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, tls_context=server_context,
                            require_starttls=True, authenticator=authenticator, ready_timeout=5)
    controller.start()
    try:
        trusting = ssl.create_default_context(cafile=str(crt))
        cfg = SmtpConfig(host="127.0.0.1", port=port, tls="starttls", sender=SENDER, timeout=5,
                         username="certflow", password="geheim")
        send(message(), cfg, context=trusting)
        assert len(handler.received) == 1
        with pytest.raises(DeliveryError) as info:  # the system's CAs do not know the test certificate
            send(message(), cfg)
        assert not info.value.retryable and "Zertifikat" in info.value.message
    finally:
        controller.stop()


def test_configuration_from_the_settings():
    from certflow.settings import Settings

    env = {"CERTFLOW_SMTP_HOST": "mail.example.org", "CERTFLOW_SMTP_TLS": "ssl", "CERTFLOW_SMTP_USER": "certflow",
           "CERTFLOW_SMTP_PASSWORD": "geheim", "CERTFLOW_SMTP_FROM": "certflow <noreply@example.org>"}
    smtp = Settings.from_env(env).smtp  # the CERTFLOW_SMTP_* variables keyed by their NAME
    cfg = SmtpConfig.from_settings(smtp)
    assert (cfg.host, cfg.port, cfg.tls, cfg.username, cfg.password) == (
        "mail.example.org", 465, "ssl", "certflow", "geheim")
    assert "geheim" not in repr(cfg)
    assert SmtpConfig.from_settings({**smtp, "TLS": "", "PORT": "2525"}).port == 2525
    assert SmtpConfig.from_settings({**smtp, "TLS": ""}).tls == "starttls"
    with pytest.raises(SmtpConfigError, match="CERTFLOW_SMTP_HOST"):
        SmtpConfig.from_settings({"FROM": "a@b.example"})
    with pytest.raises(SmtpConfigError, match="CERTFLOW_SMTP_FROM"):
        SmtpConfig.from_settings({"HOST": "mail.example.org"})
    with pytest.raises(SmtpConfigError, match="TLS-Modus"):
        SmtpConfig.from_settings({**smtp, "TLS": "tls"})
    with pytest.raises(SmtpConfigError, match="keine Zahl"):
        SmtpConfig.from_settings({**smtp, "PORT": "fünf"})
    with pytest.raises(SmtpConfigError, match="CERTFLOW_SMTP_TIMEOUT"):
        SmtpConfig.from_settings({**smtp, "TIMEOUT": "lang"})


def test_the_transport_comes_from_the_settings():
    from certflow.notify import SmtpTransport, smtp_transport

    assert smtp_transport({}) is None and smtp_transport({"HOST": "  "}) is None  # no server: inbox only
    transport = smtp_transport({"HOST": "127.0.0.1", "PORT": "2525", "TLS": "none", "FROM": SENDER})
    assert isinstance(transport, SmtpTransport) and transport.sender == SENDER and transport.config.port == 2525
    with pytest.raises(SmtpConfigError, match="CERTFLOW_SMTP_FROM"):
        smtp_transport({"HOST": "mail.example.org"})


def test_classification_of_plain_exceptions():
    import smtplib

    assert classify(smtplib.SMTPServerDisconnected("weg")).retryable
    assert classify(TimeoutError()).retryable
    assert classify(ConnectionRefusedError(111, "Connection refused")).retryable
    assert not classify(smtplib.SMTPSenderRefused(553, b"nicht erlaubt", "x@y")).retryable
    assert classify(smtplib.SMTPSenderRefused(421, b"zu viele", "x@y")).retryable
    mixed = smtplib.SMTPRecipientsRefused({"a@x": (450, b"voll"), "b@x": (550, b"unbekannt")})
    assert not classify(mixed).retryable  # one permanent refusal: a retry cannot succeed
