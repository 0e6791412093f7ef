"""The certification body's desk: the procedures that wait for it, and one procedure as it acts on it.

* :func:`require_desk` — the certification body only (and a procedure that exists);
* :func:`desk` — the procedures from the submission on, grouped by what waits: an audit to plan,
  changes requested from the Kita, an audit planned, a decision to take, and those decided (newest
  first, with the seal); a page of each stage, three queries however many procedures there are;
* :func:`procedure_desk` — one procedure: the Familienzentrum, the auditor and the visit, the
  sign-off, the decision and the seal, the deficits the scoring engine generates for the latest
  submitted self-assessment, the Qualitätsprofil's feedback text, every auditor with the reason
  they would be partial, and what the certification body may do now;
* :func:`plan_audit`, :func:`ask_for_changes`, :func:`decide` — the form's values checked field by
  field (bad values are :class:`DeskInputError` naming the field, so a page can say it there),
  then the use cases of :mod:`.procedures` (their refusals stay refusals).

Only the certification body (role ``certifier``) has this desk; anyone else is refused before
anything is read. The feedback text itself is written with :func:`certflow.services.dialogue.write_feedback`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING

from ..calendar import KindergartenYear, format_date_de
from ..catalogue.model import ProcedureKind
from ..db.repositories.procedures import ListGroup
from ..errors import InputError, Problem
from ..lifecycle import guards
from ..lifecycle.dialogue import CLOSED_STATES, Feedback
from ..lifecycle.entities import (
    PROCEDURE_STATE_LABELS,
    AuditVisit,
    Decision,
    Familienzentrum,
    Kita,
    Outcome,
    Procedure,
    ProcedureState,
    Role,
    User,
)
from ..lifecycle.machinery import Refused
from ..lifecycle.procedure_machine import PROCEDURE_MACHINE
from . import procedures
from .actors import resolve
from .common import Result, require_visible, today
from .documents import Findings, findings

if TYPE_CHECKING:
    from ..db.repositories.procedures import ListedProcedure
    from ..db.unit_of_work import UnitOfWork

__all__ = [
    "DESK_EVENTS", "DESK_PAGE_SIZE", "REASON_MAX", "AuditorChoice", "DeskInputError", "DeskRow", "DeskStage",
    "ProcedureDesk", "ask_for_changes", "decide", "desk", "plan_audit", "procedure_desk", "require_desk",
]

REASON_MAX = 2000
"""The longest reason a form takes (the audit trail keeps it with the change)."""

DESK_EVENTS = ("schedule_audit", "request_changes", "certify", "reject")
"""The events of a procedure the certification body fires from its desk."""

_STAGES = (
    ("plan", "Begehung planen", "Eingereicht: Auditor und Termin der Begehung festlegen oder Nachbesserung anfordern.",
     (ProcedureState.SUBMITTED,)),
    ("changes", "Nachbesserung angefordert", "Die Kita bessert nach und reicht erneut ein.",
     (ProcedureState.CHANGES_REQUESTED,)),
    ("scheduled", "Begehung geplant", "Der Auditor besucht das Familienzentrum und zeichnet die Begehung ab.",
     (ProcedureState.AUDIT_SCHEDULED,)),
    ("decide", "Zu entscheiden", "Begangen: nach der Abzeichnung durch den Auditor entscheiden (Vier-Augen-Prinzip).",
     (ProcedureState.AUDITED,)),
    ("decided", "Entschieden", "Zertifiziert oder nicht zertifiziert, die neuesten zuerst; das Gütesiegel und seine "
     "Urkunde.",
     (ProcedureState.CERTIFIED, ProcedureState.NOT_CERTIFIED)),
)


class DeskInputError(InputError):
    """A value of a desk form that cannot be used; each problem's path names the form field."""

    kind = "Eingabe"


@dataclass(frozen=True, slots=True)
class DeskRow:
    procedure_id: str
    familienzentrum_id: str
    familienzentrum: str
    jugendamt: str
    kind: ProcedureKind
    kgj: KindergartenYear
    state: ProcedureState
    state_label: str
    auditor: str | None
    audit_date: date | None
    signed_off: bool
    certificate_number: str | None


@dataclass(frozen=True, slots=True)
class DeskStage:
    """One stage of the desk: its ``rows`` (the decided stage a page of them, newest first) of ``total``."""

    key: str
    heading: str
    hint: str
    rows: tuple[DeskRow, ...]
    total: int = 0
    page: int = 1
    pages: int = 1


@dataclass(frozen=True, slots=True)
class AuditorChoice:
    """An auditor to choose for the visit; ``conflict`` says why they would be partial (``None``: impartial)."""

    id: str
    name: str
    conflict: str | None


