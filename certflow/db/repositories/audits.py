"""The on-site visit, the auditor's verdicts per criterion, and the sign-off that freezes them.

Until the auditor signs off, verdicts can be recorded and corrected (each
change goes to the audit trail). After the sign-off the visit and its verdicts
are frozen: the repository refuses with :class:`~certflow.db.errors.FrozenError`,
and triggers refuse any UPDATE, INSERT or DELETE that slips past it.

Two sign-offs of one visit at the same moment: the visit's row is locked (``SELECT ... FOR
UPDATE`` on PostgreSQL; SQLite's ``BEGIN IMMEDIATE`` lets one writer in at a time) when a change
checks that it is still open, and read again after the lock, so the later one sees the sign-off
and gets the same :class:`~certflow.db.errors.FrozenError` as anyone who comes later still. The
UPDATE itself only matches an open visit, and a freeze trigger's refusal, should one still fire,
is turned into that refusal too: never the database's raw error.

``Verdict`` is a plain value here because the domain has no verdict entity yet.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from ...assessment.model import Status
from ...calendar import format_date_de
from ...lifecycle.entities import AuditVisit
from ...lifecycle.machinery import BERLIN, Refused
from ..errors import FrozenError, NotFoundError
from ..tables import AuditVerdictRow, AuditVisitRow
from .base import Repository

__all__ = ["AuditRepository", "Verdict"]


@dataclass(frozen=True, slots=True)
class Verdict:
    """The auditor's verdict on one criterion, with an optional remark."""

    procedure_id: str
    criterion_id: str
    verdict: Status
    remark: str | None
    recorded_by: str
    recorded_at: datetime | None = None


def _visit(row: AuditVisitRow) -> AuditVisit:
    return AuditVisit(row.procedure_id, row.visited_on, row.auditor_id, tuple(row.sites))


