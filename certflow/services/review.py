"""The auditor's review: the assigned procedures, and one procedure's self-assessment beside the visit.

What the auditor's pages need, each in one call, scoped:

* :func:`assignments` — the procedures assigned to the acting auditor, with the planned and the
  recorded visit day, the sign-off, and what is to be done next (``step``); :func:`assignment_page`
  the open ones whole and the closed ones a page at a time (three queries however many there are);
* :func:`review` — one procedure as the auditor reviews it: per area and criterion the Kita's
  answers, activity and evidence records (with whether the evidence store holds the file), the
  scoring engine's result and reasons, the auditor's verdict and remark, and the comment thread;
  plus what the auditor may do now (record the visit, change verdicts, sign off, comment);
* :func:`save_review` — the form of the review page: records the visit with its verdicts
  (:func:`~.procedures.record_audit`) or, once recorded, the verdicts that changed
  (:func:`~.procedures.record_verdicts`); bad input leaves as :class:`ReviewInputError` naming
  the field (``visit_date``, ``sites``, ``reason``, ``("verdict", id)``, ``("remark", id)``; ``form``:
  a field the page does not have, such as an unknown criterion);
* :func:`post_comment` — a comment on one criterion (:func:`~.dialogue.comment`), its text checked first;
  :func:`thread_of` — that criterion's thread alone (what the page swaps in);
* :func:`sign_off_visit` — the reason checked, then :func:`~.procedures.sign_off` (renders the packet);
* :func:`signed_packet` — the signed-off audit packet rendered again for download (the same bytes,
  see :mod:`.documents`), with the SHA-256 stored at the sign-off;
* :func:`evidence_file` — one evidence file of the submitted self-assessment from the evidence store.

Scope: the review, its form, comments, the sign-off and the packet here are the workspace of the
procedure's assigned auditor; anyone else (another auditor, another role, an unassigned or
unknown procedure) gets :class:`~certflow.db.errors.NotFoundError`, which reveals nothing.
Evidence files follow the read scope (whoever may see the procedure may see its evidence).
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from ..assessment import parse_assessment
from ..assessment.model import Assessment, Period, Status
from ..catalogue.model import AREA_KIND_LABEL, AreaKind, Catalogue, Criterion, Form, Level
from ..db.errors import NotFoundError
from ..db.repositories.procedures import ListGroup
from ..errors import InputError, Problem
from ..evidence_store import EvidenceStore, detect_media_type
from ..lifecycle.dialogue import MAX_COMMENT_CHARS, Comment, comment_refusal
from ..lifecycle.entities import (
    PROCEDURE_STATE_LABELS,
    AuditVisit,
    Familienzentrum,
    Procedure,
    ProcedureState,
    Role,
    SubmissionSnapshot,
    User,
)
from ..lifecycle.guards import actor_refusal, assigned_auditor_refusal
from ..lifecycle.machinery import BERLIN, Refused, refuse_if
from ..lifecycle.procedure_machine import EVENT_LABELS, EVENT_ROLES, PROCEDURE_MACHINE
from ..lifecycle.verbund import audit_sites_refusal
from ..scoring import Scorer
from ..scoring.report import CriterionResult, Report
from .actors import resolve
from .common import Result, catalogue_for_key, require_visible, today
from .verdicts import VerdictInput

if TYPE_CHECKING:
    from ..db.repositories import Verdict
    from ..db.repositories.procedures import ListedProcedure
    from ..db.unit_of_work import UnitOfWork
    from .runner import Application

__all__ = [
    "MAX_REASON_CHARS", "MAX_REMARK_CHARS", "ActivityView", "AreaView", "Assignment", "CriterionView",
    "EvidenceDownload", "EvidenceView", "ItemView", "PacketDownload", "Review", "ReviewEntry", "ReviewInputError",
    "ASSIGNMENT_PAGE_SIZE", "Assignments", "VerdictEntry", "assignment_page", "assignments", "evidence_file",
    "post_comment", "request_changes", "review", "save_review",
    "SectionView", "Site", "Thread", "anchor_of", "sign_off_visit", "signed_packet", "thread_of",
]

MAX_REASON_CHARS = 1000
MAX_REMARK_CHARS = 2000
_VERDICT_VALUES = frozenset({Status.ERFUELLT.value, Status.NICHT_ERFUELLT.value})
_ANSWER_LABELS = {Status.ERFUELLT: "erfüllt", Status.NICHT_ERFUELLT: "nicht erfüllt", Status.OFFEN: "offen"}
_LEVEL_LABELS = {Level.BASIS: "Basis", Level.AUFBAU: "Aufbau"}
_SHA256 = re.compile(r"[0-9a-f]{64}")


class ReviewInputError(InputError):
    """Bad input in the review's forms; each problem's ``path`` names the field (see the module)."""

    kind = "Begehung"


def _problem(path: tuple[str, ...], message: str) -> Problem:
    return Problem("Formular", None, path, message)


# --- scope ------------------------------------------------------------------------------------------------------


def _reviewer(uow: UnitOfWork, actor_id: str, procedure_id: str) -> tuple[User, Procedure, Familienzentrum]:
    """The acting auditor, the procedure and its Familienzentrum, if the actor is the procedure's assigned
    auditor; otherwise :class:`NotFoundError` (the same for unknown, foreign and unassigned procedures)."""
    actor = resolve(uow, actor_id)
    procedure = uow.procedures.get(procedure_id)  # NotFoundError for an unknown id
    if actor.role is not Role.AUDITOR or procedure.auditor_id != actor.id:
        raise NotFoundError("procedure", procedure_id)
    fz = uow.familienzentren.get(procedure.familienzentrum_id)
    require_visible(actor, fz, procedure)
    return actor, procedure, fz


# --- the assigned procedures --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Assignment:
    """One procedure assigned to the auditor. ``step``: ``visit`` (record the visit), ``sign_off`` (verdicts
    and sign-off), ``decision`` (signed off, the certification body decides), ``closed`` (decided or withdrawn)."""

    procedure_id: str
    familienzentrum: str
    form: Form
    jugendamt: str
    kind: str
    kgj: str
    state: ProcedureState
    state_label: str
    planned_audit_date: date | None
    visited_on: date | None
    signed_off_at: datetime | None
    step: str


def _step(procedure: Procedure, visited_on: date | None, signed: datetime | None) -> str:
    if procedure.state in (ProcedureState.CERTIFIED, ProcedureState.NOT_CERTIFIED, ProcedureState.WITHDRAWN):
        return "closed"
    if visited_on is None:
        return "visit"
    return "decision" if signed is not None else "sign_off"


_STEP_ORDER = {"visit": 0, "sign_off": 1, "decision": 2, "closed": 3}


_CLOSED = (ProcedureState.CERTIFIED, ProcedureState.NOT_CERTIFIED, ProcedureState.WITHDRAWN)
ASSIGNMENT_PAGE_SIZE = 25
"""How many closed procedures one page of the auditor's list shows (the open work is always shown whole)."""