@dataclass(frozen=True, slots=True)
class ProcedureDesk:
    procedure: Procedure
    state_label: str
    familienzentrum: Familienzentrum
    jugendamt: str
    kitas: tuple[Kita, ...]
    auditor: User | None
    visit: AuditVisit | None
    signed_off_at: datetime | None
    packet_sha256: str | None
    decision: Decision | None
    decided_by: str | None
    certificate_number: str | None
    findings: Findings | None
    feedback: Feedback | None
    feedback_open: bool
    auditors: tuple[AuditorChoice, ...]
    actions: frozenset[str]
    today: date

    @property
    def feedback_version(self) -> int | None:
        return self.feedback.version if self.feedback is not None else None


def _certification_body(uow: UnitOfWork, actor_id: str) -> User:
    actor = resolve(uow, actor_id)
    if actor.role is not Role.CERTIFIER:
        raise Refused(f"Der Arbeitsplatz der Zertifizierungsstelle ist der Rolle '{actor.role.label}' nicht "
                      f"zugänglich (erlaubt: {Role.CERTIFIER.label})")
    return actor


def _load(uow: UnitOfWork, actor_id: str, procedure_id: str) -> tuple[User, Procedure, Familienzentrum]:
    actor = _certification_body(uow, actor_id)
    procedure = uow.procedures.get(procedure_id)
    fz = uow.familienzentren.get(procedure.familienzentrum_id)
    require_visible(actor, fz, procedure)
    return actor, procedure, fz


def require_desk(uow: UnitOfWork, actor_id: str, procedure_id: str | None = None) -> None:
    """Refuse anyone but the certification body, and (with ``procedure_id``) a procedure that does not exist;
    the check before a form is read or a document rendered."""
    if procedure_id is None:
        _certification_body(uow, actor_id)
    else:
        _load(uow, actor_id, procedure_id)


DESK_PAGE_SIZE = 25
"""How many procedures one stage of the desk shows at a time (further ones on further pages of that stage)."""


def _desk_row(listed: ListedProcedure) -> DeskRow:
    p = listed.procedure
    return DeskRow(
        procedure_id=p.id, familienzentrum_id=p.familienzentrum_id, familienzentrum=listed.familienzentrum,
        jugendamt=listed.jugendamt, kind=p.kind, kgj=p.kgj, state=p.state, state_label=PROCEDURE_STATE_LABELS[p.state],
        auditor=listed.auditor, audit_date=p.planned_audit_date,
        signed_off=p.state is ProcedureState.AUDITED and listed.signed_off_at is not None,
        certificate_number=listed.certificate_number if p.state is ProcedureState.CERTIFIED else None)