class AuditRepository(Repository):
    kind = "audit_visit"

    def _visit_row(self, procedure_id: str) -> AuditVisitRow | None:
        return self._first(select(AuditVisitRow).where(AuditVisitRow.procedure_id == procedure_id))

    def _open_visit(self, procedure_id: str, by: str) -> AuditVisitRow:
        """The visit, locked until this transaction ends; refused when it is signed off or not ``by``'s."""
        row = self._first(select(AuditVisitRow).where(AuditVisitRow.procedure_id == procedure_id).with_for_update())
        if row is None:
            raise NotFoundError(self.kind, procedure_id)
        if row.signed_off_at is not None:
            raise self._frozen(procedure_id, row.signed_off_at)
        if by != row.auditor_id:
            raise Refused(f"Nur der Auditor der Begehung ({row.auditor_id}) kann ihre Bewertungen erfassen "
                          "und abzeichnen")
        return row

    @staticmethod
    def _frozen(procedure_id: str, signed_off_at: datetime) -> FrozenError:
        when = format_date_de(signed_off_at.astimezone(BERLIN).date())
        return FrozenError(f"Die Begehung im Verfahren {procedure_id} wurde am {when} vom Auditor abgezeichnet; "
                           "ihre Bewertungen können nicht mehr geändert werden")

    def _refuse_if_signed_off(self, procedure_id: str) -> None:
        """After the database refused a change to the visit: the refusal, if it was signed off meanwhile."""
        signed = self._session.execute(select(AuditVisitRow.signed_off_at)
                                       .where(AuditVisitRow.procedure_id == procedure_id)).scalar_one_or_none()
        if signed is not None:
            raise self._frozen(procedure_id, signed) from None

    def add_visit(self, visit: AuditVisit, *, reason: str = "Begehung erfasst") -> None:
        self._insert(AuditVisitRow(procedure_id=visit.procedure_id, visited_on=visit.date,
                                   auditor_id=visit.auditor_id, sites=list(visit.sites), recorded_at=self._now()))
        self._log("record", visit.procedure_id, actor_id=visit.auditor_id, reason=reason,
                  payload={"date": visit.date, "sites": list(visit.sites)})

    def visit(self, procedure_id: str) -> AuditVisit | None:
        row = self._visit_row(procedure_id)
        return _visit(row) if row is not None else None

    def signed_off(self, procedure_id: str) -> datetime | None:
        row = self._visit_row(procedure_id)
        return row.signed_off_at if row is not None else None

    def record_verdict(self, verdict: Verdict, *, reason: str = "Bewertung erfasst") -> None:
        """Record or correct the verdict on one criterion (only the visit's auditor, only before sign-off)."""
        visit = self._open_visit(verdict.procedure_id, verdict.recorded_by)
        row = self._first(select(AuditVerdictRow).where(AuditVerdictRow.visit_id == visit.id,
                                                        AuditVerdictRow.criterion_id == verdict.criterion_id))
        now = self._now()
        subject = f"{verdict.procedure_id}/{verdict.criterion_id}"
        if row is None:
            self._insert(AuditVerdictRow(visit_id=visit.id, criterion_id=verdict.criterion_id,
                                         verdict=verdict.verdict, remark=verdict.remark, recorded_at=now,
                                         recorded_by=verdict.recorded_by))
            payload = {"verdict": verdict.verdict, "remark": verdict.remark}
        else:
            payload = {"verdict": [row.verdict, verdict.verdict], "remark": [row.remark, verdict.remark]}
            row.verdict, row.remark, row.recorded_at = verdict.verdict, verdict.remark, now
            self._session.flush()
        self._uow.record(actor_id=verdict.recorded_by, action="audit_verdict.record", subject_kind="audit_verdict",
                         subject_id=subject, reason=reason, payload=payload)

    def verdicts(self, procedure_id: str) -> list[Verdict]:
        query = (select(AuditVerdictRow).join(AuditVisitRow, AuditVisitRow.id == AuditVerdictRow.visit_id)
                 .where(AuditVisitRow.procedure_id == procedure_id).order_by(AuditVerdictRow.criterion_id))
        return [Verdict(procedure_id, r.criterion_id, r.verdict, r.remark, r.recorded_by, r.recorded_at)
                for r in self._all(query)]

    def sign_off(self, procedure_id: str, *, by: str, reason: str = "Begehung abgezeichnet",
                 at: datetime | None = None, packet_sha256: str | None = None) -> datetime:
        """The auditor signs the visit's verdicts off; from now on they are frozen.

        ``packet_sha256`` (the audit packet the auditor signed) is set in the same UPDATE as
        ``signed_off_at``, so the freeze triggers keep it unchanged from then on.
        """
        row = self._open_visit(procedure_id, by)
        signed_off_at = at or self._now()
        try:
            with self._session.begin_nested():
                done = self._session.execute(
                    update(AuditVisitRow).where(AuditVisitRow.id == row.id, AuditVisitRow.signed_off_at.is_(None))
                    .values(signed_off_at=signed_off_at, signed_off_by=by, packet_sha256=packet_sha256)
                    .execution_options(synchronize_session=False)).rowcount
        except IntegrityError:  # a freeze trigger: signed off by another transaction after all
            self._refuse_if_signed_off(procedure_id)
            raise
        if done != 1:
            self._refuse_if_signed_off(procedure_id)
            raise NotFoundError(self.kind, procedure_id)
        payload = {"verdicts": len(self.verdicts(procedure_id))}
        if packet_sha256:
            payload["packet_sha256"] = packet_sha256
        self._log("sign_off", procedure_id, actor_id=by, reason=reason, at=signed_off_at, payload=payload)
        return signed_off_at

    def packet_sha256(self, procedure_id: str) -> str | None:
        """The SHA-256 of the audit packet signed off with the visit (``None`` before the sign-off)."""
        row = self._visit_row(procedure_id)
        return row.packet_sha256 if row is not None else None

    def check_open(self, procedure_id: str, by: str) -> None:
        """Refuse unless ``by`` is the visit's auditor and the visit is not yet signed off; it stays so until
        this transaction ends (the visit's row is locked: a concurrent sign-off waits, or this one does)."""
        self._open_visit(procedure_id, by)
