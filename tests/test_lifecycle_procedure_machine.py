"""The procedure machine: every transition allowed and refused, the StateChange record, one shared machine."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta, timezone

import pytest
from test_lifecycle_world import (
    ADMIN, ASSESSMENT, AUDITOR, AUDITOR2, CATALOGUE, CERTIFIER, CERTIFIER2, COORD, FZ, KITAS, LEAD, OTHER_LEAD,
    certificate, clock, procedure, snapshot,
)

from certflow.assessment.model import Answer, Status
from certflow.catalogue.model import ProcedureKind
from certflow.lifecycle import (
    PROCEDURE_MACHINE, AuditVisit, Outcome, ProcedureState, Refused, Role, User, decision_from, fire,
)
from certflow.lifecycle import procedure_machine

S = ProcedureState
VISIT = AuditVisit("p-1", date(2026, 3, 1), AUDITOR.id, ("k1",))


def ctx(event: str, proc) -> dict:
    """A valid context for ``event`` on ``proc``."""
    base = {"familienzentrum": FZ}
    if event in ("submit", "resubmit"):
        base |= {"catalogue": CATALOGUE, "assessment": ASSESSMENT,
                 "snapshot": snapshot(proc, (proc.submitted_revision or 0) + 1)}
    elif event == "schedule_audit":
        base |= {"auditor": AUDITOR, "kitas": KITAS, "audit_date": date(2026, 3, 1)}
    elif event == "record_audit":
        base |= {"visit": VISIT}
    elif event == "certify":
        base |= {"snapshot": snapshot(proc, proc.submitted_revision or 1)}
    elif event == "change_period":
        base |= {"period_start": proc.period_start, "period_end": proc.period_end - timedelta(days=30)}
    return base


ACTOR = {
    "register": LEAD, "start_development": LEAD, "submit": LEAD, "resubmit": LEAD, "request_changes": CERTIFIER,
    "schedule_audit": CERTIFIER, "record_audit": AUDITOR, "certify": CERTIFIER, "reject": CERTIFIER,
    "withdraw": LEAD, "change_period": CERTIFIER,
}

ALLOWED = [(event, source) for event, ev in PROCEDURE_MACHINE.events.items() for source in ev.transitions]
REFUSED = [(event, s.value) for event, ev in PROCEDURE_MACHINE.events.items() for s in S
           if s.value not in ev.transitions]


def prepared(source: str):
    """A procedure in ``source`` with what that state implies (auditor assigned, revision submitted)."""
    after_submit = source in ("submitted", "changes_requested", "audit_scheduled", "audited")
    return procedure(
        S(source), auditor_id=AUDITOR.id if source in ("audit_scheduled", "audited") else None,
        submitted_revision=1 if after_submit else None,
    )


@pytest.mark.parametrize(("event", "source"), ALLOWED)
def test_every_transition_is_allowed_from_its_source(event: str, source: str) -> None:
    proc = prepared(source)
    change = fire(proc, event, ACTOR[event], "weil es so ist", clock=clock(), **ctx(event, proc))
    dest = PROCEDURE_MACHINE.events[event].transitions[source][0].dest or source
    assert proc.state == S(dest)
    assert (change.from_state, change.to_state, change.event) == (source, dest, event)
    assert proc.version == 1
    assert PROCEDURE_MACHINE.models == []


@pytest.mark.parametrize(("event", "state"), REFUSED)
def test_every_event_is_refused_outside_its_sources(event: str, state: str) -> None:
    proc = prepared(state)
    with pytest.raises(Refused) as exc:
        fire(proc, event, ACTOR[event], "Grund", clock=clock(), **ctx(event, proc))
    label = procedure_machine.EVENT_LABELS[event]
    assert exc.value.message.startswith(
        f"{label} ist im Zustand '{PROCEDURE_MACHINE.state_label(state)}' nicht möglich")
    assert (proc.state, proc.version) == (S(state), 0)


def test_refusal_in_a_final_state_reads_exactly() -> None:
    with pytest.raises(Refused, match=r"^Einreichen ist im Zustand 'zertifiziert' nicht möglich$"):
        proc = prepared("certified")
        fire(proc, "submit", LEAD, "nochmal", clock=clock(), **ctx("submit", proc))


def test_refusal_names_the_possible_events() -> None:
    with pytest.raises(Refused, match="möglich: Entwicklung beginnen, Zurückziehen, Prüfzeitraum ändern"):
        fire(procedure(S.REGISTERED), "register", LEAD, "x", clock=clock(), familienzentrum=FZ)


def test_full_path_records_actor_reason_and_time() -> None:
    proc = procedure()
    at = datetime(2026, 3, 2, 10, 30, tzinfo=timezone(timedelta(hours=1)))
    changes = [
        fire(proc, "register", LEAD, "Einladung angenommen", clock=lambda: at, familienzentrum=FZ),
        fire(proc, "start_development", LEAD, "los", clock=clock(), familienzentrum=FZ),
        fire(proc, "submit", LEAD, "fertig", clock=clock(), **ctx("submit", proc)),
        fire(proc, "schedule_audit", CERTIFIER, "Termin am 01.03.", clock=clock(), **ctx("schedule_audit", proc)),
        fire(proc, "record_audit", AUDITOR, "Begehung 3 h", clock=clock(), **ctx("record_audit", proc)),
        fire(proc, "certify", CERTIFIER, "alle Bereiche erfüllt", clock=clock(), **ctx("certify", proc)),
    ]
    first = changes[0]
    assert first.subject_kind == "procedure" and first.subject_id == "p-1"
    assert (first.from_state, first.to_state, first.actor_id, first.reason) == (
        "nominated", "registered", LEAD.id, "Einladung angenommen")
    assert first.at == datetime(2026, 3, 2, 9, 30, tzinfo=timezone.utc) and first.at.tzinfo is timezone.utc
    assert [c.to_state for c in changes] == [
        "registered", "in_development", "submitted", "audit_scheduled", "audited", "certified"]
    assert (proc.version, proc.auditor_id, proc.submitted_revision) == (6, AUDITOR.id, 1)
    decision = decision_from(changes[-1])
    assert (decision.outcome, decision.decided_by, decision.reason) == (
        Outcome.CERTIFIED, CERTIFIER.id, "alle Bereiche erfüllt")


def test_one_machine_serves_many_procedures() -> None:
    a, b = procedure(), replace(procedure(), id="p-2")
    fire(a, "register", LEAD, "a1", clock=clock(), familienzentrum=FZ)
    fire(b, "withdraw", LEAD, "b1", clock=clock(), familienzentrum=FZ)
    fire(a, "start_development", LEAD, "a2", clock=clock(), familienzentrum=FZ)
    with pytest.raises(Refused):
        fire(b, "register", LEAD, "b2", clock=clock(), familienzentrum=FZ)
    fire(a, "withdraw", LEAD, "a3", clock=clock(), familienzentrum=FZ)
    assert (a.state, b.state) == (S.WITHDRAWN, S.WITHDRAWN)
    c, d = replace(procedure(), id="p-3"), replace(procedure(), id="p-4")
    fire(c, "register", LEAD, "c", clock=clock(), familienzentrum=FZ)
    assert (c.state, d.state) == (S.REGISTERED, S.NOMINATED)
    assert procedure_machine.PROCEDURE_MACHINE is PROCEDURE_MACHINE
    assert PROCEDURE_MACHINE.models == []
    assert not hasattr(c, "register") and not hasattr(c, "trigger")  # nothing sticks to the entity


def test_state_may_arrive_as_plain_text_from_the_database() -> None:
    proc = procedure()
    proc.state = "registered"
    change = fire(proc, "start_development", LEAD, "x", clock=clock(), familienzentrum=FZ)
    assert change.from_state == "registered" and proc.state is S.IN_DEVELOPMENT


def test_reason_is_mandatory() -> None:
    proc = procedure()
    with pytest.raises(Refused, match="Registrieren: bitte einen Grund angeben"):
        fire(proc, "register", LEAD, "  ", clock=clock(), familienzentrum=FZ)
    assert proc.state is S.NOMINATED


def test_unknown_event_and_bad_context() -> None:
    proc = procedure()
    with pytest.raises(Refused, match="Unbekannter Vorgang 'fly'"):
        fire(proc, "fly", LEAD, "x", clock=clock(), familienzentrum=FZ)
    with pytest.raises(TypeError, match="missing"):
        fire(proc, "register", LEAD, "x", clock=clock())
    with pytest.raises(TypeError, match="unknown"):
        fire(proc, "register", LEAD, "x", clock=clock(), familienzentrum=FZ, snapshott=1)
    with pytest.raises(ValueError, match="is not the one"):
        fire(proc, "register", LEAD, "x", clock=clock(), familienzentrum=replace(FZ, id="fz-9"))
    with pytest.raises(ValueError, match="timezone-aware"):
        fire(proc, "register", LEAD, "x", clock=lambda: datetime(2026, 1, 1), familienzentrum=FZ)
    assert (proc.state, proc.version) == (S.NOMINATED, 0)


@pytest.mark.parametrize(("event", "actor", "message"), [
    ("register", CERTIFIER, "Registrieren ist der Rolle 'Zertifizierungsstelle' nicht erlaubt "
                            "(erlaubt: Kita-Leitung, Administration)"),
    ("register", OTHER_LEAD, "Otto Leitung leitet nicht das Familienzentrum Familienzentrum Sonnenhof"),
    ("withdraw", replace(COORD, jugendamt_id="ja-2"), "gehört nicht zum Jugendamt des Familienzentrums"),
    ("withdraw", AUDITOR, "Zurückziehen ist der Rolle 'Auditor' nicht erlaubt"),
])
def test_roles_are_checked(event: str, actor: User, message: str) -> None:
    with pytest.raises(Refused, match=message.replace("(", r"\(").replace(")", r"\)")):
        fire(procedure(), event, actor, "x", clock=clock(), familienzentrum=FZ)


@pytest.mark.parametrize("actor", [LEAD, COORD, ADMIN])
def test_withdraw_by_lead_coordinator_or_admin(actor: User) -> None:
    proc = procedure(S.AUDIT_SCHEDULED)
    assert fire(proc, "withdraw", actor, "zu wenig Personal", clock=clock(), familienzentrum=FZ).to_state == "withdrawn"


def test_submit_with_failing_score_warns_but_submits() -> None:
    answers = {**ASSESSMENT.answers, "5.1": Answer(status=Status.NICHT_ERFUELLT)}
    failing = ASSESSMENT.model_copy(update={"answers": answers})
    proc = procedure(S.IN_DEVELOPMENT)
    snap = snapshot(proc, 1, failing)
    assert snap.passed is False
    change = fire(proc, "submit", LEAD, "trotzdem", clock=clock(), familienzentrum=FZ, catalogue=CATALOGUE,
                  assessment=failing, snapshot=snap)
    assert change.to_state == "submitted"
    assert len(change.warnings) == 1 and "erfüllt die Anforderungen noch nicht" in change.warnings[0]
    proc = replace(proc, state=S.AUDITED, auditor_id=AUDITOR.id)
    with pytest.raises(Refused, match="erfüllt die Anforderungen nicht"):
        fire(proc, "certify", CERTIFIER, "x", clock=clock(), familienzentrum=FZ, snapshot=snap)
    assert fire(proc, "reject", CERTIFIER, "Bereich 5", clock=clock(), familienzentrum=FZ).to_state == "not_certified"


def test_submit_refused_when_incomplete() -> None:
    answers = {k: v for k, v in ASSESSMENT.answers.items() if k != "1.1.1"}
    incomplete = ASSESSMENT.model_copy(update={"answers": answers})
    proc = procedure(S.IN_DEVELOPMENT)
    with pytest.raises(Refused, match=r"Einreichen nicht möglich: keine Angabe zu 1\.1\.1"):
        fire(proc, "submit", LEAD, "x", clock=clock(), familienzentrum=FZ, catalogue=CATALOGUE,
             assessment=incomplete, snapshot=snapshot(proc, 1, incomplete))
    assert proc.state is S.IN_DEVELOPMENT and proc.submitted_revision is None


def test_resubmit_needs_a_new_revision() -> None:
    proc = procedure(S.CHANGES_REQUESTED, submitted_revision=1)
    with pytest.raises(Refused, match="Revision 1 ist nicht neu"):
        fire(proc, "resubmit", LEAD, "x", clock=clock(), familienzentrum=FZ, catalogue=CATALOGUE,
             assessment=ASSESSMENT, snapshot=snapshot(proc, 1))
    fire(proc, "resubmit", LEAD, "nachgebessert", clock=clock(), **ctx("resubmit", proc))
    assert proc.submitted_revision == 2


def test_schedule_audit_refuses_a_partial_auditor() -> None:
    proc = procedure(S.SUBMITTED, submitted_revision=1)
    partial = replace(AUDITOR, traeger_id="tr-a")
    with pytest.raises(Refused, match="Befangenheit: Anton Audit gehört zum Träger der Kita Kita 1"):
        fire(proc, "schedule_audit", CERTIFIER, "x", clock=clock(), familienzentrum=FZ, auditor=partial, kitas=KITAS,
             audit_date=date(2026, 3, 10))
    assert (proc.auditor_id, proc.planned_audit_date) == (None, None)
    fire(proc, "schedule_audit", CERTIFIER, "x", clock=clock(), familienzentrum=FZ, auditor=AUDITOR, kitas=KITAS,
         audit_date=date(2026, 3, 10))
    assert proc.planned_audit_date == date(2026, 3, 10)
    fire(proc, "schedule_audit", CERTIFIER, "neu", clock=clock(), familienzentrum=FZ, auditor=AUDITOR2, kitas=KITAS,
         audit_date=date(2026, 3, 17))
    assert (proc.state, proc.auditor_id, proc.planned_audit_date) == (S.AUDIT_SCHEDULED, AUDITOR2.id, date(2026, 3, 17))


def test_record_audit_only_by_the_assigned_auditor_and_not_in_the_future() -> None:
    proc = procedure(S.AUDIT_SCHEDULED, auditor_id=AUDITOR.id, submitted_revision=1)
    with pytest.raises(Refused, match="beauftragte Auditor"):
        fire(proc, "record_audit", AUDITOR2, "x", clock=clock(), familienzentrum=FZ, visit=VISIT)
    future = replace(VISIT, date=date(2026, 3, 3))
    with pytest.raises(Refused, match="liegt in der Zukunft"):
        fire(proc, "record_audit", AUDITOR, "x", clock=clock(), familienzentrum=FZ, visit=future)
    two_sites = replace(VISIT, sites=("k1", "k2"))
    with pytest.raises(Refused, match="gehören nicht zum Familienzentrum"):
        fire(proc, "record_audit", AUDITOR, "x", clock=clock(), familienzentrum=FZ, visit=two_sites)
    assert proc.state is S.AUDIT_SCHEDULED


def test_decisions_need_a_certifier_who_did_not_audit() -> None:
    proc = procedure(S.AUDITED, auditor_id=AUDITOR.id, submitted_revision=1)
    with pytest.raises(Refused, match="Die Entscheidung trifft die Zertifizierungsstelle; Anton Audit"):
        fire(proc, "reject", AUDITOR, "x", clock=clock(), familienzentrum=FZ)
    same_person = User(AUDITOR.id, AUDITOR.name, Role.CERTIFIER)
    for event in ("certify", "reject"):
        with pytest.raises(Refused, match="Vier-Augen-Prinzip: Anton Audit hat die Begehung durchgeführt"):
            fire(proc, event, same_person, "x", clock=clock(), **ctx(event, proc))
    with pytest.raises(Refused, match="Revision 1"):
        fire(proc, "certify", CERTIFIER2, "x", clock=clock(), familienzentrum=FZ, snapshot=snapshot(proc, 2))
    assert proc.state is S.AUDITED
    change = fire(proc, "reject", CERTIFIER2, "Belege unzureichend", clock=clock(), familienzentrum=FZ)
    assert decision_from(change).outcome is Outcome.NOT_CERTIFIED


def test_decision_from_other_events_is_an_error() -> None:
    change = fire(procedure(), "register", LEAD, "x", clock=clock(), familienzentrum=FZ)
    with pytest.raises(ValueError):
        decision_from(change)


def test_change_period_of_a_recertification_cannot_pass_the_validity_end() -> None:
    cert = certificate()  # valid until 31.07.2026
    proc = procedure(S.IN_DEVELOPMENT, kind=ProcedureKind.RE, period_start=date(2025, 1, 1),
                     period_end=date(2026, 1, 31))
    with pytest.raises(Refused, match="Eine Re-Zertifizierung kann nicht verschoben werden"):
        fire(proc, "change_period", CERTIFIER, "Krankheit", clock=clock(), familienzentrum=FZ,
             period_start=date(2025, 8, 1), period_end=date(2026, 8, 31), certificate=cert)
    assert proc.period_end == date(2026, 1, 31)
    change = fire(proc, "change_period", CERTIFIER, "Krankheit", clock=clock(), familienzentrum=FZ,
                  period_start=date(2025, 3, 1), period_end=date(2026, 7, 31), certificate=cert)
    assert (change.from_state, change.to_state) == ("in_development", "in_development")
    assert (proc.period_start, proc.period_end, proc.version) == (date(2025, 3, 1), date(2026, 7, 31), 1)


def test_change_period_of_a_first_certification_by_one_year_at_most() -> None:
    proc = procedure(S.IN_DEVELOPMENT)
    with pytest.raises(Refused, match="höchstens um ein Kindergartenjahr"):
        fire(proc, "change_period", ADMIN, "x", clock=clock(), familienzentrum=FZ,
             period_start=proc.period_start, period_end=date(2027, 8, 1))
    fire(proc, "change_period", ADMIN, "Einzelfall", clock=clock(), familienzentrum=FZ,
         period_start=proc.period_start, period_end=date(2027, 7, 31))
    assert proc.period_end == date(2027, 7, 31)


def test_clock_defaults_to_now() -> None:
    before = datetime.now(timezone.utc)
    change = fire(procedure(), "register", LEAD, "x", familienzentrum=FZ)
    assert change.at.tzinfo is timezone.utc and before <= change.at <= datetime.now(timezone.utc)
