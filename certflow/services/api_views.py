"""What the JSON API (:mod:`certflow.web.api`) reads and checks beyond the other services: pages of lists,
one Familienzentrum, Kita, procedure, certificate or contingent as the actor may see it, the self-assessment
of a procedure (read, validate, score) and the precondition of an update (``If-Match``).

Every function takes the unit of work and the acting user's id and applies the same read scope as the
rest of certflow (:mod:`certflow.lifecycle.access`): what the actor may not see is refused without saying
whether it exists. Paging: ``page`` from 1, ``per_page`` from 1 to :data:`MAX_PER_PAGE`; a bad value is
bad input naming the field.

Decisions where the issue is silent:

* contingents are read by the administration and the certification body (all) and by a coordinator
  (their own Jugendamt); Kita leads and auditors are refused;
* an update names the version it was based on (the ``ETag`` of the procedure it read); if the procedure
  has changed since, the update is refused as a conflict (:class:`~certflow.db.errors.ConflictError`),
  also when the change happens between the check and the write (the version written is checked again).
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from ..assessment import Assessment, Period, parse_assessment
from ..db.errors import ConflictError, NotFoundError
from ..errors import InputError, Problem
from ..lifecycle.entities import (
    Certificate, CertificateState, Familienzentrum, Kita, Procedure, ProcedureState, Role, SubmissionSnapshot, User,
)
from ..lifecycle.machinery import Refused
from ..scoring import Scorer
from . import procedures as procedure_cases
from .actors import resolve
from .common import Result, catalogue_for_key, require_visible
from .reminders import InboxMessage, read_inbox
from .queries import HistoryRow, Overview, overview_page
from .queries import history as procedure_history

if TYPE_CHECKING:
    from ..db.repositories import Verdict
    from ..db.unit_of_work import UnitOfWork
    from .runner import Application

__all__ = [
    "DOCUMENT_KINDS", "MAX_PER_PAGE", "AssessmentCheck", "Document", "FamilienzentrumView", "Page", "ProcedureView",
    "SubmittedAssessment", "certificate", "certificates", "check_assessment", "contingents", "document",
    "familienzentren", "familienzentrum", "history",
    "kita", "kitas", "page_of", "procedure", "procedures", "reminders", "require_version", "score_assessment",
    "submit_assessment", "submitted_assessment", "updating", "verdicts",
]

T = TypeVar("T")
MAX_PER_PAGE = 200
ASSESSMENT_SOURCE = "Selbstbewertung"


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a list: ``items`` (at most ``per_page``, from the ``page``-th) of ``total`` matching."""

    items: tuple[T, ...]
    total: int
    page: int
    per_page: int


def _check_page(page: int, per_page: int) -> None:
    problems = []
    if isinstance(page, bool) or not isinstance(page, int) or page < 1:
        problems.append(Problem("Seite", None, ("page",), f"eine ganze Zahl ab 1 erwartet, nicht {page!r}"))
    if isinstance(per_page, bool) or not isinstance(per_page, int) or not 1 <= per_page <= MAX_PER_PAGE:
        problems.append(Problem("Seite", None, ("per_page",),
                                f"eine ganze Zahl von 1 bis {MAX_PER_PAGE} erwartet, nicht {per_page!r}"))
    if problems:
        raise InputError(problems)


def page_of(items: Sequence[T], page: int, per_page: int) -> Page[T]:
    """The ``page``-th page of ``per_page`` of ``items`` (a page past the last one is empty)."""
    _check_page(page, per_page)
    start = (page - 1) * per_page
    return Page(tuple(items[start:start + per_page]), len(items), page, per_page)


# --- Familienzentren and Kitas --------------------------------------------------------------------------------


def familienzentren(uow: UnitOfWork, actor_id: str, *, page: int = 1, per_page: int = 50,
                    state: ProcedureState | str | None = None) -> Overview:
    """A page of the Familienzentren the actor may see (with their current procedure and seal), optionally
    only those whose current procedure is in ``state``."""
    _check_page(page, per_page)
    return overview_page(uow, actor_id, state=state, page=page, limit=per_page)


@dataclass(frozen=True, slots=True)
class FamilienzentrumView:
    familienzentrum: Familienzentrum
    jugendamt: str
    procedure_ids: tuple[str, ...]
    certificate_numbers: tuple[str, ...]


def _concealed(kind: str, subject_id: str, check: Callable[[], None]) -> None:
    """``check()``, with its refusal told as "there is no such …" (a foreign object's existence stays hidden)."""
    try:
        check()
    except Refused:
        raise NotFoundError(kind, subject_id) from None


