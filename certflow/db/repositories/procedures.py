"""Repositories of procedures, certificates (seal terms) and decisions.

A state change is saved together with its :class:`~certflow.lifecycle.StateChange`:
the row is written with optimistic locking and the change goes to the audit
trail as ``procedure.<event>`` / ``certificate.<event>`` with the fields that
changed as payload. A procedure's version is the domain's ``Procedure.version``
(each accepted event adds one); a certificate's version lives only in the row.

Under concurrency (two transactions that both read before either writes):

* generated ids and numbers (:meth:`ProcedureRepository.next_id`,
  :meth:`CertificateRepository.next_number`) are counted up from the highest in the table while
  the transaction holds the lock of a counter row per prefix (``id_counter``) until it ends, so
  two never get the same one and a rollback gives it back (no gaps);
* a second open procedure of a Familienzentrum is refused by the database (a partial unique
  index); :meth:`ProcedureRepository.add` turns that into the domain's refusal, naming the
  procedure that is open, as if the guard had seen it.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, String, case, func, literal, or_, select, union_all, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from ...calendar import KindergartenYear
from ...catalogue.model import Form
from ...lifecycle.contingents import Contingent
from ...lifecycle.entities import (
    PROCEDURE_FINAL_STATES, Certificate, CertificateState, Decision, Procedure, ProcedureState, User,
)
from ...lifecycle.guards import open_procedure_refusal
from ...lifecycle.machinery import Refused, StateChange
from .. import audit_log
from ..audit_log import AuditEntry
from ..tables import (
    AppUserRow, AssessmentRevisionRow, AuditLogRow, AuditVisitRow, CertificateRow, ContingentRow, DecisionRow,
    FamilienzentrumMemberRow, FamilienzentrumRow, JugendamtRow, ProcedureRow,
)
from ..tables.procedures import IdCounterRow
from ..versioning import diff, update_versioned
from .base import Repository
from .scope import familienzentrum_visible, procedure_visible

__all__ = ["CertificateRepository", "CurrentProcedure", "DecisionRepository", "ListGroup", "ListedProcedure",
           "ProcedureRepository", "current_procedure_id"]

_PROCEDURE_COLUMNS = tuple(name for name in Procedure.__slots__ if name not in ("version",))


def _procedure_values(procedure: Procedure) -> dict[str, Any]:
    values = {name: getattr(procedure, name) for name in _PROCEDURE_COLUMNS}
    values["kgj"] = procedure.kgj.start_year
    return values


def _procedure(row: ProcedureRow) -> Procedure:
    values = {name: getattr(row, name) for name in _PROCEDURE_COLUMNS}
    return Procedure(**{**values, "kgj": KindergartenYear(row.kgj)}, version=row.version)


_COUNTER = IdCounterRow.__table__
_FINAL = tuple(PROCEDURE_FINAL_STATES)


@dataclass(frozen=True, slots=True)
class CurrentProcedure:
    """A Familienzentrum as the lists show it (name, form, Jugendamt and its name, number of current member
    Kitas) with its **current procedure**: its open one, else its newest (by Kindergartenjahr and id), of
    those the reader may see; ``None`` if there is none."""

    familienzentrum_id: str
    name: str
    form: Form
    jugendamt_id: str
    jugendamt: str
    members: int
    procedure: Procedure | None
    in_state_since: datetime | None = None
    """When the current procedure entered its state: the time of its last state change in the audit trail
    (as :func:`certflow.db.audit_log.state_since`); ``None`` without procedure or entry."""


@dataclass(frozen=True, slots=True)
class ListedProcedure:
    """A procedure as the work lists show it (the certification body's desk, the auditor's assignments), with
    its Familienzentrum's name, form, Jugendamt (name) and Zertifizierungsnummer, the assigned auditor's name
    and the visit (day, sign-off)."""

    procedure: Procedure
    familienzentrum: str
    form: Form
    jugendamt: str
    certificate_number: str | None
    auditor: str | None
    visited_on: date | None
    signed_off_at: datetime | None


@dataclass(frozen=True, slots=True)
class ListGroup:
    """One group of a work list (:meth:`ProcedureRepository.listed_in_groups`): the procedures in ``states``,
    ordered by Kindergartenjahr and id (``newest_first``: the other way round), ``limit`` of them (``None``:
    all) after the first ``offset``."""

    key: str
    states: tuple[ProcedureState, ...]
    newest_first: bool = False
    limit: int | None = None
    offset: int = 0


def _state_since(procedure_id: Any) -> Any:
    """When the procedure ``procedure_id`` (a column) entered its current state, as a correlated subquery: the
    time of its audit trail's last entry that moved it (``audit_log.state_since`` for one procedure)."""
    log = AuditLogRow
    moved = or_(log.from_state.is_(None), log.from_state != log.to_state)
    return (select(log.at).where(log.subject_kind == "procedure", log.subject_id == procedure_id,
                                 log.to_state.is_not(None), moved)
            .order_by(log.seq.desc()).limit(1).scalar_subquery())


