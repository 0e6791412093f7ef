"""The auditor's review service (certflow/services/review.py) on SQLite and PostgreSQL: scope (only the assigned
auditor; everyone else the same NotFound), the review's data, the form's problems named by field and all told at
once, only changed verdicts written, comments, evidence files, and the order of the sign-off's preconditions.

The world is test_web_auditor's (:func:`~test_web_auditor.build_review_world`), built once per module and backend.
"""

from __future__ import annotations

from datetime import date

import pytest
from db_support import postgres_admin  # noqa: F401
from sqlalchemy import text
from sqlalchemy.orm import Session
from test_web_auditor import AUDITOR, OTHER_AUDITOR, VISIT_DAY, world, world_url  # noqa: F401

from certflow.assessment.model import Status
from certflow.services import review as reviews
from certflow.services.runner import ErrorKind, UseCaseError


def _fails(world, action) -> UseCaseError:  # noqa: F811
    with pytest.raises(UseCaseError) as caught:
        world.run(action)
    return caught.value


def _review(world, user_id: str, procedure_id: str) -> reviews.Review:  # noqa: F811
    store = world.evidence_store()
    return world.run(lambda uow: reviews.review(uow, user_id, procedure_id, evidence_store=store))


def _paths(error: UseCaseError) -> dict[tuple, str]:
    return {tuple(p.path): p.message for p in error.problems}


def test_assignments_are_the_auditors_own_open_work_first(world):  # noqa: F811
    rows = world.run(lambda uow: reviews.assignments(uow, AUDITOR))
    assert [r.procedure_id for r in rows] == ["P-17", "P-30", "P-V"]
    assert {(r.step, r.planned_audit_date, r.visited_on) for r in rows} == {("visit", VISIT_DAY, None)}
    assert [r.procedure_id for r in world.run(lambda uow: reviews.assignments(uow, OTHER_AUDITOR))] == ["P-90"]
    for user_id in ("u-lead", "u-coord", "u-cert", "u-admin"):
        error = _fails(world, lambda uow, u=user_id: reviews.assignments(uow, u))
        assert error.kind is ErrorKind.REFUSED and "nur für Auditorinnen und Auditoren" in error.message


def test_only_the_assigned_auditor_reviews_and_everyone_else_gets_the_same_not_found(world):  # noqa: F811
    for user_id, procedure_id in [(OTHER_AUDITOR, "P-17"), (AUDITOR, "P-90"), (AUDITOR, "P-20"), (AUDITOR, "P-404"),
                                  ("u-cert", "P-17"), ("u-lead", "P-17"), ("u-admin", "P-17"), ("u-coord", "P-17")]:
        error = _fails(world, lambda uow, u=user_id, p=procedure_id: reviews.review(
            uow, u, p, evidence_store=world.evidence_store()))
        assert error.kind is ErrorKind.NOT_FOUND and error.message == f"Verfahren {procedure_id} gibt es nicht"


def test_the_review_puts_answers_records_score_and_permissions_side_by_side(world):  # noqa: F811
    rv = _review(world, AUDITOR, "P-17")
    assert (rv.revision, rv.passed, rv.criterion_count, rv.verdict_count) == (1, True, 63, 0)
    assert (rv.can_record_visit, rv.can_edit_verdicts, rv.can_sign_off, rv.can_comment) == (True, False, False, True)
    assert rv.can_request_changes is False  # the lifecycle leaves that to the certification body
    criteria = {c.id: c for area in rv.areas for c in area.criteria}
    one = criteria["1.1"]
    assert [(i.id, i.answer, i.met) for i in one.items] == [("1.1", Status.ERFUELLT, True),
                                                          ("1.1.1", Status.ERFUELLT, True)]
    assert one.evidence and all("1.1" in e.items for e in one.evidence)
    with_activities = [c for c in criteria.values() if c.activities]
    assert with_activities and all(a.item in {i.id for i in c.items} for c in with_activities for a in c.activities)
    records = [e for c in criteria.values() for e in c.evidence]
    assert any(e.sha256 is None and not e.at_hand for e in records)  # shown on paper
    assert all(e.at_hand for e in records if e.sha256)
    area4 = next(a for a in rv.areas if a.id == "4")
    assert area4.nested and [s.title for s in area4.sections][1:] and area4.not_chosen
    assert all(a.nested is False for a in rv.areas if a.id != "4")
    assert rv.visited_sites == () and [s.name for s in rv.sites] == ["Kita Muster 1"]


def test_the_form_tells_every_problem_at_once_by_field_and_writes_nothing(world):  # noqa: F811
    def count(table):
        with Session(world.engine) as session:
            return session.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar()
    before = (count("audit_log"), count("audit_visit"))
    entry = reviews.ReviewEntry(
        reason="", visit_date=date(2025, 9, 11),
        verdicts={"1.1": reviews.VerdictEntry("vielleicht"), "1.2": reviews.VerdictEntry("", "nur Text"),
                  "1.3": reviews.VerdictEntry("erfuellt", "x" * (reviews.MAX_REMARK_CHARS + 1)),
                  "9.9": reviews.VerdictEntry("erfuellt")})
    error = _fails(world, lambda uow: reviews.save_review(uow, AUDITOR, "P-17", entry))
    assert error.kind is ErrorKind.INPUT and error.input_kind == "Begehung"
    assert set(_paths(error)) == {("reason",), ("visit_date",), ("verdict", "1.1"), ("verdict", "1.2"),
                                  ("remark", "1.3"), ("form",)}
    assert "nicht in der Zukunft" in _paths(error)[("visit_date",)]
    sites = _fails(world, lambda uow: reviews.save_review(uow, AUDITOR, "P-V", reviews.ReviewEntry(
        reason="vor Ort", visit_date=VISIT_DAY, sites=("k5", "k6"))))
    assert set(_paths(sites)) == {("sites",)} and "Zuschussempfänger" in _paths(sites)[("sites",)]
    assert (count("audit_log"), count("audit_visit")) == before


