"""Fixtures and sample data shared by the scheduler, outbox and reminder CLI tests (no tests here).

The world: one Jugendamt, two Familienzentren (``fz-1`` with two Kita leads, ``fz-2`` with
none: its reminders reach the administration as notices), a coordinator, the
certification body, an auditor and an administrator, with e-mail addresses and
choices; a seal of ``fz-1`` valid until 31.07.2027 and one of ``fz-2`` until 31.07.2028.
On :data:`NOW` (30.06.2027, 08:00 in NRW) the last ladder step of ``fz-1``'s seal is due,
and its earlier steps have been escalated to the coordinator (nothing has moved).

A real SMTP server for the tests: :class:`Server` (aiosmtpd on 127.0.0.1, as in
tests/test_notify_smtp.py) records what it accepted and can answer DATA with scripted
replies (451, 550 ...).

Run as a script, this module is the body of the crash tests' child processes (see
:func:`child_scan`).
"""

from __future__ import annotations

import email
import email.policy
import os
import socket
import sys
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from certflow.calendar import KindergartenYear
from certflow.catalogue.model import Form
from certflow.db import UnitOfWork, make_engine, upgrade
from certflow.db.repositories.reminders import ContactRepository
from certflow.db.tables import InboxMessageRow, OutboxItemRow, ReminderRow
from certflow.lifecycle import Contingent, Familienzentrum, Jugendamt, Kita, Role, Traeger, User
from certflow.lifecycle.entities import Certificate, CertificateState
from certflow.notify import SmtpConfig

NOW = datetime(2027, 6, 30, 6, 0, tzinfo=UTC)  # 08:00 Europe/Berlin (summer time)
SENDER = "certflow <noreply@certflow.example>"

JA = Jugendamt("ja-1", "Jugendamt Musterstadt")
LEAD = User("u-lead", "Anna Müller", Role.KITA_LEAD, familienzentrum_id="fz-1")
LEAD2 = User("u-lead2", "Ben Schulz", Role.KITA_LEAD, familienzentrum_id="fz-1")
COORD = User("u-coord", "Jörg Weiß", Role.COORDINATOR, jugendamt_id="ja-1")
CERTIFIER = User("u-cert", "Zora Zertifizierer", Role.CERTIFIER)
AUDITOR = User("u-aud", "Bea Prüfer", Role.AUDITOR)
ADMIN = User("u-admin", "Administration", Role.ADMIN)
USERS = (LEAD, LEAD2, COORD, CERTIFIER, AUDITOR, ADMIN)
CONTACTS = {  # user -> (address, choice); the admin has no address: inbox only
    LEAD.id: ("anna.mueller@kita.example", "immediate"),
    LEAD2.id: ("ben.schulz@kita.example", "daily"),
    COORD.id: ("joerg.weiss@jugendamt.example", "immediate"),
    CERTIFIER.id: ("zora@paedquis.example", "weekly"),
}
CERT_1 = Certificate("FZ-2023-007", "fz-1", date(2023, 6, 1), date(2027, 7, 31), CertificateState.VALID)
CERT_2 = Certificate("FZ-2024-011", "fz-2", date(2024, 6, 1), date(2028, 7, 31), CertificateState.VALID)


def seed_world(engine, *, certificates=(CERT_1, CERT_2), contacts=CONTACTS) -> None:
    """The sample world (fictional), written through the repositories (with audit trail)."""
    at = datetime(2023, 6, 1, 8, 0, tzinfo=UTC)
    by, why = ADMIN.id, "Testdaten"
    with UnitOfWork(engine, clock=lambda: at) as uow:
        uow.jugendaemter.add(JA, actor_id=by, reason=why)
        uow.traeger.add(Traeger("tr-1", "Musterträger e. V."), actor_id=by, reason=why)
        for i, (lat, lon) in enumerate([(51.0, 7.0), (51.3, 7.3)], start=1):
            uow.kitas.add(Kita(f"k{i}", f"Kita Muster {i}", "tr-1", "ja-1", f"Musterweg {i}", "12345",
                               "Musterstadt", lat, lon), actor_id=by, reason=why)
        uow.familienzentren.add(Familienzentrum("fz-1", "Familienzentrum Sonnenblume", Form.EINZEL, ("k1",), "k1",
                                                "ja-1"), actor_id=by, reason=why)
        uow.familienzentren.add(Familienzentrum("fz-2", "Familienzentrum Regenbogen", Form.EINZEL, ("k2",), "k2",
                                                "ja-1"), actor_id=by, reason=why)
        for user in USERS:
            uow.users.add(user, actor_id=by, reason=why)
        uow.contingents.add(Contingent("ja-1", KindergartenYear(2026), granted=2), actor_id=by, reason=why)
        for cert in certificates:
            uow.certificates.add(cert, actor_id=by, reason=why)
    with Session(engine) as session, session.begin():
        for user_id, (address, choice) in contacts.items():
            ContactRepository(session).set(user_id, now=at, email=address, preference=choice)


