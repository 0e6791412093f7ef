"""A whole procedure through the services: nomination to certificate, the audit trail, frozen data, evidence.

The rules run on the in-memory twin (``world``); the whole cycle also on SQLite and PostgreSQL
(``db_world``): read back from the database, its hash chain verified.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime, timezone

import pytest
from sqlalchemy.orm import Session

from certflow import services
from certflow.assessment.model import Status
from certflow.db import FrozenError, verify
from certflow.lifecycle import CertificateState, Outcome, ProcedureState, Refused
from certflow.lifecycle.snapshot import canonical_json, sha256_hex
from certflow.services.runner import ErrorKind, UseCaseError
from certflow.services.verdicts import VerdictInput
from db_support import db_url, engine, postgres_admin  # noqa: F401
from test_services_world import KGJ, NAMES, db_world, said, world  # noqa: F401

S = ProcedureState


def test_whole_cycle_from_nomination_to_certificate_with_its_audit_trail(db_world):
    world = db_world
    started = world.clock.at
    pid = world.nominate()
    assert pid == "V-2025-001"
    world.to_development(pid)
    world.at(date(2026, 3, 2))
    submitted = world.submit(pid)
    assert submitted.warnings == () and "Revision 1 eingefroren" in said(submitted)
    scheduled = world.schedule(pid)
    assert "Begehung am 16.03.2026 durch Anna Audit" in said(scheduled)
    world.record(pid, verdicts={"1.1": VerdictInput(Status.ERFUELLT, None),
                                "1.5": VerdictInput(Status.ERFUELLT, "Sprechstunde monatlich belegt")})
    signed = world.sign_off(pid)
    assert signed.facts["sha256"] == hashlib.sha256(signed.document).hexdigest() and signed.count == 2
    world.at(date(2026, 5, 11))
    decided = world.do(services.decide, "cert-2", pid, Outcome.CERTIFIED, "Alle Bereiche erfüllt")
    assert said(decided) == ("Verfahren V-2025-001: begangen → zertifiziert; Gütesiegel FZ-2026-001 ausgestellt am "
                             "11.05.2026, gültig bis 31.07.2030")

    def state(uow):
        return (uow.procedures.get(pid), uow.familienzentren.get("fz-1"), uow.certificates.of_familienzentrum("fz-1"),
                uow.decisions.find(pid), uow.contingents.get("ja-a", KGJ))
    procedure, fz, certificates, decision, contingent = world.read(state)
    assert (procedure.state, procedure.auditor_id, procedure.planned_audit_date) == (
        S.CERTIFIED, "aud-1", date(2026, 3, 16))
    assert fz.certificate_number == "FZ-2026-001"
    assert [(c.number, c.issued, c.valid_until, c.state) for c in certificates] == [
        ("FZ-2026-001", date(2026, 5, 11), date(2030, 7, 31), CertificateState.VALID)]
    assert (decision.outcome, decision.decided_by, decision.reason) == (Outcome.CERTIFIED, "cert-2",
                                                                         "Alle Bereiche erfüllt")
    assert contingent.nominated == 1

    history = world.read(lambda uow: services.history(uow, "admin", pid))
    steps = [(h.what, h.actor_name, h.from_state, h.to_state, h.reason) for h in history
             if h.action.startswith("procedure.")]
    assert steps == [
        ("Nominiert", "Cora A", None, "nominiert", "Beschluss des JHA"),
        ("Registrieren", "Lea Eins", "nominiert", "registriert", "Einladung angenommen"),
        ("Entwicklung beginnen", "Lea Eins", "registriert", "in Entwicklung", "Entwicklungsjahr beginnt"),
        ("Einreichen (Revision 1, erfüllt)", "Lea Eins", "in Entwicklung", "eingereicht", "Selbstbewertung fertig"),
        ("Begehung planen", "Clara Zert", "eingereicht", "Begehung geplant", "Termin vereinbart"),
        ("Begehung erfassen", "Anna Audit", "Begehung geplant", "begangen", "Begehung vor Ort"),
        ("Zertifizieren", "Conrad Zert", "begangen", "zertifiziert", "Alle Bereiche erfüllt"),
    ]
    assert history[0].at == started
    assert [h.what for h in history if not h.action.startswith("procedure.")] == [
        "Bewertung 1.1: erfüllt", "Bewertung 1.5: erfüllt", "Begehung abgezeichnet"]
    assert history[-1].at == datetime(2026, 5, 11, 9, 0, tzinfo=timezone.utc)
    assert all(h.reason for h in history) and [h.seq for h in history] == sorted(h.seq for h in history)

    with Session(world.app.engine) as session:
        assert verify(session).ok
    actions = [e.action for e in world.entries()]
    assert world.read(lambda uow: uow.audits.packet_sha256(pid)) == signed.facts["sha256"]
    assert {"contingent.reserve", "certificate.issue", "familienzentrum.update", "decision.record"} <= set(actions)


def test_a_failing_submission_goes_through_with_a_warning_and_is_rejected_not_certified(world):
    pid = world.nominate()
    world.to_development(pid)
    submitted = world.submit(pid, passing=False)
    assert len(submitted.warnings) == 1
    assert submitted.warnings[0].startswith("Die Selbstbewertung erfüllt die Anforderungen noch nicht")
    world.schedule(pid)
    world.record(pid)
    with pytest.raises(Refused, match="noch nicht vom Auditor abgezeichnet"):
        world.do(services.decide, "cert-1", pid, Outcome.NOT_CERTIFIED, "zu früh")
    world.sign_off(pid)
    with pytest.raises(Refused, match=r"Zertifizieren nicht möglich: .*Revision 1.*erfüllt die Anforderungen nicht"):
        world.do(services.decide, "cert-1", pid, Outcome.CERTIFIED, "trotzdem")
    result = world.do(services.decide, "cert-1", pid, Outcome.NOT_CERTIFIED, "Mindestpunktzahl verfehlt")
    assert said(result) == "Verfahren V-2025-001: begangen → nicht zertifiziert"
    assert world.read(lambda uow: uow.certificates.of_familienzentrum("fz-1")) == []


def test_a_submission_is_frozen_and_a_later_edit_is_a_new_revision(world):
    pid = world.nominate()
    world.to_development(pid)
    first_assessment = world.assessment(pid, passing=False)
    world.do(services.submit, "lead-1", pid, first_assessment, "erste Fassung")
    world.do(services.request_changes, "cert-1", pid, "Bereich 1 nachbessern")
    with pytest.raises(Refused, match="Einreichen ist im Zustand 'Nachbesserung angefordert' nicht möglich"):
        world.do(services.submit, "lead-1", pid, first_assessment, "nochmal")
    improved = world.assessment(pid)
    result = world.do(services.resubmit, "lead-1", pid, improved, "nachgebessert")
    assert "Revision 2 eingefroren" in said(result) and result.warnings == ()

    def snapshots(uow):
        return uow.submissions.submitted(pid), uow.procedures.get(pid)
    stored, procedure = world.read(snapshots)
    assert [(s.revision, s.passed) for s in stored] == [(1, False), (2, True)]
    assert stored[0].sha256 == sha256_hex(canonical_json(first_assessment))
    assert stored[1].sha256 == sha256_hex(canonical_json(improved))
    assert (procedure.state, procedure.submitted_revision) == (S.SUBMITTED, 2)


def test_verdicts_are_frozen_once_the_auditor_signed_off(world):
    pid = world.nominate()
    world.to_development(pid)
    world.submit(pid)
    world.schedule(pid)
    world.record(pid, verdicts={"1.1": VerdictInput(Status.NICHT_ERFUELLT, "Verzeichnis veraltet")})
    corrected = {"1.1": VerdictInput(Status.ERFUELLT, "aktuelles Verzeichnis vorgelegt")}
    with pytest.raises(Refused, match="Nur der Auditor der Begehung"):
        world.do(services.record_verdicts, "cert-1", pid, corrected, "Korrektur")
    world.do(services.record_verdicts, "aud-1", pid, corrected, "Nachweis vor Ort gefunden")
    with pytest.raises(UseCaseError, match="Nur der Auditor der Begehung") as refused:
        world.sign_off(pid, auditor="cert-1")
    assert refused.value.kind is ErrorKind.REFUSED and not world.pool.rendered  # refused before rendering
    world.sign_off(pid)
    with pytest.raises(FrozenError, match="vom Auditor abgezeichnet"):
        world.do(services.record_verdicts, "aud-1", pid, {"1.1": VerdictInput(Status.NICHT_ERFUELLT, None)},
                 "doch nicht")
    with pytest.raises(UseCaseError, match="^Die Begehung im Verfahren V-2025-001 wurde am 16.06.2025 vom Auditor "
                                           "abgezeichnet") as frozen:
        world.sign_off(pid, reason="nochmal")
    assert frozen.value.kind is ErrorKind.REFUSED and len(world.pool.rendered) == 1
    verdicts = world.read(lambda uow: services.verdicts_of(uow, "aud-1", pid))
    assert [(v.criterion_id, v.verdict, v.remark) for v in verdicts] == [
        ("1.1", Status.ERFUELLT, "aktuelles Verzeichnis vorgelegt")]


def test_verdicts_from_a_file_are_checked_against_the_pinned_catalogue(world, tmp_path):
    pid = world.nominate()
    world.to_development(pid)
    world.submit(pid)
    world.schedule(pid)
    bad = tmp_path / "verdicts.yaml"
    bad.write_text("1.1: {verdict: erfuellt}\n9.9: erfuellt\n1.2: {verdict: vielleicht}\n", encoding="utf-8")
    with pytest.raises(services.VerdictError) as exc:
        world.record(pid, verdicts=bad)
    assert [str(p) for p in exc.value.problems] == [
        f"{bad}:2: [\"9.9\"]: Kriterium '9.9' gibt es im Katalog familienzentrum-nrw@2020 nicht",
        f"{bad}:3: [\"1.2\"].verdict: muss einer dieser Werte sein: erfuellt, nicht_erfuellt",
    ]
    assert world.read(lambda uow: uow.procedures.get(pid).state) is S.AUDIT_SCHEDULED  # nothing saved
    good = tmp_path / "good.yaml"
    good.write_text("1.1: {verdict: erfuellt, remark: gut}\n1.2: nicht_erfuellt\n", encoding="utf-8")
    assert world.record(pid, verdicts=good).count == 2


def _pdf(text: str) -> bytes:
    return b"%PDF-1.4\n%" + text.encode() + b"\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def test_evidence_files_go_to_the_store_and_a_bad_one_refuses_the_submission(world, tmp_path):
    from certflow.evidence_store import LocalEvidenceStore

    pid = world.nominate()
    world.to_development(pid)
    assessment = world.assessment(pid)
    folder, store = tmp_path / "belege", LocalEvidenceStore(tmp_path / "store")
    folder.mkdir()
    evidence = [ev.model_copy(update={"file": None, "sha256": None}) for ev in assessment.evidence]
    for i in (0, 1):  # two records with real files (the generated names point nowhere)
        content = _pdf(f"Beleg {i}")
        (folder / f"beleg-{i}.pdf").write_bytes(content)
        evidence[i] = evidence[i].model_copy(update={"file": f"beleg-{i}.pdf",
                                                     "sha256": hashlib.sha256(content).hexdigest()})
    good = assessment.model_copy(update={"evidence": evidence})
    (folder / "notiz.pdf").write_text("nur Text, kein PDF", encoding="utf-8")
    bad = good.model_copy(update={"evidence": [*evidence[:2], evidence[2].model_copy(update={"file": "notiz.pdf"}),
                                               *evidence[3:]]})
    with pytest.raises(Refused, match=r"Beleg abgelehnt: notiz\.pdf: Dateityp text/plain ist nicht erlaubt"):
        world.do(services.submit, "lead-1", pid, bad, "fertig", evidence_dir=folder, evidence_store=store)
    assert world.read(lambda uow: (uow.procedures.get(pid).state, uow.submissions.submitted(pid))) == (
        S.IN_DEVELOPMENT, [])

    result = world.do(services.submit, "lead-1", pid, good, "fertig", evidence_dir=folder, evidence_store=store)
    assert result.count == 2 and "2 Beleg(e) gespeichert" in said(result)
    assert all(store.exists(ev.sha256) for ev in evidence[:2])
    history = world.read(lambda uow: services.history(uow, "lead-1", pid))
    assert "Belege zu Revision 1 gespeichert (2)" in [h.what for h in history]


def test_withdrawing_a_nomination_frees_its_place(world):
    pid = world.nominate()
    result = world.do(services.withdraw, "coord-a", pid, "Kita verzichtet")
    assert said(result) == ("Verfahren V-2025-001: nominiert → zurückgezogen; der Platz im Kontingent 2025/26 ist "
                            "wieder frei (0 von 2 vergeben)")
    again = world.nominate()
    assert again == "V-2025-002"


def test_every_change_needs_a_reason(world):
    pid = world.nominate()
    with pytest.raises(Refused, match="Registrieren: bitte einen Grund angeben"):
        world.do(services.register, "lead-1", pid, "  ")
    with pytest.raises(Refused, match="Nominieren: bitte einen Grund angeben"):
        world.do(services.nominate, "coord-a", "fz-v", KGJ, "")
