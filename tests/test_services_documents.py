"""The packet's SHA-256 stored with the sign-off, the packet frozen at the sign-off, missing evidence listed;
the sign-off renders with no transaction open and refuses what changed meanwhile.

On SQLite and PostgreSQL (the ``world`` fixture runs on both).
"""

from __future__ import annotations

import hashlib
import io
import json
from datetime import date, datetime

import pytest
from pypdf import PdfReader
from sqlalchemy import text

from certflow import services
from certflow.assessment.model import Status
from certflow.evidence_store import EvidenceStore, LocalEvidenceStore
from certflow.lifecycle import Outcome, User
from certflow.lifecycle.entities import Role
from certflow.packet import packet_pdf, read_manifest, shared_pool, verify_packet
from certflow.services.documents import packet_data, signing_packet_data, stored_packet_sha256
from certflow.services.runner import ErrorKind, UseCaseError
from certflow.services.verdicts import VerdictInput
from db_support import db_url, engine, postgres_admin  # noqa: F401
from test_services_world import db_world  # noqa: F401



@pytest.fixture
def world(db_world):
    """The service tests' world on a migrated database: the packet shows the real audit trail and its hashes."""
    return db_world


VERDICTS = {"1.1": VerdictInput(Status.ERFUELLT, None),
            "1.5": VerdictInput(Status.NICHT_ERFUELLT, "Sprechstunde nur zweimonatlich")}


def _pdf(label: str) -> bytes:
    return b"%PDF-1.4\n%" + label.encode() + b"\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _submit_with_evidence(world, tmp_path, pid: str) -> tuple[EvidenceStore, list]:
    """Submit with two stored files, one record naming a file the store never got, the rest without files."""
    assessment = world.assessment(pid)
    folder, store = tmp_path / "belege", LocalEvidenceStore(tmp_path / "store")
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


def sign_off(world, actor: str, pid: str, reason: str, **options):
    """``services.sign_off`` through the world's application, rendering in a worker (the clock moves on after)."""
    try:
        return services.sign_off(world.app, actor, pid, reason, **options)
    finally:
        world.clock.advance(hours=1)


class Meanwhile:
    """A render pool that does ``during(world)`` while the packet renders, and records what it saw."""

    def __init__(self, world, during=None):
        self.world, self.during, self.calls, self.connections = world, during, 0, None

    def pdf(self, kind, data, templates_dir=None):
        self.calls += 1
        self.connections = self.world.app.engine.pool.checkedout()  # a session holding a transaction holds one
        if self.during is not None:
            self.during(self.world)
        return shared_pool().pdf(kind, data, templates_dir)


def test_the_sign_off_stores_the_packets_sha256_and_a_later_render_gives_the_same_bytes(world, tmp_path):
    pid, store, _ = _to_visit(world, tmp_path)
    draft = world.read(lambda uow: packet_data(uow, "admin", pid, evidence_store=store))
    assert draft.signoff.decision == "begangen"  # before the sign-off: the procedure as it stands

    signed = sign_off(world, "aud-1", pid, "Bericht fertig", evidence_store=store)
    digest = hashlib.sha256(signed.document).hexdigest()
    assert (signed.event, signed.facts, signed.count, signed.procedure.id) == (
        "procedure.signed_off", {"sha256": digest}, 2, pid)
    assert world.read(lambda uow: uow.audits.packet_sha256(pid)) == digest
    assert world.read(lambda uow: stored_packet_sha256(uow, "cert-1", pid)) == digest
    trail = world.read(lambda uow: uow.procedures.history(pid))
    signed_entry = [e for e in trail if e.action == "audit_visit.sign_off"]
    assert [(e.actor_id, e.reason, e.payload) for e in signed_entry] == [
        ("aud-1", "Bericht fertig", {"verdicts": 2, "packet_sha256": digest})]
    assert signed_entry[0].at == world.read(lambda uow: uow.audits.signed_off(pid))  # the moment the packet shows

    world.at(date(2026, 5, 11))
    world.do(services.decide, "cert-2", pid, Outcome.CERTIFIED, "Alle Bereiche erfüllt")
    later = world.read(lambda uow: packet_data(uow, "lead-1", pid, evidence_store=store))
    assert [e.action for e in later.timeline][-1] == "Begehung abgezeichnet"
    assert "Zertifizieren" not in [e.action for e in later.timeline]  # the decision came after the sign-off
    assert later.signoff.date == date(2026, 3, 16) and later.generated_on == date(2026, 3, 16)
    assert later.signoff.decision == ("Vorlage zur Entscheidung der Zertifizierungsstelle: Mindestanforderungen "
                                      "laut Selbstbewertung erfüllt; 1 von 2 Bewertungen der Begehung bestätigt")
    again, _pages = packet_pdf(later)  # in this process: the same bytes as the worker rendered
    assert again == signed.document

    out = tmp_path / "paket.pdf"
    out.write_bytes(again)
    assert verify_packet(out, digest).ok
    manifest = read_manifest(out)
    assert manifest["procedure"]["id"] == pid and manifest["signoff"]["date"] == "2026-03-16"


