"""Delivery through the outbox to a real SMTP server on 127.0.0.1 (aiosmtpd): once, retried, failed, digests."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy.orm import Session
from test_scheduler_support import (
    COORD, LEAD, LEAD2, NOW, Server, inbox, later, outbox, seed_world, world,  # noqa: F401
)

from certflow.db import UnitOfWork, audit_log
from certflow.db.repositories.reminders import ContactRepository, OutboxRepository
from certflow.lifecycle import Role, User
from certflow.notify import message_id
from certflow.scheduler import scan
from db_support import backend, db_url, engine, postgres_admin  # noqa: F401

pytest.importorskip("aiosmtpd")

KEY_1M = "certificate:FZ-2023-007/2023-06-01|validity_1m|2027-06-30"


def sent_entries(engine, action="outbox_item.sent"):
    with Session(engine) as session:
        return [e for e in audit_log.entries(session, "outbox_item") if e.action == action]


def test_each_mail_is_delivered_once_with_its_stable_message_id(world):
    with Server() as server:
        first = scan(world, NOW, smtp=server.config)
        for minutes in (1, 2, 30):
            scan(world, later(minutes), smtp=server.config)
        ids = server.handler.message_ids()
        assert first.sent == 3 and sum(ids.values()) == 3 and set(ids.values()) == {1}
        anna = [m for m in server.handler.messages() if m["To"].addresses[0].addr_spec == "anna.mueller@kita.example"]
    assert anna[0]["Message-ID"] == message_id(f"{KEY_1M}#{LEAD.id}", "certflow.example")
    assert anna[0]["X-Certflow-Reminder"] == KEY_1M
    rows = {row.key: row for row in outbox(world)}
    assert rows[f"{KEY_1M}#{LEAD.id}"].message_id == anna[0]["Message-ID"]
    assert {(r.status, r.attempts, r.uncertain) for r in rows.values()} == {("sent", 1, False)}
    entries = sent_entries(world)
    assert len(entries) == 3 and {e.payload["message_id"] for e in entries} == set(ids)
    with Session(world) as session:
        assert audit_log.verify(session).ok


def test_a_4xx_is_retried_with_back_off_and_the_error_stays_visible(world):
    with Server(replies=["451 4.3.0 Bitte später erneut versuchen"]) as server:
        report = scan(world, NOW, smtp=server.config)
        assert (report.sent, report.retrying) == (2, 1)
        (waiting,) = [r for r in outbox(world) if r.status == "pending"]
        assert waiting.attempts == 1 and "vorübergehend abgelehnt" in waiting.last_error
        assert "451" in waiting.last_error
        assert (waiting.next_attempt_at - NOW).total_seconds() == pytest.approx(60, abs=5)  # back-off: 1 min
        assert scan(world, later(0.5), smtp=server.config).sent == 0  # not due yet
        assert scan(world, later(2), smtp=server.config).sent == 1
        assert sum(server.handler.message_ids().values()) == 3 and set(server.handler.message_ids().values()) == {1}
    row = next(r for r in outbox(world) if r.key == waiting.key)
    assert (row.status, row.attempts) == ("sent", 2)


def test_a_5xx_fails_permanently_stays_visible_and_can_be_retried_by_hand(world):
    with Server(replies=["550 5.1.1 Mailbox unbekannt"]) as server:
        report = scan(world, NOW, smtp=server.config)
        assert (report.sent, report.failed) == (2, 1)
        (failed,) = [r for r in outbox(world) if r.status == "failed"]
        assert failed.attempts == 1 and "550" in failed.last_error and "abgelehnt" in failed.last_error
        assert scan(world, later(days=1), smtp=server.config).sent <= 1  # Ben's digest only; never the failed one
        assert next(r for r in outbox(world) if r.key == failed.key).status == "failed"
        (entry,) = sent_entries(world, "outbox_item.failed")
        assert entry.payload["key"] == failed.key and "550" in entry.reason
        with Session(world) as session, session.begin():
            assert OutboxRepository(session).retry(failed.key, later(days=1, minutes=5))
        scan(world, later(days=1, minutes=6), smtp=server.config)
    assert next(r for r in outbox(world) if r.key == failed.key).status == "sent"


def test_daily_and_weekly_digests(world):
    # a weekly reader for fz-2, whose opening reminder is not urgent; the coordinator reads weekly too
    with UnitOfWork(world, clock=lambda: NOW) as uow:
        uow.users.add(User("u-lead3", "Carla Neu", Role.KITA_LEAD, familienzentrum_id="fz-2"), actor_id="u-admin",
                      reason="neue Leitung")
    with Session(world) as session, session.begin():
        ContactRepository(session).set("u-lead3", now=NOW, email="carla@kita.example", preference="weekly")
        ContactRepository(session).set(COORD.id, now=NOW, email="joerg.weiss@jugendamt.example",
                                       preference="weekly")
    with Server() as server:
        scan(world, NOW, smtp=server.config)  # Wednesday 08:00: after today's 07:00 slot
        assert server.handler.to() == {"anna.mueller@kita.example": 1}
        thursday = datetime(2027, 7, 1, 5, 30, tzinfo=UTC)  # 07:30 in NRW
        scan(world, thursday, smtp=server.config)
        scan(world, thursday.replace(hour=9), smtp=server.config)  # same slot: nothing twice
        digests = {m["To"].addresses[0].addr_spec: m for m in server.handler.messages() if m["X-Certflow-Digest"]}
        # Ben reads daily; Jörg weekly, but escalations are urgent and go with the daily slot
        assert set(digests) == {"ben.schulz@kita.example", "joerg.weiss@jugendamt.example"}
        ben, joerg = digests["ben.schulz@kita.example"], digests["joerg.weiss@jugendamt.example"]
        assert ben["Subject"] == "Gütesiegel Familienzentrum: 1 Erinnerung vom 01.07.2027"
        assert ben["X-Certflow-Digest"] == f"digest:daily:{LEAD2.id}:2027-07-01"
        assert joerg["Subject"].startswith("Gütesiegel Familienzentrum: 2 Erinnerungen")
        assert "carla@kita.example" not in server.handler.to()
        monday = datetime(2027, 7, 5, 5, 30, tzinfo=UTC)
        scan(world, monday, smtp=server.config)
        scan(world, monday.replace(hour=10), smtp=server.config)
        (weekly,) = [m for m in server.handler.messages() if m["To"].addresses[0].addr_spec == "carla@kita.example"]
        assert weekly["Subject"] == "Gütesiegel Familienzentrum: 1 Erinnerung der Woche 27/2027"
        assert set(server.handler.message_ids().values()) == {1}
        assert sum(server.handler.to().values()) == 4
    assert {m.delivery_key for m in inbox(world, "u-lead3")} == {"digest:weekly:u-lead3:2027-W27"}


def test_someone_without_an_address_gets_the_inbox_only(engine):
    seed_world(engine, contacts={})
    with Server() as server:
        report = scan(engine, NOW, smtp=server.config)
        assert report.inbox == 4 and report.deliveries == 0 and server.handler.received == []
    assert outbox(engine) == []


def test_without_an_smtp_server_through_the_in_memory_twin(world):
    """The outbox against the transport seam alone: a connection lost after the end of data is recorded as
    uncertain and sent again with the same Message-ID; a permanent refusal fails visibly."""
    from certflow.notify import MemoryTransport

    transport = MemoryTransport()
    transport.fail_next(after_end_of_data=True)          # the first mail: outcome unknown
    transport.fail_next(retryable=False, code=550)       # the second: refused for good
    report = scan(world, NOW, transport=transport)
    assert (report.sent, report.retrying, report.failed) == (1, 1, 1)
    rows = {r.key: r for r in outbox(world)}
    (uncertain,) = [r for r in rows.values() if r.status == "pending"]
    assert uncertain.uncertain and "ungewiss" in uncertain.last_error and uncertain.attempts == 1
    (failed,) = [r for r in rows.values() if r.status == "failed"]
    assert "550" in failed.last_error
    (lost,) = transport.uncertain
    assert scan(world, later(2), transport=transport).sent == 1  # after the back-off: once more
    assert transport.message_ids()[lost["Message-ID"]] == 1 and len(transport.sent) == 2
    row = next(r for r in outbox(world) if r.key == uncertain.key)
    assert (row.status, row.uncertain, row.message_id) == ("sent", True, lost["Message-ID"])
    (entry,) = [e for e in sent_entries(world) if e.payload["key"] == uncertain.key]
    assert entry.payload["uncertain"] is True


def test_a_one_time_link_goes_out_by_mail_once(world):
    """A first-login link (services.accounts) is a mail the application prepared: the scan sends its text,
    with the link, once; before this it failed with "Erinnerung fehlt"."""
    from certflow import services
    from certflow.notify import MemoryTransport

    with UnitOfWork(world, clock=lambda: NOW) as uow:
        issued = services.issue_one_time_link(uow, "u-admin", LEAD.id, "first_login",
                                              base_url="http://127.0.0.1:8000")
    transport = MemoryTransport()
    report = scan(world, NOW, transport=transport)
    assert report.failed == 0
    mails = [m for m in transport.sent if m["To"].addresses[0].addr_spec == issued.email]
    links = [m for m in mails if "http://127.0.0.1:8000/" in m.get_body(("plain",)).get_content()]
    assert len(links) == 1
    row = next(r for r in outbox(world) if r.key == issued.outbox_key)
    assert row.status == "sent"
    assert scan(world, later(2), transport=transport).sent == 0  # never twice
