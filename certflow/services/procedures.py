"""Use cases of a procedure, one function each: nominate ... decide, withdraw.

Every function takes the unit of work, the acting user's id, the procedure (or
Familienzentrum) and a reason, checks the actor's read scope (someone who may not
see a procedure cannot act on it either: the refusal reveals nothing about it),
lets the domain's guards check roles and rules, and saves through the
repositories, which record who, when, what and why in the audit trail.

Decisions where the sources are silent (see also docs/lifecycle.md):

* procedure ids are ``V-<start year of the Kindergartenjahr>-<seq>`` (``V-2025-004``);
* withdrawing a nomination (state ``nominated``) frees its contingent place
  again (``contingents.release``, PROVISIONAL); later, the place was used;
* a planned audit date lies today or later;
* a decision after the visit needs the auditor's sign-off first; the visit and
  its verdicts are frozen from then on.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from ..assessment import Assessment, parse_assessment
from ..assessment.model import Status
from ..calendar import KindergartenYear, format_date_de, require_date
from ..catalogue.model import ProcedureKind
from ..db.errors import ConflictError
from ..errors import AssessmentError
from ..evidence_store import EvidenceRejected, EvidenceStore, PendingFile, StoredFile
from ..lifecycle import guards
from ..lifecycle.entities import (
    DEFAULT_CATALOGUE_KEY, AuditVisit, Familienzentrum, Outcome, Procedure, ProcedureState, User,
)
from ..lifecycle.ids import require_id
from ..lifecycle.machinery import Refused, StateChange, refuse_if
from ..lifecycle.opening import open_first_certification
from ..lifecycle.procedure_machine import EVENT_LABELS, EVENT_ROLES, decision_from, fire
from ..lifecycle.snapshot import freeze, next_revision
from ..packet.model import PacketData, PacketError
from ..packet.workers import RenderPool, shared_pool
from ..yamlsource import read_text
from .actors import resolve
from .certificates import issue_for_decision
from .common import Result, catalogue_for_key, need_reason, require_visible, today
from .documents import signing_packet_data
from .runner import classify
from .verdicts import VerdictInput, load_verdicts

if TYPE_CHECKING:
    from ..db.repositories import Verdict
    from ..db.unit_of_work import UnitOfWork
    from .runner import Application

__all__ = [
    "SignOffDraft", "SignOffOutdated", "decide", "nominate", "prepare_sign_off", "record_audit", "record_sign_off",
    "record_verdicts", "register", "request_changes", "resubmit", "schedule_audit", "sign_off", "start_development",
    "submit", "verdicts_of", "withdraw",
]

AssessmentInput = Assessment | str | Path
VerdictsInput = Mapping[str, VerdictInput] | str | Path | None


def _load(uow: UnitOfWork, actor_id: str, procedure_id: str) -> tuple[User, Procedure, Familienzentrum]:
    actor = resolve(uow, actor_id)
    procedure = uow.procedures.get(procedure_id)
    fz = uow.familienzentren.get(procedure.familienzentrum_id)
    require_visible(actor, fz, procedure)
    return actor, procedure, fz


def _fire(uow: UnitOfWork, procedure: Procedure, event: str, actor: User, reason: str, **context) -> StateChange:
    change = fire(procedure, event, actor, reason, clock=uow.clock, **context)
    uow.procedures.save(procedure, change)
    return change


def _simple(uow: UnitOfWork, actor_id: str, procedure_id: str, event: str, reason: str) -> Result:
    actor, procedure, fz = _load(uow, actor_id, procedure_id)
    change = _fire(uow, procedure, event, actor, reason, familienzentrum=fz)
    return Result("procedure.changed", changes=(change,), procedure=procedure)


# --- opening ------------------------------------------------------------------------------------------------------


def nominate(uow: UnitOfWork, actor_id: str, familienzentrum_id: str, kgj: KindergartenYear, reason: str, *,
             procedure_id: str | None = None, catalogue_key: str = DEFAULT_CATALOGUE_KEY) -> Result:
    """The Jugendamt nominates the Familienzentrum for a place of its contingent in ``kgj``.

    The domain checks role, scope, open procedures and the free place; then the
    place is taken atomically (a concurrent nomination may have taken the last one).
    """
    if procedure_id is not None:  # an id given by a person: the one id syntax (it may become a file name)
        require_id(procedure_id, "Verfahren")
    actor = resolve(uow, actor_id)
    fz = uow.familienzentren.get(familienzentrum_id)
    procedures = uow.procedures.of_familienzentrum(fz.id)
    require_visible(actor, fz, procedures=procedures)
    catalogue_for_key(catalogue_key)
    jugendamt = uow.jugendaemter.get(fz.jugendamt_id)
    opening = open_first_certification(
        fz, uow.contingents.get(fz.jugendamt_id, kgj), kgj=kgj, actor=actor, reason=reason,
        procedure_id=procedure_id or uow.procedures.next_id(f"V-{kgj.start_year}-"), catalogue_key=catalogue_key,
        jugendamt_name=jugendamt.name, procedures=procedures, clock=uow.clock)
    taken = uow.contingents.reserve_place(fz.jugendamt_id, kgj, actor_id=actor.id, reason=reason)
    uow.procedures.add(opening.procedure, opening.change, contingent=taken)
    return Result("procedure.nominated", {"familienzentrum": fz.name, "jugendamt": jugendamt.name},
                  changes=(opening.change,), procedure=opening.procedure, contingent=taken)


def register(uow: UnitOfWork, actor_id: str, procedure_id: str, reason: str) -> Result:
    """The Kita registers with the Zertifizierungsstelle."""
    return _simple(uow, actor_id, procedure_id, "register", reason)


def start_development(uow: UnitOfWork, actor_id: str, procedure_id: str, reason: str) -> Result:
    """The development year begins."""
    return _simple(uow, actor_id, procedure_id, "start_development", reason)


# --- submission ---------------------------------------------------------------------------------------------------


def _read_assessment(source: AssessmentInput, procedure: Procedure) -> Assessment:
    """The self-assessment; a file is checked against the procedure's pinned catalogue when it names it."""
    if isinstance(source, Assessment):
        return source
    path = Path(source)
    text = read_text(path, AssessmentError)
    bare = parse_assessment(text, str(path))
    if f"{bare.catalogue}@{bare.catalogue_version}" != procedure.catalogue_key:
        return bare  # the domain refuses it with the pinned catalogue named
    return parse_assessment(text, str(path), catalogue_for_key(procedure.catalogue_key))