def test_no_transaction_is_open_while_the_packet_renders(world, tmp_path):
    """Another user's change during the render goes through at once (on SQLite a transaction would lock the
    whole database), and one that the packet does not show does not disturb the sign-off."""
    pid, store, _ = _to_visit(world, tmp_path)

    def add_user(world):
        world.do(services.add_user, "admin", User("aud-3", "Alma Audit", Role.AUDITOR), "neue Auditorin")

    pool = Meanwhile(world, add_user)
    signed = sign_off(world, "aud-1", pid, "Bericht fertig", evidence_store=store, pool=pool)
    assert (pool.calls, pool.connections) == (1, 0)
    assert world.read(lambda uow: uow.audits.packet_sha256(pid)) == hashlib.sha256(signed.document).hexdigest()
    assert world.read(lambda uow: uow.users.find("aud-3")) is not None


CHANGES = {  # made by someone else while the packet renders
    "verdict": lambda world, pid: world.do(services.record_verdicts, "aud-1", pid,
                                           {"1.5": VerdictInput(Status.ERFUELLT, "doch")}, "nachgetragen"),
    "procedure": lambda world, pid: world.do(services.withdraw, "coord-a", pid, "Träger zieht zurück"),
}


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_a_change_during_the_render_refuses_the_sign_off(world, tmp_path, change):
    pid, store, _ = _to_visit(world, tmp_path)
    pool = Meanwhile(world, lambda world: CHANGES[change](world, pid))
    with pytest.raises(UseCaseError) as refused:
        sign_off(world, "aud-1", pid, "Bericht fertig", evidence_store=store, pool=pool)
    assert refused.value.kind is ErrorKind.CONFLICT
    assert refused.value.message == (f"Das Auditpaket zum Verfahren {pid} wurde inzwischen geändert, bitte erneut "
                                     "abzeichnen; die Begehung ist nicht abgezeichnet")
    assert world.read(lambda uow: (uow.audits.signed_off(pid), uow.audits.packet_sha256(pid))) == (None, None)
    assert not [e for e in world.read(lambda uow: uow.procedures.history(pid)) if e.action == "audit_visit.sign_off"]
    if change == "verdict":  # signed off again: the packet as it stands now
        signed = sign_off(world, "aud-1", pid, "Bericht fertig", evidence_store=store)
        data = world.read(lambda uow: packet_data(uow, "admin", pid, evidence_store=store))
        assert data.verdicts["1.5"].remark == "doch" and packet_pdf(data)[0] == signed.document


@pytest.mark.parametrize("actor, reason, message", [
    ("cert-1", "Bericht fertig", r"^Nur der Auditor der Begehung \(aud-1\)"),
    ("aud-2", "Bericht fertig", "^Kein Zugriff: Arno Audit"),
    ("aud-1", "  ", "^Begehung abzeichnen: bitte einen Grund angeben$"),
])
def test_refused_before_anything_is_rendered(world, tmp_path, actor, reason, message):
    pid, store, _ = _to_visit(world, tmp_path)
    pool = Meanwhile(world)
    with pytest.raises(UseCaseError, match=message) as refused:
        sign_off(world, actor, pid, reason, evidence_store=store, pool=pool)
    assert refused.value.kind in (ErrorKind.REFUSED, ErrorKind.NOT_FOUND, ErrorKind.INPUT)
    assert pool.calls == 0
    assert world.read(lambda uow: uow.audits.signed_off(pid)) is None


def test_the_stored_hash_is_frozen_with_the_visit(world, tmp_path):
    pid, store, _ = _to_visit(world, tmp_path)
    sign_off(world, "aud-1", pid, "Bericht fertig", evidence_store=store)
    with pytest.raises(Exception, match="(?i)frozen|eingefroren|abgezeichnet"):
        with world.app.engine.begin() as connection:
            connection.execute(text("UPDATE audit_visit SET packet_sha256 = :h WHERE procedure_id = :p"),
                               {"h": "f" * 64, "p": pid})
    pool = Meanwhile(world)
    with pytest.raises(UseCaseError, match="abgezeichnet") as again:
        sign_off(world, "aud-1", pid, "nochmal", evidence_store=store, pool=pool)
    assert again.value.kind is ErrorKind.REFUSED and pool.calls == 0


def test_the_signing_packet_is_the_packet_shown_after_the_sign_off(world, tmp_path):
    """What the sign-off renders (its data built before the sign-off is stored) equals what is read after it."""
    pid, store, _ = _to_visit(world, tmp_path)

    def signing(uow):
        procedure = uow.procedures.get(pid)
        return signing_packet_data(uow, uow.users.get("aud-1"), procedure,
                                   uow.familienzentren.get(procedure.familienzentrum_id), uow.now(), "Bericht fertig",
                                   evidence_store=store)

    before: datetime = world.clock.at
    data = world.read(signing)
    sign_off(world, "aud-1", pid, "Bericht fertig", evidence_store=store)
    assert world.read(lambda uow: uow.audits.signed_off(pid)) == before
    assert world.read(lambda uow: packet_data(uow, "cert-1", pid, evidence_store=store)) == data


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
    with pytest.raises(UseCaseError, match=r"Auditpaket .* lässt sich nicht erzeugen: .*SHA-256 .* beleg-0\.pdf") \
            as refused:
        sign_off(world, "aud-1", pid, "Bericht fertig", evidence_store=store)
    assert refused.value.kind is ErrorKind.REFUSED
    assert world.read(lambda uow: (uow.audits.signed_off(pid), uow.audits.packet_sha256(pid))) == (None, None)
