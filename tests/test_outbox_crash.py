"""Exactly-once under crashes and under two scheduler processes, against a real SMTP server.

The scans that crash run in child processes killed hard (``os._exit``: no ``finally``,
no rollback, like SIGKILL or a power cut) at three points of one delivery:

* in the middle of the message data, and right after ``handed_over_at`` was committed
  but before the SMTP end of data: the server never completes the transaction, the
  rerun (after the lease) sends the mail, and every Message-ID arrives exactly once;
* after the server accepted the mail and before ``sent`` was recorded: the one window
  no protocol over SMTP can close. The rerun cannot know whether the mail arrived and
  sends it again, with the same Message-ID; the row says ``uncertain``. The test shows
  that this is the only duplicate and that it is recognisable.

A database error while recording ``sent`` (the mail is out) is retried in-process: no
duplicate. Two scheduler processes started at the same moment on the same database
(with the advisory lock, and without it, relying on the outbox's conditional claims alone)
deliver every mail once.
"""

from __future__ import annotations

import multiprocessing
from datetime import timedelta

import pytest
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from test_scheduler_support import NOW, Server, child_scan, later, outbox, seed_world, world  # noqa: F401

from certflow.db import audit_log
from certflow.db.repositories.reminders import OutboxRepository
from certflow.notify import SmtpTransport
from certflow.scheduler import LEASE, scan
from db_support import backend, db_url, engine, postgres_admin  # noqa: F401

pytest.importorskip("aiosmtpd")

FORK = multiprocessing.get_context("fork")
ITEMS = 3  # immediate mails on NOW: Anna, and two escalations to Jörg
AFTER_LEASE = NOW + LEASE + timedelta(minutes=1)


def run_child(engine, url, port, crash=None, *, lock=False, now=NOW):
    engine.dispose()  # no pooled connection may be inherited by the child
    child = FORK.Process(target=child_scan, args=(url, port, now.isoformat(), crash, lock))
    child.start()
    child.join(60)
    return child.exitcode


def audit_sent(engine):
    with Session(engine) as session:
        return [e for e in audit_log.entries(session, "outbox_item") if e.action == "outbox_item.sent"]


@pytest.mark.parametrize("crash", ["body", "handover"])
def test_a_crash_before_the_end_of_data_delivers_nothing_and_the_rerun_sends_once(world, db_url, crash):
    with Server() as server:
        assert run_child(world, db_url, server.port, crash) == 77
        assert server.handler.received == []  # the server dropped the unterminated transaction
        (claimed,) = [r for r in outbox(world) if r.status == "sending"]
        assert (claimed.handed_over_at is not None) == (crash == "handover")
        # Before the lease runs out the item stays with the dead scan; the others go out.
        assert scan(world, later(1), smtp=server.config).sent == ITEMS - 1
        report = scan(world, AFTER_LEASE, smtp=server.config)
        assert report.recovered == 1 and report.sent == 1
        ids = server.handler.message_ids()
        assert len(ids) == ITEMS and set(ids.values()) == {1}
    assert {r.status for r in outbox(world)} == {"sent"}
    assert len(audit_sent(world)) == ITEMS


def test_a_crash_after_the_server_accepted_is_the_one_window_and_gives_one_recognisable_duplicate(world, db_url):
    with Server() as server:
        assert run_child(world, db_url, server.port, "accepted") == 77
        (first,) = server.handler.messages()
        (claimed,) = [r for r in outbox(world) if r.status == "sending"]
        assert claimed.handed_over_at is not None and claimed.message_id is None
        report = scan(world, AFTER_LEASE, smtp=server.config)
        assert (report.recovered, report.uncertain, report.sent) == (1, 1, ITEMS)
        ids = server.handler.message_ids()
        assert ids[first["Message-ID"]] == 2  # the same Message-ID: clients and the audit see a duplicate
        assert sum(ids.values()) == ITEMS + 1 and len(ids) == ITEMS
    row = next(r for r in outbox(world) if r.id == claimed.id)
    assert row.status == "sent" and row.uncertain and "ungewiss" in row.last_error
    assert row.message_id == first["Message-ID"]
    (entry,) = [e for e in audit_sent(world) if e.subject_id == str(row.id)]
    assert entry.payload["uncertain"] is True


def test_an_interrupt_or_a_database_error_leaves_nothing_half_done(world, monkeypatch):
    class Interrupted(SmtpTransport):
        def send(self, message, *, before_end_of_data=None):
            raise KeyboardInterrupt

    original = OutboxRepository.mark_sent
    failures = []

    def flaky(self, *args, **kwargs):  # the first "sent" cannot be recorded: the mail is out already
        if not failures:
            failures.append(1)
            raise OperationalError("UPDATE outbox_item", {}, Exception("server closed the connection unexpectedly"))
        return original(self, *args, **kwargs)

    with Server() as server:
        with pytest.raises(KeyboardInterrupt):  # an exception never cuts a delivery in half
            scan(world, NOW, transport=Interrupted(server.config))
        assert [r.status for r in outbox(world)].count("sending") == 1 and server.handler.received == []
        monkeypatch.setattr(OutboxRepository, "mark_sent", flaky)
        report = scan(world, AFTER_LEASE, smtp=server.config)
        assert failures and report.recovered == 1 and report.sent == ITEMS  # recorded on the second try
        scan(world, AFTER_LEASE + LEASE + timedelta(minutes=1), smtp=server.config)
        assert len(server.handler.received) == ITEMS and set(server.handler.message_ids().values()) == {1}
    assert {(r.status, r.uncertain) for r in outbox(world)} == {("sent", False)}


@pytest.mark.parametrize("lock", [True, False], ids=["advisory-lock", "claims-only"])
def test_two_scheduler_processes_at_the_same_moment_deliver_each_mail_once(engine, db_url, backend, lock):
    if backend != "postgresql" and not lock:
        pytest.skip("without the lock, SQLite serialises the two processes anyway (BEGIN IMMEDIATE)")
    seed_world(engine)
    engine.dispose()
    barrier, results = FORK.Barrier(2), FORK.Queue()
    with Server() as server:
        children = [FORK.Process(target=child_scan, args=(db_url, server.port, NOW.isoformat(), None, lock, barrier,
                                                          results)) for _ in range(2)]
        for child in children:
            child.start()
        for child in children:
            child.join(60)
        assert [child.exitcode for child in children] == [0, 0]
        reports = [results.get(timeout=5) for _ in children]
        print("reports (pid, sent, queued):", reports)
        assert sum(sent for _, sent, _ in reports) == ITEMS
        if lock:  # the second process waited for the first and found nothing left to do
            assert sorted(sent for _, sent, _ in reports) == [0, ITEMS]
        assert sum(queued for _, _, queued in reports) == 4  # each reminder handed over by one of them
        ids = server.handler.message_ids()
        assert len(ids) == ITEMS and set(ids.values()) == {1}
    assert {r.status for r in outbox(engine)} == {"sent"} and len(outbox(engine)) == ITEMS
    assert len(audit_sent(engine)) == ITEMS