def _visible_fz(uow: UnitOfWork, actor: User, fz_id: str, kind: str = "familienzentrum",
                subject_id: str | None = None) -> tuple[Familienzentrum, list[Procedure]]:
    fz = uow.familienzentren.get(fz_id)
    procedures = uow.procedures.of_familienzentrum(fz.id)
    _concealed(kind, subject_id or fz_id, lambda: require_visible(actor, fz, procedures=procedures))
    return fz, procedures


def familienzentrum(uow: UnitOfWork, actor_id: str, familienzentrum_id: str) -> FamilienzentrumView:
    """One Familienzentrum the actor may see: its members, Jugendamt, the procedures and seals they may see."""
    actor = resolve(uow, actor_id)
    fz, procedures = _visible_fz(uow, actor, familienzentrum_id)
    visible = {p.id for p in uow.procedures.visible_to(actor, familienzentrum_ids=[fz.id])}
    jugendamt = uow.jugendaemter.get(fz.jugendamt_id)
    numbers = sorted({c.number for c in uow.certificates.of_familienzentrum(fz.id)})
    return FamilienzentrumView(fz, jugendamt.name, tuple(p.id for p in procedures if p.id in visible),
                               tuple(numbers))


def kitas(uow: UnitOfWork, actor_id: str, *, page: int = 1, per_page: int = 50,
          familienzentrum_id: str | None = None) -> Page[Kita]:
    """The Kitas of the Familienzentren the actor may see (or of one of them), ordered by id."""
    _check_page(page, per_page)
    actor = resolve(uow, actor_id)
    if familienzentrum_id:
        fz, _ = _visible_fz(uow, actor, familienzentrum_id)
        ids = set(fz.member_kita_ids)
    else:
        ids = {k for fz in uow.familienzentren.visible_to(actor) for k in fz.member_kita_ids}
    ordered = sorted(ids)
    start = (page - 1) * per_page
    return Page(tuple(uow.kitas.get(k) for k in ordered[start:start + per_page]), len(ordered), page, per_page)


def kita(uow: UnitOfWork, actor_id: str, kita_id: str) -> Kita:
    """One Kita, if it belongs to a Familienzentrum the actor may see."""
    actor = resolve(uow, actor_id)
    fz_id = uow.familienzentren.of_kita(kita_id)
    if fz_id is None:
        raise NotFoundError("kita", kita_id)
    _visible_fz(uow, actor, fz_id, "kita", kita_id)
    return uow.kitas.get(kita_id)


# --- procedures -----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ProcedureView:
    procedure: Procedure
    familienzentrum_name: str


def _visible_procedure(uow: UnitOfWork, actor: User, procedure_id: str) -> tuple[Procedure, Familienzentrum]:
    procedure = uow.procedures.get(procedure_id)
    fz = uow.familienzentren.get(procedure.familienzentrum_id)
    _concealed("procedure", procedure_id, lambda: require_visible(actor, fz, procedure))
    return procedure, fz


def procedures(uow: UnitOfWork, actor_id: str, *, page: int = 1, per_page: int = 50,
               state: ProcedureState | str | None = None, familienzentrum_id: str | None = None) -> Page[Procedure]:
    """The procedures the actor may see (of one Familienzentrum, in one state), by Kindergartenjahr and id."""
    _check_page(page, per_page)
    states: tuple[ProcedureState, ...] = ()
    if state:
        try:
            states = (ProcedureState(state),)
        except ValueError:
            raise InputError([Problem("Filter", None, ("state",),
                                      f"einen Zustand „{str(state)[:40]}“ gibt es nicht")]) from None
    actor = resolve(uow, actor_id)
    if familienzentrum_id:  # a handful: read them all
        return page_of(uow.procedures.visible_to(actor, familienzentrum_ids=[familienzentrum_id], states=states),
                       page, per_page)
    counts = uow.procedures.count_visible(actor)
    total = sum(counts.get(s, 0) for s in states) if states else sum(counts.values())
    offset = (page - 1) * per_page
    listed = uow.procedures.listed_visible_to(actor, states=states, limit=per_page, offset=offset) \
        if offset < total else []
    return Page(tuple(row.procedure for row in listed), total, page, per_page)


def procedure(uow: UnitOfWork, actor_id: str, procedure_id: str) -> ProcedureView:
    actor = resolve(uow, actor_id)
    p, fz = _visible_procedure(uow, actor, procedure_id)
    return ProcedureView(p, fz.name)


def require_version(uow: UnitOfWork, actor_id: str, procedure_id: str, expected: int) -> Procedure:
    """The procedure, if the actor may see it and it is still at version ``expected`` (else a conflict)."""
    actor = resolve(uow, actor_id)
    p, _fz = _visible_procedure(uow, actor, procedure_id)
    if p.version != expected:
        raise ConflictError("procedure", p.id, expected, p.version)
    return p


