"""The audit trail: hash chain, append-only guards, verify naming the first broken entry, no fork under concurrency."""

from __future__ import annotations

import threading
from datetime import datetime, timezone

import pytest
from click.testing import CliRunner
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from certflow.db import UnitOfWork, entries, make_engine, verify
from certflow.db.audit_log import entry_hash
from certflow.cli.database import audit
from db_support import backend, clock, db_url, engine, postgres_admin, unguard  # noqa: F401

AT = datetime(2025, 9, 1, 8, 0, tzinfo=timezone.utc)


def _write(engine, n: int, start: int = 1) -> None:
    with UnitOfWork(engine) as uow:
        for i in range(start, start + n):
            uow.record(actor_id="u-1", action="kita.update", subject_kind="kita", subject_id=f"k{i}",
                       reason=f"Änderung {i}", payload={"name": [f"alt {i}", f"neu {i}"]}, at=AT)


def _verify(engine):
    with Session(engine) as session:
        return verify(session)


def test_entries_form_a_hash_chain(engine):
    _write(engine, 3)
    _write(engine, 2, start=4)
    with Session(engine) as session:
        log = entries(session)
    assert [e.seq for e in log] == [1, 2, 3, 4, 5]
    assert log[0].prev_hash == "0" * 64
    assert all(b.prev_hash == a.hash for a, b in zip(log, log[1:], strict=False))
    first = log[0]
    assert first.hash == entry_hash(seq=1, at=AT, actor_id="u-1", action="kita.update", subject_kind="kita",
                                    subject_id="k1", from_state=None, to_state=None, reason="Änderung 1",
                                    payload='{"name":["alt 1","neu 1"]}', prev_hash="0" * 64)
    assert first.payload == {"name": ["alt 1", "neu 1"]}
    result = _verify(engine)
    assert (result.ok, result.checked, result.first_broken) == (True, 5, None)


def test_an_empty_log_verifies(engine):
    assert _verify(engine).ok


def test_rolled_back_work_leaves_no_entry(engine):
    with pytest.raises(RuntimeError):
        with UnitOfWork(engine) as uow:
            uow.record(actor_id="u-1", action="x.y", subject_kind="x", subject_id="1", reason="r")
            raise RuntimeError("boom")
    with Session(engine) as session:
        assert entries(session) == []


def test_an_entry_needs_a_reason(engine):
    with pytest.raises(ValueError, match="reason"):
        with UnitOfWork(engine) as uow:
            uow.record(actor_id="u-1", action="x.y", subject_kind="x", subject_id="1", reason="  ")


@pytest.mark.parametrize("statement", ["UPDATE audit_log SET reason = 'anders' WHERE seq = 1",
                                       "DELETE FROM audit_log WHERE seq = 1"])
def test_the_database_refuses_update_and_delete(engine, statement):
    _write(engine, 1)
    with pytest.raises(DBAPIError, match="unveränderlich"):
        with engine.begin() as connection:
            connection.execute(text(statement))
    assert _verify(engine).ok


def test_an_altered_entry_is_named(engine):
    _write(engine, 5)
    with engine.begin() as connection:
        unguard(connection, "audit_log")
        connection.execute(text("UPDATE audit_log SET reason = 'gefälscht' WHERE seq = 3"))
    result = _verify(engine)
    assert (result.ok, result.first_broken, result.checked) == (False, 3, 2)
    assert "Eintrag 3 wurde verändert" in result.problem


def test_an_altered_and_rehashed_entry_is_named(engine):
    _write(engine, 5)
    with Session(engine) as session:
        third = entries(session)[2]
    forged = entry_hash(seq=3, at=third.at, actor_id="u-evil", action=third.action, subject_kind=third.subject_kind,
                        subject_id=third.subject_id, from_state=None, to_state=None, reason=third.reason,
                        payload='{"name":["alt 3","neu 3"]}', prev_hash=third.prev_hash)
    with engine.begin() as connection:
        unguard(connection, "audit_log")
        connection.execute(text("UPDATE audit_log SET actor_id = 'u-evil', hash = :h WHERE seq = 3"), {"h": forged})
    result = _verify(engine)
    assert (result.ok, result.first_broken) == (False, 3)
    assert "Eintrag 3 wurde verändert oder ersetzt" in result.problem