@pytest.fixture
def world(engine):
    seed_world(engine)
    return engine


# -- a real SMTP server ---------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Recorder:
    """aiosmtpd handler: accepts mail; ``replies`` are used up one per DATA (``None``: accept)."""

    def __init__(self, replies=()):
        self.replies = list(replies)
        self.received: list = []
        self.refused: list[str] = []

    async def handle_DATA(self, server, session, envelope):
        reply = self.replies.pop(0) if self.replies else None
        if reply:
            self.refused.append(reply)
            return reply
        self.received.append(envelope)
        return "250 Message accepted for delivery"

    def messages(self) -> list[email.message.EmailMessage]:
        return [email.message_from_bytes(e.content, policy=email.policy.default) for e in self.received]

    def message_ids(self) -> Counter:
        return Counter(m["Message-ID"] for m in self.messages())

    def to(self) -> Counter:
        return Counter(rcpt for e in self.received for rcpt in e.rcpt_tos)


class Server:
    def __init__(self, replies=()):
        from aiosmtpd.controller import Controller

        self.handler = Recorder(replies)
        self.port = free_port()
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port, ready_timeout=5)

    def __enter__(self) -> Server:
        self.controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self.controller.stop()

    @property
    def config(self) -> SmtpConfig:
        return smtp_config(self.port)


def smtp_config(port: int) -> SmtpConfig:
    return SmtpConfig(host="127.0.0.1", port=port, tls="none", sender=SENDER, timeout=5)


@pytest.fixture
def smtp_server():
    pytest.importorskip("aiosmtpd")
    with Server() as server:
        yield server


# -- looking at the tables ------------------------------------------------------------------------------


def outbox(engine) -> list:
    with Session(engine) as session:
        return list(session.execute(select(OutboxItemRow.__table__).order_by(OutboxItemRow.__table__.c.key)))


def reminders(engine) -> dict[str, str]:
    t = ReminderRow.__table__
    with Session(engine) as session:
        return {row.key: row.status for row in session.execute(select(t.c.key, t.c.status))}


def inbox(engine, user_id: str | None = None) -> list:
    t = InboxMessageRow.__table__
    query = select(t).order_by(t.c.user_id, t.c.reminder_key)
    if user_id:
        query = query.where(t.c.user_id == user_id)
    with Session(engine) as session:
        return list(session.execute(query))


def counts(engine) -> dict[str, int]:
    with engine.connect() as connection:
        return {table: connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
                for table in ("reminder", "outbox_item", "inbox_message")}


# -- child processes for the crash and concurrency tests ------------------------------------------------


def child_scan(url: str, port: int, now_iso: str, crash: str | None, lock: bool, barrier=None,
               result=None) -> None:
    """Run one scan in this (child) process; ``crash`` kills it hard (``os._exit``) at one point.

    * ``"body"``: after half of the message data went to the server (no end of data);
    * ``"handover"``: right after ``handed_over_at`` was committed, before the end of data;
    * ``"accepted"``: after the server accepted the mail, before ``sent`` is recorded.
    """
    from certflow.notify import SmtpTransport
    from certflow.notify import smtp as smtp_module
    from certflow.scheduler import SchedulerLock, scan

    engine = make_engine(url)

    class Crashing(SmtpTransport):
        def send(self, message, *, before_end_of_data=None):
            hook = before_end_of_data
            if crash == "handover":
                def hook():
                    before_end_of_data()
                    os._exit(77)
            if crash == "body":
                original = smtp_module.SMTPClient.send

                def half(client, data):
                    if isinstance(data, bytes) and len(data) > 200 and not data.startswith(b"."):
                        original(client, data[: len(data) // 2])
                        os._exit(77)
                    original(client, data)
                smtp_module.SMTPClient.send = half
            message_id = super().send(message, before_end_of_data=hook)
            if crash == "accepted":
                os._exit(77)
            return message_id

    held = None
    if barrier is not None:
        barrier.wait(timeout=30)
    if lock:
        held = SchedulerLock(engine, poll_seconds=0.05)
        assert held.acquire(wait=True, timeout=60)
    try:
        report = scan(engine, datetime.fromisoformat(now_iso), transport=Crashing(smtp_config(port)))
        if result is not None:
            result.put((os.getpid(), report.sent, report.queued))
    finally:
        if held is not None:
            held.release()
        engine.dispose()


def later(minutes: float = 0, **delta) -> datetime:
    return NOW + timedelta(minutes=minutes, **delta)


if __name__ == "__main__":  # pragma: no cover - used by hand: python tests/test_scheduler_support.py URL
    engine = make_engine(sys.argv[1])
    upgrade(engine)
    seed_world(engine)
    print(f"seeded {Path(sys.argv[1]).name}")
