"""The packet's SHA-256 stored with the sign-off, the packet frozen at the sign-off, missing evidence listed.

On SQLite and PostgreSQL (the ``world`` fixture runs on both).
"""

from __future__ import annotations

import hashlib
import io
import json
from datetime import date

import pytest
from pypdf import PdfReader
from sqlalchemy import text

from certflow import services
from certflow.assessment.model import Status
from certflow.evidence_store import EvidenceStore
from certflow.lifecycle import Outcome, Refused
from certflow.packet import packet_pdf, read_manifest, verify_packet
from certflow.services.documents import packet_data, stored_packet_sha256
from certflow.services.verdicts import VerdictInput
from db_support import db_url, engine, postgres_admin  # noqa: F401
from test_services_world import world  # noqa: F401

VERDICTS = {"1.1": VerdictInput(Status.ERFUELLT, None),
            "1.5": VerdictInput(Status.NICHT_ERFUELLT, "Sprechstunde nur zweimonatlich")}


def _pdf(label: str) -> bytes:
    return b"%PDF-1.4\n%" + label.encode() + b"\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _submit_with_evidence(world, tmp_path, pid: str) -> tuple[EvidenceStore, list]:
    """Submit with two stored files, one record naming a file the store never got, the rest without files."""
    assessment = world.assessment(pid)
    folder, store = tmp_path / "belege", EvidenceStore(tmp_path / "store")
    folder.mkdir()
    evidence = [ev.model_copy(update={"file": None, "sha256": None}) for ev in assessment.evidence]
    for i in (0, 1):
        content = _pdf(f"Beleg {i}")
        (folder / f"beleg-{i}.pdf").write_bytes(content)
        evidence[i] = evidence[i].model_copy(update={"file": f"beleg-{i}.pdf",
                                                     "sha256": hashlib.sha256(content).hexdigest()})
    world.do(services.submit, "lead-1", pid, assessment.model_copy(update={"evidence": evidence}), "fertig",
             evidence_dir=folder, evidence_store=store)
    return store, evidence


def _to_visit(world, tmp_path):
    pid = world.nominate()
    world.to_development(pid)
    world.at(date(2026, 3, 2))
    store, evidence = _submit_with_evidence(world, tmp_path, pid)
    world.schedule(pid)
    world.record(pid, verdicts=VERDICTS)
    return pid, store, evidence


def test_the_sign_off_stores_the_packets_sha256_and_a_later_render_gives_the_same_bytes(world, tmp_path):
    pid, store, _ = _to_visit(world, tmp_path)
    draft = world.read(lambda uow: packet_data(uow, "admin", pid, evidence_store=store))
    assert draft.signoff.decision == "begangen"  # before the sign-off: the procedure as it stands

    signed = world.do(services.sign_off, "aud-1", pid, "Bericht fertig", evidence_store=store)
    digest = hashlib.sha256(signed.document).hexdigest()
    assert signed.message.endswith(f"SHA-256 des Auditpakets: {digest}")
    assert world.read(lambda uow: uow.audits.packet_sha256(pid)) == digest
    assert world.read(lambda uow: stored_packet_sha256(uow, "cert-1", pid)) == digest
    trail = world.read(lambda uow: uow.procedures.history(pid))
    assert [e.payload for e in trail if e.action == "audit_visit.sign_off"] == [
        {"verdicts": 2, "packet_sha256": digest}]

    world.at(date(2026, 5, 11))
    world.do(services.decide, "cert-2", pid, Outcome.CERTIFIED, "Alle Bereiche erfüllt")
    later = world.read(lambda uow: packet_data(uow, "lead-1", pid, evidence_store=store))
    assert [e.action for e in later.timeline][-1] == "Begehung abgezeichnet"
    assert "Zertifizieren" not in [e.action for e in later.timeline]  # the decision came after the sign-off
    assert later.signoff.date == date(2026, 3, 16) and later.generated_on == date(2026, 3, 16)
    assert later.signoff.decision == ("Vorlage zur Entscheidung der Zertifizierungsstelle: Mindestanforderungen "
                                      "laut Selbstbewertung erfüllt; 1 von 2 Bewertungen der Begehung bestätigt")
    again, _pages = packet_pdf(later)
    assert again == signed.document

    out = tmp_path / "paket.pdf"
    out.write_bytes(again)
    assert verify_packet(out, digest).ok
    manifest = read_manifest(out)
    assert manifest["procedure"]["id"] == pid and manifest["signoff"]["date"] == "2026-03-16"


def test_the_stored_hash_is_frozen_with_the_visit(world, tmp_path):
    pid, store, _ = _to_visit(world, tmp_path)
    world.do(services.sign_off, "aud-1", pid, "Bericht fertig", evidence_store=store)
    with pytest.raises(Exception, match="(?i)frozen|eingefroren|abgezeichnet"):
        with world.engine.begin() as connection:
            connection.execute(text("UPDATE audit_visit SET packet_sha256 = :h WHERE procedure_id = :p"),
                               {"h": "f" * 64, "p": pid})
    with pytest.raises(Refused, match="abgezeichnet"):
        world.do(services.sign_off, "aud-1", pid, "nochmal", evidence_store=store)


def test_evidence_the_store_does_not_hold_is_listed_as_missing_not_left_out(world, tmp_path):
    pid, store, evidence = _to_visit(world, tmp_path)
    lost = evidence[1].sha256
    store.get(lost).unlink()  # the store lost one file after the submission
    data = world.read(lambda uow: packet_data(uow, "admin", pid, evidence_store=store))
    assert len(data.evidence) == len(evidence)
    assert [(f.file_name, f.status) for f in data.evidence[:3]] == [
        ("beleg-0.pdf", "attached"), ("beleg-1.pdf", "missing"), (data.evidence[2].file_name, "no_file")]
    pdf, _ = packet_pdf(data)
    reader = PdfReader(io.BytesIO(pdf))
    assert set(reader.attachments) == {"beleg-0.pdf", "manifest.json"}
    manifest = json.loads(reader.attachments["manifest.json"][0])
    assert [(e["file_name"], e["status"], e["attachment"]) for e in manifest["evidence"][:2]] == [
        ("beleg-0.pdf", "attached", "beleg-0.pdf"), ("beleg-1.pdf", "missing", None)]
    index = " ".join(" ".join(page.extract_text() or "" for page in reader.pages).split())
    assert f"{len(evidence)} Nachweise, davon {len(evidence) - 1} nicht eingebettet" in index
    assert "Fehlt: Die Datei liegt nicht im Nachweisspeicher und ist nicht eingebettet." in index


def test_a_packet_that_cannot_be_made_refuses_the_sign_off_and_nothing_is_frozen(world, tmp_path):
    pid, store, evidence = _to_visit(world, tmp_path)
    store.get(evidence[0].sha256).write_bytes(b"%PDF-1.4 changed")  # bytes no longer match their hash
    with pytest.raises(Refused, match=r"Auditpaket .* lässt sich nicht erzeugen: .*SHA-256 .* beleg-0\.pdf"):
        world.do(services.sign_off, "aud-1", pid, "Bericht fertig", evidence_store=store)
    assert world.read(lambda uow: (uow.audits.signed_off(pid), uow.audits.packet_sha256(pid))) == (None, None)
