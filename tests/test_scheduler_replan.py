"""Replans on both databases: whole-Land and incremental replans leave the table a from-scratch plan would,
the after-commit handler replans only what a change touched, and racing replans send nothing twice."""

from __future__ import annotations

import sys
import threading
from collections import Counter
from datetime import date, datetime, timedelta

from db_support import db_url, engine, postgres_admin  # noqa: F401
from sqlalchemy import select, text
from sqlalchemy.orm import Session
from test_scheduler_support import ADMIN, LEAD, NOW, reminders, world  # noqa: F401

from certflow.calendar import KindergartenYear
from certflow.catalogue.model import ProcedureKind
from certflow.db import UnitOfWork
from certflow.db.tables import InboxMessageRow, OutboxItemRow, ReminderRow
from certflow.lifecycle import Contingent
from certflow.lifecycle.entities import Certificate, Procedure, ProcedureState
from certflow.lifecycle.machinery import StateChange, local_date
from certflow.scheduler import ReplanScope, load_snapshot, plan, replan, replan_scope, scan
from certflow.scheduler.scan import fingerprint
from certflow.services.common import Result
from certflow.services.runner import Application, replan_after, replan_targets

KEY_1M_ESC = "certificate:FZ-2023-007/2023-06-01|validity_1m.escalated|2027-07-14"


def table(bind) -> dict[str, tuple]:
    """The live part of the reminder table (dropped rows are history of what was once planned)."""
    r = ReminderRow.__table__
    query = select(r.c.key, r.c.status, r.c.fingerprint, r.c.payload, r.c.due, r.c.send_until,
                   r.c.familienzentrum_id, r.c.jugendamt_id).where(r.c.status != "dropped")
    with bind.connect() as connection:
        return {row.key: tuple(row[1:]) for row in connection.execute(query)}


def from_scratch(bind, now: datetime) -> dict[str, tuple]:
    """What a from-scratch plan of the current data would store (no row written)."""
    today = local_date(now)
    with Session(bind) as session:
        planned = plan(load_snapshot(session, today))
    return {r.key: ("skipped" if r.is_stale(today) else "planned", fingerprint(r), r.to_dict(), r.due, r.send_until,
                    r.familienzentrum_id, r.jugendamt_id) for r in planned}


def _open_procedure(bind, at: datetime, pid: str = "P-RE-1", state=ProcedureState.IN_DEVELOPMENT) -> None:
    procedure = Procedure(pid, "fz-1", ProcedureKind.RE, "familienzentrum-nrw@2020", KindergartenYear(2026),
                          date(2026, 1, 1), date(2027, 1, 31), state=state, version=1)
    with UnitOfWork(bind, clock=lambda: at) as uow:
        uow.procedures.add(procedure, StateChange("procedure", pid, None, state.value, "open", LEAD.id, at,
                                                  "Re-Zertifizierung begonnen"))


def test_whole_and_incremental_replans_leave_the_table_of_a_from_scratch_plan(world):
    first = replan(world, NOW)
    assert first.added == len(table(world)) > 20
    assert table(world) == from_scratch(world, NOW)
    again = replan(world, NOW)  # steady state: nothing to write
    assert (again.added, again.refreshed, again.dropped) == (0, 0, 0)

    # one procedure opened: only fz-1 is replanned, and the table is what planning from scratch gives
    at = NOW + timedelta(days=2)
    _open_procedure(world, at)
    report = replan(world, at, familienzentrum_id="fz-1")
    assert report.added > 0 and report.dropped >= 1
    assert table(world) == from_scratch(world, at)
    assert reminders(world)[KEY_1M_ESC] == "dropped"

    # one seal issued for fz-2: an incremental replan of fz-2, then a whole replan, then from scratch
    with UnitOfWork(world, clock=lambda: at) as uow:
        uow.certificates.add(Certificate("FZ-2024-011", "fz-2", date(2028, 6, 1), date(2032, 7, 31)),
                             actor_id=ADMIN.id, reason="Re-Zertifizierung bestanden")
    replan(world, at, familienzentrum_id="fz-2")
    incremental = table(world)
    assert incremental == from_scratch(world, at)
    whole = replan(world, at)
    assert (whole.added, whole.refreshed, whole.dropped) == (0, 0, 0) and table(world) == incremental

    # a day later stale rows turn skipped (a status update, no rewrite); a rewrite of the table from
    # nothing gives the same rows
    later = at + timedelta(days=40)
    replan(world, later)
    expected = from_scratch(world, later)
    assert table(world) == expected
    with world.begin() as connection:
        connection.execute(text("DELETE FROM reminder"))
    replan(world, later)
    assert table(world) == expected