def updating(uow: UnitOfWork, actor_id: str, procedure_id: str, expected: int,
             action: Callable[[UnitOfWork], T]) -> T:
    """``action(uow)`` on a procedure that is still at version ``expected`` (see :func:`require_version`); if
    the action wrote the procedure, the version it wrote must follow ``expected`` directly (nobody else wrote
    in between)."""
    require_version(uow, actor_id, procedure_id, expected)
    result = action(uow)
    changed = result.procedure if isinstance(result, Result) else None
    if changed is not None and changed.id == procedure_id and changed.version not in (expected, expected + 1):
        raise ConflictError("procedure", procedure_id, expected, changed.version - 1)
    return result


def verdicts(uow: UnitOfWork, actor_id: str, procedure_id: str, *, page: int = 1,
             per_page: int = 50) -> Page[Verdict]:
    """The verdicts of the procedure's visit, by criterion."""
    _check_page(page, per_page)
    _visible_procedure(uow, resolve(uow, actor_id), procedure_id)
    return page_of(procedure_cases.verdicts_of(uow, actor_id, procedure_id), page, per_page)


def history(uow: UnitOfWork, actor_id: str, procedure_id: str, *, page: int = 1,
            per_page: int = 50) -> Page[HistoryRow]:
    """Who did what to the procedure, when and why (:func:`certflow.services.queries.history`), oldest first."""
    _check_page(page, per_page)
    _visible_procedure(uow, resolve(uow, actor_id), procedure_id)
    return page_of(procedure_history(uow, actor_id, procedure_id), page, per_page)


# --- self-assessments -----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SubmittedAssessment:
    snapshot: SubmissionSnapshot

    @property
    def document(self) -> dict[str, Any]:
        return json.loads(self.snapshot.canonical_json)


def submitted_assessment(uow: UnitOfWork, actor_id: str, procedure_id: str,
                         revision: int | None = None) -> SubmittedAssessment:
    """The newest (or the ``revision``-th) submitted self-assessment of a procedure the actor may see."""
    actor = resolve(uow, actor_id)
    p, _fz = _visible_procedure(uow, actor, procedure_id)
    snapshots = uow.submissions.submitted(p.id)
    chosen = [s for s in snapshots if revision is None or s.revision == revision]
    if not chosen:
        raise Refused(f"Im Verfahren {p.id} ist keine Selbstbewertung" +
                      (f" in Revision {revision}" if revision is not None else "") + " eingereicht")
    return SubmittedAssessment(chosen[-1])


def _parse(document: Any, procedure: Procedure) -> Assessment:
    if not isinstance(document, dict):
        raise InputError([Problem(ASSESSMENT_SOURCE, None, (),
                                  "eine Selbstbewertung ist ein JSON-Objekt (catalogue, answers, ...)")])
    text = json.dumps(document, ensure_ascii=False)
    return parse_assessment(text, ASSESSMENT_SOURCE, catalogue_for_key(procedure.catalogue_key))


@dataclass(frozen=True, slots=True)
class AssessmentCheck:
    valid: bool
    problems: tuple[Problem, ...]


def check_assessment(uow: UnitOfWork, actor_id: str, procedure_id: str, document: Any) -> AssessmentCheck:
    """Whether ``document`` is a self-assessment in the documented format for the procedure's catalogue
    (the problems with their fields, if not). Nothing is saved."""
    actor = resolve(uow, actor_id)
    p, _fz = _visible_procedure(uow, actor, procedure_id)
    try:
        _parse(document, p)
    except InputError as exc:
        return AssessmentCheck(False, tuple(exc.problems))
    return AssessmentCheck(True, ())


def score_assessment(uow: UnitOfWork, actor_id: str, procedure_id: str, document: Any) -> dict[str, Any]:
    """The scoring report of ``document`` with the procedure's catalogue and Prüfzeitraum (nothing is saved)."""
    actor = resolve(uow, actor_id)
    p, _fz = _visible_procedure(uow, actor, procedure_id)
    assessment = _parse(document, p)
    report = Scorer(catalogue_for_key(p.catalogue_key)).score(assessment, Period(start=p.period_start,
                                                                                  end=p.period_end))
    return report.to_dict()


def submit_assessment(uow: UnitOfWork, actor_id: str, procedure_id: str, document: Any, reason: str) -> Result:
    """Submit ``document`` (first submission, or again after a Nachbesserung: the procedure's state decides)."""
    actor = resolve(uow, actor_id)
    p, _fz = _visible_procedure(uow, actor, procedure_id)
    assessment = _parse(document, p)
    if p.state is ProcedureState.CHANGES_REQUESTED:
        return procedure_cases.resubmit(uow, actor_id, procedure_id, assessment, reason)
    return procedure_cases.submit(uow, actor_id, procedure_id, assessment, reason)


