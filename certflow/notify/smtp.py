"""Mail delivery over SMTP (smtplib): the configuration, the one SMTP conversation, errors the outbox can act on.

:func:`send` delivers one :class:`~email.message.EmailMessage` and either
returns its Message-ID or raises :class:`DeliveryError`, which carries a
German message (shown in the outbox) and whether a retry can help:

* temporary: SMTP 4xx replies, refused connections, timeouts, dropped
  connections -> ``retryable=True`` (retry with :func:`.retry.next_attempt`);
* permanent: SMTP 5xx replies (unknown recipient, rejected content, failed
  login), a server without the configured TLS -> ``retryable=False``.

This is certflow's only SMTP conversation (connect, EHLO, STARTTLS, AUTH, MAIL,
RCPT, DATA, QUIT). Its DATA goes in two steps: the message data first, *without*
the final ``CRLF . CRLF``; then the optional ``before_end_of_data()`` hook runs
(the outbox commits ``handed_over_at`` there); only then the terminator goes out
and the server's reply is read. An SMTP server delivers nothing of a transaction
whose data were not terminated (RFC 5321, section 3.8), so whatever happens before
the hook returns, the mail has certainly not been delivered. If the hook raises,
the connection is closed without the terminator. The connection is closed on every
way out, ``BaseException`` (an interrupt) included. The outbox reaches this through
the transport seam (:mod:`.transport`).

Configuration (:meth:`SmtpConfig.from_settings`, from ``Settings.smtp``: the
``CERTFLOW_SMTP_<NAME>`` variables keyed by ``NAME``):

=========================  ==========================================================
``CERTFLOW_SMTP_HOST``     server name (required)
``CERTFLOW_SMTP_PORT``     port; default 25 (``none``), 587 (``starttls``), 465 (``ssl``)
``CERTFLOW_SMTP_TLS``      ``none`` | ``starttls`` | ``ssl``; default ``starttls``
``CERTFLOW_SMTP_USER``     user name for AUTH (optional)
``CERTFLOW_SMTP_PASSWORD`` password for AUTH (optional; only with a user)
``CERTFLOW_SMTP_FROM``     sender, e.g. ``certflow <noreply@example.org>`` (required)
``CERTFLOW_SMTP_TIMEOUT``  seconds; default 30
=========================  ==========================================================
"""

from __future__ import annotations

import re
import contextlib
import smtplib
import socket
import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import parseaddr
from typing import Literal

__all__ = ["DeliveryError", "EndOfDataHook", "SmtpConfig", "SmtpConfigError", "classify", "send"]

Tls = Literal["none", "starttls", "ssl"]
_DEFAULT_PORT = {"none": 25, "starttls": 587, "ssl": 465}
EndOfDataHook = Callable[[], None]
"""Called after the message data went out and before the end of data: the last moment nothing is delivered."""


class SmtpConfigError(ValueError):
    """The SMTP configuration is incomplete or invalid; the message is German."""


class DeliveryError(Exception):
    """A mail could not be delivered. ``message`` is German; ``retryable`` says whether to try again."""

    def __init__(self, message: str, *, retryable: bool, code: int | None = None):
        super().__init__(message)
        self.message = message
        self.retryable = retryable
        self.code = code

    def __repr__(self) -> str:
        return f"DeliveryError({self.message!r}, retryable={self.retryable}, code={self.code})"