def current_procedure_id(visible: ColumnElement[bool], *, collate: str | None = None, column: Any = None) -> Any:
    """The id (or ``column``, e.g. the state) of the **current procedure** of the Familienzentrum of the
    enclosing query (its open procedure, else its newest by Kindergartenjahr and id, of the procedures that
    pass ``visible``), as a correlated subquery: through the index on ``familienzentrum_id``, evaluated only
    for the rows the enclosing query needs; the same on SQLite and PostgreSQL. ``collate`` ("C" on
    PostgreSQL) orders ids by code point as Python does."""
    p = ProcedureRow
    final_last = case((p.state.in_(_FINAL), 1), else_=0)
    procedure_id = p.id.collate(collate) if collate else p.id
    return (select(p.id if column is None else column).where(p.familienzentrum_id == FamilienzentrumRow.id, visible)
            .order_by(final_last, p.kgj.desc(), procedure_id.desc()).limit(1)
            .correlate(FamilienzentrumRow).scalar_subquery())


def _allocate(session: Session, prefix: str, taken: Any) -> int:
    """The next free number after ``prefix``: one more than the highest that ``taken`` (a string column)
    holds with that prefix, reserved for this transaction.

    The prefix's ``id_counter`` row is locked first (PostgreSQL ``FOR UPDATE``, held until the transaction
    ends; SQLite's ``BEGIN IMMEDIATE`` holds the whole database), then the highest id is read: under READ
    COMMITTED a statement after the wait sees what the transaction that held the lock committed. So a
    number is never handed out twice, a rolled-back one is free again (no gaps), ids given by hand
    count, and asking twice before inserting gives the same number. The row keeps the last number
    handed out; writing it also makes a REPEATABLE READ transaction fail rather than repeat a number.
    """
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    session.execute(insert(_COUNTER).values(prefix=prefix, last_number=0).on_conflict_do_nothing())
    session.execute(select(_COUNTER.c.last_number).where(_COUNTER.c.prefix == prefix).with_for_update())
    rests = session.execute(select(func.substr(taken, len(prefix) + 1))
                            .where(taken.startswith(prefix, autoescape=True))).scalars()
    number = max((int(rest) for rest in rests if rest.isdigit()), default=0) + 1
    session.execute(update(_COUNTER).where(_COUNTER.c.prefix == prefix).values(last_number=number))
    return number


