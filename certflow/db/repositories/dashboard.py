"""The figures of one Jugendamt's dashboard and its list of Familienzentren, computed in SQL.

Reached as ``uow.dashboard``. Every method is one query, whatever the number of
Familienzentren, procedures or seals: counting, ranking and filtering happen in the database
(window functions, ``GROUP BY``, ``EXISTS``), never by loading rows into Python to count them.

Two notions are shared with :func:`certflow.services.overview` and must say the same:

* a Familienzentrum's **current procedure**: its open procedure, else its newest one (by
  Kindergartenjahr and id);
* its **seal**: the newest live term (valid or due for re-certification), else the newest term.

Scope is the caller's matter (:mod:`certflow.services.dashboard` checks who may see which
Jugendamt); every method here is limited to the one Jugendamt it is given.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Select, String, and_, case, cast, func, literal, null, select, union_all
from sqlalchemy.orm import aliased

from ...calendar import KindergartenYear
from ...catalogue.model import Form, ProcedureKind
from ...lifecycle.entities import PROCEDURE_FINAL_STATES, CertificateState, ProcedureState
from ..tables import (
    AssessmentRevisionRow,
    CertificateRow,
    FamilienzentrumMemberRow,
    FamilienzentrumRow,
    KitaRow,
    ProcedureRow,
)
from .base import Repository
from .procedures import current_procedure_id

__all__ = ["NO_PROCEDURE", "DashboardRepository", "Figures", "LapsingSeal", "ListedFamilienzentrum"]

LIVE = (CertificateState.VALID, CertificateState.RECERTIFICATION_DUE)
FINAL = tuple(PROCEDURE_FINAL_STATES)
NO_PROCEDURE = "ohne"
"""The ``state`` filter value for Familienzentren without any procedure."""


@dataclass(frozen=True, slots=True)
class LapsingSeal:
    """A live seal whose validity ends in the window asked for, and the re-certification under way (if any)."""

    familienzentrum_id: str
    name: str
    number: str
    state: CertificateState
    valid_until: date
    recertification_id: str | None
    recertification_state: ProcedureState | None


@dataclass(frozen=True, slots=True)
class Figures:
    """The dashboard's counts of one Jugendamt: Familienzentren by the state of their seal (``None``: none yet),
    procedures by state, procedures with an audit packet, and (id, name) of the Familienzentren to nominate
    (without seal and open procedure), by name."""

    seals: dict[CertificateState | None, int]
    procedures: dict[ProcedureState, int]
    packets: int
    candidates: list[tuple[str, str]]


@dataclass(frozen=True, slots=True)
class ListedFamilienzentrum:
    """One line of the list of Familienzentren: the Familienzentrum, its current procedure, its seal."""

    id: str
    name: str
    form: Form
    members: int
    towns: tuple[str, ...]
    procedure_id: str | None
    procedure_kind: ProcedureKind | None
    kgj: KindergartenYear | None
    state: ProcedureState | None
    planned_audit_date: date | None
    certificate_number: str | None
    certificate_state: CertificateState | None
    seal_valid_until: date | None


def _current_procedure_id(jugendamt_id: str, collate: str | None) -> Any:
    """The id of the current procedure of the Familienzentrum of the enclosing query (the same rule as the
    overview's, :func:`~.procedures.current_procedure_id`)."""
    return current_procedure_id(ProcedureRow.familienzentrum_id.in_(_of_jugendamt(jugendamt_id)), collate=collate)


def _seals(jugendamt_id: str) -> Any:
    """Per Familienzentrum of the Jugendamt its seal terms ranked: ``rank == 1`` is its seal."""
    c = CertificateRow
    dead_last = case((c.state.in_(LIVE), 0), else_=1)
    rank = func.row_number().over(partition_by=c.familienzentrum_id,
                                  order_by=(dead_last, c.issued.desc(), c.id.desc())).label("rank")
    return (select(c.familienzentrum_id.label("fz_id"), c.number.label("number"), c.state.label("state"),
                   c.valid_until.label("valid_until"), rank)
            .where(c.familienzentrum_id.in_(_of_jugendamt(jugendamt_id))).subquery("seal"))


def _of_jugendamt(jugendamt_id: str) -> Select:
    return select(FamilienzentrumRow.id).where(FamilienzentrumRow.jugendamt_id == jugendamt_id)


def _open_procedure_exists(fz_id: Any) -> ColumnElement[bool]:
    p = ProcedureRow
    return select(p.id).where(p.familienzentrum_id == fz_id, p.state.not_in(FINAL)).exists()


def _submitted(procedure_id: Any) -> ColumnElement[bool]:
    """The procedure has a submitted self-assessment (so an audit packet)."""
    revision = AssessmentRevisionRow
    return select(revision.id).where(revision.procedure_id == procedure_id, revision.submitted.is_(True)).exists()


def _candidate(jugendamt_id: str) -> tuple[ColumnElement[bool], ...]:
    """A Familienzentrum of the Jugendamt without a seal and without an open procedure (one to nominate)."""
    fz = FamilienzentrumRow
    return fz.jugendamt_id == jugendamt_id, fz.certificate_number.is_(None), ~_open_procedure_exists(fz.id)


def _member_in_town(fz_id: Any, town: str) -> ColumnElement[bool]:
    m, k = FamilienzentrumMemberRow, KitaRow
    return (select(m.id).join(k, k.id == m.kita_id)
            .where(m.familienzentrum_id == fz_id, m.left_on.is_(None), k.city == town).exists())


class DashboardRepository(Repository):
    kind = "dashboard"

    @property
    def _collation(self) -> str | None:
        """"C" on PostgreSQL: ids ordered by code point, as Python and SQLite order them."""
        return "C" if self._session.get_bind().dialect.name == "postgresql" else None

    # -- the dashboard ----------------------------------------------------------------------------------------

    def figures(self, jugendamt_id: str) -> Figures:
        """The dashboard's counts and the Familienzentren to nominate, in one query (``UNION ALL`` of what
        :meth:`seals_by_state`, :meth:`procedures_by_state`, :meth:`packet_count` and
        :meth:`nomination_candidates` each read alone)."""
        fz, p, seal = FamilienzentrumRow, ProcedureRow, _seals(jugendamt_id)

        def row(kind: str, key: Any, name: Any, number: Any) -> tuple[Any, ...]:
            return (literal(kind, String()).label("kind"), cast(key, String()).label("key"),
                    cast(name, String()).label("name"), number.label("number"))

        seals = (select(*row("seal", seal.c.state, null(), func.count(fz.id)))
                 .select_from(fz).outerjoin(seal, and_(seal.c.fz_id == fz.id, seal.c.rank == 1))
                 .where(fz.jugendamt_id == jugendamt_id).group_by(seal.c.state))
        procedures = (select(*row("procedure", p.state, null(), func.count(p.id)))
                      .where(p.familienzentrum_id.in_(_of_jugendamt(jugendamt_id))).group_by(p.state))
        packets = select(*row("packets", null(), null(), func.count(p.id))).where(
            p.familienzentrum_id.in_(_of_jugendamt(jugendamt_id)), _submitted(p.id))
        candidates = select(*row("candidate", fz.id, fz.name, literal(0))).where(*_candidate(jugendamt_id))
        union = union_all(seals, procedures, packets, candidates).subquery("figures")
        statement = select(union).order_by(union.c.kind, union.c.name, self._byte_order(union.c.key))
        out = Figures({}, {}, 0, [])
        for kind, key, name, number in self._session.execute(statement):
            if kind == "seal":
                out.seals[CertificateState(key) if key is not None else None] = number
            elif kind == "procedure":
                out.procedures[ProcedureState(key)] = number
            elif kind == "packets":
                out = replace(out, packets=number)
            else:
                out.candidates.append((key, name))
        return out

    def seals_by_state(self, jugendamt_id: str) -> dict[CertificateState | None, int]:
        """How many Familienzentren of the Jugendamt have a seal in each state (``None``: no seal yet)."""
        fz, seal = FamilienzentrumRow, _seals(jugendamt_id)
        statement = (select(seal.c.state, func.count(fz.id))
                     .select_from(fz).outerjoin(seal, and_(seal.c.fz_id == fz.id, seal.c.rank == 1))
                     .where(fz.jugendamt_id == jugendamt_id).group_by(seal.c.state))
        return {(CertificateState(state) if state is not None else None): count
                for state, count in self._session.execute(statement)}

    def lapsing_seals(self, jugendamt_id: str, start: date, end: date) -> list[LapsingSeal]:
        """The live seals of the Jugendamt valid until a day from ``start`` to ``end`` (both included), by that day,
        each with the open re-certification of its Familienzentrum, if there is one."""
        c, fz, p = CertificateRow, FamilienzentrumRow, ProcedureRow
        recert = (select(p.id, p.state).where(p.familienzentrum_id == fz.id, p.kind == ProcedureKind.RE,
                                              p.state.not_in(FINAL))
                  .order_by(p.kgj.desc(), p.id.desc()).limit(1))
        statement = (select(fz.id, fz.name, c.number, c.state, c.valid_until,
                            recert.with_only_columns(p.id).scalar_subquery(),
                            recert.with_only_columns(p.state).scalar_subquery())
                     .join(fz, fz.id == c.familienzentrum_id)
                     .where(fz.jugendamt_id == jugendamt_id, c.state.in_(LIVE), c.valid_until >= start,
                            c.valid_until <= end)
                     .order_by(c.valid_until, self._byte_order(fz.id), c.number))
        return [LapsingSeal(fz_id, name, number, CertificateState(state), valid_until, recert_id,
                            ProcedureState(recert_state) if recert_state is not None else None)
                for fz_id, name, number, state, valid_until, recert_id, recert_state
                in self._session.execute(statement)]

    def procedures_by_state(self, jugendamt_id: str) -> dict[ProcedureState, int]:
        """How many procedures of the Jugendamt's Familienzentren are in each state (states without any left out)."""
        p = ProcedureRow
        statement = (select(p.state, func.count(p.id)).where(p.familienzentrum_id.in_(_of_jugendamt(jugendamt_id)))
                     .group_by(p.state))
        return {ProcedureState(state): count for state, count in self._session.execute(statement)}

    def nomination_candidates(self, jugendamt_id: str) -> list[tuple[str, str]]:
        """(id, name) of the Familienzentren of the Jugendamt without a seal and without an open procedure, by name:
        those a nomination is meant for (the domain still decides)."""
        fz = FamilienzentrumRow
        statement = select(fz.id, fz.name).where(*_candidate(jugendamt_id)).order_by(fz.name, self._byte_order(fz.id))
        return [(fz_id, name) for fz_id, name in self._session.execute(statement)]

    def packet_count(self, jugendamt_id: str) -> int:
        """How many procedures of the Jugendamt have a submitted self-assessment (so an audit packet)."""
        p = ProcedureRow
        statement = select(func.count(p.id)).where(p.familienzentrum_id.in_(_of_jugendamt(jugendamt_id)),
                                                   _submitted(p.id))
        return self._session.execute(statement).scalar_one()

    # -- the list of Familienzentren ----------------------------------------------------------------------------

    def towns(self, jugendamt_id: str) -> list[str]:
        """The towns of the current member Kitas of the Jugendamt's Familienzentren, sorted, each once."""
        m, k = FamilienzentrumMemberRow, KitaRow
        statement = (select(k.city).join(m, m.kita_id == k.id)
                     .where(m.left_on.is_(None), m.familienzentrum_id.in_(_of_jugendamt(jugendamt_id)))
                     .group_by(k.city).order_by(self._byte_order(k.city)))
        return list(self._session.execute(statement).scalars())

    def _listing(self, jugendamt_id: str, *, state: str | None, town: str | None, seal_before: date | None,
                 form: Form | None, columns: Collection[Any] | None) -> Select:
        fz, seal = FamilienzentrumRow, _seals(jugendamt_id)
        current = aliased(ProcedureRow, name="current_procedure")
        statement = (select(*(columns or (fz.id, fz.name, fz.form, current.id, current.kind, current.kgj,
                                          current.state, current.planned_audit_date, seal.c.number, seal.c.state,
                                          seal.c.valid_until)))
                     .select_from(fz)
                     .outerjoin(current, current.id == _current_procedure_id(jugendamt_id, self._collation))
                     .outerjoin(seal, and_(seal.c.fz_id == fz.id, seal.c.rank == 1))
                     .where(fz.jugendamt_id == jugendamt_id))
        if state == NO_PROCEDURE:
            statement = statement.where(current.id.is_(None))
        elif state is not None:
            statement = statement.where(current.state == ProcedureState(state))
        if town is not None:
            statement = statement.where(_member_in_town(fz.id, town))
        if seal_before is not None:
            statement = statement.where(seal.c.state.in_(LIVE), seal.c.valid_until < seal_before)
        if form is not None:
            statement = statement.where(fz.form == Form(form))
        return statement

    def count_familienzentren(self, jugendamt_id: str, *, state: str | None = None, town: str | None = None,
                              seal_before: date | None = None, form: Form | None = None) -> int:
        """How many Familienzentren of the Jugendamt pass the filters (see :meth:`familienzentren`)."""
        statement = self._listing(jugendamt_id, state=state, town=town, seal_before=seal_before, form=form,
                                  columns=(func.count(FamilienzentrumRow.id),))
        return self._session.execute(statement).scalar_one()

    def familienzentren(self, jugendamt_id: str, *, state: str | None = None, town: str | None = None,
                        seal_before: date | None = None, form: Form | None = None, limit: int | None = None,
                        offset: int = 0) -> list[ListedFamilienzentrum]:
        """The Familienzentren of the Jugendamt that pass every filter given, ordered by id, a page at a time.

        ``state``: the current procedure's state (:data:`NO_PROCEDURE`: none); ``town``: a current member Kita
        lies there; ``seal_before``: the seal is live and valid until a day before this one; ``form``: Einzel or
        Verbund. Two queries (the list, then the members' towns of the Familienzentren listed).
        """
        return self.listing(jugendamt_id, state=state, town=town, seal_before=seal_before, form=form, limit=limit,
                            offset=offset)[0]

    def listing(self, jugendamt_id: str, *, state: str | None = None, town: str | None = None,
                seal_before: date | None = None, form: Form | None = None, limit: int | None = None,
                offset: int = 0) -> tuple[list[ListedFamilienzentrum], int]:
        """:meth:`familienzentren` and how many pass the filters in all (a window ``count(*) OVER ()`` of the
        same query). Two queries; a third (:meth:`count_familienzentren`) only for a page past the last."""
        fz = FamilienzentrumRow
        statement = self._listing(jugendamt_id, state=state, town=town, seal_before=seal_before, form=form,
                                  columns=None)
        statement = statement.add_columns(func.count().over().label("total"))
        rows = list(self._session.execute(self._page(statement.order_by(self._byte_order(fz.id)), limit, offset)))
        if not rows:
            total = 0 if not offset else self.count_familienzentren(
                jugendamt_id, state=state, town=town, seal_before=seal_before, form=form)
            return [], total
        m, k = FamilienzentrumMemberRow, KitaRow
        members: dict[str, list[str]] = {}
        for fz_id, city in self._session.execute(
                select(m.familienzentrum_id, k.city).join(k, k.id == m.kita_id)
                .where(m.left_on.is_(None), m.familienzentrum_id.in_([row[0] for row in rows])).order_by(m.id)):
            members.setdefault(fz_id, []).append(city)
        out = []
        for (fz_id, name, form_, pid, kind, kgj, pstate, planned, number, cstate, valid_until, _total) in rows:
            towns = members.get(fz_id, [])
            out.append(ListedFamilienzentrum(
                id=fz_id, name=name, form=Form(form_), members=len(towns), towns=tuple(dict.fromkeys(towns)),
                procedure_id=pid, procedure_kind=ProcedureKind(kind) if kind is not None else None,
                kgj=KindergartenYear(kgj) if kgj is not None else None,
                state=ProcedureState(pstate) if pstate is not None else None, planned_audit_date=planned,
                certificate_number=number, certificate_state=CertificateState(cstate) if cstate is not None else None,
                seal_valid_until=valid_until))
        return out, rows[0][-1]
