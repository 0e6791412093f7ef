"""The reminder use cases (certflow.services.reminders) on both databases: each allowed, each scope refused.

The world of tests/test_scheduler_support.py (Jugendamt ja-1 with fz-1 and fz-2), widened by a second
Jugendamt (ja-2: fz-3, its coordinator and Kita lead, a seal ending on the same day as fz-1's) and two
running procedures of fz-1, one assigned to the auditor (visit on 07.07.2027), one not. On NOW
(30.06.2027) fz-1's and fz-3's last ladder step is due, and the auditor's visit is a week away.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from icalendar import Calendar
from sqlalchemy.orm import Session
from test_scheduler_support import (  # noqa: F401
    ADMIN, AUDITOR, CERTIFIER, COORD, LEAD, LEAD2, NOW, counts, inbox, outbox, reminders, seed_world, world,
)

from certflow import services
from certflow.calendar import KindergartenYear
from certflow.catalogue.model import Form, ProcedureKind
from certflow.db import UnitOfWork, audit_log
from certflow.errors import InputError
from certflow.lifecycle import Familienzentrum, Jugendamt, Kita, Procedure, Refused, Role, User
from certflow.lifecycle.entities import Certificate, CertificateState, ProcedureState
from certflow.lifecycle.machinery import StateChange
from certflow.notify import MemoryTransport
from certflow.scheduler import SchedulerLock, scan
from certflow.services.runner import Application, ErrorKind, UseCaseError
from certflow.settings import Settings
from db_support import backend, db_url, engine, postgres_admin  # noqa: F401

DAY = date(2027, 6, 30)
COORD2 = User("u-coord2", "Nora Nachbar", Role.COORDINATOR, jugendamt_id="ja-2")
LEAD3 = User("u-lead3", "Lea Linde", Role.KITA_LEAD, familienzentrum_id="fz-3")
KEY_1M = "certificate:FZ-2023-007/2023-06-01|validity_1m|2027-06-30"
KEY_FZ3 = "certificate:FZ-2023-020/2023-06-01|validity_1m|2027-06-30"
KEY_AUDIT = "procedure:P-A|audit_upcoming|2027-06-30"
KEY_FZ3_ESC = "certificate:FZ-2023-020/2023-06-01|validity_3m.escalated|2027-05-14"  # nothing moved at fz-3
NO_ACCESS = "Kein Zugriff"


def widen(engine) -> None:
    at = datetime(2023, 6, 1, 8, 0, tzinfo=UTC)
    by, why = ADMIN.id, "Testdaten"
    with UnitOfWork(engine, clock=lambda: at) as uow:
        uow.jugendaemter.add(Jugendamt("ja-2", "Jugendamt Nachbarstadt"), actor_id=by, reason=why)
        uow.kitas.add(Kita("k3", "Kita Muster 3", "tr-1", "ja-2", "Musterweg 3", "54321", "Nachbarstadt", 51.6, 7.6),
                      actor_id=by, reason=why)
        uow.familienzentren.add(Familienzentrum("fz-3", "Familienzentrum Linde", Form.EINZEL, ("k3",), "k3", "ja-2"),
                                actor_id=by, reason=why)
        for user in (COORD2, LEAD3):
            uow.users.add(user, actor_id=by, reason=why)
        uow.certificates.add(Certificate("FZ-2023-020", "fz-3", date(2023, 6, 1), date(2027, 7, 31),
                                         CertificateState.VALID), actor_id=by, reason=why)
    started = datetime(2027, 6, 1, 8, 0, tzinfo=UTC)
    with UnitOfWork(engine, clock=lambda: started) as uow:
        # one open procedure per Familienzentrum (a unique index since migration 0006)
        for pid, fz_id, state, auditor, visit in (
                ("P-A", "fz-1", ProcedureState.AUDIT_SCHEDULED, AUDITOR.id, date(2027, 7, 7)),
                ("P-C", "fz-2", ProcedureState.IN_DEVELOPMENT, None, None)):
            procedure = Procedure(pid, fz_id, ProcedureKind.RE, "familienzentrum-nrw@2020", KindergartenYear(2026),
                                  date(2026, 1, 1), date(2027, 1, 31), state=state, auditor_id=auditor, version=1,
                                  planned_audit_date=visit)
            uow.procedures.add(procedure, StateChange("procedure", pid, None, state.value, "open", ADMIN.id, started,
                                                      "Testdaten"))


@pytest.fixture
def wide(world):
    widen(world)
    return world


def do(engine, use_case, *args, at: datetime = NOW, **kwargs):
    with UnitOfWork(engine, clock=lambda: at) as uow:
        return use_case(uow, *args, **kwargs)


def refused(engine, use_case, *args, match: str, **kwargs) -> str:
    with pytest.raises(Refused, match=match) as info:
        do(engine, use_case, *args, **kwargs)
    return info.value.message


def audit_count(engine) -> int:
    with Session(engine) as session:
        return audit_log.count(session)


def app(engine, **settings) -> Application:
    return Application(Settings(**settings), engine=engine)


# -- the plan preview -----------------------------------------------------------------------------------


def test_the_admin_sees_every_reminder_due_and_its_recipients(wide):
    before = counts(wide), audit_count(wide)
    preview = do(wide, services.plan_preview, ADMIN.id, DAY)
    items = {i.reminder.key: i for i in preview.reminders}
    assert {KEY_1M, KEY_FZ3, KEY_AUDIT} <= set(items)
    assert {i.reminder.jugendamt_id for i in preview.reminders} == {"ja-1", "ja-2"}
    people = {(r.name, r.preference.value if r.preference else None) for r in items[KEY_1M].recipients}
    assert people == {("Anna Müller", "immediate"), ("Ben Schulz", "daily")}
    assert {(r.user_id, r.role) for r in items[KEY_AUDIT].recipients} >= {(AUDITOR.id, Role.AUDITOR)}
    fz2 = [i for i in preview.reminders if i.unresolved]
    assert fz2 and fz2[0].unresolved[0].scope == "familienzentrum:fz-2"
    assert preview.would_send == len(preview.reminders) and preview.handed_over == 0
    assert (counts(wide), audit_count(wide)) == before  # a preview writes nothing
    only_ja2 = do(wide, services.plan_preview, ADMIN.id, DAY, jugendamt_id="ja-2")
    assert {i.reminder.key for i in only_ja2.reminders} == {KEY_FZ3, KEY_FZ3_ESC}
    refused(wide, services.plan_preview, ADMIN.id, DAY, jugendamt_id="ja-9", match="Jugendamt ja-9 gibt es nicht")


def test_after_the_scan_the_preview_shows_what_was_handed_over_and_the_mails(wide):
    transport = MemoryTransport()
    scan(wide, NOW, transport=transport)
    preview = do(wide, services.plan_preview, ADMIN.id, DAY)
    assert preview.would_send == 0 and preview.handed_over == len(preview.reminders) > 0
    item = next(i for i in preview.reminders if i.reminder.key == KEY_1M)
    assert item.handed_over and item.mail_states == (("sent", 1),)  # Anna's mail; Ben's digest waits
    later = do(wide, services.plan_preview, ADMIN.id, DAY + timedelta(days=1))
    assert KEY_1M not in {i.reminder.key for i in later.reminders}  # handed over before that day: done


def test_a_coordinator_sees_only_their_own_jugendamt(wide):
    preview = do(wide, services.plan_preview, COORD.id, DAY)
    assert preview.jugendamt_id == "ja-1" and {i.reminder.jugendamt_id for i in preview.reminders} == {"ja-1"}
    assert KEY_FZ3 not in {i.reminder.key for i in preview.reminders}
    audit = next(i for i in preview.reminders if i.reminder.key == KEY_AUDIT)
    by_role = {r.role: r for r in audit.recipients}
    assert by_role[Role.AUDITOR].user_id is None and by_role[Role.AUDITOR].name is None  # outside: by role only
    assert {r.name for r in audit.recipients if r.role is Role.KITA_LEAD} == {"Anna Müller", "Ben Schulz"}
    other = do(wide, services.plan_preview, COORD2.id, DAY)
    assert {i.reminder.key for i in other.reminders} == {KEY_FZ3, KEY_FZ3_ESC}
    message = refused(wide, services.plan_preview, COORD.id, DAY, jugendamt_id="ja-2", match=NO_ACCESS)
    assert "Nachbarstadt" not in message
    ghost = refused(wide, services.plan_preview, COORD.id, DAY, jugendamt_id="ja-9", match=NO_ACCESS)
    assert ghost == message.replace("ja-2", "ja-9")  # an unknown Jugendamt reads the same: nothing revealed


@pytest.mark.parametrize("actor", [LEAD.id, AUDITOR.id, CERTIFIER.id])
def test_others_may_not_preview_reminders(wide, actor):
    refused(wide, services.plan_preview, actor, DAY, match="Die Erinnerungsvorschau ist der Rolle")
    refused(wide, services.plan_preview, "u-nobody", DAY, match="Unbekannter Benutzer")


# -- running the scan and the scheduler -----------------------------------------------------------------


def test_the_admin_catches_up_through_the_transport(wide):
    transport = MemoryTransport()
    done = services.catch_up(app(wide), ADMIN.id, NOW, transport=transport)
    assert done.mail and done.report.queued >= 3 and done.report.sent == len(transport.sent) > 0
    assert transport.to()["anna.mueller@kita.example"] == 2  # her seal and the visit
    assert reminders(wide)[KEY_1M] == "queued"
    without = services.catch_up(app(wide), ADMIN.id, NOW + timedelta(days=1))  # the settings name no server
    assert not without.mail and without.report.sent == 0


@pytest.mark.parametrize("actor", [COORD.id, LEAD.id, CERTIFIER.id])
def test_only_the_admin_may_send_and_is_refused_before_anything_happens(wide, actor):
    transport = MemoryTransport()
    before = counts(wide), audit_count(wide)
    with pytest.raises(UseCaseError) as info:
        services.catch_up(app(wide), actor, NOW, transport=transport)
    assert info.value.kind is ErrorKind.REFUSED and "Erinnerungen versenden ist der Rolle" in info.value.message
    with pytest.raises(UseCaseError) as info:
        services.scheduler_runner(app(wide), actor, transport=transport)
    assert info.value.kind is ErrorKind.REFUSED and "Den Scheduler starten ist der Rolle" in info.value.message
    assert transport.sent == [] and (counts(wide), audit_count(wide)) == before


def test_a_broken_mail_configuration_is_bad_input(wide):
    with pytest.raises(UseCaseError) as info:
        services.catch_up(app(wide, smtp={"HOST": "mail.example"}), ADMIN.id, NOW)
    assert info.value.kind is ErrorKind.INPUT and "CERTFLOW_SMTP_FROM" in "\n".join(info.value.lines())
    assert counts(wide)["reminder"] == 0


def test_a_running_scheduler_makes_the_catch_up_wait_or_give_up(wide):
    holder = SchedulerLock(wide)
    assert holder.acquire(wait=False)
    try:
        with pytest.raises(services.SchedulerBusy) as info:
            services.catch_up(app(wide), ADMIN.id, NOW, transport=MemoryTransport())
        assert info.value.description == holder.description
        runner = services.scheduler_runner(app(wide), ADMIN.id, transport=MemoryTransport())
        assert runner.once() is None  # --once gives up
    finally:
        holder.release()
    assert counts(wide)["reminder"] == 0
    transport = MemoryTransport()
    runner = services.scheduler_runner(app(wide), ADMIN.id, interval=60, transport=transport)
    report = runner.once()
    assert report is not None and report.sent == len(transport.sent) > 0 and not runner.lock.held


# -- the outbox and retries -----------------------------------------------------------------------------


def _one_failed(engine) -> str:
    transport = MemoryTransport()
    transport.fail_next(retryable=False, code=550)
    scan(engine, NOW, transport=transport)
    (failed,) = [r for r in outbox(engine) if r.status == "failed"]
    return failed.key


def test_the_admin_lists_the_outbox(wide):
    key = _one_failed(wide)
    listing = do(wide, services.outbox_listing, ADMIN.id)
    assert key in {e.key for e in listing.entries} and listing.totals["failed"] == 1
    failed = do(wide, services.outbox_listing, ADMIN.id, status="failed")
    assert [(e.key, e.attempts) for e in failed.entries] == [(key, 1)] and "550" in failed.entries[0].last_error
    assert len(do(wide, services.outbox_listing, ADMIN.id, limit=1).entries) == 1
    with pytest.raises(InputError, match="erlaubt: pending"):
        do(wide, services.outbox_listing, ADMIN.id, status="lost")


@pytest.mark.parametrize("actor", [COORD.id, LEAD.id, CERTIFIER.id, AUDITOR.id])
def test_the_outbox_and_retries_are_for_the_admin_only(wide, actor):
    key = _one_failed(wide)
    refused(wide, services.outbox_listing, actor, match="Den Postausgang ansehen ist der Rolle")
    before = audit_count(wide)
    refused(wide, services.retry_mail, actor, key, "nochmal", match="Erneut versenden ist der Rolle")
    assert next(r for r in outbox(wide) if r.key == key).status == "failed" and audit_count(wide) == before


def test_a_retry_puts_a_failed_mail_back_and_is_audited(wide):
    key = _one_failed(wide)
    refused(wide, services.retry_mail, ADMIN.id, key, " ", match="bitte einen Grund angeben")
    entry = do(wide, services.retry_mail, ADMIN.id, key, "Adresse korrigiert")
    assert (entry.key, entry.status, entry.attempts) == (key, "pending", 0)
    row = next(r for r in outbox(wide) if r.key == key)
    assert row.status == "pending" and row.next_attempt_at == NOW
    with Session(wide) as session:
        (logged,) = [e for e in audit_log.entries(session, "outbox_item") if e.action == "outbox_item.retried"]
    assert (logged.actor_id, logged.reason, logged.payload["key"]) == (ADMIN.id, "Adresse korrigiert", key)
    refused(wide, services.retry_mail, ADMIN.id, key, "nochmal", match="Keine fehlgeschlagene E-Mail")  # not failed
    refused(wide, services.retry_mail, ADMIN.id, "gibt-es-nicht", "x", match="Keine fehlgeschlagene E-Mail")


# -- contacts -------------------------------------------------------------------------------------------


def test_a_person_sees_and_changes_their_own_contact(wide):
    own = do(wide, services.contact_of, LEAD.id)
    assert (own.user_id, own.email, own.preference.value) == (LEAD.id, "anna.mueller@kita.example", "immediate")
    changed = do(wide, services.set_contact, LEAD.id, None, "lieber gesammelt", preference="weekly")
    assert (changed.email, changed.preference.value) == ("anna.mueller@kita.example", "weekly")
    cleared = do(wide, services.set_contact, LEAD.id, LEAD.id, "nur noch in certflow", email="")
    assert cleared.email is None and cleared.preference.value == "weekly"
    with Session(wide) as session:
        entries = [e for e in audit_log.entries(session, "user_contact") if e.subject_id == LEAD.id]
    assert [(e.actor_id, e.payload["email"], e.payload["preference"]) for e in entries] == [
        (LEAD.id, "unverändert", "weekly"), (LEAD.id, "entfernt", "weekly")]
    assert all("anna" not in str(e.payload) for e in entries)  # no address in the append-only trail


def test_only_the_admin_changes_someone_elses_contact(wide):
    before = audit_count(wide)
    refused(wide, services.contact_of, LEAD.id, LEAD2.id, match=f"{NO_ACCESS}: Anna Müller .* nur die eigenen")
    refused(wide, services.set_contact, LEAD.id, LEAD2.id, "fremd", email="x@example.org", match=NO_ACCESS)
    refused(wide, services.set_contact, COORD.id, LEAD.id, "fremd", preference="daily", match=NO_ACCESS)
    assert do(wide, services.contact_of, ADMIN.id, LEAD2.id).email == "ben.schulz@kita.example"
    assert audit_count(wide) == before
    changed = do(wide, services.set_contact, ADMIN.id, LEAD2.id, "neue Adresse", email="ben@kita.example")
    assert changed.email == "ben@kita.example" and changed.preference.value == "daily"
    new = do(wide, services.set_contact, ADMIN.id, LEAD3.id, "erste Adresse", email="lea@kita.example")
    assert (new.email, new.preference.value) == ("lea@kita.example", "immediate")
    refused(wide, services.contact_of, ADMIN.id, "u-nobody", match="Benutzer u-nobody gibt es nicht")


def test_bad_contact_input_is_refused_as_input(wide):
    with pytest.raises(InputError, match="keine E-Mail-Adresse"):
        do(wide, services.set_contact, LEAD.id, None, "x", email="anna at kita")
    with pytest.raises(InputError, match="erlaubt: immediate, daily, weekly"):
        do(wide, services.set_contact, LEAD.id, None, "x", preference="monthly")
    with pytest.raises(InputError, match="nichts zu ändern"):
        do(wide, services.set_contact, LEAD.id, None, "x")
    refused(wide, services.set_contact, LEAD.id, None, "", preference="daily", match="bitte einen Grund")


# -- the inbox ------------------------------------------------------------------------------------------


def test_one_reads_and_marks_ones_own_inbox(wide):
    scan(wide, NOW)
    view = do(wide, services.read_inbox, LEAD.id, mark_read=True, at=NOW + timedelta(hours=1))
    assert view.owner.id == LEAD.id and view.marked_read == len(view.messages) == 2  # her seal and the visit
    assert {m.reminder_key for m in view.messages} == {KEY_1M, KEY_AUDIT}
    assert all(m.read_at is None for m in view.messages)  # as they were before this call
    assert all(m.read_at is not None for m in inbox(wide, LEAD.id))
    assert all(m.read_at is None for m in inbox(wide, LEAD2.id))  # Ben's copies are his
    assert do(wide, services.read_inbox, LEAD.id, unread_only=True).messages == ()
    notices = do(wide, services.read_inbox, ADMIN.id)
    assert [m.kind for m in notices.messages] == ["notice"]


def test_nobody_reads_or_marks_someone_elses_inbox(wide):
    scan(wide, NOW)
    for actor, owner in ((LEAD.id, LEAD2.id), (ADMIN.id, LEAD.id), (COORD.id, LEAD.id)):
        refused(wide, services.read_inbox, actor, owner_id=owner, mark_read=True,
                match="darf nur den eigenen Posteingang lesen")
    bens = [m.id for m in inbox(wide, LEAD2.id)]
    annas = [m.id for m in inbox(wide, LEAD.id)]
    refused(wide, services.mark_read, LEAD.id, [annas[0], bens[0]], match=f"Keine Nachricht .*: {bens[0]}$")
    assert all(m.read_at is None for m in inbox(wide))  # refused as a whole: nothing marked
    assert do(wide, services.mark_read, LEAD.id, annas) == len(annas)
    assert do(wide, services.mark_read, LEAD.id, annas) == 0  # read already
    assert all(m.read_at is None for m in inbox(wide, LEAD2.id))


# -- calendar feeds -------------------------------------------------------------------------------------


def _events(feed) -> set[str]:
    return {str(e["SUMMARY"]) for e in Calendar.from_ical(feed.body).walk("VEVENT")}


def test_jugendamt_feeds_for_the_admin_the_body_and_its_own_coordinator(wide):
    for actor in (ADMIN.id, CERTIFIER.id, COORD.id):
        feed = do(wide, services.calendar_feed, actor, jugendamt_id="ja-1", day=DAY)
        assert feed.name == "Jugendamt Musterstadt" and feed.events == len(_events(feed)) > 0
        assert "Gültigkeit des Gütesiegels: Familienzentrum Sonnenblume" in _events(feed)
        assert not any("Linde" in e for e in _events(feed))
    again = do(wide, services.calendar_feed, COORD.id, jugendamt_id="ja-1", day=DAY)
    assert again.body == feed.body  # DTSTAMP is the latest audit entry: same data, same bytes
    other = refused(wide, services.calendar_feed, COORD.id, jugendamt_id="ja-2", day=DAY, match=NO_ACCESS)
    ghost = refused(wide, services.calendar_feed, COORD.id, jugendamt_id="ja-9", day=DAY, match=NO_ACCESS)
    assert ghost == other.replace("ja-2", "ja-9")
    for actor in (LEAD.id, AUDITOR.id):
        refused(wide, services.calendar_feed, actor, jugendamt_id="ja-1", day=DAY, match=NO_ACCESS)
    refused(wide, services.calendar_feed, ADMIN.id, jugendamt_id="ja-9", day=DAY, match="ja-9 gibt es nicht")


def test_a_familienzentrum_feed_for_whoever_may_see_it(wide):
    own = do(wide, services.calendar_feed, LEAD.id, familienzentrum_id="fz-1", day=DAY)
    assert {"Begehung: Familienzentrum Sonnenblume", "Gültigkeit des Gütesiegels: Familienzentrum Sonnenblume"} \
        <= _events(own)
    assert do(wide, services.calendar_feed, COORD.id, familienzentrum_id="fz-1", day=DAY).body == own.body
    # P-C (in development) belongs to fz-2: its coordinator sees its deadline; the auditor of P-A sees fz-1 only
    neighbour = _events(do(wide, services.calendar_feed, COORD.id, familienzentrum_id="fz-2", day=DAY))
    assert "Einreichung der Selbstbewertung: Familienzentrum Regenbogen" in neighbour
    audited = _events(do(wide, services.calendar_feed, AUDITOR.id, familienzentrum_id="fz-1", day=DAY))
    assert "Begehung: Familienzentrum Sonnenblume" in audited
    assert "Gültigkeit des Gütesiegels: Familienzentrum Sonnenblume" in audited
    for actor, fz in ((LEAD.id, "fz-2"), (COORD2.id, "fz-1"), (AUDITOR.id, "fz-2"), (LEAD3.id, "fz-1")):
        refused(wide, services.calendar_feed, actor, familienzentrum_id=fz, day=DAY, match=NO_ACCESS)
    ghost = refused(wide, services.calendar_feed, LEAD.id, familienzentrum_id="fz-9", day=DAY, match=NO_ACCESS)
    other = refused(wide, services.calendar_feed, LEAD.id, familienzentrum_id="fz-2", day=DAY, match=NO_ACCESS)
    assert ghost == other.replace("fz-2", "fz-9")  # does not say whether it exists
    refused(wide, services.calendar_feed, CERTIFIER.id, familienzentrum_id="fz-9", day=DAY, match="gibt es nicht")
    with pytest.raises(InputError, match="genau eines"):
        do(wide, services.calendar_feed, ADMIN.id, day=DAY)
    with pytest.raises(InputError, match="genau eines"):
        do(wide, services.calendar_feed, ADMIN.id, jugendamt_id="ja-1", familienzentrum_id="fz-1", day=DAY)