@dataclass(frozen=True, slots=True)
class SmtpConfig:
    host: str
    sender: str
    port: int | None = None
    tls: Tls = "starttls"
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout: float = 30.0

    def __post_init__(self) -> None:
        if not self.host:
            raise SmtpConfigError("SMTP: kein Server angegeben (CERTFLOW_SMTP_HOST)")
        if self.tls not in _DEFAULT_PORT:
            raise SmtpConfigError(f"SMTP: TLS-Modus „{self.tls}“ unbekannt, erlaubt sind none, starttls, ssl "
                                  "(CERTFLOW_SMTP_TLS)")
        if "@" not in parseaddr(self.sender)[1]:
            raise SmtpConfigError(f"SMTP: Absender „{self.sender}“ ist keine E-Mail-Adresse (CERTFLOW_SMTP_FROM)")
        if self.port is None:
            object.__setattr__(self, "port", _DEFAULT_PORT[self.tls])
        if not 0 < int(self.port) < 65536:
            raise SmtpConfigError(f"SMTP: Port {self.port} liegt nicht zwischen 1 und 65535 (CERTFLOW_SMTP_PORT)")
        if self.password and not self.username:
            raise SmtpConfigError("SMTP: ein Passwort ohne Benutzernamen (CERTFLOW_SMTP_USER) ergibt keinen Sinn")

    @classmethod
    def from_settings(cls, smtp: Mapping[str, str]) -> SmtpConfig:
        """The configuration from ``Settings.smtp`` (``HOST``, ``PORT``, ``TLS``, ``USER``, ``PASSWORD``, ``FROM``,
        ``TIMEOUT``: the ``CERTFLOW_SMTP_<NAME>`` variables); :class:`SmtpConfigError` when it is incomplete."""

        def get(name: str) -> str | None:
            value = (smtp.get(name) or "").strip()
            return value or None

        port = get("PORT")
        timeout = get("TIMEOUT")
        try:
            port_number = int(port) if port else None
        except ValueError:
            raise SmtpConfigError(f"SMTP: Port „{port}“ ist keine Zahl (CERTFLOW_SMTP_PORT)") from None
        try:
            seconds = float(timeout) if timeout else 30.0
        except ValueError:
            raise SmtpConfigError(f"SMTP: Zeitlimit „{timeout}“ ist keine Zahl (CERTFLOW_SMTP_TIMEOUT)") from None
        host, sender = get("HOST"), get("FROM")
        if host is None:
            raise SmtpConfigError("SMTP: kein Server angegeben (CERTFLOW_SMTP_HOST)")
        if sender is None:
            raise SmtpConfigError("SMTP: kein Absender angegeben (CERTFLOW_SMTP_FROM)")
        return cls(host=host, sender=sender, port=port_number,
                   tls=(get("TLS") or "starttls").lower(),  # type: ignore[arg-type]
                   username=get("USER"), password=smtp.get("PASSWORD") or None, timeout=seconds)


def _reply(code: int, text: bytes | str) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return f"{code} {text}".strip()


def classify(exc: BaseException, config: SmtpConfig | None = None) -> DeliveryError:
    """Turn an smtplib/socket/ssl error into a :class:`DeliveryError` (4xx and connection: retry; 5xx: not)."""
    where = f"{config.host}:{config.port}" if config else "dem Mailserver"
    if isinstance(exc, DeliveryError):
        return exc
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        who = ", ".join(f"{addr} ({_reply(c, t)})" for addr, (c, t) in sorted(exc.recipients.items()))
        temporary = bool(codes) and all(400 <= c < 500 for c in codes)
        what = "vorübergehend abgelehnt" if temporary else "abgelehnt"
        return DeliveryError(f"Empfänger {what}: {who}", retryable=temporary, code=max(codes) if codes else None)
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        temporary = 400 <= exc.smtp_code < 500
        return DeliveryError(f"Anmeldung an {where} fehlgeschlagen: {_reply(exc.smtp_code, exc.smtp_error)}",
                             retryable=temporary, code=exc.smtp_code)
    if isinstance(exc, smtplib.SMTPSenderRefused):
        temporary = 400 <= exc.smtp_code < 500
        return DeliveryError(f"Absender {exc.sender} abgelehnt: {_reply(exc.smtp_code, exc.smtp_error)}",
                             retryable=temporary, code=exc.smtp_code)
    if isinstance(exc, smtplib.SMTPResponseException):  # SMTPDataError, SMTPHeloError, SMTPConnectError ...
        temporary = 400 <= exc.smtp_code < 500
        what = "vorübergehend abgelehnt" if temporary else "abgelehnt"
        return DeliveryError(f"Nachricht von {where} {what}: {_reply(exc.smtp_code, exc.smtp_error)}",
                             retryable=temporary, code=exc.smtp_code)
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return DeliveryError(f"{where} unterstützt die Funktion nicht ({exc}); bitte CERTFLOW_SMTP_TLS prüfen",
                             retryable=False)
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return DeliveryError(f"Verbindung zu {where} unterbrochen: {exc}", retryable=True)
    if isinstance(exc, ssl.SSLCertVerificationError):
        return DeliveryError(f"TLS-Zertifikat von {where} nicht vertrauenswürdig: {exc.verify_message}",
                             retryable=False)
    if isinstance(exc, ssl.SSLError):
        return DeliveryError(f"TLS-Fehler mit {where}: {exc}", retryable=True)
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return DeliveryError(f"Zeitüberschreitung bei {where}", retryable=True)
    if isinstance(exc, socket.gaierror):
        return DeliveryError(f"Mailserver {where} nicht gefunden: {exc}", retryable=True)
    if isinstance(exc, OSError):  # refused, reset, unreachable
        return DeliveryError(f"Keine Verbindung zu {where}: {exc.strerror or exc}", retryable=True)
    if isinstance(exc, smtplib.SMTPException):
        return DeliveryError(f"SMTP-Fehler bei {where}: {exc}", retryable=True)
    raise TypeError(f"not a delivery error: {exc!r}") from exc