def _ingest(assessment: Assessment, evidence_dir: Path, store: EvidenceStore) -> list[PendingFile]:
    """Check every evidence file the assessment names and stage it beside the store (not in it yet:
    :func:`_publish` after the commit); refuse on the first bad one, leaving nothing staged."""
    root = evidence_dir.resolve()
    staged: dict[str, PendingFile] = {}
    try:
        for ev in assessment.evidence:
            if not ev.file or ev.file in staged:
                continue
            path = (root / ev.file).resolve()
            if not path.is_relative_to(root):
                raise Refused(f"Einreichen nicht möglich: Beleg {ev.file} liegt außerhalb von {evidence_dir}")
            if not path.is_file():
                raise Refused(f"Einreichen nicht möglich: Beleg {ev.file} fehlt in {evidence_dir}")
            try:
                staged[ev.file] = store.stage(path, ev.file, expected_sha256=ev.sha256)
            except EvidenceRejected as exc:
                raise Refused(f"Einreichen nicht möglich: Beleg abgelehnt: {exc.reason}") from None
    except BaseException:
        _discard(staged.values())
        raise
    return list(staged.values())


def _discard(pending) -> None:
    for file in pending:
        file.discard()


def _publish(pending: list[PendingFile]) -> tuple[str, ...]:
    """Move the staged files of a committed submission into the store; what could not be moved, as warnings."""
    warnings = []
    for file in pending:
        try:
            file.publish()
        except OSError as exc:
            warnings.append(f"Beleg {file.stored.filename} konnte nicht in den Nachweisspeicher übernommen werden "
                            f"({exc.strerror or exc}); bitte erneut hochladen")
    return tuple(warnings)


