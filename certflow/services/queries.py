"""Read use cases: the overview of all Familienzentren, the history of one procedure, and which
procedures of a Jugendamt have an audit packet (for rendering them all at once).

All are filtered by the read scopes of :mod:`certflow.lifecycle.access`: a
Kita lead sees their own Familienzentrum, a coordinator those of their
Jugendamt, an auditor the procedures assigned to them (and only those
procedures of the Familienzentrum); certifier and admin see everything.
The repositories filter in SQL (:mod:`certflow.db.repositories.scope`), so each
read takes a fixed number of queries however many Familienzentren there are, and
the lists can be read a page at a time (``limit``/``offset``, default: all).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from ..calendar import KindergartenYear
from ..catalogue.model import Form, ProcedureKind
from ..errors import InputError, Problem
from ..lifecycle.certificate_machine import CERTIFICATE_MACHINE
from ..lifecycle.deadlines import Deadline, deadlines, next_deadline
from ..lifecycle.entities import (
    PROCEDURE_STATE_LABELS,
    Certificate,
    CertificateState,
    ProcedureState,
    Role,
    User,
)
from ..lifecycle.machinery import Refused, local_date
from ..lifecycle.procedure_machine import EVENT_LABELS, PROCEDURE_MACHINE
from .actors import resolve
from .common import LIVE_CERTIFICATE, live_certificate, require_visible, today

if TYPE_CHECKING:
    from ..db.repositories.audit_trail import AuditEntry
    from ..db.unit_of_work import UnitOfWork

__all__ = ["OVERVIEW_PAGE_SIZE", "HistoryRow", "Overview", "OverviewRow", "history", "overview", "overview_page",
           "packet_procedures", "seal_numbers"]

FORM_LABELS = {Form.EINZEL: "Einzel", Form.VERBUND: "Verbund"}
KIND_LABELS = {ProcedureKind.ERST: "Erst", ProcedureKind.RE: "Re"}


@dataclass(frozen=True, slots=True)
class OverviewRow:
    familienzentrum_id: str
    name: str
    jugendamt: str
    form: Form
    members: int
    procedure_id: str | None
    procedure_kind: ProcedureKind | None
    kgj: KindergartenYear | None
    state: ProcedureState | None
    state_label: str
    next_deadline: Deadline | None
    certificate_number: str | None
    certificate_state: CertificateState | None
    seal_issued: date | None
    seal_valid_until: date | None

    @property
    def seal_live(self) -> bool:
        return self.certificate_state in LIVE_CERTIFICATE


def _seal(certificates: list[Certificate]) -> Certificate | None:
    return live_certificate(certificates) or (max(certificates, key=lambda c: c.issued) if certificates else None)


def _check_page(limit: int | None, offset: int) -> None:
    problems = []
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
        problems.append(Problem("limit", None, (), f"eine ganze Zahl ab 0 erwartet, nicht {limit!r}"))
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        problems.append(Problem("offset", None, (), f"eine ganze Zahl ab 0 erwartet, nicht {offset!r}"))
    if problems:
        raise InputError(problems)


def _state(value: ProcedureState | str | None) -> ProcedureState | None:
    """The state filter: a :class:`ProcedureState` or its value; blank: not filtered; anything else is bad input."""
    if value is None or isinstance(value, ProcedureState):
        return value
    text = value.strip() if isinstance(value, str) else value
    if not text:
        return None
    try:
        return ProcedureState(text)
    except ValueError:
        shown = str(text)[:40]
        message = f"Einen Zustand „{shown}“ gibt es nicht; bitte einen aus der Liste wählen"
        raise InputError([Problem("Filter", None, ("zustand",), message)]) from None


def _overview_rows(uow: UnitOfWork, actor: User, day: date, *, state: ProcedureState | None, limit: int | None,
                   offset: int) -> list[OverviewRow]:
    """Two queries: the Familienzentren with their current procedure (and since when it is in its state), and
    their seal terms."""
    listed = uow.procedures.current_visible_to(actor, state=state, limit=limit, offset=offset)
    if not listed:
        return []
    certificates: dict[str, list[Certificate]] = {}
    for c in uow.certificates.of_familienzentren([fz.familienzentrum_id for fz in listed]):
        certificates.setdefault(c.familienzentrum_id, []).append(c)
    rows = []
    for fz in listed:
        procedure = fz.procedure
        certs = certificates.get(fz.familienzentrum_id, [])
        seal = _seal(certs)
        pending = []
        if procedure is not None:
            entered = fz.in_state_since
            pending.append((procedure, local_date(entered) if entered else None, procedure.planned_audit_date))
        live = [c for c in certs if CertificateState(c.state) in LIVE_CERTIFICATE]
        due = next_deadline(deadlines(pending, live), day)
        current_state = ProcedureState(procedure.state) if procedure else None
        rows.append(OverviewRow(
            familienzentrum_id=fz.familienzentrum_id, name=fz.name, jugendamt=fz.jugendamt, form=fz.form,
            members=fz.members, procedure_id=procedure.id if procedure else None,
            procedure_kind=procedure.kind if procedure else None, kgj=procedure.kgj if procedure else None,
            state=current_state,
            state_label=PROCEDURE_MACHINE.state_label(current_state.value) if current_state else "–",
            next_deadline=due, certificate_number=seal.number if seal else None,
            certificate_state=CertificateState(seal.state) if seal else None,
            seal_issued=seal.issued if seal else None, seal_valid_until=seal.valid_until if seal else None,
        ))
    return rows


def overview(uow: UnitOfWork, actor_id: str, on: date | None = None, *, limit: int | None = None,
             offset: int = 0, state: ProcedureState | str | None = None) -> list[OverviewRow]:
    """Every Familienzentrum the actor may see, ordered by id: its current procedure and state, the next
    deadline (as of ``on``, default: today) and its seal; with ``state`` only those whose current procedure is
    in that state. ``limit``/``offset`` give one page (default: all).

    Three queries, whatever the number of Familienzentren and procedures: the scope is filtered and the current
    procedure chosen in SQL (see :func:`overview_page` for a page with its counts).
    """
    _check_page(limit, offset)
    wanted = _state(state)
    actor = resolve(uow, actor_id)
    return _overview_rows(uow, actor, on or today(uow), state=wanted, limit=limit, offset=offset)


OVERVIEW_PAGE_SIZE = 50
"""How many Familienzentren one page of the start page lists."""


@dataclass(frozen=True, slots=True)
class Overview:
    """One page of the overview: ``rows`` (``limit`` after ``offset``) of the ``matching`` Familienzentren that
    pass the ``state`` filter, of ``total`` the actor may see; ``by_state``: how many of those have their current
    procedure in each state (in the order of the states, only those that occur)."""

    rows: tuple[OverviewRow, ...]
    total: int
    matching: int
    by_state: tuple[tuple[ProcedureState, int], ...]
    state: ProcedureState | None
    limit: int
    offset: int

    @property
    def state_label(self) -> str:
        """The German name of the state filtered by ("" when not filtered)."""
        return PROCEDURE_STATE_LABELS[self.state] if self.state is not None else ""

    @property
    def page(self) -> int:
        """This page's number, from 1."""
        return self.offset // self.limit + 1 if self.limit else 1

    @property
    def pages(self) -> int:
        """How many pages the matching Familienzentren fill (at least one)."""
        return max(1, -(-self.matching // self.limit)) if self.limit else 1


def overview_page(uow: UnitOfWork, actor_id: str, on: date | None = None, *,
                  state: ProcedureState | str | None = None, page: int = 1,
                  limit: int = OVERVIEW_PAGE_SIZE) -> Overview:
    """Page ``page`` (from 1) of :func:`overview` with ``limit`` rows, and the counts a start page shows (all
    the actor may see, those in ``state``, per state), counted in SQL. ``state``: a :class:`ProcedureState`
    or its value (blank: all); an unknown one, a page below 1 or a limit below 1 is bad input
    (:class:`~certflow.errors.InputError`). A page past the last one is empty.

    Four queries, whatever the number of Familienzentren and procedures.
    """
    problems = []
    if isinstance(page, bool) or not isinstance(page, int) or page < 1:
        problems.append(Problem("Seite", None, ("seite",), f"eine ganze Zahl ab 1 erwartet, nicht {page!r}"))
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        problems.append(Problem("Seite", None, ("limit",), f"eine ganze Zahl ab 1 erwartet, nicht {limit!r}"))
    if problems:
        raise InputError(problems)
    wanted = _state(state)
    actor = resolve(uow, actor_id)
    counts = uow.procedures.current_states(actor)
    total = sum(counts.values())
    matching = total if wanted is None else counts.get(wanted, 0)
    offset = (page - 1) * limit
    rows = _overview_rows(uow, actor, on or today(uow), state=wanted, limit=limit, offset=offset) \
        if offset < matching else []
    return Overview(rows=tuple(rows), total=total, matching=matching,
                    by_state=tuple((s, counts[s]) for s in ProcedureState if counts.get(s)),
                    state=wanted, limit=limit, offset=offset)


@dataclass(frozen=True, slots=True)
class HistoryRow:
    seq: int
    at: datetime
    actor_id: str
    actor_name: str
    actor_role: str
    action: str
    what: str
    from_state: str | None
    to_state: str | None
    reason: str


SIGN_OFF_LABEL = "Begehung abgezeichnet"
"""How the history names the auditor's sign-off (the signed packet's last timeline entry uses it too)."""

_OPENING = {"nominate": "Nominiert", "open_recertification": "Re-Zertifizierung eröffnet",
            "open_restructuring": "Neue Zertifizierung als Verbund eröffnet"}
_VERDICTS = {"erfuellt": "erfüllt", "nicht_erfuellt": "nicht erfüllt", "offen": "offen"}


def _passed(payload: Mapping[str, Any]) -> str:
    return "erfüllt" if payload.get("passed") else "nicht erfüllt"


def _what(entry: AuditEntry) -> str:
    kind, _, event = entry.action.partition(".")
    payload = entry.payload or {}
    if kind == "procedure":
        if event in EVENT_LABELS:
            return EVENT_LABELS[event]
        if event in _OPENING:
            return _OPENING[event]
        return "Verfahren geändert: " + ", ".join(sorted(payload)) if payload else "Verfahren geändert"
    if kind == "assessment_revision":
        revision = entry.subject_id.rpartition("#")[2]
        return {"create": f"Entwurf Revision {revision} angelegt", "update": f"Entwurf Revision {revision} geändert",
                "submit": f"Revision {revision} eingefroren ({_passed(payload)})",
                "evidence": f"Belege zu Revision {revision} gespeichert ({len(payload.get('files', []))})",
                }.get(event, entry.action)
    if kind == "audit_visit":
        return {"record": "Begehung erfasst", "sign_off": SIGN_OFF_LABEL}.get(event, entry.action)
    if kind == "audit_verdict":
        verdict = payload.get("verdict")
        if isinstance(verdict, list):  # a change: [before, after]
            shown = f"{_VERDICTS.get(verdict[0], verdict[0])} → {_VERDICTS.get(verdict[1], verdict[1])}"
        elif isinstance(verdict, str):
            shown = _VERDICTS.get(verdict, verdict)
        else:
            shown = str(verdict)
        return f"Bewertung {entry.subject_id.rpartition('/')[2]}: {shown}"
    if kind == "decision":
        outcome = payload.get("outcome")
        return f"Entscheidung: {'zertifiziert' if outcome == 'certified' else 'nicht zertifiziert'}"
    return entry.action


def _label(state: str | None) -> str | None:
    if state is None:
        return None
    for machine in (PROCEDURE_MACHINE, CERTIFICATE_MACHINE):
        try:
            return machine.state_label(state)
        except ValueError:
            continue
    return state


def history(uow: UnitOfWork, actor_id: str, procedure_id: str) -> list[HistoryRow]:
    """Who did what to the procedure, when, from which state to which, and why (read scope applies)."""
    actor = resolve(uow, actor_id)
    procedure = uow.procedures.get(procedure_id)
    fz = uow.familienzentren.get(procedure.familienzentrum_id)
    require_visible(actor, fz, procedure)
    entries = uow.audit_log.procedure_history(procedure.id)
    users = {u.id: u for u in uow.users.many({entry.actor_id for entry in entries})}
    rows = []
    frozen: str | None = None  # "Revision 2, nicht erfüllt": told with the submit that follows it
    for entry in entries:
        if entry.action in _SAME_AS_STATE_CHANGE:
            continue
        what = _what(entry)
        if entry.action == "assessment_revision.submit":
            revision = entry.subject_id.rpartition("#")[2]
            frozen = f"Revision {revision}, {'erfüllt' if (entry.payload or {}).get('passed') else 'nicht erfüllt'}"
            continue
        if entry.action in ("procedure.submit", "procedure.resubmit") and frozen:
            what, frozen = f"{what} ({frozen})", None
        who = users.get(entry.actor_id)
        rows.append(HistoryRow(
            seq=entry.seq or 0, at=entry.at, actor_id=entry.actor_id, actor_name=who.name if who else entry.actor_id,
            actor_role=who.role.label if who else "", action=entry.action, what=what,
            from_state=_label(entry.from_state), to_state=_label(entry.to_state), reason=entry.reason))
    return rows


_SAME_AS_STATE_CHANGE = frozenset({"audit_visit.record", "decision.record"})
"""Entries that repeat a state change (same actor, time and reason): the visit recorded with
``record_audit``, the decision with ``certify``/``reject``."""


_DECIDED = (ProcedureState.CERTIFIED, ProcedureState.NOT_CERTIFIED)


def packet_procedures(uow: UnitOfWork, actor_id: str, jugendamt_id: str, *, decided: bool = False) -> list[str]:
    """The ids of the procedures of a Jugendamt that have a submitted self-assessment (so an audit
    packet) and that the actor may see, ordered by Kindergartenjahr and id; with ``decided`` only
    those the certification body has decided (certified or not).

    An unknown Jugendamt is bad input (:class:`~certflow.errors.InputError`). Scope: certifier and
    admin get all; a coordinator only the procedures of their own Jugendamt and a Kita lead only those
    of their own Familienzentrum (asking for another Jugendamt is refused); an auditor only the
    procedures assigned to them (possibly none). A fixed number of queries, whatever the number of
    procedures (the submission is tested with EXISTS, no revision is loaded).
    """
    actor = resolve(uow, actor_id)
    if uow.jugendaemter.find(jugendamt_id) is None:
        raise InputError([Problem(jugendamt_id, None, (), "ein Jugendamt mit dieser Kennung gibt es nicht")])
    if _other_jugendamt(uow, actor, jugendamt_id):
        raise Refused(f"Kein Zugriff: {actor.name} ({actor.role.label}) darf die Verfahren des Jugendamts "
                      f"{jugendamt_id} nicht sehen")
    procedures = uow.procedures.visible_to(actor, jugendamt_id=jugendamt_id, states=_DECIDED if decided else (),
                                           submitted=True)
    return [p.id for p in procedures]


def _other_jugendamt(uow: UnitOfWork, actor: User, jugendamt_id: str) -> bool:
    """Whether a coordinator or Kita lead asks for a Jugendamt not their own."""
    if actor.role is Role.COORDINATOR:
        return actor.jugendamt_id != jugendamt_id
    if actor.role is Role.KITA_LEAD:
        return uow.familienzentren.jugendamt_of(actor.familienzentrum_id) != jugendamt_id
    return False


def seal_numbers(uow: UnitOfWork, actor_id: str, *, limit: int | None = None, offset: int = 0) -> list[str]:
    """The number of every seal (each has an Urkunde, see
    :func:`~certflow.services.documents.certificate_data`) whose Familienzentrum the actor may see,
    each once, sorted; ``limit``/``offset`` give one page (default: all). A fixed number of queries."""
    _check_page(limit, offset)
    actor = resolve(uow, actor_id)
    return uow.certificates.numbers_visible_to(actor, limit=limit, offset=offset)