def desk(uow: UnitOfWork, actor_id: str, *, stage: str | None = None, page: int = 1,
         limit: int = DESK_PAGE_SIZE) -> tuple[DeskStage, ...]:
    """The procedures waiting for the certification body or decided by it, by stage: each stage's first
    ``limit`` (page ``page`` of the stage ``stage``, a key of the stages), the waiting ones ordered by
    Kindergartenjahr and id, the decided ones newest first; each stage with its total, counted in SQL.
    An unknown stage, a page or limit below 1 is bad input; a page past the last is empty.

    Three queries, whatever the number of procedures: who acts, the counts per state, and every stage's page
    in one (ranked by window functions; the Familienzentrum, Jugendamt, auditor and visit joined).
    """
    keys = [key for key, *_ in _STAGES]
    problems = []
    if stage is not None and stage not in keys:
        problems.append(Problem("Seite", None, ("stufe",), f"eine der Stufen {', '.join(keys)} erwartet, "
                                                           f"nicht {str(stage)[:40]!r}"))
    if isinstance(page, bool) or not isinstance(page, int) or page < 1:
        problems.append(Problem("Seite", None, ("seite",), f"eine ganze Zahl ab 1 erwartet, nicht {page!r}"))
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        problems.append(Problem("Seite", None, ("limit",), f"eine ganze Zahl ab 1 erwartet, nicht {limit!r}"))
    if problems:
        raise DeskInputError(problems)
    actor = _certification_body(uow, actor_id)
    counts = uow.procedures.count_visible(actor)
    pages = {key: (page if key == stage else 1) for key in keys}
    groups = [ListGroup(key, group, newest_first=key == "decided", limit=limit, offset=(pages[key] - 1) * limit)
              for key, _heading, _hint, group in _STAGES]
    listed = uow.procedures.listed_in_groups(actor, groups)
    stages = []
    for key, heading, hint, group in _STAGES:
        total = sum(counts.get(s, 0) for s in group)
        stages.append(DeskStage(key, heading, hint, tuple(_desk_row(entry) for entry in listed[key]), total,
                                pages[key], max(1, -(-total // limit))))
    return tuple(stages)


def procedure_desk(uow: UnitOfWork, actor_id: str, procedure_id: str) -> ProcedureDesk:
    """One procedure as the certification body acts on it (see the module)."""
    _actor, procedure, fz = _load(uow, actor_id, procedure_id)
    kitas = tuple(uow.kitas.get(k) for k in fz.member_kita_ids)
    users = uow.users.all()
    by_id = {u.id: u for u in users}
    auditors = tuple(AuditorChoice(u.id, u.name, guards.auditor_conflict(u, fz, kitas))
                     for u in users if u.role is Role.AUDITOR)
    jugendamt = uow.jugendaemter.find(fz.jugendamt_id)
    decision = uow.decisions.find(procedure.id)
    allowed = set(PROCEDURE_MACHINE.allowed_events(procedure.state.value)) & set(DESK_EVENTS)
    return ProcedureDesk(
        procedure=procedure, state_label=PROCEDURE_STATE_LABELS[procedure.state], familienzentrum=fz,
        jugendamt=jugendamt.name if jugendamt is not None else fz.jugendamt_id, kitas=kitas,
        auditor=by_id.get(procedure.auditor_id or ""), visit=uow.audits.visit(procedure.id),
        signed_off_at=uow.audits.signed_off(procedure.id), packet_sha256=uow.audits.packet_sha256(procedure.id),
        decision=decision, decided_by=by_id[decision.decided_by].name if decision and decision.decided_by in by_id
        else None,
        certificate_number=fz.certificate_number if procedure.state is ProcedureState.CERTIFIED else None,
        findings=findings(uow, procedure), feedback=uow.dialogue.feedback(procedure.id),
        feedback_open=procedure.state not in CLOSED_STATES, auditors=auditors, actions=frozenset(allowed),
        today=today(uow))


# --- the forms -------------------------------------------------------------------------------------------------


def _reason_problem(reason: str | None) -> Problem | None:
    text = (reason or "").strip()
    if not text:
        return Problem("Formular", None, ("reason",), "Bitte einen Grund angeben (er steht im Prüfprotokoll).")
    if len(text) > REASON_MAX:
        return Problem("Formular", None, ("reason",), f"Höchstens {REASON_MAX} Zeichen (eingegeben: {len(text)}).")
    return None


def _raise(problems: list[Problem | None]) -> None:
    found = [p for p in problems if p is not None]
    if found:
        raise DeskInputError(found)


def plan_audit(uow: UnitOfWork, actor_id: str, procedure_id: str, auditor_id: str, audit_date: date,
               reason: str) -> Result:
    """Assign the auditor and the visit date (again: reschedule). Checked first, field by field: a known
    auditor who is impartial (:func:`certflow.lifecycle.guards.auditor_conflict`), a day not in the past,
    a reason; then :func:`certflow.services.procedures.schedule_audit`."""
    _actor, _procedure, fz = _load(uow, actor_id, procedure_id)
    problems: list[Problem | None] = []
    auditor = uow.users.find((auditor_id or "").strip()) if auditor_id else None
    if auditor is None or auditor.role is not Role.AUDITOR:
        problems.append(Problem("Formular", None, ("auditor",), "Bitte einen Auditor aus der Liste wählen."))
    else:
        conflict = guards.auditor_conflict(auditor, fz, [uow.kitas.get(k) for k in fz.member_kita_ids])
        if conflict:
            problems.append(Problem("Formular", None, ("auditor",), conflict))
    if audit_date < today(uow):
        problems.append(Problem("Formular", None, ("audit_date",),
                                f"Der Termin ({format_date_de(audit_date)}) liegt in der Vergangenheit."))
    problems.append(_reason_problem(reason))
    _raise(problems)
    assert auditor is not None  # no auditor is a problem above
    return procedures.schedule_audit(uow, actor_id, procedure_id, auditor.id, audit_date, reason.strip())


def ask_for_changes(uow: UnitOfWork, actor_id: str, procedure_id: str, reason: str) -> Result:
    """Ask the Kita for a Nachbesserung before the visit (the reason tells it what is missing)."""
    _load(uow, actor_id, procedure_id)
    _raise([_reason_problem(reason)])
    return procedures.request_changes(uow, actor_id, procedure_id, reason.strip())


def decide(uow: UnitOfWork, actor_id: str, procedure_id: str, outcome: str, reason: str) -> Result:
    """Decide (``certified`` issues the seal, ``not_certified`` ends the procedure), after the checks of the
    form; the rules (sign-off first, four eyes, a passing self-assessment) are
    :func:`certflow.services.procedures.decide`'s."""
    _load(uow, actor_id, procedure_id)
    problems: list[Problem | None] = []
    if outcome not in {o.value for o in Outcome}:
        problems.append(Problem("Formular", None, ("outcome",),
                                "Bitte wählen: zertifizieren oder nicht zertifizieren."))
    problems.append(_reason_problem(reason))
    _raise(problems)
    return procedures.decide(uow, actor_id, procedure_id, Outcome(outcome), reason.strip())