def _submission(uow: UnitOfWork, actor_id: str, procedure_id: str, source: AssessmentInput, reason: str,
                event: str, evidence_dir: str | Path | None, evidence_store: EvidenceStore | None) -> Result:
    if evidence_dir is not None and evidence_store is None:
        raise TypeError("evidence_dir needs the evidence_store to put the files into")
    actor, procedure, fz = _load(uow, actor_id, procedure_id)
    reason = need_reason(reason, "Einreichen")
    # State and role first: reading and scoring a file for a refused event is wasted work.
    expected = ProcedureState.IN_DEVELOPMENT if event == "submit" else ProcedureState.CHANGES_REQUESTED
    if procedure.state is not expected:  # the machine phrases the refusal (state and the possible events)
        fire(procedure, event, actor, reason, clock=uow.clock, familienzentrum=fz, catalogue=None,
             assessment=None, snapshot=None)
    refuse_if(guards.actor_refusal(actor, EVENT_ROLES[event], EVENT_LABELS[event], fz))
    catalogue = catalogue_for_key(procedure.catalogue_key)
    assessment = _read_assessment(source, procedure)
    check = guards.check_submission(procedure, fz, catalogue, assessment)
    refuse_if(check.refusal)
    pending: list[PendingFile] = []
    if evidence_dir is not None and evidence_store is not None:  # one without the other: refused on entry
        pending = _ingest(assessment, Path(evidence_dir), evidence_store)
    files: list[StoredFile] = [f.stored for f in pending]
    try:
        revision = next_revision(uow.submissions.latest_submitted(procedure.id))
        snapshot = freeze(assessment, revision, procedure_id=procedure.id, submitted_by=actor.id,
                          submitted_at=uow.now(), passed=check.passed)
        change = fire(procedure, event, actor, reason, clock=uow.clock, familienzentrum=fz, catalogue=catalogue,
                      assessment=assessment, snapshot=snapshot)
        uow.submissions.add_snapshot(snapshot, reason=reason)
        if files:
            uow.record(actor_id=actor.id, action="assessment_revision.evidence", subject_kind="assessment_revision",
                       subject_id=f"{procedure.id}#{revision}", reason=reason, at=change.at,
                       payload={"files": [{"file": f.filename, "sha256": f.sha256, "size": f.size,
                                           "media_type": f.media_type} for f in files]})
        uow.procedures.save(procedure, change)
        if pending:
            uow.commit()  # the submission first: its evidence enters the store only once it is committed
    except BaseException:
        _discard(pending)  # a refusal or a failed commit leaves no file in the store
        raise
    warnings = change.warnings + _publish(pending)
    return Result("procedure.submitted", {"revision": revision, "sha256": snapshot.sha256, "passed": snapshot.passed},
                  warnings=warnings, changes=(change,), procedure=procedure, count=len(files))


def submit(uow: UnitOfWork, actor_id: str, procedure_id: str, assessment: AssessmentInput, reason: str, *,
           evidence_dir: str | Path | None = None, evidence_store: EvidenceStore | None = None) -> Result:
    """The Kita lead submits the self-assessment (a file or an :class:`Assessment`).

    It is scored with the pinned catalogue and the procedure's Prüfzeitraum and
    frozen as the next revision; a failing score is submitted with a warning.
    With ``evidence_dir`` every evidence file it names is checked and staged for ``evidence_store``
    (the deployment's: ``Application.evidence_store()``) first; a file the store refuses
    refuses the submission (nothing saved). The submission is then committed here, and only
    after that do its files enter the store: a failed commit leaves none behind.
    """
    return _submission(uow, actor_id, procedure_id, assessment, reason, "submit", evidence_dir, evidence_store)


def resubmit(uow: UnitOfWork, actor_id: str, procedure_id: str, assessment: AssessmentInput, reason: str, *,
             evidence_dir: str | Path | None = None, evidence_store: EvidenceStore | None = None) -> Result:
    """The Kita lead submits the improved self-assessment after a Nachbesserung (a new revision)."""
    return _submission(uow, actor_id, procedure_id, assessment, reason, "resubmit", evidence_dir, evidence_store)


def request_changes(uow: UnitOfWork, actor_id: str, procedure_id: str, reason: str) -> Result:
    """The Zertifizierungsstelle asks for a Nachbesserung before the visit."""
    return _simple(uow, actor_id, procedure_id, "request_changes", reason)