def test_the_visit_then_only_changed_verdicts_are_written_and_none_removed(world):  # noqa: F811
    def entries():
        with Session(world.engine) as session:
            return session.execute(text("SELECT actor_id, reason FROM audit_log WHERE action = 'audit_verdict.record' "
                                        "AND subject_id LIKE 'P-30/%' ORDER BY seq")).all()
    first = world.run(lambda uow: reviews.save_review(uow, AUDITOR, "P-30", reviews.ReviewEntry(
        reason="Begehung vor Ort", visit_date=VISIT_DAY,
        verdicts={"1.1": reviews.VerdictEntry("erfuellt"), "1.2": reviews.VerdictEntry("nicht_erfuellt", "fehlt"),
                  "1.3": reviews.VerdictEntry("")})))
    assert first.event == "procedure.audit_recorded" and first.count == 2
    assert entries() == [(AUDITOR, "Begehung vor Ort")] * 2
    same = world.run(lambda uow: reviews.save_review(uow, AUDITOR, "P-30", reviews.ReviewEntry(
        reason="nochmal", visit_date=date(2020, 1, 1),  # ignored once the visit is recorded
        verdicts={"1.1": reviews.VerdictEntry("erfuellt"), "1.2": reviews.VerdictEntry("nicht_erfuellt", "fehlt")})))
    assert (same.event, same.count) == ("procedure.verdicts_recorded", 0) and len(entries()) == 2
    changed = world.run(lambda uow: reviews.save_review(uow, AUDITOR, "P-30", reviews.ReviewEntry(
        reason="Nachweis gesehen", verdicts={"1.1": reviews.VerdictEntry("erfuellt"),
                                             "1.2": reviews.VerdictEntry("erfuellt", "vor Ort gesehen")})))
    assert changed.count == 1 and entries()[-1] == (AUDITOR, "Nachweis gesehen")
    removed = _fails(world, lambda uow: reviews.save_review(uow, AUDITOR, "P-30", reviews.ReviewEntry(
        reason="weg", verdicts={"1.1": reviews.VerdictEntry("")})))
    assert _paths(removed) == {("verdict", "1.1"): "Eine erfasste Bewertung lässt sich ändern, aber nicht entfernen."}
    rv = _review(world, AUDITOR, "P-30")
    assert (rv.can_record_visit, rv.can_edit_verdicts, rv.can_sign_off, rv.verdict_count) == (False, True, True, 2)
    assert rv.visited_sites == ("Kita Muster 3",)
    assert reviews.anchor_of("4B1") == "k-4B1" and reviews.anchor_of("1.2") == "k-1-2"


def test_comments_sign_off_preconditions_and_changes(world):  # noqa: F811
    for body, message in (("  ", "Bitte einen Kommentar eingeben."), ("x" * 4001, "höchstens 4000 Zeichen")):
        error = _fails(world, lambda uow, b=body: reviews.post_comment(uow, AUDITOR, "P-17", "1.1", b))
        assert error.kind is ErrorKind.INPUT and message in _paths(error)[("body",)]
    done = world.run(lambda uow: reviews.post_comment(uow, AUDITOR, "P-17", "4B1", "Wie oft ist das Angebot?"))
    assert done.event == "comment.added"
    thread = world.run(lambda uow: reviews.thread_of(uow, AUDITOR, "P-17", "4B1"))
    assert [c.body for c in thread.comments] == ["Wie oft ist das Angebot?"] and thread.nested and thread.can_comment
    assert thread.anchor == "k-4B1"
    assert _fails(world, lambda uow: reviews.thread_of(uow, AUDITOR, "P-17", "9.9")).kind is ErrorKind.REFUSED
    assert _fails(world, lambda uow: reviews.thread_of(uow, OTHER_AUDITOR, "P-17", "1.1")).kind is ErrorKind.NOT_FOUND
    # the sign-off: first a visit, then a reason (P-17 has no visit yet: the visit is what is missing)
    no_visit = _fails(world, lambda uow: reviews._check_sign_off(uow, AUDITOR, "P-17", ""))
    assert no_visit.kind is ErrorKind.REFUSED and "noch keine Begehung erfasst" in no_visit.message
    changes = _fails(world, lambda uow: reviews.request_changes(uow, AUDITOR, "P-17", ""))
    assert changes.kind is ErrorKind.REFUSED and "ist der Rolle 'Auditor' nicht erlaubt" in changes.message


def test_evidence_files_only_those_the_submission_names_within_the_read_scope(world):  # noqa: F811
    rv = _review(world, AUDITOR, "P-17")
    record = next(e for area in rv.areas for c in area.criteria for e in c.evidence if e.at_hand)
    store = world.evidence_store()
    found = world.run(lambda uow: reviews.evidence_file(uow, AUDITOR, "P-17", record.sha256.upper(),
                                                        evidence_store=store))
    assert found.file_name == record.file_name and found.media_type in ("application/pdf", "image/png")
    assert found.path.read_bytes()
    lead = world.run(lambda uow: reviews.evidence_file(uow, "u-lead", "P-17", record.sha256, evidence_store=store))
    assert lead.path == found.path  # the read scope: the Kita lead of the procedure sees its evidence
    for user_id, sha in (("u-lead-b", record.sha256), (AUDITOR, "0" * 64), (AUDITOR, "kein-hex")):
        error = _fails(world, lambda uow, u=user_id, s=sha: reviews.evidence_file(uow, u, "P-17", s,
                                                                                  evidence_store=store))
        assert error.kind is ErrorKind.REFUSED, (user_id, sha)