class ProcedureRepository(Repository):
    kind = "procedure"

    def add(self, procedure: Procedure, change: StateChange, *, contingent: Contingent | None = None) -> None:
        """Insert a new procedure with the change that created it (e.g. ``Opening.change``)."""
        contingent_id = None
        if contingent is not None:
            contingent_id = self._session.execute(select(ContingentRow.id).where(
                ContingentRow.jugendamt_id == contingent.jugendamt_id,
                ContingentRow.kgj == contingent.kgj.start_year)).scalar_one()
        values = _procedure_values(procedure)
        try:
            with self._session.begin_nested():
                self._insert(ProcedureRow(**values, version=procedure.version, contingent_id=contingent_id))
        except IntegrityError:
            self._refuse_taken(procedure)
            raise
        self._versions.seen(self.kind, procedure.id, procedure.version)
        self._log_change(change, {**values, "contingent_id": contingent_id})

    def _refuse_taken(self, procedure: Procedure) -> None:
        """After a refused insert: the refusal of the domain if another transaction opened a procedure of the
        Familienzentrum (or took the id) meanwhile; the savepoint is rolled back, so this reads what is committed."""
        if self._first(select(ProcedureRow).where(ProcedureRow.id == procedure.id)) is not None:
            raise Refused(f"Das Verfahren {procedure.id} gibt es bereits")
        rows = self._all(select(ProcedureRow).where(ProcedureRow.familienzentrum_id == procedure.familienzentrum_id,
                                                    ProcedureRow.state.not_in(list(PROCEDURE_FINAL_STATES))))
        if rows:
            fz = self._uow.familienzentren.get(procedure.familienzentrum_id)
            raise Refused(open_procedure_refusal(fz, [_procedure(row) for row in rows]))

    def get(self, procedure_id: str, *, expected_version: int | None = None) -> Procedure:
        statement = select(ProcedureRow).where(ProcedureRow.id == procedure_id)
        return _procedure(self._load_versioned(statement, procedure_id, expected_version))

    def of_familienzentrum(self, fz_id: str) -> list[Procedure]:
        return self._many(select(ProcedureRow).where(ProcedureRow.familienzentrum_id == fz_id))

    def all(self, state: ProcedureState | None = None) -> list[Procedure]:
        """Every procedure (or those in ``state``), ordered by Kindergartenjahr and id."""
        statement = select(ProcedureRow)
        if state is not None:
            statement = statement.where(ProcedureRow.state == ProcedureState(state))
        return self._many(statement)

    def visible_to(self, user: User, *, familienzentrum_ids: Collection[str] | None = None,
                   jugendamt_id: str | None = None, states: Collection[ProcedureState] = (),
                   submitted: bool = False) -> list[Procedure]:
        """The procedures ``user`` may see (:mod:`certflow.lifecycle.access`, filtered in SQL), ordered by
        Kindergartenjahr and id; only those of ``familienzentrum_ids`` or of the Familienzentren of
        ``jugendamt_id``, in ``states``, or (``submitted``) with a submitted self-assessment (an EXISTS:
        no revision is loaded). One query."""
        p = ProcedureRow
        statement = select(p).where(procedure_visible(user))
        if familienzentrum_ids is not None:
            statement = statement.where(p.familienzentrum_id.in_(list(familienzentrum_ids)))
        if jugendamt_id is not None:
            statement = statement.where(p.familienzentrum_id.in_(
                select(FamilienzentrumRow.id).where(FamilienzentrumRow.jugendamt_id == jugendamt_id)))
        if states:
            statement = statement.where(p.state.in_([ProcedureState(s) for s in states]))
        if submitted:
            revision = AssessmentRevisionRow
            statement = statement.where(select(revision.id).where(
                revision.procedure_id == p.id, revision.submitted.is_(True)).exists())
        return self._many(statement)

    def _current_id(self, user: User, column: Any = None) -> Any:
        collate = "C" if self._session.get_bind().dialect.name == "postgresql" else None
        return current_procedure_id(procedure_visible(user), collate=collate, column=column)

    def current_visible_to(self, user: User, *, state: ProcedureState | None = None, limit: int | None = None,
                           offset: int = 0) -> list[CurrentProcedure]:
        """The Familienzentren ``user`` may see, ordered by id (code point), each with its current procedure of
        those ``user`` may see (:class:`CurrentProcedure`); only those whose current procedure is in ``state``;
        a page of ``limit`` after ``offset`` (default: all); with when the current procedure entered its state.
        One query, whatever the number of Familienzentren and procedures: the page of Familienzentren is picked
        first (by the current procedure's state, if filtered), then correlated subqueries find each one's current
        procedure and its last state change through the indexes, only for the page."""
        fz, jugendamt, member = FamilienzentrumRow, JugendamtRow, FamilienzentrumMemberRow
        page = select(fz.id).where(familienzentrum_visible(user))
        if state is not None:
            page = page.where(self._current_id(user, ProcedureRow.state) == ProcedureState(state))
        page = self._page(page.order_by(self._byte_order(fz.id)), limit, offset)
        current = aliased(ProcedureRow, name="current_procedure")
        members = (select(func.count(member.id))
                   .where(member.familienzentrum_id == fz.id, member.left_on.is_(None)).scalar_subquery())
        statement = (select(fz.id, fz.name, fz.form, fz.jugendamt_id, jugendamt.name, members, current,
                            _state_since(current.id))
                     .select_from(fz)
                     .outerjoin(jugendamt, jugendamt.id == fz.jugendamt_id)
                     .outerjoin(current, current.id == self._current_id(user))
                     .where(fz.id.in_(page.subquery().select()))
                     .order_by(self._byte_order(fz.id)))
        out = []
        for fz_id, name, form, jugendamt_id, jugendamt_name, count, row, since in self._session.execute(statement):
            if row is not None:
                self._versions.seen(self.kind, row.id, row.version)
            out.append(CurrentProcedure(fz_id, name, Form(form), jugendamt_id, jugendamt_name or jugendamt_id,
                                        count, _procedure(row) if row is not None else None,
                                        since if row is not None else None))
        return out

    def current_states(self, user: User) -> Mapping[ProcedureState | None, int]:
        """How many of the Familienzentren ``user`` may see have their current procedure (as
        :meth:`current_visible_to`) in each state; ``None``: without a procedure ``user`` may see. States without
        any are left out. One query."""
        states = (select(self._current_id(user, ProcedureRow.state).label("state")).select_from(FamilienzentrumRow)
                  .where(familienzentrum_visible(user)).subquery("current_state"))
        statement = select(states.c.state, func.count()).group_by(states.c.state)
        return {(ProcedureState(state) if state is not None else None): count
                for state, count in self._session.execute(statement)}

    def listed_visible_to(self, user: User, *, states: Collection[ProcedureState] = (), newest_first: bool = False,
                          limit: int | None = None, offset: int = 0) -> list[ListedProcedure]:
        """The procedures ``user`` may see (in ``states``, if given) as :class:`ListedProcedure`, ordered by
        Kindergartenjahr and id (``newest_first``: the other way round); a page of ``limit`` after ``offset``
        (default: all). One query (the Familienzentrum, its Jugendamt, the auditor and the visit are joined)."""
        p, fz, jugendamt = ProcedureRow, FamilienzentrumRow, JugendamtRow
        auditor, visit = AppUserRow, AuditVisitRow
        statement = (select(p, fz.name, fz.form, fz.jugendamt_id, jugendamt.name, fz.certificate_number,
                            auditor.name, visit.visited_on, visit.signed_off_at)
                     .join(fz, fz.id == p.familienzentrum_id)
                     .outerjoin(jugendamt, jugendamt.id == fz.jugendamt_id)
                     .outerjoin(auditor, auditor.id == p.auditor_id)
                     .outerjoin(visit, visit.procedure_id == p.id)
                     .where(procedure_visible(user)))
        if states:
            statement = statement.where(p.state.in_([ProcedureState(s) for s in states]))
        procedure_id = self._byte_order(p.id)
        order = (p.kgj.desc(), procedure_id.desc()) if newest_first else (p.kgj, procedure_id)
        out = []
        for row, name, form, jugendamt_id, jugendamt_name, number, auditor_name, visited_on, signed_off_at \
                in self._session.execute(self._page(statement.order_by(*order), limit, offset)):
            self._versions.seen(self.kind, row.id, row.version)
            out.append(ListedProcedure(_procedure(row), name, Form(form), jugendamt_name or jugendamt_id, number,
                                       auditor_name, visited_on, signed_off_at))
        return out

    def listed_in_groups(self, user: User, groups: Sequence[ListGroup]) -> dict[str, list[ListedProcedure]]:
        """The procedures ``user`` may see, as :class:`ListedProcedure`, by group (a state belongs to the first
        group that names it): each group ordered and paged as it says. One query, whatever the number of
        procedures: each group's page is picked by its own ordered ``LIMIT`` (a top-N scan, no full sort), the
        picks joined by ``UNION ALL``, and only the procedures picked are read with what is joined to them."""
        p, fz, jugendamt = ProcedureRow, FamilienzentrumRow, JugendamtRow
        auditor, visit = AppUserRow, AuditVisitRow
        out: dict[str, list[ListedProcedure]] = {group.key: [] for group in groups}
        taken: set[ProcedureState] = set()
        picks = []
        for group in groups:
            states = [ProcedureState(s) for s in group.states if ProcedureState(s) not in taken]
            taken.update(states)
            if not states or group.limit == 0:
                continue
            procedure_id = self._byte_order(p.id)
            order = (p.kgj.desc(), procedure_id.desc()) if group.newest_first else (p.kgj, procedure_id)
            pick = (select(p.id.label("id"), literal(group.key, String()).label("key"))
                    .where(procedure_visible(user), p.state.in_(states)).order_by(*order))
            picks.append(select(self._page(pick, group.limit, group.offset).subquery()))
        if not picks:
            return out
        picked = union_all(*picks).subquery("picked")
        statement = (select(p, fz.name, fz.form, fz.jugendamt_id, jugendamt.name, fz.certificate_number,
                            auditor.name, visit.visited_on, visit.signed_off_at, picked.c.key)
                     .join(picked, picked.c.id == p.id)
                     .join(fz, fz.id == p.familienzentrum_id)
                     .outerjoin(jugendamt, jugendamt.id == fz.jugendamt_id)
                     .outerjoin(auditor, auditor.id == p.auditor_id)
                     .outerjoin(visit, visit.procedure_id == p.id))
        for row, name, form, jugendamt_id, jugendamt_name, number, auditor_name, visited_on, signed_off_at, \
                group_key in self._session.execute(statement):
            self._versions.seen(self.kind, row.id, row.version)
            out[group_key].append(ListedProcedure(_procedure(row), name, Form(form), jugendamt_name or jugendamt_id,
                                                  number, auditor_name, visited_on, signed_off_at))
        for group in groups:  # each group in its order again (the join does not keep it)
            out[group.key].sort(key=lambda listed: (listed.procedure.kgj.start_year, listed.procedure.id),
                                reverse=group.newest_first)
        return out

    def count_visible(self, user: User) -> Mapping[ProcedureState, int]:
        """How many of the procedures ``user`` may see are in each state (states without any left out). One query."""
        p = ProcedureRow
        statement = select(p.state, func.count(p.id)).where(procedure_visible(user)).group_by(p.state)
        return {ProcedureState(state): count for state, count in self._session.execute(statement)}

    def _many(self, statement) -> list[Procedure]:
        rows = self._all(statement.order_by(ProcedureRow.kgj, ProcedureRow.id))
        for row in rows:
            self._versions.seen(self.kind, row.id, row.version)
        return [_procedure(row) for row in rows]

    def next_id(self, prefix: str, width: int = 3) -> str:
        """The next free id ``<prefix><n>`` (``V-2025-`` -> ``V-2025-004``), counting up from the highest; reserved
        for this transaction (:func:`_allocate`: a concurrent one gets the next after it)."""
        return f"{prefix}{_allocate(self._session, prefix, ProcedureRow.id):0{width}d}"

    def history(self, procedure_id: str) -> list[AuditEntry]:
        """The audit trail of one procedure (the same as ``uow.audit_log.procedure_history``)."""
        return audit_log.procedure_history(self._session, procedure_id)

    def save(self, procedure: Procedure, change: StateChange | None = None, *, actor_id: str | None = None,
             reason: str | None = None, expected_version: int | None = None) -> int:
        """Write ``procedure`` after ``change`` (or an edit by ``actor_id`` for ``reason``); return its version."""
        if change is None and (actor_id is None or not reason):
            raise ValueError("save a procedure with its StateChange, or with actor_id and reason")
        expected = self._versions.expected(self.kind, procedure.id, expected_version)
        old = self._require(self._first(select(ProcedureRow).where(ProcedureRow.id == procedure.id)), procedure.id)
        changes = diff(_procedure_values(_procedure(old)), _procedure_values(procedure))
        new = update_versioned(
            self._session, ProcedureRow, {"id": procedure.id}, kind=self.kind, subject_id=procedure.id,
            expected=expected, values=_procedure_values(procedure), new_version=max(procedure.version, expected + 1))
        procedure.version = new
        self._versions.seen(self.kind, procedure.id, new)
        if change is not None:
            self._log_change(change, changes)
        else:
            self._log("update", procedure.id, actor_id=actor_id, reason=reason, payload=changes)
        return new

    def _log_change(self, change: StateChange, payload: dict[str, Any]) -> None:
        if change.warnings:
            payload = {**payload, "warnings": list(change.warnings)}
        self._uow.record_change(change, payload)


