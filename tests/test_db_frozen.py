"""Frozen data: submitted self-assessment revisions and signed-off audit verdicts never change."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from certflow.assessment.model import Status
from certflow.db import FrozenError, UnitOfWork, Verdict, entries
from certflow.lifecycle import AuditVisit, Refused, canonical_json, freeze, next_revision, sha256_hex, verify
from db_support import backend, clock, db_url, engine, nominate_procedure, postgres_admin, seeded  # noqa: F401

ANSWERS = {"catalogue": "familienzentrum-nrw", "answers": {"1.1": "erfuellt", "1.2": "offen"}, "profiles": ["b", "a"]}


@pytest.fixture
def procedure(seeded, clock):
    with UnitOfWork(seeded, clock=clock) as uow:
        nominate_procedure(uow, clock)
    return seeded


def _submit(engine, clock, assessment, passed=True):
    with UnitOfWork(engine, clock=clock) as uow:
        revision = next_revision(uow.submissions.latest_submitted("P-17"))
        snapshot = freeze(assessment, revision, procedure_id="P-17", submitted_by="u-lead", submitted_at=clock(),
                          passed=passed)
        uow.submissions.add_snapshot(snapshot)
    return snapshot


def test_a_submission_freezes_the_draft_and_a_later_edit_is_a_new_revision(procedure, clock):
    with UnitOfWork(procedure, clock=clock) as uow:
        uow.submissions.save_draft("P-17", {**ANSWERS, "answers": {"1.1": "offen"}}, by="u-lead")
        draft = uow.submissions.save_draft("P-17", ANSWERS, by="u-lead")  # overwrites the open draft
    assert (draft.revision, draft.sha256) == (1, sha256_hex(canonical_json(ANSWERS)))
    first = _submit(procedure, clock, ANSWERS)
    assert first.revision == 1
    edited = {**ANSWERS, "answers": {"1.1": "erfuellt", "1.2": "erfuellt"}}
    with UnitOfWork(procedure, clock=clock) as uow:
        assert uow.submissions.draft("P-17") is None
        assert uow.submissions.save_draft("P-17", edited, by="u-lead").revision == 2
    second = _submit(procedure, clock, edited, passed=True)
    with UnitOfWork(procedure) as uow:
        stored = uow.submissions.snapshot("P-17", 1)
        assert stored == first and verify(stored)
        assert uow.submissions.latest_submitted("P-17") == second
        assert [s.revision for s in uow.submissions.submitted("P-17")] == [1, 2]
        log = entries(uow.session, "assessment_revision")
    assert [e.action for e in log] == ["assessment_revision.create", "assessment_revision.update",
                                       "assessment_revision.submit", "assessment_revision.create",
                                       "assessment_revision.submit"]
    assert log[2].payload == {"revision": 1, "sha256": first.sha256, "passed": True}


def test_a_submitted_revision_cannot_be_submitted_again(procedure, clock):
    snapshot = _submit(procedure, clock, ANSWERS)
    other = freeze({**ANSWERS, "profiles": []}, 1, procedure_id="P-17", submitted_by="u-lead",
                   submitted_at=clock(), passed=False)
    with pytest.raises(FrozenError, match="Revision 1 der Selbstbewertung im Verfahren P-17 ist eingereicht"):
        with UnitOfWork(procedure, clock=clock) as uow:
            uow.submissions.add_snapshot(other)
    with UnitOfWork(procedure) as uow:
        assert uow.submissions.snapshot("P-17", 1) == snapshot


@pytest.mark.parametrize("statement", [
    "UPDATE assessment_revision SET canonical_json = '{}' WHERE revision = 1",
    "UPDATE assessment_revision SET sha256 = 'x' WHERE revision = 1",
    "DELETE FROM assessment_revision WHERE revision = 1",
])
def test_the_database_refuses_to_change_a_submitted_revision(procedure, clock, statement):
    _submit(procedure, clock, ANSWERS)
    with pytest.raises(DBAPIError, match="eingefroren"):
        with procedure.begin() as connection:
            connection.execute(text(statement))


def test_a_draft_may_still_change_in_the_database(procedure, clock):
    with UnitOfWork(procedure, clock=clock) as uow:
        uow.submissions.save_draft("P-17", ANSWERS, by="u-lead")
    with procedure.begin() as connection:
        assert connection.execute(text("UPDATE assessment_revision SET canonical_json = '{}'")).rowcount == 1


@pytest.fixture
def visit(procedure, clock):
    with UnitOfWork(procedure, clock=clock) as uow:
        uow.audits.add_visit(AuditVisit("P-17", date(2026, 2, 12), "u-aud", ("k1",)))
        uow.audits.record_verdict(Verdict("P-17", "1.1", Status.ERFUELLT, None, "u-aud"))
        uow.audits.record_verdict(Verdict("P-17", "1.2", Status.NICHT_ERFUELLT, "Konzept fehlt", "u-aud"))
    return procedure


def test_verdicts_can_be_corrected_until_the_sign_off(visit, clock):
    with UnitOfWork(visit, clock=clock) as uow:
        uow.audits.record_verdict(Verdict("P-17", "1.2", Status.ERFUELLT, "Konzept nachgereicht", "u-aud"),
                                  reason="Nachweis vor Ort gefunden")
        assert uow.audits.visit("P-17") == AuditVisit("P-17", date(2026, 2, 12), "u-aud", ("k1",))
        assert [(v.criterion_id, v.verdict) for v in uow.audits.verdicts("P-17")] == [
            ("1.1", Status.ERFUELLT), ("1.2", Status.ERFUELLT)]
    with UnitOfWork(visit) as uow:  # the audit entries are appended at commit
        log = entries(uow.session, "audit_verdict", "P-17/1.2")
    assert log[-1].payload == {"verdict": ["nicht_erfuellt", "erfuellt"],
                               "remark": ["Konzept fehlt", "Konzept nachgereicht"]}


def test_only_the_visits_auditor_records_verdicts(visit):
    with pytest.raises(Refused, match="Nur der Auditor der Begehung"):
        with UnitOfWork(visit) as uow:
            uow.audits.record_verdict(Verdict("P-17", "1.1", Status.OFFEN, None, "u-cert"))


def test_signed_off_verdicts_are_frozen(visit, clock):
    clock.at = datetime(2026, 2, 13, 9, 0, tzinfo=timezone.utc)
    with UnitOfWork(visit, clock=clock) as uow:
        assert uow.audits.sign_off("P-17", by="u-aud") == clock.at
    with UnitOfWork(visit) as uow:
        assert uow.audits.signed_off("P-17") == clock.at
    for attempt in (
        lambda uow: uow.audits.record_verdict(Verdict("P-17", "1.2", Status.ERFUELLT, None, "u-aud")),
        lambda uow: uow.audits.record_verdict(Verdict("P-17", "2.1", Status.ERFUELLT, None, "u-aud")),
        lambda uow: uow.audits.sign_off("P-17", by="u-aud"),
    ):
        with pytest.raises(FrozenError, match=r"am 13\.02\.2026 vom Auditor abgezeichnet"):
            with UnitOfWork(visit) as uow:
                attempt(uow)


@pytest.mark.parametrize("statement", [
    "UPDATE audit_verdict SET remark = 'nachträglich' WHERE criterion_id = '1.2'",
    "DELETE FROM audit_verdict WHERE criterion_id = '1.1'",
    "INSERT INTO audit_verdict (visit_id, criterion_id, verdict, remark, recorded_at, recorded_by) "
    "SELECT id, '9.9', 'erfuellt', NULL, recorded_at, auditor_id FROM audit_visit",
    "UPDATE audit_visit SET visited_on = '2026-02-11'",
    "DELETE FROM audit_visit",
])
def test_the_database_refuses_to_change_a_signed_off_audit(visit, clock, statement):
    with UnitOfWork(visit, clock=clock) as uow:
        uow.audits.sign_off("P-17", by="u-aud")
    with pytest.raises(DBAPIError, match="abgezeichnet"):
        with visit.begin() as connection:
            connection.execute(text(statement))
