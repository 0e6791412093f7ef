"""Read use cases for the PDF documents: the audit packet's and the Urkunde's view-models from the database.

:func:`packet_data` gathers one procedure (Familienzentrum, Kitas, Jugendamt, the latest
frozen self-assessment scored against the pinned catalogue, the audit trail, the auditor's
verdicts, the decision) into a :class:`~certflow.packet.PacketData`; :func:`certificate_data`
one seal term into a :class:`~certflow.packet.CertificateData`. Read scope applies.

The packet a signed-off visit shows is frozen at the sign-off: the timeline and the head of the
audit chain end with the sign-off, the date is the sign-off's, and the decision line says what
the auditor handed to the certification body. So rendering it again later (with the same
templates, fonts and evidence store) gives the very bytes whose SHA-256 was stored with the
sign-off (:func:`signing_packet_data` builds the same data for the sign-off, which renders it
with no transaction open and builds it once more before storing, to see that nothing changed:
:func:`certflow.services.procedures.sign_off`).

Evidence: files the evidence store (passed in: the deployment's, :meth:`Application.evidence_store
<certflow.services.runner.Application.evidence_store>`) holds are attached; records that
name a file the store does not hold are listed as missing, records without a file as such
(nothing is invented, nothing left out).

The Qualitätsprofil (the same data as its own short PDF) shows the deficits the scoring engine
generates (:func:`findings`: the latest frozen self-assessment scored, and the recommendations drawn
from its blocking deficits) and, beside them, the certification body's own feedback text
(:func:`certflow.services.dialogue.write_feedback`), which :func:`packet_data` carries and only the
Qualitätsprofil shows.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING

from ..assessment import Assessment, parse_assessment
from ..assessment.model import Period, Status
from ..evidence_store import EvidenceStore
from ..lifecycle.entities import Familienzentrum, Outcome, Procedure, ProcedureState, SubmissionSnapshot, User
from ..lifecycle.machinery import BERLIN, Refused
from ..lifecycle.procedure_machine import PROCEDURE_MACHINE
from ..packet.model import (
    CONFIRMED,
    NOT_CONFIRMED,
    AuditorVerdict,
    CertificateData,
    EvidenceFile,
    FamilienzentrumInfo,
    Member,
    PacketData,
    ProcedureInfo,
    SignOff,
    TimelineEntry,
)
from ..scoring import Report, Scorer
from .actors import resolve
from .common import catalogue_for_key, require_visible, today
from .queries import SIGN_OFF_LABEL, history

if TYPE_CHECKING:
    from ..db.unit_of_work import UnitOfWork

__all__ = ["Findings", "certificate_data", "findings", "packet_data", "signing_packet_data", "stored_packet_sha256"]

SIGN_OFF_ACTION = "audit_visit.sign_off"

_VERDICTS = {Status.ERFUELLT: CONFIRMED, Status.NICHT_ERFUELLT: NOT_CONFIRMED}


def _fz_info(uow: UnitOfWork, fz: Familienzentrum) -> FamilienzentrumInfo:
    members, zuschuss = [], None
    for kita_id in fz.member_kita_ids:
        kita = uow.kitas.find(kita_id)
        if kita is None:
            members.append(Member(kita_id))
            continue
        members.append(Member(kita.name, f"{kita.street}, {kita.postcode} {kita.city}".strip(", ")))
        if kita_id == fz.zuschussempfaenger_id:
            zuschuss = kita.name
    return FamilienzentrumInfo(fz.name, str(fz.form.value if hasattr(fz.form, "value") else fz.form),
                               tuple(members), zuschuss)


def _jugendamt(uow: UnitOfWork, fz: Familienzentrum) -> str:
    ja = uow.jugendaemter.find(fz.jugendamt_id)
    return ja.name if ja is not None else fz.jugendamt_id


def _evidence(assessment, catalogue, store: EvidenceStore) -> tuple[EvidenceFile, ...]:
    files = []
    for ev in assessment.evidence:
        name = (ev.file or f"{ev.items[0]}-{ev.kind}").rsplit("/", 1)[-1]
        kind = catalogue.evidence_kinds.get(ev.kind, ev.kind)
        if ev.sha256 and store.exists(ev.sha256):
            path = store.get(ev.sha256)
            files.append(EvidenceFile(file_name=name, kind=kind, title=ev.title, sha256=ev.sha256,
                                      size=path.stat().st_size, items=tuple(ev.items), path=path))
        else:
            files.append(EvidenceFile.not_at_hand(name, kind, ev.title, ev.sha256, tuple(ev.items),
                                                  has_file=bool(ev.file or ev.sha256)))
    return tuple(files)


def _signoff_decision(report, verdicts: dict[str, AuditorVerdict]) -> str:
    """What a signed-off packet hands to the certification body (the auditor gives no result on site)."""
    confirmed = sum(1 for v in verdicts.values() if v.confirmed)
    return (f"Vorlage zur Entscheidung der Zertifizierungsstelle: Mindestanforderungen laut Selbstbewertung "
            f"{'erfüllt' if report.passed else 'nicht erfüllt'}; {confirmed} von {len(verdicts)} "
            f"Bewertungen der Begehung bestätigt")


def _timeline_entry(row) -> TimelineEntry:
    return TimelineEntry(at=row.at.astimezone(BERLIN), actor=row.actor_name, role=row.actor_role, action=row.what,
                         from_state=row.from_state, to_state=row.to_state, reason=row.reason)


def packet_data(uow: UnitOfWork, actor_id: str, procedure_id: str, *, evidence_store: EvidenceStore) -> PacketData:
    """The audit packet of one procedure (read scope applies; needs a submitted self-assessment).

    Before the sign-off it shows the procedure as it stands (a draft); after it, the packet as signed off.
    The data carries the certification body's feedback text for the Qualitätsprofil when it is written
    (``feedback``); the packet does not show it, so its bytes stay those signed off.
    """
    actor = resolve(uow, actor_id)
    procedure = uow.procedures.get(procedure_id)
    fz = uow.familienzentren.get(procedure.familienzentrum_id)
    require_visible(actor, fz, procedure)
    data = _packet(uow, actor_id, procedure, fz, evidence_store, signing=None)
    written = uow.dialogue.feedback(procedure.id)
    return replace(data, feedback=written.text) if written is not None else data


def signing_packet_data(uow: UnitOfWork, auditor: User, procedure: Procedure, fz: Familienzentrum,
                        at: datetime, reason: str, *, evidence_store: EvidenceStore) -> PacketData:
    """The packet as ``auditor`` signs it off at ``at``, before the sign-off is recorded.

    Its last timeline entry is the sign-off itself, built as :func:`~.queries.history` will show
    it once recorded, so :func:`packet_data` gives the same data (and bytes) afterwards (but for the
    Qualitätsprofil's feedback text, which the packet does not show and which is left out here). The same
    arguments give equal data as long as nothing the packet shows changed (the sign-off compares).
    """
    entry = TimelineEntry(at=at.astimezone(BERLIN), actor=auditor.name, role=auditor.role.label,
                          action=SIGN_OFF_LABEL, reason=reason)
    return _packet(uow, auditor.id, procedure, fz, evidence_store, signing=entry)


@dataclass(frozen=True, slots=True)
class Findings:
    """What the Qualitätsprofil says of the latest frozen self-assessment: the scoring report (its deficits)
    and the recommendations drawn from the blocking deficits of criteria."""

    snapshot: SubmissionSnapshot
    assessment: Assessment
    report: Report
    recommendations: tuple[str, ...]


def findings(uow: UnitOfWork, procedure: Procedure) -> Findings | None:
    """The latest submitted self-assessment of ``procedure`` scored with its pinned catalogue and Prüfzeitraum
    (``None`` before the first submission). The caller has checked the read scope."""
    snapshot = uow.submissions.latest_submitted(procedure.id)
    if snapshot is None:
        return None
    catalogue = catalogue_for_key(procedure.catalogue_key)
    assessment = parse_assessment(snapshot.canonical_json, f"{procedure.id}#{snapshot.revision}", catalogue)
    report = Scorer(catalogue).score(assessment, Period(start=procedure.period_start, end=procedure.period_end))
    recommendations = tuple(f"{d.subject}: {d.message}" for d in report.deficits
                            if d.blocking and not d.subject.startswith("Bereich"))
    return Findings(snapshot, assessment, report, recommendations)


def _packet(uow: UnitOfWork, actor_id: str, procedure: Procedure, fz: Familienzentrum,
            evidence_store: EvidenceStore, signing: TimelineEntry | None) -> PacketData:
    found = findings(uow, procedure)
    if found is None:
        raise Refused(f"Verfahren {procedure.id}: es gibt noch keine eingereichte Selbstbewertung")
    catalogue = catalogue_for_key(procedure.catalogue_key)
    snapshot, assessment, report = found.snapshot, found.assessment, found.report

    rows = history(uow, actor_id, procedure.id)
    trail = uow.audit_log.entries_for("procedure", procedure.id)
    signed = uow.audits.signed_off(procedure.id)
    cut = None
    if signing is None and signed is not None:  # frozen at the sign-off: nothing after it
        cut = next((r.seq for r in rows if r.action == SIGN_OFF_ACTION), None)
    if cut is not None:
        rows = [r for r in rows if r.seq <= cut]
        trail = [e for e in trail if (e.seq or 0) < cut]
    timeline = tuple(_timeline_entry(row) for row in rows) + ((signing,) if signing is not None else ())
    chain_head = trail[-1].hash if trail and trail[-1].hash else "0" * 64

    verdicts = {v.criterion_id: AuditorVerdict(_VERDICTS[Status(v.verdict)], v.remark or "")
                for v in uow.audits.verdicts(procedure.id) if Status(v.verdict) in _VERDICTS}

    users = {u.id: u for u in uow.users.all()}
    visit = uow.audits.visit(procedure.id)
    auditor_id = visit.auditor_id if visit else procedure.auditor_id
    auditor = users[auditor_id].name if auditor_id in users else (auditor_id or "")
    signed_day = signing.at.date() if signing is not None else (
        signed.astimezone(BERLIN).date() if signed is not None else None)
    if signed_day is not None:
        day = signed_day
        decision_label = _signoff_decision(report, verdicts)
    else:
        decision = uow.decisions.find(procedure.id)
        day = decision.decided_at.astimezone(BERLIN).date() if decision is not None else today(uow)
        if decision is not None:
            state = ProcedureState.CERTIFIED if Outcome(decision.outcome) == Outcome.CERTIFIED else \
                ProcedureState.NOT_CERTIFIED
        else:
            state = ProcedureState(procedure.state)
        decision_label = PROCEDURE_MACHINE.state_label(state.value)
    signoff = SignOff(auditor=auditor, date=day, decision=decision_label, snapshot_sha256=snapshot.sha256,
                      chain_head=chain_head)

    recommendations = found.recommendations
    kind = procedure.kind.value if hasattr(procedure.kind, "value") else str(procedure.kind)
    return PacketData(
        familienzentrum=_fz_info(uow, fz),
        jugendamt=_jugendamt(uow, fz),
        procedure=ProcedureInfo(id=procedure.id, number=procedure.id, kind=kind,
                                catalogue_key=catalogue.key, catalogue_version=catalogue.version,
                                period_start=procedure.period_start, period_end=procedure.period_end),
        catalogue=catalogue, assessment=assessment, report=report, timeline=timeline, verdicts=verdicts,
        evidence=_evidence(assessment, catalogue, evidence_store), signoff=signoff, recommendations=recommendations,
        generated_on=day,
    )


def certificate_data(uow: UnitOfWork, actor_id: str, number: str) -> CertificateData:
    """The Urkunde of the newest term of the seal ``number`` (read scope applies)."""
    actor = resolve(uow, actor_id)
    cert = uow.certificates.latest(number)
    if cert is None:
        raise Refused(f"Gütesiegel {number} gibt es nicht")
    fz = uow.familienzentren.get(cert.familienzentrum_id)
    procedures = uow.procedures.of_familienzentrum(fz.id)
    require_visible(actor, fz, procedures=procedures)
    decided = [p for p in procedures if ProcedureState(p.state) == ProcedureState.CERTIFIED]
    version = ""
    if decided:
        try:
            version = catalogue_for_key(decided[-1].catalogue_key).version
        except Refused:
            version = ""
    return CertificateData(familienzentrum=_fz_info(uow, fz), certificate_number=cert.number,
                           issued_on=cert.issued, valid_until=cert.valid_until, jugendamt=_jugendamt(uow, fz),
                           catalogue_version=version)


def stored_packet_sha256(uow: UnitOfWork, actor_id: str, procedure_id: str) -> str | None:
    """The SHA-256 of the packet stored with the auditor's sign-off, ``None`` before it (read scope applies)."""
    actor = resolve(uow, actor_id)
    procedure = uow.procedures.get(procedure_id)
    fz = uow.familienzentren.get(procedure.familienzentrum_id)
    require_visible(actor, fz, procedure)
    return uow.audits.packet_sha256(procedure.id)
