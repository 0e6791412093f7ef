"""The figures of the reports: a Jugendamt's nominations of one Kindergartenjahr, and the statistics of a Jugendamt or
the Land (coverage per town, seals lapsing per year, the submitted self-assessments of decided procedures).

Reached as ``uow.reports``. Every method is one query whatever the size, counting in SQL. Scope is the caller's
matter (:mod:`certflow.services.reports`); every method is limited to the Jugendamt it is given (``None``: the Land).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, distinct, func, select

from ...calendar import KindergartenYear
from ...catalogue.model import Form
from ...lifecycle.entities import CertificateState, ProcedureState
from ..tables import (
    AssessmentRevisionRow,
    AuditLogRow,
    CertificateRow,
    ContingentRow,
    FamilienzentrumMemberRow,
    FamilienzentrumRow,
    KitaRow,
    ProcedureRow,
)
from .base import Repository

__all__ = ["ContingentEntry", "DecidedSubmission", "NominatedProcedure", "ReportRepository", "TownFigures"]

LIVE = (CertificateState.VALID, CertificateState.RECERTIFICATION_DUE)
DECIDED = (ProcedureState.CERTIFIED, ProcedureState.NOT_CERTIFIED)


@dataclass(frozen=True, slots=True)
class NominatedProcedure:
    """A procedure that took a place of the contingent, with its nomination (when, why) and its state now."""

    procedure_id: str
    familienzentrum_id: str
    name: str
    form: Form
    kitas: int
    towns: str
    state: ProcedureState
    nominated_at: datetime | None
    reason: str


@dataclass(frozen=True, slots=True)
class ContingentEntry:
    """One entry of a contingent's audit trail: created (granted), updated (returned, carried over), a place taken
    (reserve) or freed (release)."""

    at: datetime
    action: str
    reason: str
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class TownFigures:
    town: str
    kitas: int
    kitas_in_familienzentren: int  # members of a Familienzentrum with a live seal
    familienzentren: int


@dataclass(frozen=True, slots=True)
class DecidedSubmission:
    procedure_id: str
    catalogue_key: str
    period_start: date
    period_end: date
    canonical_json: str


class ReportRepository(Repository):
    kind = "jugendamt"

    def nominations(self, jugendamt_id: str, kgj: KindergartenYear) -> list[NominatedProcedure]:
        """The procedures that took a place of the Jugendamt's contingent for ``kgj``, by nomination."""
        proc, fz, member = ProcedureRow, FamilienzentrumRow, FamilienzentrumMemberRow
        members = (select(member.familienzentrum_id, func.count(member.id).label("kitas"))
                   .where(member.left_on.is_(None)).group_by(member.familienzentrum_id).subquery())
        nominated = (select(AuditLogRow.subject_id, func.min(AuditLogRow.seq).label("seq"))
                     .where(AuditLogRow.subject_kind == "procedure", AuditLogRow.to_state == ProcedureState.NOMINATED)
                     .group_by(AuditLogRow.subject_id).subquery())
        towns = (select(func.min(KitaRow.city)).join(member, member.kita_id == KitaRow.id)
                 .where(member.familienzentrum_id == fz.id, member.left_on.is_(None))
                 .correlate(fz).scalar_subquery())
        statement = (select(proc.id, proc.familienzentrum_id, fz.name, fz.form, members.c.kitas, towns.label("town"),
                            proc.state, AuditLogRow.at, AuditLogRow.reason)
                     .join(ContingentRow, ContingentRow.id == proc.contingent_id)
                     .join(fz, fz.id == proc.familienzentrum_id)
                     .outerjoin(members, members.c.familienzentrum_id == fz.id)
                     .outerjoin(nominated, nominated.c.subject_id == proc.id)
                     .outerjoin(AuditLogRow, AuditLogRow.seq == nominated.c.seq)
                     .where(ContingentRow.jugendamt_id == jugendamt_id, ContingentRow.kgj == kgj.start_year)
                     .order_by(AuditLogRow.seq, proc.id))
        return [NominatedProcedure(r.id, r.familienzentrum_id, r.name, r.form, int(r.kitas or 0), r.town or "",
                                   r.state, r.at, r.reason or "") for r in self._session.execute(statement)]

    def contingent_entries(self, jugendamt_id: str, kgj: KindergartenYear) -> list[ContingentEntry]:
        """The audit trail of the Jugendamt's contingent for ``kgj``, oldest first."""
        statement = (select(AuditLogRow.at, AuditLogRow.action, AuditLogRow.reason, AuditLogRow.payload)
                     .where(AuditLogRow.subject_kind == "contingent", AuditLogRow.subject_id == f"{jugendamt_id}/{kgj}")
                     .order_by(AuditLogRow.seq))
        return [ContingentEntry(r.at, r.action, r.reason, json.loads(r.payload or "{}"))
                for r in self._session.execute(statement)]

    def coverage(self, day: date, jugendamt_id: str | None) -> list[TownFigures]:
        """Per town (of the Kitas): the Kitas, those in a Familienzentrum with a live seal on ``day``, and those
        Familienzentren; by town."""
        member, cert = FamilienzentrumMemberRow, CertificateRow
        sealed = (select(cert.familienzentrum_id).where(cert.state.in_(LIVE), cert.valid_until >= day)
                  .distinct().subquery())
        in_sealed = (select(member.kita_id, member.familienzentrum_id)
                     .join(sealed, sealed.c.familienzentrum_id == member.familienzentrum_id)
                     .where(member.left_on.is_(None)).subquery())
        statement = (select(KitaRow.city, func.count(distinct(KitaRow.id)), func.count(distinct(in_sealed.c.kita_id)),
                            func.count(distinct(in_sealed.c.familienzentrum_id)))
                     .outerjoin(in_sealed, in_sealed.c.kita_id == KitaRow.id)
                     .group_by(KitaRow.city).order_by(KitaRow.city))
        if jugendamt_id is not None:
            statement = statement.where(KitaRow.jugendamt_id == jugendamt_id)
        return [TownFigures(r[0], int(r[1]), int(r[2]), int(r[3])) for r in self._session.execute(statement)]

    def lapsing_by_year(self, day: date, jugendamt_id: str | None) -> list[tuple[int, int]]:
        """``(year, seals)``: the live seals on ``day`` by the calendar year in which their validity ends."""
        cert = CertificateRow
        year = func.extract("year", cert.valid_until)
        statement = (select(year, func.count()).where(cert.state.in_(LIVE), cert.valid_until >= day)
                     .group_by(year).order_by(year))
        if jugendamt_id is not None:
            statement = statement.join(FamilienzentrumRow, FamilienzentrumRow.id == cert.familienzentrum_id).where(
                FamilienzentrumRow.jugendamt_id == jugendamt_id)
        return [(int(r[0]), int(r[1])) for r in self._session.execute(statement)]

    def decided_submissions(self, jugendamt_id: str | None, since: KindergartenYear) -> list[DecidedSubmission]:
        """The submitted self-assessment of every procedure decided (certified or not) from ``since`` on."""
        proc, rev = ProcedureRow, AssessmentRevisionRow
        statement = (select(proc.id, proc.catalogue_key, proc.period_start, proc.period_end, rev.canonical_json)
                     .join(rev, and_(rev.procedure_id == proc.id, rev.revision == proc.submitted_revision))
                     .where(proc.state.in_(DECIDED), proc.kgj >= since.start_year)
                     .order_by(proc.id))
        if jugendamt_id is not None:
            statement = statement.join(FamilienzentrumRow, FamilienzentrumRow.id == proc.familienzentrum_id).where(
                FamilienzentrumRow.jugendamt_id == jugendamt_id)
        return [DecidedSubmission(*r) for r in self._session.execute(statement)]
