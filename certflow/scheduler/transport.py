"""SMTP delivery that tells the outbox the one moment after which the server may have the mail.

Like :func:`certflow.notify.smtp.send` (same configuration, same German
:class:`~certflow.notify.DeliveryError` s through :func:`~certflow.notify.classify`),
with one difference: the message data are sent *without* the final ``CRLF . CRLF``
first; then ``before_end_of_data()`` runs (the outbox commits ``handed_over_at``);
only then the terminator goes out and the server's reply is read.

Why: an SMTP server delivers nothing of a transaction whose data were not terminated:
a connection that breaks before the terminator aborts the transaction (RFC 5321,
section 3.8: the server acts as if RSET had been received). So a scan that dies at any
point before ``handed_over_at`` was committed has certainly *not* delivered the mail,
and the mail can be sent again without a duplicate. The only window in which a crash
leaves the outcome open is the one network round trip between the terminator and
the commit of ``sent``. If ``before_end_of_data`` raises, the connection is closed
without the terminator: nothing is delivered.
"""

from __future__ import annotations

import re
import smtplib
import ssl
from collections.abc import Callable
from email.message import EmailMessage

from ..notify.smtp import DeliveryError, SmtpConfig, classify

__all__ = ["SmtpTransport", "Transport"]

_CRLF = b"\r\n"
_LEADING_DOT = re.compile(rb"(?m)^\.")


class _TwoPhaseData:
    """Mixin for smtplib clients: DATA in two steps, with a hook before the terminator."""

    before_end_of_data: Callable[[], None] | None = None
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


class _SMTP(_TwoPhaseData, smtplib.SMTP):
    pass


class _SMTP_SSL(_TwoPhaseData, smtplib.SMTP_SSL):
    pass


class Transport:
    """What the outbox needs of a mail transport (tests may pass their own)."""

    sender: str

    def send(self, message: EmailMessage, *, before_end_of_data: Callable[[], None] | None = None) -> str:
        raise NotImplementedError


class SmtpTransport(Transport):
    def __init__(self, config: SmtpConfig, *, context: ssl.SSLContext | None = None):
        self.config = config
        self.context = context
        self.sender = config.sender

    def _connect(self) -> smtplib.SMTP:
        config = self.config
        if config.tls == "ssl":
            return _SMTP_SSL(config.host, config.port, timeout=config.timeout,
                             context=self.context or ssl.create_default_context())
        client = _SMTP(config.host, config.port, timeout=config.timeout)
        try:
            client.ehlo()
            if config.tls == "starttls":
                client.starttls(context=self.context or ssl.create_default_context())
                client.ehlo()
        except BaseException:
            client.close()
            raise
        return client

    def send(self, message: EmailMessage, *, before_end_of_data: Callable[[], None] | None = None) -> str:
        """Deliver ``message`` and return its Message-ID, or raise :class:`DeliveryError`.

        ``DeliveryError.code is None`` together with a terminator already sent
        (``before_end_of_data`` had run) means the outcome is unknown.
        """
        config = self.config
        try:
            client = self._connect()
        except (smtplib.SMTPException, OSError) as exc:
            raise classify(exc, config) from exc
        client.before_end_of_data = before_end_of_data
        try:
            if config.username:
                client.login(config.username, config.password or "")
            refused = client.send_message(message)
        except (smtplib.SMTPException, OSError) as exc:
            client.close()
            raise classify(exc, config) from exc
        except BaseException:
            client.close()  # no terminator sent: the server drops the transaction
            raise
        try:  # accepted: a failing QUIT must not lead to a second delivery
            client.quit()
        except (smtplib.SMTPException, OSError):
            client.close()
        if refused:
            who = ", ".join(f"{addr} ({code} {text!r})" for addr, (code, text) in sorted(refused.items()))
            raise DeliveryError(f"Nicht an alle Empfänger zugestellt: {who}", retryable=False,
                                code=max(code for code, _ in refused.values()))
        return str(message["Message-ID"])
