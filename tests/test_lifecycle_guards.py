"""The guards on their own: each returns None or its German refusal."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest
from test_lifecycle_world import (
    ASSESSMENT, AUDITOR, CATALOGUE, CERTIFIER, COORD, FZ, KITAS, LEAD, VERBUND, certificate, procedure, snapshot,
)

from certflow.assessment.model import Answer, Evidence, Status
from certflow.calendar import KindergartenYear
from certflow.catalogue.model import Form, ProcedureKind
from certflow.lifecycle import AuditVisit, CertificateState, Contingent, ProcedureState, Role, User
from certflow.lifecycle import guards as g


def test_actor_refusal() -> None:
    assert g.actor_refusal(LEAD, {Role.KITA_LEAD}, "Einreichen", FZ) is None
    assert g.actor_refusal(COORD, {Role.COORDINATOR}, "Zurückziehen", FZ) is None
    assert g.actor_refusal(CERTIFIER, {Role.CERTIFIER}, "Widerrufen") is None
    assert "leitet nicht" in g.actor_refusal(LEAD, {Role.KITA_LEAD}, "Einreichen")  # no scope given


def test_complete_submission_has_no_refusal_and_no_warning() -> None:
    check = g.check_submission(procedure(), FZ, CATALOGUE, ASSESSMENT)
    assert (check.refusal, check.warnings, check.report.passed) == (None, (), True)


def test_every_item_of_applicable_criteria_needs_an_answer() -> None:
    answers = {k: v for k, v in ASSESSMENT.answers.items() if k not in ("1.3", "4B1")}
    msg = g.submission_refusal(procedure(), FZ, CATALOGUE, ASSESSMENT.model_copy(update={"answers": answers}))
    assert msg == "Einreichen nicht möglich: keine Angabe zu 1.3, 4B1"


def test_not_applicable_and_unchosen_items_need_no_answer() -> None:
    # 5.3 applies to Verbund only, 4F1 belongs to the unchosen profile 4F
    assert "5.3" not in ASSESSMENT.answers and "4F1" not in ASSESSMENT.answers
    assert g.submission_refusal(procedure(), FZ, CATALOGUE, ASSESSMENT) is None


def test_met_items_need_their_evidence() -> None:
    no_docs = ASSESSMENT.model_copy(update={"evidence": []})
    assert g.submission_refusal(procedure(), FZ, CATALOGUE, no_docs) == (
        "Einreichen nicht möglich: Belege fehlen: 1.7 (Fortbildungsnachweis), 5.1 (Konzeption)")
    no = Answer(status=Status.NICHT_ERFUELLT)
    answers = {**ASSESSMENT.answers, "1.7": no, "5.1": no}
    assert g.submission_refusal(procedure(), FZ, CATALOGUE, no_docs.model_copy(update={"answers": answers})) is None


def test_evidence_of_an_alternative_kind_is_there() -> None:
    from certflow.catalogue import parse_catalogue
    from conftest import DATA

    text = (DATA / "mini.yaml").read_text(encoding="utf-8").replace(
        "          - {kind: fortbildung, min_hours: 30, max_age_years: 7}",
        "          - kind: fortbildung\n            min_hours: 30\n            max_age_years: 7\n"
        "            alternatives: [{kind: konzept}]")
    catalogue = parse_catalogue(text)
    concept = Evidence(items=["1.7"], kind="konzept", title="Qualifizierungskonzept", date=date(2025, 9, 1))
    other = ASSESSMENT.model_copy(update={"evidence": [concept, ASSESSMENT.evidence[1]]})
    check = g.check_submission(procedure(), FZ, catalogue, other)
    assert check.refusal is None
    assert {c.id: c.met for a in check.report.areas for c in a.criteria}["1.7"] is True
    neither = ASSESSMENT.model_copy(update={"evidence": [ASSESSMENT.evidence[1]]})
    assert g.submission_refusal(procedure(), FZ, catalogue, neither) == (
        "Einreichen nicht möglich: Belege fehlen: 1.7 (Fortbildungsnachweis oder Konzeption)")


def test_weak_evidence_is_a_warning_not_a_refusal() -> None:
    short = Evidence(items=["1.7"], kind="fortbildung", title="Kurzkurs", hours=4, date=date(2021, 3, 1))
    weak = ASSESSMENT.model_copy(update={"evidence": [short, ASSESSMENT.evidence[1]]})
    check = g.check_submission(procedure(), FZ, CATALOGUE, weak)
    met = {c.id: c.met for a in check.report.areas for c in a.criteria}
    assert check.refusal is None and met["1.7"] is False  # too few hours: scoring's business, not completeness


def test_failing_score_is_a_warning() -> None:
    answers = {**ASSESSMENT.answers, "5.1": Answer(status=Status.NICHT_ERFUELLT)}
    check = g.check_submission(procedure(), FZ, CATALOGUE, ASSESSMENT.model_copy(update={"answers": answers}))
    assert check.refusal is None and not check.report.passed
    assert check.warnings[0].startswith("Die Selbstbewertung erfüllt die Anforderungen noch nicht (offen: ")


def test_pinned_catalogue_and_variant() -> None:
    msg = g.submission_refusal(procedure(catalogue_key="familienzentrum-nrw@2020"), FZ, CATALOGUE, ASSESSMENT)
    assert msg.startswith("Das Verfahren ist auf den Katalog familienzentrum-nrw@2020 festgelegt")
    msg = g.submission_refusal(procedure(kind=ProcedureKind.RE), FZ, CATALOGUE, ASSESSMENT)
    assert "Erst-Zertifizierung (einzel), das Verfahren ist eine Re-Zertifizierung (einzel)" in msg
    verbund_fz = replace(FZ, form=Form.VERBUND)
    assert "(verbund)" in g.submission_refusal(procedure(), verbund_fz, CATALOGUE, ASSESSMENT)


def test_snapshot_refusal() -> None:
    proc = procedure()
    snap = snapshot(proc)
    assert g.snapshot_refusal(proc, ASSESSMENT, snap, True) is None
    other_proc = replace(proc, id="p-2")
    assert "gehört zum Verfahren p-1, nicht zu p-2" in g.snapshot_refusal(other_proc, ASSESSMENT, snap, True)
    assert "nicht neu" in g.snapshot_refusal(replace(proc, submitted_revision=1), ASSESSMENT, snap, True)
    other = ASSESSMENT.model_copy(update={"familienzentrum": "anders"})
    assert "stimmt nicht mit der Selbstbewertung überein" in g.snapshot_refusal(proc, other, snap, True)
    assert "Ergebnis" in g.snapshot_refusal(proc, ASSESSMENT, snap, False)


@pytest.mark.parametrize(("auditor", "message"), [
    (AUDITOR, None),
    (User("a", "Ida", Role.AUDITOR), None),
    (User("a", "Ida", Role.AUDITOR, traeger_id="tr-a"), "Befangenheit: Ida gehört zum Träger der Kita Kita 1"),
    (User("a", "Ida", Role.AUDITOR, jugendamt_id="ja-1"), "Befangenheit: Ida gehört zum Jugendamt der Kita Kita 1"),
    (User("a", "Ida", Role.AUDITOR, familienzentrum_id="fz-v"), "Befangenheit: Ida gehört zum Familienzentrum"),
    (User("a", "Ida", Role.CERTIFIER), "Ida ist nicht als Auditor tätig (Rolle 'Zertifizierungsstelle')"),
])
def test_auditor_conflict_of_interest(auditor: User, message: str | None) -> None:
    result = g.auditor_conflict(auditor, VERBUND, KITAS)
    assert result is None if message is None else result.startswith(message)


def test_auditor_conflict_in_any_verbund_member() -> None:
    kitas = [*KITAS[:2], replace(KITAS[2], traeger_id="tr-c", jugendamt_id="ja-3")]
    assert "Kita 3" in g.auditor_conflict(User("a", "Ida", Role.AUDITOR, traeger_id="tr-c"), VERBUND, kitas)
    assert "Jugendamt der Kita Kita 3" in g.auditor_conflict(User("a", "Ida", Role.AUDITOR, jugendamt_id="ja-3"),
                                                            VERBUND, kitas)


def test_four_eyes_and_decider_role() -> None:
    proc = procedure(auditor_id=AUDITOR.id)
    assert g.four_eyes_refusal(CERTIFIER, proc) is None
    assert g.four_eyes_refusal(User(AUDITOR.id, "Anton", Role.CERTIFIER), proc).startswith("Vier-Augen-Prinzip")
    assert g.four_eyes_refusal(CERTIFIER, procedure()) is None
    assert g.decider_role_refusal(CERTIFIER) is None
    assert g.decider_role_refusal(LEAD) == (
        "Die Entscheidung trifft die Zertifizierungsstelle; Lea Leitung hat die Rolle 'Kita-Leitung'")


def test_visit_refusal() -> None:
    proc = procedure(auditor_id=AUDITOR.id)
    visit = AuditVisit("p-1", date(2026, 3, 1), AUDITOR.id, ["k1"])
    assert visit.sites == ("k1",)
    assert g.visit_refusal(proc, FZ, visit, date(2026, 3, 1)) is None
    assert "durchgeführt, beauftragt ist" in g.visit_refusal(proc, FZ, replace(visit, auditor_id="x"), date(2026, 3, 1))
    assert "Verfahren p-9" in g.visit_refusal(proc, FZ, replace(visit, procedure_id="p-9"), date(2026, 3, 1))


def test_recertification_cannot_be_postponed() -> None:
    cert = certificate()  # valid until 31.07.2026 -> due in 2025/26
    today = date(2025, 1, 10)
    assert g.recertification_start_refusal(FZ, cert, KindergartenYear(2025), today) is None
    later = g.recertification_start_refusal(FZ, cert, KindergartenYear(2026), today)
    assert later == ("Eine Re-Zertifizierung kann nicht verschoben werden: das Gütesiegel FZ-0001 ist bis 31.07.2026 "
                     "gültig, die Re-Zertifizierung gehört in das Kindergartenjahr 2025/26, nicht 2026/27")
    assert "gehört in das Kindergartenjahr 2025/26, nicht 2024/25" in g.recertification_start_refusal(
        FZ, cert, KindergartenYear(2024), today)
    assert "nicht mehr gültig" in g.recertification_start_refusal(FZ, cert, KindergartenYear(2025), date(2026, 8, 1))
    cert.state = CertificateState.REVOKED
    assert "Zustand 'widerrufen'" in g.recertification_start_refusal(FZ, cert, KindergartenYear(2025), today)
    assert "gehört nicht zu" in g.recertification_start_refusal(VERBUND, certificate(), KindergartenYear(2025), today)


def test_period_change_refusal() -> None:
    re = procedure(kind=ProcedureKind.RE)
    cert = certificate()
    assert g.period_change_refusal(re, date(2025, 1, 1), date(2026, 7, 31), cert) is None
    assert "nicht verschoben" in g.period_change_refusal(re, date(2025, 1, 1), date(2026, 8, 1), cert)
    assert "vor seinem Beginn" in g.period_change_refusal(re, date(2025, 1, 2), date(2025, 1, 1), cert)
    with pytest.raises(ValueError):
        g.period_change_refusal(re, date(2025, 1, 1), date(2026, 1, 31))


def test_open_procedure_and_first_certification() -> None:
    assert g.open_procedure_refusal(FZ, [procedure(ProcedureState.WITHDRAWN)]) is None
    assert "läuft bereits das Verfahren p-1 (Zustand 'eingereicht')" in g.open_procedure_refusal(
        FZ, [procedure(ProcedureState.SUBMITTED)])
    kgj = KindergartenYear(2025)
    c = Contingent("ja-1", kgj, granted=1)
    assert g.first_certification_refusal(FZ, c, kgj) is None
    assert "bereits ein Gütesiegel" in g.first_certification_refusal(VERBUND, c, kgj)
    assert "passt nicht" in g.first_certification_refusal(FZ, Contingent("ja-2", kgj, granted=1), kgj)
    assert "Kein freier Platz" in g.first_certification_refusal(FZ, Contingent("ja-1", kgj), kgj)
