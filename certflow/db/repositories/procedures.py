"""Repositories of procedures, certificates (seal terms) and decisions.

A state change is saved together with its :class:`~certflow.lifecycle.StateChange`:
the row is written with optimistic locking and the change goes to the audit
trail as ``procedure.<event>`` / ``certificate.<event>`` with the fields that
changed as payload. A procedure's version is the domain's ``Procedure.version``
(each accepted event adds one); a certificate's version lives only in the row.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select

from ...calendar import KindergartenYear
from ...lifecycle.contingents import Contingent
from ...lifecycle.entities import Certificate, Decision, Procedure
from ...lifecycle.machinery import StateChange
from ..tables import CertificateRow, ContingentRow, DecisionRow, ProcedureRow
from ..versioning import diff, update_versioned
from .base import Repository

__all__ = ["CertificateRepository", "DecisionRepository", "ProcedureRepository"]

_PROCEDURE_COLUMNS = tuple(name for name in Procedure.__slots__ if name not in ("version",))


def _procedure_values(procedure: Procedure) -> dict[str, Any]:
    values = {name: getattr(procedure, name) for name in _PROCEDURE_COLUMNS}
    values["kgj"] = procedure.kgj.start_year
    return values


def _procedure(row: ProcedureRow) -> Procedure:
    values = {name: getattr(row, name) for name in _PROCEDURE_COLUMNS}
    return Procedure(**{**values, "kgj": KindergartenYear(row.kgj)}, version=row.version)


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
        self._insert(ProcedureRow(**values, version=procedure.version, contingent_id=contingent_id))
        self._versions.seen(self.kind, procedure.id, procedure.version)
        self._log_change(change, {**values, "contingent_id": contingent_id})

    def get(self, procedure_id: str, *, expected_version: int | None = None) -> Procedure:
        statement = select(ProcedureRow).where(ProcedureRow.id == procedure_id)
        return _procedure(self._load_versioned(statement, procedure_id, expected_version))

    def of_familienzentrum(self, fz_id: str) -> list[Procedure]:
        rows = self._all(select(ProcedureRow).where(ProcedureRow.familienzentrum_id == fz_id)
                         .order_by(ProcedureRow.kgj, ProcedureRow.id))
        for row in rows:
            self._versions.seen(self.kind, row.id, row.version)
        return [_procedure(row) for row in rows]

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
        rows = self._all(select(CertificateRow).where(CertificateRow.familienzentrum_id == fz_id)
                         .order_by(CertificateRow.issued))
        for row in rows:
            self._versions.seen(self.kind, f"{row.number}/{row.issued.isoformat()}", row.version)
        return [_certificate(row) for row in rows]

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