# --- certificates and contingents ----------------------------------------------------------------------------


def certificates(uow: UnitOfWork, actor_id: str, *, page: int = 1, per_page: int = 50,
                 state: CertificateState | str | None = None) -> Page[Certificate]:
    """The seals of the Familienzentren the actor may see, by number: each with its newest term; with ``state``
    the terms in that state (by number and date). Paged in SQL without a filter."""
    _check_page(page, per_page)
    wanted = None
    if state:
        try:
            wanted = CertificateState(state)
        except ValueError:
            raise InputError([Problem("Filter", None, ("state",),
                                      f"einen Zustand „{str(state)[:40]}“ gibt es nicht")]) from None
    actor = resolve(uow, actor_id)
    numbers = uow.certificates.numbers_visible_to(actor)
    if wanted is not None:
        visible = set(numbers)
        terms = sorted((c for c in uow.certificates.all(wanted) if c.number in visible),
                       key=lambda c: (c.number, c.issued))
        return page_of(terms, page, per_page)
    start = (page - 1) * per_page
    newest = [uow.certificates.latest(number) for number in numbers[start:start + per_page]]
    return Page(tuple(c for c in newest if c is not None), len(numbers), page, per_page)


def certificate(uow: UnitOfWork, actor_id: str, number: str) -> list[Certificate]:
    """The terms of one seal (oldest first), if its Familienzentrum is one the actor may see."""
    actor = resolve(uow, actor_id)
    newest = uow.certificates.latest(number)
    if newest is None:
        raise NotFoundError("certificate", number)
    _visible_fz(uow, actor, newest.familienzentrum_id, "certificate", number)
    terms = [c for c in uow.certificates.of_familienzentrum(newest.familienzentrum_id) if c.number == number]
    return sorted(terms, key=lambda c: c.issued)


def contingents(uow: UnitOfWork, actor_id: str, *, page: int = 1, per_page: int = 50,
                jugendamt_id: str | None = None) -> Page[Any]:
    """The contingents of places (see the module for who may read them), by Jugendamt and Kindergartenjahr."""
    _check_page(page, per_page)
    actor = resolve(uow, actor_id)
    if actor.role is Role.COORDINATOR:
        if jugendamt_id and jugendamt_id != actor.jugendamt_id:
            raise Refused(f"{actor.name} gehört nicht zum Jugendamt {jugendamt_id}")
        jugendamt_id = actor.jugendamt_id
    elif actor.role not in (Role.ADMIN, Role.CERTIFIER):
        raise Refused(f"Kontingente sieht die Rolle '{actor.role.label}' nicht")
    rows = sorted(uow.contingents.all(jugendamt_id or None), key=lambda c: (c.jugendamt_id, c.kgj.start_year))
    return page_of(rows, page, per_page)


# --- reminders ------------------------------------------------------------------------------------------------

INBOX_LIMIT = 1000


def reminders(uow: UnitOfWork, actor_id: str, *, page: int = 1, per_page: int = 50,
              unread: bool = False) -> Page[InboxMessage]:
    """The actor's own reminders (their in-app inbox, the newest :data:`INBOX_LIMIT`), newest first."""
    _check_page(page, per_page)
    return page_of(read_inbox(uow, actor_id, unread_only=unread, limit=INBOX_LIMIT).messages, page, per_page)


# --- documents ------------------------------------------------------------------------------------------------

DOCUMENT_KINDS = ("packet", "qualitaetsprofil", "urkunde")


@dataclass(frozen=True, slots=True)
class Document:
    filename: str
    media_type: str
    content: bytes = field(repr=False)


def document(app: Application, actor_id: str, kind: str, ident: str) -> Document:
    """A PDF as the actor may see it: the audit packet (``"packet"``) or the Qualitätsprofil of a procedure,
    or the Urkunde of a seal's newest term (``"urkunde"``, ``ident``: its number); rendered in a worker
    process (:mod:`.rendering`). What the actor may not see is told as unknown."""
    from .rendering import render_certificate, render_packet, render_qualitaetsprofil

    if kind not in DOCUMENT_KINDS:
        raise ValueError(f"unknown document kind {kind!r}")
    if kind == "urkunde":
        app.run(lambda uow: certificate(uow, actor_id, ident))
    else:
        app.run(lambda uow: procedure(uow, actor_id, ident))
    with tempfile.TemporaryDirectory(prefix="certflow-api-") as folder:
        out = Path(folder) / "dokument.pdf"
        render = {"packet": render_packet, "qualitaetsprofil": render_qualitaetsprofil,
                  "urkunde": render_certificate}[kind]
        render(app, actor_id, ident, out)
        return Document(f"{ident}-{kind}.pdf", "application/pdf", out.read_bytes())