def _certificate(row: CertificateRow) -> Certificate:
    return Certificate(row.number, row.familienzentrum_id, row.issued, row.valid_until, row.state)


def _certificate_values(cert: Certificate) -> dict[str, Any]:
    return {name: getattr(cert, name) for name in Certificate.__slots__}


class CertificateRepository(Repository):
    """Seal terms, identified by ``Certificate.key`` (number/issued)."""

    kind = "certificate"

    def add(self, cert: Certificate, *, actor_id: str, reason: str) -> None:
        self._insert(CertificateRow(**_certificate_values(cert), version=1))
        self._versions.seen(self.kind, cert.key, 1)
        self._log("issue", cert.key, actor_id=actor_id, reason=reason, payload=_certificate_values(cert),
                  to_state=cert.state.value)

    def get(self, number: str, issued: date, *, expected_version: int | None = None) -> Certificate:
        statement = select(CertificateRow).where(CertificateRow.number == number, CertificateRow.issued == issued)
        return _certificate(self._load_versioned(statement, f"{number}/{issued.isoformat()}", expected_version))

    def latest(self, number: str) -> Certificate | None:
        """The newest term with this Zertifizierungsnummer."""
        row = self._first(select(CertificateRow).where(CertificateRow.number == number)
                          .order_by(CertificateRow.issued.desc()))
        if row is None:
            return None
        cert = _certificate(row)
        self._versions.seen(self.kind, cert.key, row.version)
        return cert

    def of_familienzentrum(self, fz_id: str) -> list[Certificate]:
        return self._many(select(CertificateRow).where(CertificateRow.familienzentrum_id == fz_id))

    def of_familienzentren(self, fz_ids: Collection[str]) -> list[Certificate]:
        """The seal terms of these Familienzentren, oldest first; one query."""
        if not fz_ids:
            return []
        return self._many(select(CertificateRow).where(CertificateRow.familienzentrum_id.in_(list(fz_ids))))

    def numbers_visible_to(self, user: User, *, limit: int | None = None, offset: int = 0) -> list[str]:
        """The Zertifizierungsnummern of the seals whose Familienzentrum ``user`` may see
        (:mod:`certflow.lifecycle.access`, filtered in SQL), each once, sorted by code point; a page of
        ``limit`` after ``offset`` (default: all). One query."""
        number = CertificateRow.number
        statement = (select(number).join(FamilienzentrumRow, FamilienzentrumRow.id == CertificateRow.familienzentrum_id)
                     .where(familienzentrum_visible(user)).group_by(number).order_by(self._byte_order(number)))
        return list(self._session.execute(self._page(statement, limit, offset)).scalars())

    def all(self, *states: CertificateState) -> list[Certificate]:
        """Every seal term (or those in one of ``states``), oldest first."""
        statement = select(CertificateRow)
        if states:
            statement = statement.where(CertificateRow.state.in_([CertificateState(s) for s in states]))
        return self._many(statement)

    def _many(self, statement) -> list[Certificate]:
        rows = self._all(statement.order_by(CertificateRow.issued, CertificateRow.number))
        for row in rows:
            self._versions.seen(self.kind, f"{row.number}/{row.issued.isoformat()}", row.version)
        return [_certificate(row) for row in rows]

    def next_number(self, prefix: str, width: int = 3) -> str:
        """The next free Zertifizierungsnummer ``<prefix><n>`` (``FZ-2026-`` -> ``FZ-2026-003``); reserved for this
        transaction (:func:`_allocate`)."""
        return f"{prefix}{_allocate(self._session, prefix, CertificateRow.number):0{width}d}"

    def save(self, cert: Certificate, change: StateChange, *, expected_version: int | None = None) -> int:
        """Write the certificate after ``change`` (e.g. from ``fire_certificate``); return the new version."""
        expected = self._versions.expected(self.kind, cert.key, expected_version)
        new = update_versioned(self._session, CertificateRow, {"number": cert.number, "issued": cert.issued},
                               kind=self.kind, subject_id=cert.key, expected=expected,
                               values={"state": cert.state, "valid_until": cert.valid_until})
        self._versions.seen(self.kind, cert.key, new)
        self._uow.record_change(change, {"state": [change.from_state, change.to_state]})
        return new


class DecisionRepository(Repository):
    """The Zertifizierungsstelle's decision on a procedure: written once, never changed."""

    kind = "decision"

    def add(self, decision: Decision) -> None:
        values = {name: getattr(decision, name) for name in Decision.__slots__}
        self._insert(DecisionRow(**values))
        self._log("record", decision.procedure_id, actor_id=decision.decided_by, reason=decision.reason,
                  payload=values, at=decision.decided_at)

    def find(self, procedure_id: str) -> Decision | None:
        row = self._first(select(DecisionRow).where(DecisionRow.procedure_id == procedure_id))
        if row is None:
            return None
        return Decision(row.procedure_id, row.decided_by, row.decided_at, row.outcome, row.reason)