@dataclass(frozen=True, slots=True)
class Assignments:
    """The auditor's list: every ``open`` procedure (to visit, to sign off, signed off and waiting for the
    decision), then page ``page`` of the ``closed`` ones (newest first) of ``closed_total``."""

    open: tuple[Assignment, ...]
    closed: tuple[Assignment, ...]
    closed_total: int
    page: int
    pages: int

    @property
    def rows(self) -> tuple[Assignment, ...]:
        return self.open + self.closed


def _auditor(uow: UnitOfWork, actor_id: str) -> User:
    actor = resolve(uow, actor_id)
    if actor.role is not Role.AUDITOR:
        raise Refused(f"Begehungen gibt es nur für Auditorinnen und Auditoren, nicht für die Rolle "
                      f"'{actor.role.label}'")
    return actor


def _assignment(listed: ListedProcedure) -> Assignment:
    p = listed.procedure
    signed = listed.signed_off_at if listed.visited_on is not None else None
    return Assignment(
        procedure_id=p.id, familienzentrum=listed.familienzentrum, form=listed.form, jugendamt=listed.jugendamt,
        kind=p.kind.value, kgj=str(p.kgj), state=p.state, state_label=PROCEDURE_STATE_LABELS[p.state],
        planned_audit_date=p.planned_audit_date, visited_on=listed.visited_on,
        signed_off_at=signed, step=_step(p, listed.visited_on, signed))


def _by_step(rows: list[Assignment]) -> list[Assignment]:
    return sorted(rows, key=lambda a: (_STEP_ORDER[a.step], a.planned_audit_date or date.max, a.procedure_id))