# --- audit --------------------------------------------------------------------------------------------------------


def schedule_audit(uow: UnitOfWork, actor_id: str, procedure_id: str, auditor_id: str, audit_date: date,
                   reason: str) -> Result:
    """The Zertifizierungsstelle assigns an impartial auditor and the agreed visit date (again: reschedule)."""
    actor, procedure, fz = _load(uow, actor_id, procedure_id)
    require_date(audit_date, "Termin der Begehung")
    auditor = uow.users.find(auditor_id)
    if auditor is None:
        raise Refused(f"Unbekannter Benutzer '{auditor_id}'")
    if audit_date < today(uow):
        raise Refused(f"Der Termin der Begehung ({format_date_de(audit_date)}) liegt in der Vergangenheit")
    kitas = [uow.kitas.get(k) for k in fz.member_kita_ids]
    change = _fire(uow, procedure, "schedule_audit", actor, reason, familienzentrum=fz, auditor=auditor,
                   kitas=kitas, audit_date=audit_date)
    return Result("procedure.audit_scheduled", {"date": audit_date, "auditor": auditor.name}, changes=(change,),
                  procedure=procedure)


def _verdicts(source: VerdictsInput, procedure: Procedure) -> dict[str, VerdictInput]:
    if source is None:
        return {}
    if isinstance(source, (str, Path)):
        return load_verdicts(source, catalogue_for_key(procedure.catalogue_key))
    return dict(source)


def _store_verdicts(uow: UnitOfWork, actor: User, procedure: Procedure, verdicts: Mapping[str, VerdictInput],
                    reason: str) -> None:
    from ..db.repositories import Verdict

    for criterion_id, given in sorted(verdicts.items()):
        if given.verdict not in (Status.ERFUELLT, Status.NICHT_ERFUELLT):
            raise Refused(f"Bewertung zu {criterion_id}: erfüllt oder nicht erfüllt, nicht '{given.verdict}'")
        uow.audits.record_verdict(Verdict(procedure.id, criterion_id, given.verdict, given.remark, actor.id),
                                  reason=reason)


def record_audit(uow: UnitOfWork, actor_id: str, procedure_id: str, visit_date: date, reason: str, *,
                 sites: tuple[str, ...] | None = None, verdicts: VerdictsInput = None) -> Result:
    """The assigned auditor records the visit (day, sites) and the verdicts per criterion.

    ``sites`` default to the one Kita of an Einzeleinrichtung; a Verbund names two.
    """
    actor, procedure, fz = _load(uow, actor_id, procedure_id)
    reason = need_reason(reason, "Begehung erfassen")
    require_date(visit_date, "Tag der Begehung")
    if sites is None:
        sites = fz.member_kita_ids if len(fz.member_kita_ids) == 1 else ()
    visit = AuditVisit(procedure.id, visit_date, actor.id, tuple(sites))
    given = _verdicts(verdicts, procedure)
    change = _fire(uow, procedure, "record_audit", actor, reason, familienzentrum=fz, visit=visit)
    uow.audits.add_visit(visit, reason=reason)
    _store_verdicts(uow, actor, procedure, given, reason)
    return Result("procedure.audit_recorded", {"date": visit_date, "sites": tuple(visit.sites)}, changes=(change,),
                  procedure=procedure, count=len(given))


def record_verdicts(uow: UnitOfWork, actor_id: str, procedure_id: str, verdicts: VerdictsInput,
                    reason: str) -> Result:
    """The visit's auditor records or corrects verdicts; refused once the visit is signed off (frozen)."""
    actor, procedure, _fz = _load(uow, actor_id, procedure_id)
    reason = need_reason(reason, "Bewertungen erfassen")
    given = _verdicts(verdicts, procedure)
    if uow.audits.visit(procedure.id) is None:
        raise Refused(f"Im Verfahren {procedure.id} ist noch keine Begehung erfasst")
    _store_verdicts(uow, actor, procedure, given, reason)
    return Result("procedure.verdicts_recorded", procedure=procedure, count=len(given))


def verdicts_of(uow: UnitOfWork, actor_id: str, procedure_id: str) -> list[Verdict]:
    """The visit's verdicts (read scope applies)."""
    _load(uow, actor_id, procedure_id)
    return uow.audits.verdicts(procedure_id)