def test_a_removed_entry_is_named(engine):
    _write(engine, 5)
    with engine.begin() as connection:
        unguard(connection, "audit_log")
        connection.execute(text("DELETE FROM audit_log WHERE seq = 2"))
    result = _verify(engine)
    assert (result.ok, result.first_broken) == (False, 2)
    assert "Eintrag 2 fehlt" in result.problem


def test_a_removed_tail_is_noticed_through_the_head(engine):
    _write(engine, 5)
    with engine.begin() as connection:
        unguard(connection, "audit_log")
        connection.execute(text("DELETE FROM audit_log WHERE seq >= 4"))
    result = _verify(engine)
    assert (result.ok, result.first_broken, result.checked) == (False, 4, 3)
    assert "Einträge ab 4 fehlen" in result.problem


def test_an_entry_appended_past_the_lock_is_noticed(engine):
    _write(engine, 2)
    with Session(engine) as session:
        last = entries(session)[-1]
    forged = dict(seq=3, at=AT, actor_id="u-evil", action="kita.update", subject_kind="kita", subject_id="k1",
                  from_state=None, to_state=None, reason="unbemerkt?", payload="{}", prev_hash=last.hash)
    with engine.begin() as connection:  # INSERT is allowed; the head is not moved
        connection.execute(text("INSERT INTO audit_log (seq, at, actor_id, action, subject_kind, subject_id, "
                                "reason, payload, prev_hash, hash) VALUES (:seq, :at, :actor_id, :action, "
                                ":subject_kind, :subject_id, :reason, :payload, :prev_hash, :hash)"),
                           {**forged, "hash": entry_hash(**forged), "at": AT})
    result = _verify(engine)
    assert (result.ok, result.first_broken, result.checked) == (False, 3, 3)
    assert "an der Kette vorbei" in result.problem


def test_reordered_entries_are_named(engine):
    _write(engine, 5)
    with engine.begin() as connection:
        unguard(connection, "audit_log")
        connection.execute(text("UPDATE audit_log SET seq = -1 WHERE seq = 3"))
        connection.execute(text("UPDATE audit_log SET seq = 3 WHERE seq = 4"))
        connection.execute(text("UPDATE audit_log SET seq = 4 WHERE seq = -1"))
    result = _verify(engine)
    assert (result.ok, result.first_broken) == (False, 3)
    assert "falschen Stelle" in result.problem


def test_cli_audit_verify(engine, db_url):
    _write(engine, 3)
    runner = CliRunner()
    good = runner.invoke(audit, ["verify", "--url", db_url])
    assert good.exit_code == 0 and "3 Einträge geprüft" in good.output
    with engine.begin() as connection:
        unguard(connection, "audit_log")
        connection.execute(text("UPDATE audit_log SET payload = '{}' WHERE seq = 2"))
    bad = runner.invoke(audit, ["verify", "--url", db_url])
    assert bad.exit_code == 1
    assert "beschädigt ab Eintrag 2" in bad.output


def test_concurrent_writers_do_not_fork_the_chain(db_url, engine):
    """8 threads with their own connections append at the same moment: one chain, no gaps, verify ok."""
    writers, per_writer = 8, 3
    pool = make_engine(db_url, pool_size=writers, max_overflow=0) if "postgresql" in db_url else make_engine(db_url)
    barrier = threading.Barrier(writers)
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            with UnitOfWork(pool) as uow:
                barrier.wait(timeout=10)
                for i in range(per_writer):
                    uow.record(actor_id=f"u-{n}", action="kita.update", subject_kind="kita", subject_id=f"k{n}",
                               reason=f"Schreiber {n}, Änderung {i}")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    pool.dispose()
    assert errors == []
    result = _verify(engine)
    assert (result.ok, result.checked) == (True, writers * per_writer)
