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

from collections.abc import Collection
from datetime import date
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ...calendar import KindergartenYear
from ...lifecycle.contingents import Contingent
from ...lifecycle.entities import (
    PROCEDURE_FINAL_STATES, Certificate, CertificateState, Decision, Procedure, ProcedureState, User,
)
from ...lifecycle.guards import open_procedure_refusal
from ...lifecycle.machinery import Refused, StateChange
from .. import audit_log
from ..audit_log import AuditEntry
from ..tables import (
    AssessmentRevisionRow, CertificateRow, ContingentRow, DecisionRow, FamilienzentrumRow, ProcedureRow,
)
from ..tables.procedures import IdCounterRow
from ..versioning import diff, update_versioned
from .base import Repository
from .scope import familienzentrum_visible, procedure_visible

__all__ = ["CertificateRepository", "DecisionRepository", "ProcedureRepository"]

_PROCEDURE_COLUMNS = tuple(name for name in Procedure.__slots__ if name not in ("version",))


def _procedure_values(procedure: Procedure) -> dict[str, Any]:
    values = {name: getattr(procedure, name) for name in _PROCEDURE_COLUMNS}
    values["kgj"] = procedure.kgj.start_year
    return values


def _procedure(row: ProcedureRow) -> Procedure:
    values = {name: getattr(row, name) for name in _PROCEDURE_COLUMNS}
    return Procedure(**{**values, "kgj": KindergartenYear(row.kgj)}, version=row.version)


_COUNTER = IdCounterRow.__table__


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