# --- sign-off: read in one unit of work, render with none open, store in a second ------------------------------


class SignOffOutdated(ConflictError):
    """What the packet shows changed while it was rendered: nothing is signed off; sign off again."""

    def __init__(self, procedure_id: str, expected: int, actual: int | None):
        super().__init__("procedure", procedure_id, expected, actual)
        self.message = (f"Das Auditpaket zum Verfahren {procedure_id} wurde inzwischen geändert, bitte erneut "
                        "abzeichnen; die Begehung ist nicht abgezeichnet")
        self.args = (self.message,)


@dataclass(frozen=True, slots=True)
class SignOffDraft:
    """What the sign-off's first unit of work read: the packet as the auditor signs it off, and what it rests on.

    ``at`` is the moment of the sign-off (the packet's date and last timeline entry, and the time
    stored with it); ``procedure_version`` the version of the procedure read with it.
    """

    actor_id: str
    procedure_id: str
    reason: str
    at: datetime
    procedure_version: int
    data: PacketData
    evidence_store: EvidenceStore


def _unmakeable(procedure_id: str, exc: Exception) -> Refused:
    return Refused(f"Das Auditpaket zum Verfahren {procedure_id} lässt sich nicht erzeugen: {exc}; "
                   "die Begehung ist nicht abgezeichnet")


def prepare_sign_off(uow: UnitOfWork, actor_id: str, procedure_id: str, reason: str, *,
                     evidence_store: EvidenceStore) -> SignOffDraft:
    """The sign-off's first unit of work (it writes nothing): check it may happen, gather the packet's data.

    Refused here, before any time is spent on the packet: no visit yet, signed off already, not
    the visit's auditor, no reason, data the packet cannot be made from.
    """
    actor, procedure, fz = _load(uow, actor_id, procedure_id)
    reason = need_reason(reason, "Begehung abzeichnen")
    if uow.audits.visit(procedure.id) is None:
        raise Refused(f"Im Verfahren {procedure.id} ist noch keine Begehung erfasst")
    uow.audits.check_open(procedure.id, actor.id)
    at = uow.now()
    try:
        data = signing_packet_data(uow, actor, procedure, fz, at, reason, evidence_store=evidence_store)
    except PacketError as exc:
        raise _unmakeable(procedure.id, exc) from exc
    return SignOffDraft(actor.id, procedure.id, reason, at, procedure.version, data, evidence_store)


def record_sign_off(uow: UnitOfWork, draft: SignOffDraft, pdf: bytes) -> Result:
    """The sign-off's second unit of work: store it with the SHA-256 of ``pdf`` (the packet rendered from
    ``draft.data``), unless something the packet shows changed since ``draft`` was read.

    Checked again, in this transaction: the actor's scope, the visit still open and theirs, the
    procedure's version, and the packet's data rebuilt as of ``draft.at`` equal to what was
    rendered (the timeline, the verdicts, the audit chain's head, the evidence ...). Otherwise
    :class:`SignOffOutdated` and nothing is stored.
    """
    actor, procedure, fz = _load(uow, draft.actor_id, draft.procedure_id)
    # First, and locking the visit until the end: of two sign-offs at the same moment the later one waits
    # here and then sees the earlier one's, so every lost race is the same refusal (FrozenError).
    uow.audits.check_open(procedure.id, actor.id)
    if procedure.version != draft.procedure_version:
        raise SignOffOutdated(procedure.id, draft.procedure_version, procedure.version)
    try:
        now = signing_packet_data(uow, actor, procedure, fz, draft.at, draft.reason,
                                  evidence_store=draft.evidence_store)
    except PacketError as exc:
        raise _unmakeable(procedure.id, exc) from exc
    if now != draft.data:
        raise SignOffOutdated(procedure.id, draft.procedure_version, procedure.version)
    digest = hashlib.sha256(pdf).hexdigest()
    uow.audits.sign_off(procedure.id, by=actor.id, reason=draft.reason, at=draft.at, packet_sha256=digest)
    count = len(uow.audits.verdicts(procedure.id))
    return Result("procedure.signed_off", {"sha256": digest}, procedure=procedure, count=count, document=pdf)