_CRLF = b"\r\n"
_LEADING_DOT = re.compile(rb"(?m)^\.")


class _TwoPhaseData:
    """Mixin for smtplib's clients: DATA in two steps, with a hook before the terminator."""

    before_end_of_data: EndOfDataHook | None = None
    end_of_data_sent: bool = False

    def data(self, msg):  # noqa: D401 - smtplib's signature
        self.putcmd("data")
        code, reply = self.getreply()
        if code != 354:
            raise smtplib.SMTPDataError(code, reply)
        if isinstance(msg, str):
            msg = msg.encode("ascii")
        quoted = _LEADING_DOT.sub(b"..", msg)
        if quoted[-2:] != _CRLF:
            quoted += _CRLF
        self.send(quoted)
        if self.before_end_of_data is not None:
            self.before_end_of_data()
        self.end_of_data_sent = True
        self.send(b"." + _CRLF)
        return self.getreply()


class SMTPClient(_TwoPhaseData, smtplib.SMTP):
    """smtplib's plain/STARTTLS client with the two-step DATA."""


class SMTPSSLClient(_TwoPhaseData, smtplib.SMTP_SSL):
    """smtplib's implicit-TLS client with the two-step DATA."""


def _connect(config: SmtpConfig, context: ssl.SSLContext | None) -> smtplib.SMTP:
    if config.tls == "ssl":
        return SMTPSSLClient(config.host, config.port, timeout=config.timeout,
                             context=context or ssl.create_default_context())
    client = SMTPClient(config.host, config.port, timeout=config.timeout)
    try:
        client.ehlo()
        if config.tls == "starttls":
            client.starttls(context=context or ssl.create_default_context())
            client.ehlo()
    except BaseException:
        client.close()
        raise
    return client


def send(message: EmailMessage, config: SmtpConfig, *, context: ssl.SSLContext | None = None,
         before_end_of_data: EndOfDataHook | None = None) -> str:
    """Deliver ``message`` (one recipient per message) and return its Message-ID.

    Raises :class:`DeliveryError`; anything ``before_end_of_data`` raises passes through
    unchanged (nothing was delivered). ``DeliveryError.code is None`` after the hook ran
    means the outcome is unknown (the connection broke after the end of data).
    ``context`` overrides the default TLS context (e.g. a private CA).
    """
    try:
        client = _connect(config, context)
    except (smtplib.SMTPException, OSError) as exc:
        raise classify(exc, config) from exc
    try:
        client.before_end_of_data = before_end_of_data
        if config.username:
            client.login(config.username, config.password or "")
        refused = client.send_message(message)
        with contextlib.suppress(smtplib.SMTPException, OSError):
            client.quit()  # the server has accepted the message: a failing QUIT must not cause a second delivery
    except (smtplib.SMTPException, OSError) as exc:
        raise classify(exc, config) from exc
    finally:  # also on an interrupt: without the terminator the server drops the transaction
        client.close()
    if refused:  # some recipients accepted, others not: do not retry (the accepted ones would get it twice)
        who = ", ".join(f"{addr} ({_reply(c, t)})" for addr, (c, t) in sorted(refused.items()))
        raise DeliveryError(f"Nicht an alle Empfänger zugestellt: {who}", retryable=False,
                            code=max(c for c, _ in refused.values()))
    return str(message["Message-ID"])