def test_a_contingent_change_replans_its_jugendamt(world):
    replan(world, NOW)
    with UnitOfWork(world, clock=lambda: NOW) as uow:
        uow.contingents.add(Contingent("ja-1", KindergartenYear(2027), granted=3), actor_id=ADMIN.id,
                            reason="Erlass")
    replan(world, NOW, jugendamt_id="ja-1")
    assert table(world) == from_scratch(world, NOW)


def test_the_after_commit_handler_replans_only_what_the_change_touched(world, monkeypatch):
    replan(world, NOW)
    calls: list[dict] = []
    scan_module = sys.modules["certflow.scheduler.scan"]  # the package exports a function of that name
    real = scan_module.replan

    def spy(bind, now, rules=scan_module.REMINDER_RULES, **scope):
        calls.append(scope)
        return real(bind, now, rules, **scope)

    monkeypatch.setattr(scan_module, "replan", spy)
    app = Application(engine=world, clock=lambda: NOW + timedelta(days=2), check_schema=False)
    _open_procedure(world, NOW + timedelta(days=2))
    with UnitOfWork(world) as uow:
        procedure = uow.procedures.get("P-RE-1")
    replan_after(app, Result("procedure.registered", procedure=procedure))
    assert calls == [{"familienzentrum_id": "fz-1"}]
    assert table(world) == from_scratch(world, NOW + timedelta(days=2))  # as of the application's clock

    calls.clear()  # a saved self-assessment names its procedure: its Familienzentrum is replanned
    replan_after(app, Result("self_assessment.saved", {"procedure": "P-RE-1", "revision": 2}))
    assert calls == [{"familienzentrum_id": "fz-1"}]
    calls.clear()  # a Kita lead changed: their Familienzentrum; the certification body: everything
    replan_after(app, Result("user.changed", {"id": LEAD.id}))
    replan_after(app, Result("user.changed", {"id": "u-cert"}))
    assert calls == [{"familienzentrum_id": "fz-1"}, {}]
    calls.clear()  # reads and results without a subject replan nothing
    replan_after(app, "eine Liste")
    replan_after(app, Result("record.created", {"id": "tr-2"}))
    assert calls == []


def test_replan_targets_of_a_batch_of_seal_changes_is_the_whole_land():
    change = StateChange("certificate", "FZ-1/2023-06-01", "valid", "recertification_due", "open_recertification",
                         "u-admin", NOW, "Fristen")
    scope, procedures, users = replan_targets(Result("certificates.advanced", changes=(change,), count=1))
    assert scope.everything and procedures == users == ()
    assert replan_targets(Result("certificates.advanced", changes=(), count=0)) is None


def test_many_familienzentren_are_replanned_as_one_whole_replan(world):
    reports = replan_scope(world, NOW, ReplanScope(familienzentren={f"fz-{i}" for i in range(1, 40)}))
    assert len(reports) == 1 and reports[0].planned == len(table(world))


def test_racing_replans_and_scans_send_no_reminder_twice(world):
    """Replans of the whole Land and of one Familienzentrum race each other and two scans that hand
    reminders over: every reminder is handed over once, stays handed over, and each person gets it once."""
    at = NOW + timedelta(days=1)
    barrier = threading.Barrier(6)
    errors: list[BaseException] = []

    def run(job):
        try:
            barrier.wait(timeout=30)
            job()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    jobs = [lambda: replan(world, at), lambda: replan(world, at, familienzentrum_id="fz-1"),
            lambda: replan(world, at, jugendamt_id="ja-1"), lambda: replan(world, at, familienzentrum_id="fz-2"),
            lambda: scan(world, at), lambda: scan(world, at)]
    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    queued = {k for k, status in reminders(world).items() if status == "queued"}
    assert "certificate:FZ-2023-007/2023-06-01|validity_1m|2027-06-30" in queued
    replan(world, at)  # a later replan leaves handed-over rows alone
    assert {k for k, status in reminders(world).items() if status == "queued"} == queued
    assert scan(world, at).queued == 0  # nothing left to hand over a second time
    with Session(world) as session:
        messages = session.execute(select(InboxMessageRow.__table__.c.user_id,
                                          InboxMessageRow.__table__.c.reminder_key)
                                   .where(InboxMessageRow.__table__.c.kind == "reminder")).all()
        mailed = session.execute(select(OutboxItemRow.__table__.c.user_id,
                                        OutboxItemRow.__table__.c.reminder_keys)).all()
    assert max(Counter(messages).values()) == 1
    assert {key for _, key in messages} <= queued  # only what was handed over reached an inbox (fz-2 has no
    # Kita lead: its reminders became notices to the administration)
    per_person = Counter((user, key) for user, keys in mailed for key in keys)
    assert per_person and max(per_person.values()) == 1