def sign_off(app: Application, actor_id: str, procedure_id: str, reason: str, *,
             evidence_store: EvidenceStore | None = None, pool: RenderPool | None = None) -> Result:
    """The visit's auditor signs the visit, its verdicts and the audit packet off; from now on they are frozen.

    One call for every entrypoint (command line, web), in three steps so that no transaction is
    open while the packet renders (seconds; on SQLite a write transaction locks the whole
    database): :func:`prepare_sign_off` reads and checks in one unit of work, the packet is
    rendered in a worker process (``pool``, else :func:`~certflow.packet.workers.shared_pool`),
    then :func:`record_sign_off` stores the sign-off and the packet's SHA-256 in a second, short
    unit of work if nothing the packet shows changed meanwhile. ``Result.document`` holds the
    packet's bytes. The templates are the deployment's (``app.settings.templates``), as for every
    later render; ``evidence_store`` defaults to ``app.evidence_store()``.

    Failures leave as :class:`~.runner.UseCaseError`: refused (no visit, signed off already, not
    the visit's auditor, a packet that cannot be made) or a conflict (changed meanwhile: sign off again).
    """
    store = evidence_store if evidence_store is not None else app.evidence_store()
    draft = app.run(lambda uow: prepare_sign_off(uow, actor_id, procedure_id, reason, evidence_store=store))
    try:
        pdf, _pages = (pool or shared_pool()).pdf("packet", draft.data, app.settings.templates)
    except PacketError as exc:
        raise classify(_unmakeable(draft.procedure_id, exc)) from None
    return app.run(lambda uow: record_sign_off(uow, draft, pdf))


# --- decision and withdrawal ----------------------------------------------------------------------------------------


def decide(uow: UnitOfWork, actor_id: str, procedure_id: str, outcome: Outcome | str, reason: str) -> Result:
    """The Zertifizierungsstelle decides (four eyes): certify issues the seal, reject ends the procedure."""
    actor, procedure, fz = _load(uow, actor_id, procedure_id)
    outcome = Outcome(outcome)
    event = "certify" if outcome is Outcome.CERTIFIED else "reject"
    if procedure.state is ProcedureState.AUDITED and uow.audits.signed_off(procedure.id) is None:
        raise Refused(f"Die Begehung im Verfahren {procedure.id} ist noch nicht vom Auditor abgezeichnet; "
                      "entschieden wird danach")
    context: dict = {"familienzentrum": fz}
    if event == "certify":
        context["snapshot"] = uow.submissions.latest_submitted(procedure.id)
        if context["snapshot"] is None:
            raise Refused(f"Im Verfahren {procedure.id} ist keine Selbstbewertung eingereicht")
    change = _fire(uow, procedure, event, actor, reason, **context)
    uow.decisions.add(decision_from(change))
    if event == "reject":
        return Result("procedure.decided", changes=(change,), procedure=procedure)
    cert, renewed = issue_for_decision(uow, actor, fz, procedure, change)
    return Result("procedure.decided", {"renewed": renewed[-1].subject_id if renewed else None},
                  changes=(change, *renewed), procedure=procedure, certificate=cert)


def withdraw(uow: UnitOfWork, actor_id: str, procedure_id: str, reason: str) -> Result:
    """The Familienzentrum (its lead), its Jugendamt or an admin withdraws the procedure."""
    actor, procedure, fz = _load(uow, actor_id, procedure_id)
    was = procedure.state
    change = _fire(uow, procedure, "withdraw", actor, reason, familienzentrum=fz)
    warnings: list[str] = []
    freed = None
    if was is ProcedureState.NOMINATED and procedure.kind is ProcedureKind.ERST:
        freed = uow.contingents.release_place(fz.jugendamt_id, procedure.kgj, actor_id=actor.id, reason=reason)
    if procedure.kind is ProcedureKind.RE:
        warnings.append(f"Das Gütesiegel von {fz.name} wird nicht erneuert und läuft zum Ende seiner Gültigkeit ab")
    return Result("procedure.withdrawn", warnings=tuple(warnings), changes=(change,), procedure=procedure,
                  contingent=freed)

