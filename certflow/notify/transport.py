"""The transport seam: what the outbox needs to send one mail, by SMTP or in memory.

:class:`Transport` is the seam the scheduler's exactly-once delivery
(:mod:`certflow.scheduler.scan`) sends through: ``send(message, before_end_of_data=hook)``
returns the Message-ID or raises :class:`~.smtp.DeliveryError`, and calls ``hook`` at the
last moment at which the mail has certainly not been delivered (see :mod:`.smtp`).

* :class:`SmtpTransport`: the one SMTP conversation, :func:`.smtp.send`;
* :class:`MemoryTransport`: the in-memory twin for tests that need no SMTP server. It keeps
  what it "delivered" and can be told to fail the next sends, temporarily or for good,
  before or after the end of data, exactly as the real one reports it.

:func:`smtp_transport` builds the real one from the deployment's settings (``None``
without a mail server: messages then wait in the outbox).
"""

from __future__ import annotations

import ssl
from collections import Counter, deque
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import EmailMessage

from .smtp import DeliveryError, EndOfDataHook, SmtpConfig, send

__all__ = ["MemoryTransport", "SmtpTransport", "Transport", "smtp_transport"]


class Transport:
    """What the outbox needs of a mail transport: the sender, and one mail sent with the end-of-data hook."""

    sender: str

    def send(self, message: EmailMessage, *, before_end_of_data: EndOfDataHook | None = None) -> str:
        """Deliver ``message``; return its Message-ID or raise :class:`DeliveryError`.

        ``DeliveryError.code is None`` after ``before_end_of_data`` ran means the outcome is
        unknown (the server may have the mail).
        """
        raise NotImplementedError


class SmtpTransport(Transport):
    """Mail over SMTP (:func:`certflow.notify.smtp.send`)."""

    def __init__(self, config: SmtpConfig, *, context: ssl.SSLContext | None = None):
        self.config = config
        self.context = context
        self.sender = config.sender

    def send(self, message: EmailMessage, *, before_end_of_data: EndOfDataHook | None = None) -> str:
        return send(message, self.config, context=self.context, before_end_of_data=before_end_of_data)


def smtp_transport(smtp: Mapping[str, str], *, context: ssl.SSLContext | None = None) -> SmtpTransport | None:
    """The SMTP transport ``Settings.smtp`` names; ``None`` without ``HOST`` (no mail server configured).

    Raises :class:`~.smtp.SmtpConfigError` when a server is named but the rest is incomplete.
    """
    if not (smtp.get("HOST") or "").strip():
        return None
    return SmtpTransport(SmtpConfig.from_settings(smtp), context=context)


@dataclass(frozen=True, slots=True)
class _Failure:
    message: str
    retryable: bool
    code: int | None
    after_end_of_data: bool


class MemoryTransport(Transport):
    """The in-memory twin of :class:`SmtpTransport`: records messages, fails when told to.

    ``sent`` holds every message the "server" accepted, in order (a mail that failed after
    the end of data is in ``uncertain``: a real server may or may not have it). Scripted
    failures are used up one per send, oldest first::

        transport = MemoryTransport()
        transport.fail_next(retryable=True)                        # like 451: back-off
        transport.fail_next(retryable=False, code=550)             # like 550: failed
        transport.fail_next(after_end_of_data=True)                # connection lost after the terminator
    """

    def __init__(self, sender: str = "certflow <noreply@certflow.example>"):
        self.sender = sender
        self.sent: list[EmailMessage] = []
        self.uncertain: list[EmailMessage] = []
        self._failures: deque[_Failure] = deque()

    def fail_next(self, message: str | None = None, *, retryable: bool = True, code: int | None = None,
                  after_end_of_data: bool = False, times: int = 1) -> None:
        """Let the next ``times`` sends fail. Before the end of data (default) nothing is delivered and
        ``code`` defaults to 451 (retryable) or 550 (permanent); after it, ``code`` is ``None``: unknown."""
        if after_end_of_data:
            code = None
            message = message or "Verbindung zum Mailserver nach der Übergabe unterbrochen"
        else:
            code = code if code is not None else (451 if retryable else 550)
            what = "vorübergehend abgelehnt" if retryable else "abgelehnt"
            message = message or f"Nachricht vom Mailserver {what}: {code} (Testtransport)"
        for _ in range(times):
            self._failures.append(_Failure(message, retryable, code, after_end_of_data))

    def send(self, message: EmailMessage, *, before_end_of_data: EndOfDataHook | None = None) -> str:
        failure = self._failures.popleft() if self._failures else None
        if failure is not None and not failure.after_end_of_data:
            raise DeliveryError(failure.message, retryable=failure.retryable, code=failure.code)
        if before_end_of_data is not None:
            before_end_of_data()  # raising here: nothing delivered, as with SMTP
        if failure is not None:
            self.uncertain.append(message)
            raise DeliveryError(failure.message, retryable=failure.retryable, code=None)
        self.sent.append(message)
        return str(message["Message-ID"])

    def message_ids(self) -> Counter:
        """How often each Message-ID was delivered."""
        return Counter(str(m["Message-ID"]) for m in self.sent)

    def to(self) -> Counter:
        """How many mails each address received."""
        return Counter(a.addr_spec for m in self.sent for a in m["To"].addresses)