def assignments(uow: UnitOfWork, actor_id: str) -> list[Assignment]:
    """The procedures assigned to the acting auditor: open work first (by planned visit day), then the rest.

    Only auditors have assignments; anyone else is refused. Two queries, however many procedures are assigned
    (each procedure is read with its Familienzentrum, Jugendamt and visit). :func:`assignment_page` gives the
    closed ones a page at a time.
    """
    actor = _auditor(uow, actor_id)
    return _by_step([_assignment(listed) for listed in uow.procedures.listed_visible_to(actor)])


def assignment_page(uow: UnitOfWork, actor_id: str, *, page: int = 1,
                    limit: int = ASSIGNMENT_PAGE_SIZE) -> Assignments:
    """The acting auditor's open work, whole and by what is to be done (as :func:`assignments` orders it), and
    page ``page`` of their closed procedures (decided or withdrawn; ``limit`` a page, newest first). A page or
    limit below 1 is bad input; a page past the last has no closed procedures.

    Three queries, however many procedures are assigned: who acts, the counts per state, and both lists in one.
    """
    problems = []
    if isinstance(page, bool) or not isinstance(page, int) or page < 1:
        problems.append(_problem(("seite",), f"eine ganze Zahl ab 1 erwartet, nicht {page!r}"))
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        problems.append(_problem(("limit",), f"eine ganze Zahl ab 1 erwartet, nicht {limit!r}"))
    if problems:
        raise ReviewInputError(problems)
    actor = _auditor(uow, actor_id)
    counts = uow.procedures.count_visible(actor)
    open_states = tuple(s for s in ProcedureState if s not in _CLOSED)
    listed = uow.procedures.listed_in_groups(actor, [
        ListGroup("open", open_states), ListGroup("closed", _CLOSED, newest_first=True, limit=limit,
                                                   offset=(page - 1) * limit)])
    closed_total = sum(counts.get(s, 0) for s in _CLOSED)
    return Assignments(open=tuple(_by_step([_assignment(entry) for entry in listed["open"]])),
                       closed=tuple(_assignment(entry) for entry in listed["closed"]), closed_total=closed_total,
                       page=page, pages=max(1, -(-closed_total // limit)))


# --- one procedure's review ---------------------------------------------------------------------------------------


def anchor_of(criterion_id: str) -> str:
    """An id for the page (``k-1-1``): criterion ids hold dots."""
    return "k-" + re.sub(r"[^A-Za-z0-9]", "-", criterion_id)


@dataclass(frozen=True, slots=True)
class ItemView:
    """One statement of a criterion (its own or a sub-item): the Kita's answer and the engine's result."""

    id: str
    title: str
    answer: Status
    answer_label: str
    comment: str
    met: bool
    reasons: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ActivityView:
    item: str
    date: date
    kind: str
    sessions: int
    participants: int | None
    note: str


@dataclass(frozen=True, slots=True)
class EvidenceView:
    """An evidence record; ``at_hand``: the evidence store holds its file (downloadable by ``sha256``)."""

    title: str
    kind: str
    date: date
    hours: float | None
    file_name: str | None
    sha256: str | None
    at_hand: bool
    items: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class CriterionView:
    id: str
    title: str
    level: str
    points: int
    met: bool
    reasons: tuple[str, ...]
    items: tuple[ItemView, ...]
    activities: tuple[ActivityView, ...]
    evidence: tuple[EvidenceView, ...]
    verdict: Verdict | None
    item_verdicts: tuple[Verdict, ...]
    comments: tuple[Comment, ...]

    @property
    def anchor(self) -> str:
        return anchor_of(self.id)


@dataclass(frozen=True, slots=True)
class SectionView:
    """The criteria of an area, or of one chosen profile of it (``title`` then names the profile)."""

    title: str | None
    points: int
    min_points: int
    basis_met: int
    min_basis: int
    met: bool
    shortfalls: tuple[str, ...]
    criteria: tuple[CriterionView, ...]


@dataclass(frozen=True, slots=True)
class AreaView:
    """An area; ``nested``: it has profiles, so its criteria stand one heading level deeper, under sections."""

    id: str
    title: str
    kind: str
    met: bool
    sections: tuple[SectionView, ...]
    not_chosen: tuple[str, ...]  # profiles of the area the Familienzentrum did not choose
    nested: bool = False

    @property
    def criteria(self) -> tuple[CriterionView, ...]:
        return tuple(c for s in self.sections for c in s.criteria)


@dataclass(frozen=True, slots=True)
class Site:
    id: str
    name: str
    address: str
    zuschussempfaenger: bool


@dataclass(frozen=True, slots=True)
class Review:
    """One procedure as its auditor reviews it (see :func:`review`)."""

    procedure: Procedure
    state_label: str
    familienzentrum: Familienzentrum
    sites: tuple[Site, ...]
    jugendamt: str
    auditor: str
    revision: int
    submitted_at: datetime
    submission_sha256: str
    passed: bool
    deficits: tuple[str, ...]
    areas: tuple[AreaView, ...]
    visit: AuditVisit | None
    signed_off_at: datetime | None
    packet_sha256: str | None
    today: date
    can_record_visit: bool
    can_edit_verdicts: bool
    can_sign_off: bool
    can_comment: bool
    can_request_changes: bool
    criterion_ids: frozenset[str] = field(default=frozenset())

    @property
    def frozen(self) -> bool:
        return self.signed_off_at is not None

    @property
    def visited_sites(self) -> tuple[str, ...]:
        """The names of the Kitas the recorded visit went to."""
        names = {site.id: site.name for site in self.sites}
        return tuple(names.get(i, i) for i in self.visit.sites) if self.visit is not None else ()

    @property
    def verdict_count(self) -> int:
        return sum(1 for area in self.areas for c in area.criteria if c.verdict is not None)

    @property
    def criterion_count(self) -> int:
        return sum(len(area.criteria) for area in self.areas)


@cache
def _scorer(catalogue_key: str) -> Scorer:
    """One scorer per shipped catalogue (it compiles each variant once)."""
    return Scorer(catalogue_for_key(catalogue_key))


def _submitted(uow: UnitOfWork, procedure: Procedure) -> tuple[SubmissionSnapshot, Catalogue, Assessment]:
    snapshot = uow.submissions.latest_submitted(procedure.id)
    if snapshot is None:
        raise Refused(f"Im Verfahren {procedure.id} ist noch keine Selbstbewertung eingereicht")
    catalogue = catalogue_for_key(procedure.catalogue_key)
    assessment = parse_assessment(snapshot.canonical_json, f"{procedure.id}#{snapshot.revision}", catalogue)
    return snapshot, catalogue, assessment


def _criterion_view(crit: Criterion, result: CriterionResult, assessment: Assessment, catalogue: Catalogue,
                    store: EvidenceStore, verdicts: Mapping[str, Verdict], comments: Mapping[str, list[Comment]],
                    at_hand: dict[str, bool]) -> CriterionView:
    titles = {item.id: item.title for item in crit.all_items()}
    own = set(titles)
    items = []
    for item in result.items:
        answer = assessment.answers.get(item.id)
        status = answer.status if answer is not None else Status.OFFEN
        items.append(ItemView(item.id, titles.get(item.id, item.id), status, _ANSWER_LABELS[status],
                              answer.comment if answer is not None else "", item.met, item.reasons))
    activities = tuple(ActivityView(a.item, a.date, catalogue.activity_kinds.get(a.kind, a.kind), a.sessions,
                                    a.participants, a.note)
                       for a in sorted(assessment.activities, key=lambda a: (a.date, a.item)) if a.item in own)
    evidence = []
    for ev in assessment.evidence:
        if not own.intersection(ev.items):
            continue
        if ev.sha256 and ev.sha256 not in at_hand:
            at_hand[ev.sha256] = store.exists(ev.sha256)
        evidence.append(EvidenceView(ev.title, catalogue.evidence_kinds.get(ev.kind, ev.kind), ev.date, ev.hours,
                                     ev.file.rsplit("/", 1)[-1] if ev.file else None, ev.sha256,
                                     bool(ev.sha256 and at_hand[ev.sha256]), tuple(ev.items)))
    return CriterionView(
        id=crit.id, title=crit.title, level=_LEVEL_LABELS[crit.level], points=result.points, met=result.met,
        reasons=result.reasons, items=tuple(items), activities=activities, evidence=tuple(evidence),
        verdict=verdicts.get(crit.id),
        item_verdicts=tuple(verdicts[i] for i in sorted(own - {crit.id}) if i in verdicts),
        comments=tuple(comments.get(crit.id, ())))


def _areas(report: Report, catalogue: Catalogue, assessment: Assessment, store: EvidenceStore,
           verdicts: Mapping[str, Verdict], comments: Mapping[str, list[Comment]]) -> tuple[AreaView, ...]:
    by_id = {crit.id: crit for _, _, crit in catalogue.all_criteria()}
    at_hand: dict[str, bool] = {}

    def views(results) -> tuple[CriterionView, ...]:
        return tuple(_criterion_view(by_id[r.id], r, assessment, catalogue, store, verdicts, comments, at_hand)
                     for r in results)

    areas = []
    for area in report.areas:
        t = area.tally
        sections = [SectionView(None, t.points, t.min_points, t.basis_met, t.min_basis, area.met,
                                tuple(t.shortfalls()), views(area.criteria))] if area.criteria else []
        for profile in area.profiles:
            if profile.chosen:
                p = profile.tally
                sections.append(SectionView(f"{profile.id} {profile.title}", p.points, p.min_points, p.basis_met,
                                            p.min_basis, profile.met, tuple(p.shortfalls()),
                                            views(profile.criteria)))
        areas.append(AreaView(area.id, area.title, AREA_KIND_LABEL.get(AreaKind(area.kind), str(area.kind)), area.met,
                              tuple(sections), tuple(f"{p.id} {p.title}" for p in area.profiles if not p.chosen),
                              nested=bool(area.profiles)))
    return tuple(areas)


def _sites(uow: UnitOfWork, fz: Familienzentrum) -> tuple[Site, ...]:
    out = []
    for kita_id in fz.member_kita_ids:
        kita = uow.kitas.find(kita_id)
        name, address = (kita.name, f"{kita.street}, {kita.postcode} {kita.city}") if kita else (kita_id, "")
        out.append(Site(kita_id, name, address, kita_id == fz.zuschussempfaenger_id))
    return tuple(out)


def review(uow: UnitOfWork, actor_id: str, procedure_id: str, *, evidence_store: EvidenceStore) -> Review:
    """The procedure as its assigned auditor reviews it: the latest submitted self-assessment scored against
    the pinned catalogue and the Prüfzeitraum, beside the visit, its verdicts and the comment threads."""
    actor, procedure, fz = _reviewer(uow, actor_id, procedure_id)
    snapshot, catalogue, assessment = _submitted(uow, procedure)
    report = _scorer(procedure.catalogue_key).score(
        assessment, Period(start=procedure.period_start, end=procedure.period_end))
    visit = uow.audits.visit(procedure.id)
    signed = uow.audits.signed_off(procedure.id) if visit is not None else None
    verdicts = {v.criterion_id: v for v in uow.audits.verdicts(procedure.id)} if visit is not None else {}
    comments: dict[str, list[Comment]] = {}
    for c in uow.dialogue.comments(procedure.id):
        comments.setdefault(c.criterion_id, []).append(c)
    criterion_ids = frozenset(c.id for _, _, c in catalogue.all_criteria())
    any_criterion = min(criterion_ids)
    open_visit = visit is not None and signed is None and visit.auditor_id == actor.id
    jugendamt = uow.jugendaemter.find(fz.jugendamt_id)
    return Review(
        procedure=procedure, state_label=PROCEDURE_STATE_LABELS[procedure.state], familienzentrum=fz,
        sites=_sites(uow, fz), jugendamt=jugendamt.name if jugendamt else fz.jugendamt_id, auditor=actor.name,
        revision=snapshot.revision, submitted_at=snapshot.submitted_at, submission_sha256=snapshot.sha256,
        passed=report.passed,
        deficits=tuple(f"{d.subject}: {d.message}" for d in report.deficits if d.blocking),
        areas=_areas(report, catalogue, assessment, evidence_store, verdicts, comments),
        visit=visit, signed_off_at=signed, packet_sha256=uow.audits.packet_sha256(procedure.id) if signed else None,
        today=today(uow),
        can_record_visit=(visit is None and procedure.state is ProcedureState.AUDIT_SCHEDULED
                          and assigned_auditor_refusal(actor, procedure) is None),
        can_edit_verdicts=open_visit, can_sign_off=open_visit,
        can_comment=comment_refusal(actor, procedure, criterion_ids, any_criterion, "-") is None,
        can_request_changes=_changes_refusal(actor, procedure, fz) is None,
        criterion_ids=criterion_ids)


# --- the review form ----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class VerdictEntry:
    """What the form says for one criterion: ``status`` ``""`` (none), ``erfuellt`` or ``nicht_erfuellt``."""

    status: str = ""
    remark: str = ""


@dataclass(frozen=True, slots=True)
class ReviewEntry:
    """The review form: the visit (day and, for a Verbund, the two sites; used only while none is recorded),
    the verdicts by criterion id, and the reason for the audit trail."""

    reason: str
    verdicts: Mapping[str, VerdictEntry] = field(default_factory=dict)
    visit_date: date | None = None
    sites: tuple[str, ...] | None = None


def _reason_problems(reason: str) -> list[Problem]:
    if not isinstance(reason, str) or not reason.strip():
        return [_problem(("reason",), "Bitte einen Grund angeben (er steht im Prüfprotokoll).")]
    if len(reason) > MAX_REASON_CHARS:
        return [_problem(("reason",), f"Der Grund darf höchstens {MAX_REASON_CHARS} Zeichen lang sein "
                                      f"(eingegeben: {len(reason)}).")]
    return []


def _changed_verdicts(entry: ReviewEntry, stored: Mapping[str, Verdict], known: frozenset[str],
                      problems: list[Problem]) -> dict[str, VerdictInput]:
    changed: dict[str, VerdictInput] = {}
    for criterion_id, given in sorted(entry.verdicts.items()):
        status, remark = (given.status or "").strip(), (given.remark or "").strip()
        if criterion_id not in known:
            problems.append(_problem(("form",), f"Das Kriterium {criterion_id} gibt es im Katalog des Verfahrens "
                                                "nicht."))
            continue
        if status and status not in _VERDICT_VALUES:
            problems.append(_problem(("verdict", criterion_id), "Bitte „bestätigt“ oder „nicht bestätigt“ wählen."))
            continue
        if len(remark) > MAX_REMARK_CHARS:
            problems.append(_problem(("remark", criterion_id), f"Die Bemerkung darf höchstens {MAX_REMARK_CHARS} "
                                                               f"Zeichen lang sein (eingegeben: {len(remark)})."))
            continue
        before = stored.get(criterion_id)
        if not status:
            if before is not None:
                problems.append(_problem(("verdict", criterion_id), "Eine erfasste Bewertung lässt sich ändern, "
                                                                    "aber nicht entfernen."))
            elif remark:
                problems.append(_problem(("verdict", criterion_id), "Zur Bemerkung bitte auch eine Bewertung wählen."))
            continue
        if before is not None and Status(before.verdict).value == status and (before.remark or "") == remark:
            continue  # unchanged: nothing for the audit trail
        changed[criterion_id] = VerdictInput(Status(status), remark or None)
    return changed


def save_review(uow: UnitOfWork, actor_id: str, procedure_id: str, entry: ReviewEntry) -> Result:
    """Save the review form: the visit with its verdicts while none is recorded, else the verdicts that changed.

    Every problem of the form is told at once (:class:`ReviewInputError`, nothing saved); then the
    lifecycle's rules apply (the assigned auditor, the state, frozen after the sign-off).
    """
    actor, procedure, fz = _reviewer(uow, actor_id, procedure_id)
    from .procedures import record_audit, record_verdicts

    problems = _reason_problems(entry.reason)
    visit = uow.audits.visit(procedure.id)
    stored = {v.criterion_id: v for v in uow.audits.verdicts(procedure.id)} if visit is not None else {}
    catalogue = catalogue_for_key(procedure.catalogue_key)
    known = frozenset(c.id for _, _, c in catalogue.all_criteria())
    changed = _changed_verdicts(entry, stored, known, problems)
    sites = entry.sites
    if visit is None:
        day = today(uow)
        snapshot = uow.submissions.latest_submitted(procedure.id)
        if entry.visit_date is None:
            problems.append(_problem(("visit_date",), "Bitte den Tag der Begehung angeben."))
        elif entry.visit_date > day:
            problems.append(_problem(("visit_date",), "Der Tag der Begehung darf nicht in der Zukunft liegen "
                                                      f"(heute ist der {day:%d.%m.%Y})."))
        elif snapshot is not None and entry.visit_date < snapshot.submitted_at.astimezone(BERLIN).date():
            first = snapshot.submitted_at.astimezone(BERLIN).date()
            problems.append(_problem(("visit_date",), "Die Begehung kann nicht vor der Einreichung der "
                                                      f"Selbstbewertung ({first:%d.%m.%Y}) liegen."))
        if sites is None or (fz.form is Form.EINZEL and not sites):
            sites = tuple(fz.member_kita_ids) if fz.form is Form.EINZEL else ()
        refusal = audit_sites_refusal(fz, sites)
        if refusal:
            problems.append(_problem(("sites",), refusal + "."))
    if problems:
        raise ReviewInputError(problems)
    reason = entry.reason.strip()
    if visit is None:
        assert entry.visit_date is not None and sites is not None  # else a problem above
        return record_audit(uow, actor.id, procedure.id, entry.visit_date, reason, sites=tuple(sites),
                            verdicts=changed)
    if not changed:
        uow.audits.check_open(procedure.id, actor.id)  # frozen after the sign-off: say so, even for no change
        return Result("procedure.verdicts_recorded", procedure=procedure, count=0)
    return record_verdicts(uow, actor.id, procedure.id, changed, reason)


@dataclass(frozen=True, slots=True)
class Thread:
    """The comment thread of one criterion, as the review page shows it (``nested``: see :class:`AreaView`)."""

    procedure_id: str
    id: str
    comments: tuple[Comment, ...]
    can_comment: bool
    nested: bool

    @property
    def anchor(self) -> str:
        return anchor_of(self.id)


def thread_of(uow: UnitOfWork, actor_id: str, procedure_id: str, criterion_id: str) -> Thread:
    """One criterion's thread for the assigned auditor (what the page swaps in after a comment, without
    reading and scoring the whole self-assessment again)."""
    actor, procedure, _fz = _reviewer(uow, actor_id, procedure_id)
    catalogue = catalogue_for_key(procedure.catalogue_key)
    known = {crit.id: area for area, _profile, crit in catalogue.all_criteria()}
    if criterion_id not in known:
        raise Refused(f"Das Kriterium {criterion_id} gibt es im Katalog des Verfahrens nicht")
    comments = tuple(c for c in uow.dialogue.comments(procedure.id) if c.criterion_id == criterion_id)
    may = comment_refusal(actor, procedure, frozenset(known), criterion_id, "-") is None
    return Thread(procedure.id, criterion_id, comments, may, bool(known[criterion_id].profiles))


def post_comment(uow: UnitOfWork, actor_id: str, procedure_id: str, criterion_id: str, body: str) -> Result:
    """A comment of the assigned auditor on one criterion; an empty or too long text is bad input (``body``)."""
    _reviewer(uow, actor_id, procedure_id)
    from .dialogue import comment

    if not isinstance(body, str) or not body.strip():
        raise ReviewInputError([_problem(("body",), "Bitte einen Kommentar eingeben.")])
    if len(body) > MAX_COMMENT_CHARS:
        raise ReviewInputError([_problem(("body",), f"Ein Kommentar darf höchstens {MAX_COMMENT_CHARS} Zeichen lang "
                                                    f"sein (eingegeben: {len(body)}).")])
    return comment(uow, actor_id, procedure_id, criterion_id, body)


def _changes_refusal(actor: User, procedure: Procedure, fz: Familienzentrum) -> str | None:
    """Why the actor may not request changes now (the role first, then the state), ``None`` if they may."""
    label = EVENT_LABELS["request_changes"]
    refusal = actor_refusal(actor, EVENT_ROLES["request_changes"], label, fz)
    if refusal is None and "request_changes" not in PROCEDURE_MACHINE.allowed_events(procedure.state.value):
        refusal = f"{label} ist im Zustand „{PROCEDURE_STATE_LABELS[procedure.state]}“ nicht möglich"
    return refusal


def request_changes(uow: UnitOfWork, actor_id: str, procedure_id: str, reason: str) -> Result:
    """„Änderungen anfordern“ from the review page: whether this actor may, in this state (the lifecycle's
    roles and states), then the reason (what is to be improved), then :func:`~.procedures.request_changes`."""
    actor, procedure, fz = _reviewer(uow, actor_id, procedure_id)
    from .procedures import request_changes as fire_request_changes

    refuse_if(_changes_refusal(actor, procedure, fz))
    problems = _reason_problems(reason)
    if problems:
        raise ReviewInputError(problems)
    return fire_request_changes(uow, actor_id, procedure_id, reason.strip())


# --- sign-off and the packet ----------------------------------------------------------------------------------


def _check_sign_off(uow: UnitOfWork, actor_id: str, procedure_id: str, reason: str) -> None:
    """The sign-off's preconditions in the order a person needs them: a visit, still open and theirs, a reason."""
    actor, procedure, _fz = _reviewer(uow, actor_id, procedure_id)
    if uow.audits.visit(procedure.id) is None:
        raise Refused(f"Im Verfahren {procedure.id} ist noch keine Begehung erfasst")
    uow.audits.check_open(procedure.id, actor.id)
    problems = _reason_problems(reason)
    if problems:
        raise ReviewInputError(problems)


def sign_off_visit(app: Application, actor_id: str, procedure_id: str, reason: str) -> Result:
    """The assigned auditor signs the visit off: the reason checked (bad input names ``reason``), then
    :func:`~.procedures.sign_off` renders the packet in a worker process and stores its SHA-256."""
    from .procedures import sign_off

    app.run(lambda uow: _check_sign_off(uow, actor_id, procedure_id, reason))
    return sign_off(app, actor_id, procedure_id, reason.strip())


@dataclass(frozen=True, slots=True)
class PacketDownload:
    """The signed-off audit packet: its bytes, the SHA-256 stored at the sign-off and that of these bytes
    (equal unless the certification body's PAdES signature is appended: ``signed``)."""

    file_name: str
    pdf: bytes = field(repr=False)
    pages: int
    stored_sha256: str
    sha256: str
    signed: bool


def _stored_sha256(uow: UnitOfWork, actor_id: str, procedure_id: str) -> str:
    _reviewer(uow, actor_id, procedure_id)
    digest = uow.audits.packet_sha256(procedure_id)
    if digest is None:
        raise Refused(f"Das Auditpaket zum Verfahren {procedure_id} gibt es zum Herunterladen, sobald die Begehung "
                      "abgezeichnet ist")
    return digest


def signed_packet(app: Application, actor_id: str, procedure_id: str) -> PacketDownload:
    """The audit packet as signed off, rendered again in a worker process: the same bytes whose SHA-256 the
    sign-off stored (same templates, fonts and evidence store), signed if the certification body configured it."""
    from .rendering import configured_signer, render_packet

    stored = app.run(lambda uow: _stored_sha256(uow, actor_id, procedure_id))
    signer = configured_signer(app.settings)
    with tempfile.TemporaryDirectory(prefix="certflow-paket-") as folder:
        out = Path(folder) / f"{procedure_id}.pdf"
        rendered = render_packet(app, actor_id, procedure_id, out, signer=signer)
        pdf = out.read_bytes()
    return PacketDownload(f"{procedure_id}-auditpaket.pdf", pdf, rendered.pages, stored, rendered.sha256,
                          signer is not None)


# --- evidence files -------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EvidenceDownload:
    path: Path
    file_name: str
    media_type: str


def evidence_file(uow: UnitOfWork, actor_id: str, procedure_id: str, sha256: str, *,
                  evidence_store: EvidenceStore) -> EvidenceDownload:
    """The file of an evidence record of the procedure's latest submitted self-assessment (read scope applies).

    Only files that self-assessment names are given out, never another one of the store; a record
    without a file, or one the store does not hold, is refused.
    """
    actor = resolve(uow, actor_id)
    procedure = uow.procedures.get(procedure_id)
    fz = uow.familienzentren.get(procedure.familienzentrum_id)
    require_visible(actor, fz, procedure)
    key = (sha256 or "").strip().lower()
    _snapshot, _catalogue, assessment = _submitted(uow, procedure)
    record = next((ev for ev in assessment.evidence if ev.sha256 == key), None) if _SHA256.fullmatch(key) else None
    if record is None:
        raise Refused(f"Diesen Beleg gibt es im Verfahren {procedure.id} nicht")
    if not evidence_store.exists(key):
        raise Refused(f"Der Beleg „{record.title}“ liegt nicht im Belegspeicher")
    path = evidence_store.get(key)
    with path.open("rb") as fh:
        media_type = detect_media_type(fh.read(8192), fh) or "application/octet-stream"
    name = (record.file or f"{record.title}").rsplit("/", 1)[-1]
    return EvidenceDownload(path, name, media_type)
