"""The scan on both databases: snapshot, partitioned planning, reconcile, hand-over, inbox, escalation."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

from sqlalchemy.orm import Session
from test_scheduler_support import (
    ADMIN, CERT_1, COORD, LEAD, LEAD2, NOW, Server, counts, inbox, later, outbox, reminders, seed_world, world,  # noqa: F401
)

from certflow.calendar import KindergartenYear, validity_end
from certflow.catalogue.model import Form, ProcedureKind
from certflow.db import UnitOfWork
from certflow.lifecycle import Contingent, Familienzentrum, Jugendamt, Procedure, Role, User
from certflow.lifecycle.entities import Certificate, CertificateState, ProcedureState
from certflow.lifecycle.machinery import StateChange
from certflow.reminders import PlanningInput, ProcedureInfo, plan_reminders
from certflow.scheduler import NO_SMTP_NOTE, load_snapshot, partition, plan, replan, scan
from db_support import backend, db_url, engine, postgres_admin  # noqa: F401

KEY_1M = "certificate:FZ-2023-007/2023-06-01|validity_1m|2027-06-30"
KEY_3M_ESC = "certificate:FZ-2023-007/2023-06-01|validity_3m.escalated|2027-05-14"
KEY_1M_ESC = "certificate:FZ-2023-007/2023-06-01|validity_1m.escalated|2027-07-14"
FZ2_OPENS = "certificate:FZ-2024-011/2024-06-01|recert_opens|2026-10-01"


def test_snapshot_reads_the_world(world):
    with Session(world) as session:
        snap = load_snapshot(session, date(2027, 6, 30))
    assert [ja.id for ja in snap.jugendaemter] == ["ja-1"]
    assert {fz.id for fz in snap.familienzentren} == {"fz-1", "fz-2"}
    assert {c.key for c in snap.certificates} == {CERT_1.key, "FZ-2024-011/2024-06-01"}
    assert [str(k) for k in snap.calendar_years] == ["2026/27", "2027/28"]
    assert len(snap.users) == 6 and {c.jugendamt_id for c in snap.contingents} == {"ja-1"}
    with Session(world) as session:
        scoped = load_snapshot(session, date(2027, 6, 30), familienzentrum_id="fz-2")
    assert [fz.id for fz in scoped.familienzentren] == ["fz-2"] and len(scoped.certificates) == 1


def test_a_scan_twice_adds_nothing_twice(world):
    first = scan(world, NOW)
    assert first.planned == first.added == len(reminders(world)) > 20
    assert first.queued == 4  # the 1-month step, two escalations, fz-2's opening (a notice: no lead)
    before = counts(world)
    again = scan(world, NOW)
    assert (again.added, again.refreshed, again.dropped, again.skipped, again.queued) == (0, 0, 0, 0, 0)
    assert counts(world) == before
    assert scan(world, later(5)).queued == 0
    assert counts(world) == before
    # stale steps are kept, visibly skipped, and never sent
    stored = reminders(world)
    assert stored["certificate:FZ-2023-007/2023-06-01|validity_3m|2027-04-30"] == "skipped"
    assert stored["certificate:FZ-2023-007/2023-06-01|validity_6m|2027-01-31"] == "skipped"
    assert stored[KEY_1M] == "queued" and stored[KEY_1M_ESC] == "planned"


def test_without_a_mail_server_messages_go_to_the_inbox_and_wait_visibly(world):
    report = scan(world, NOW)
    assert report.pending_without_smtp == report.deliveries == 3  # Anna, twice Jörg; Ben's daily digest waits
    items = outbox(world)
    assert {i.status for i in items} == {"pending"} and {i.last_error for i in items} == {NO_SMTP_NOTE}
    assert {(m.user_id, m.reminder_key) for m in inbox(world) if m.kind == "reminder"} == {
        (LEAD.id, KEY_1M), (LEAD2.id, KEY_1M), (COORD.id, KEY_3M_ESC),
        (COORD.id, "certificate:FZ-2024-011/2024-06-01|recert_opens.escalated|2026-10-15")}
    # a role nobody fills (no Kita lead at fz-2) becomes a notice in the administrators' inboxes
    assert report.unresolved == 1 and report.notices == 1
    (notice,) = inbox(world, ADMIN.id)
    assert notice.kind == "notice" and notice.reminder_key == FZ2_OPENS and notice.delivery_key is None
    assert notice.subject.startswith("Ohne Empfänger: Re-Zertifizierung 2027/28")
    assert "Kita-Leitung (familienzentrum:fz-2)" in notice.body
    assert reminders(world)[FZ2_OPENS] == "queued"
    with Server() as server:  # configured later: the waiting mails go out, once
        scan(world, later(1), smtp=server.config)
        scan(world, later(2), smtp=server.config)
        assert sorted(server.handler.to().values()) == [1, 2]
    assert {i.status for i in outbox(world)} == {"sent"}


def test_the_inbox_holds_the_same_messages_as_the_mails(world):
    with Server() as server:
        scan(world, NOW, smtp=server.config)
        mails = {(m["To"].addresses[0].addr_spec, m["Subject"]): m for m in server.handler.messages()}
    anna = inbox(world, LEAD.id)
    assert len(anna) == 1 and ("anna.mueller@kita.example", anna[0].subject) in mails
    mail_text = mails[("anna.mueller@kita.example", anna[0].subject)].get_body(("plain",)).get_content()
    assert anna[0].body.strip() == mail_text.replace("\r\n", "\n").strip()
    ben = inbox(world, LEAD2.id)  # daily digest: in the inbox at once, by mail tomorrow morning
    assert [m.subject for m in ben] == [anna[0].subject] and ben[0].delivery_key is None


def test_escalation_reaches_the_coordinator_and_is_dropped_when_something_moves(world):
    with Server() as server:
        scan(world, NOW, smtp=server.config)
        escalations = [m for m in server.handler.messages() if m["Subject"].startswith("Eskalation:")]
        assert {m["To"].addresses[0].addr_spec for m in escalations} == {"joerg.weiss@jugendamt.example"}
        assert any("3 Monaten" in m["Subject"] and "Sonnenblume" in m["Subject"] for m in escalations)
        assert all(m["X-Certflow-Reminder"].split("|")[1].endswith(".escalated") for m in escalations)
    assert reminders(world)[KEY_1M_ESC] == "planned"
    # The Familienzentrum opens its re-certification and works on it: nothing to escalate any more.
    at = datetime(2027, 7, 2, 9, 0, tzinfo=UTC)
    procedure = Procedure("P-RE-1", "fz-1", ProcedureKind.RE, "familienzentrum-nrw@2020", KindergartenYear(2026),
                          date(2026, 1, 1), date(2027, 1, 31), state=ProcedureState.IN_DEVELOPMENT, version=1)
    with UnitOfWork(world, clock=lambda: at) as uow:
        uow.procedures.add(procedure, StateChange("procedure", "P-RE-1", None, "in_development", "open", LEAD.id,
                                                  at, "Re-Zertifizierung begonnen"))
    report = replan(world, at, familienzentrum_id="fz-1")
    stored = reminders(world)
    assert stored[KEY_1M_ESC] == "dropped" and report.dropped >= 1
    assert stored[KEY_3M_ESC] == "queued"  # sent: history, never changed
    assert any(k.startswith("procedure:P-RE-1|submission_due") for k in stored)


def test_a_scoped_replan_touches_only_its_scope(world):
    scan(world, NOW)
    with UnitOfWork(world, clock=lambda: NOW) as uow:
        uow.certificates.add(Certificate("FZ-2024-011", "fz-2", date(2028, 6, 1), date(2032, 7, 31)),
                             actor_id=ADMIN.id, reason="Re-Zertifizierung bestanden")
    report = replan(world, NOW, familienzentrum_id="fz-2")
    stored = reminders(world)
    assert report.dropped == 9  # the old term's unsent steps: it has a successor now
    assert stored["certificate:FZ-2024-011/2024-06-01|validity_1m|2028-06-30"] == "dropped"
    assert stored[KEY_1M_ESC] == "planned"  # fz-1 untouched
    assert "certificate:FZ-2024-011/2028-06-01|validity_1m|2032-06-30" in stored


def test_evidence_too_old_at_the_end_of_the_period_is_planned_from_the_latest_revision(engine):
    seed_world(engine, certificates=())
    at = datetime(2026, 2, 1, 9, 0, tzinfo=UTC)
    procedure = Procedure("P-9", "fz-1", ProcedureKind.RE, "familienzentrum-nrw@2020", KindergartenYear(2026),
                          date(2026, 1, 1), date(2027, 1, 31), state=ProcedureState.IN_DEVELOPMENT, version=1)
    old = {"items": ["1.2"], "kind": "fortbildung", "title": "Fortbildung Interkulturelle Öffnung",
           "date": "2019-03-01", "hours": 8}
    with UnitOfWork(engine, clock=lambda: at) as uow:
        uow.procedures.add(procedure, StateChange("procedure", "P-9", None, "in_development", "open", LEAD.id, at,
                                                  "eröffnet"))
        uow.submissions.save_draft("P-9", {"catalogue": "familienzentrum-nrw", "catalogue_version": "2020",
                                           "procedure": "re", "form": "einzel", "evidence": [old]}, by=LEAD.id)
    with Session(engine) as session:
        snap = load_snapshot(session, date(2026, 2, 1))
    (ev,) = snap.evidence
    assert (ev.max_age_years, ev.period_end, ev.date) == (7, date(2027, 1, 31), date(2019, 3, 1))
    (info,) = snap.procedures
    assert info.state_since == date(2026, 2, 1) and info.last_activity == date(2026, 2, 1)
    scan(engine, at)
    assert "evidence:P-9:Fortbildung Interkulturelle Öffnung|evidence_expiring|2026-05-06" in reminders(engine)


# -- partitioned planning == the planner on the whole snapshot ------------------------------------------


def _random_world(seed: int) -> PlanningInput:
    rnd = random.Random(seed)
    jas = [Jugendamt(f"JA-{i}", f"Jugendamt {i}") for i in range(4)]
    fzs, users, certs, procs, conts = [], [], [], [], []
    users += [User("u-cert", "Z", Role.CERTIFIER), User("u-aud", "A", Role.AUDITOR),
              User("u-aud2", "B", Role.AUDITOR)]
    for ja in jas:
        if rnd.random() < 0.8:
            users.append(User(f"u-c-{ja.id}", "K", Role.COORDINATOR, jugendamt_id=ja.id))
        conts.append(Contingent(ja.id, KindergartenYear(2026), granted=rnd.randint(0, 3), nominated=0))
    states = list(ProcedureState)
    for i in range(40):
        ja = rnd.choice(jas)
        fz = Familienzentrum(f"FZ-{i}", f"FZ {i}", Form.EINZEL, (f"K-{i}",), f"K-{i}", ja.id)
        fzs.append(fz)
        for j in range(rnd.randint(0, 2)):
            users.append(User(f"u-l-{i}-{j}", "L", Role.KITA_LEAD, familienzentrum_id=fz.id))
        start = rnd.randint(2010, 2016)
        for c in range(rnd.randint(1, 4)):
            issued = date(start + 4 * c, 6, 1)
            state = rnd.choice([CertificateState.VALID, CertificateState.RENEWED, CertificateState.EXPIRED,
                                CertificateState.RECERTIFICATION_DUE])
            certs.append(Certificate(f"N-{i}", fz.id, issued, validity_end(issued), state))
        for p in range(rnd.randint(0, 2)):
            kgj = rnd.randint(2024, 2027)
            proc = Procedure(f"P-{i}-{p}", fz.id, rnd.choice(list(ProcedureKind)), "familienzentrum-nrw@2020",
                             KindergartenYear(kgj), date(kgj, 1, 1), date(kgj + 1, 1, 31),
                             state=rnd.choice(states), auditor_id=rnd.choice([None, "u-aud", "u-aud2"]))
            since = date(kgj, rnd.randint(1, 12), rnd.randint(1, 28))
            procs.append(ProcedureInfo(proc, since, since + timedelta(days=rnd.randint(0, 60)),
                                       since + timedelta(days=30)))
    return PlanningInput(jas, fzs, users, certs, procs, conts,
                         (KindergartenYear(2026), KindergartenYear(2027)))


def test_planning_per_jugendamt_gives_exactly_the_planners_list():
    for seed in range(5):
        snap = _random_world(seed)
        assert len(partition(snap)) == 4
        whole = [r.to_dict() for r in plan_reminders(snap)]
        assert len(whole) > 50
        assert [r.to_dict() for r in plan(snap)] == whole
