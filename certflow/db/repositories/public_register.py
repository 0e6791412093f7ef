"""The public register: the certified Familienzentren as anyone may see them, without logging in.

Reached as ``uow.public``. What it publishes is fixed here, in one place, and is only what the seal
itself makes public: the Familienzentrum's name and form, its Jugendamt, its member Kitas (name, Träger,
address, coordinates), the profiles it was certified with and how long the seal is valid. Never a person:
no user, no e-mail address, no remark, no score, no procedure in progress.

A Familienzentrum is **published** while it holds a live seal (valid or due for re-certification) whose
validity has not ended on ``today``. Its **profiles** are those chosen in the submitted self-assessment
of its newest certified procedure.

Every method is one query, whatever the size: a page of the register costs :meth:`count`,
:meth:`page`, :meth:`members` and :meth:`profiles`, four statements.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date

from sqlalchemy import ColumnElement, Select, and_, func, or_, select

from ...catalogue.model import Form
from ...lifecycle.entities import CertificateState, ProcedureState
from ..tables import (
    AssessmentRevisionRow,
    CertificateRow,
    FamilienzentrumMemberRow,
    FamilienzentrumRow,
    JugendamtRow,
    KitaRow,
    ProcedureRow,
    TraegerRow,
)
from .base import Repository

__all__ = ["PublicRegisterRepository", "PublishedFamilienzentrum", "PublishedKita", "RegisterQuery"]

LIVE = (CertificateState.VALID, CertificateState.RECERTIFICATION_DUE)


@dataclass(frozen=True, slots=True)
class RegisterQuery:
    """Which published Familienzentren: ``place`` a town (part of its name) or a postcode (its start) of a
    member Kita, ``jugendamt_id`` one Jugendamt's; both optional."""

    place: str = ""
    jugendamt_id: str | None = None


@dataclass(frozen=True, slots=True)
class PublishedFamilienzentrum:
    id: str
    name: str
    form: Form
    jugendamt_id: str
    jugendamt: str
    valid_until: date


@dataclass(frozen=True, slots=True)
class PublishedKita:
    familienzentrum_id: str
    name: str
    traeger: str
    street: str
    postcode: str
    city: str
    lat: float
    lon: float


class PublicRegisterRepository(Repository):
    kind = "familienzentrum"

    def _published(self, today: date, query: RegisterQuery) -> Select:
        fz, cert = FamilienzentrumRow, CertificateRow
        valid_until = func.max(cert.valid_until).label("valid_until")
        statement = (select(fz.id, fz.name, fz.form, fz.jugendamt_id, JugendamtRow.name.label("jugendamt"),
                            valid_until)
                     .join(cert, cert.familienzentrum_id == fz.id)
                     .join(JugendamtRow, JugendamtRow.id == fz.jugendamt_id)
                     .where(cert.state.in_(LIVE), cert.valid_until >= today)
                     .group_by(fz.id, fz.name, fz.form, fz.jugendamt_id, JugendamtRow.name))
        if query.jugendamt_id is not None:
            statement = statement.where(fz.jugendamt_id == query.jugendamt_id)
        if query.place:
            statement = statement.where(_has_member_in(query.place))
        return statement

    def count(self, today: date, query: RegisterQuery) -> int:
        """How many Familienzentren ``query`` finds among the published ones."""
        inner = self._published(today, query).subquery()
        return int(self._session.execute(select(func.count()).select_from(inner)).scalar_one())

    def page(self, today: date, query: RegisterQuery, *, limit: int | None = None,
             offset: int = 0) -> list[PublishedFamilienzentrum]:
        """The published Familienzentren ``query`` finds, by name (then id); ``limit`` None: all of them."""
        statement = self._published(today, query).order_by(FamilienzentrumRow.name, FamilienzentrumRow.id)
        if limit is not None:
            statement = statement.limit(limit).offset(offset)
        return [PublishedFamilienzentrum(r.id, r.name, r.form, r.jugendamt_id, r.jugendamt, r.valid_until)
                for r in self._session.execute(statement)]

    def find(self, today: date, familienzentrum_id: str) -> PublishedFamilienzentrum | None:
        """The Familienzentrum if it is published, else None (unknown or not published: the same)."""
        statement = self._published(today, RegisterQuery()).where(FamilienzentrumRow.id == familienzentrum_id)
        row = self._session.execute(statement).first()
        return None if row is None else PublishedFamilienzentrum(row.id, row.name, row.form, row.jugendamt_id,
                                                                 row.jugendamt, row.valid_until)

    def members(self, familienzentrum_ids: Collection[str]) -> list[PublishedKita]:
        """The current member Kitas of these Familienzentren with their Träger, in joining order."""
        if not familienzentrum_ids:
            return []
        member, kita = FamilienzentrumMemberRow, KitaRow
        statement = (select(member.familienzentrum_id, kita.name, TraegerRow.name.label("traeger"), kita.street,
                            kita.postcode, kita.city, kita.lat, kita.lon)
                     .join(kita, kita.id == member.kita_id)
                     .join(TraegerRow, TraegerRow.id == kita.traeger_id)
                     .where(member.familienzentrum_id.in_(list(familienzentrum_ids)), member.left_on.is_(None))
                     .order_by(member.familienzentrum_id, member.joined_on, member.id))
        return [PublishedKita(r.familienzentrum_id, r.name, r.traeger, r.street, r.postcode, r.city, r.lat, r.lon)
                for r in self._session.execute(statement)]

    def profiles(self, familienzentrum_ids: Collection[str]) -> dict[str, tuple[str, list[str]]]:
        """Per Familienzentrum: the catalogue and the profile ids chosen in the submitted self-assessment of its
        newest certified procedure (Familienzentren without one are left out)."""
        if not familienzentrum_ids:
            return {}
        proc, rev = ProcedureRow, AssessmentRevisionRow
        newest = (select(proc.familienzentrum_id, func.max(proc.kgj).label("kgj"))
                  .where(proc.state == ProcedureState.CERTIFIED,
                         proc.familienzentrum_id.in_(list(familienzentrum_ids)))
                  .group_by(proc.familienzentrum_id).subquery())
        statement = (select(proc.familienzentrum_id, proc.catalogue_key, rev.canonical_json)
                     .join(newest, and_(newest.c.familienzentrum_id == proc.familienzentrum_id,
                                        newest.c.kgj == proc.kgj))
                     .join(rev, and_(rev.procedure_id == proc.id, rev.revision == proc.submitted_revision))
                     .where(proc.state == ProcedureState.CERTIFIED)
                     .order_by(proc.familienzentrum_id, proc.id))
        out: dict[str, tuple[str, list[str]]] = {}
        for fz_id, catalogue_key, canonical in self._session.execute(statement):
            chosen = json.loads(canonical).get("profiles") or []
            out[fz_id] = (catalogue_key, [str(p) for p in chosen])
        return out

    def jugendaemter(self, today: date) -> list[tuple[str, str, int]]:
        """``(id, name, published Familienzentren)`` of every Jugendamt with at least one, by name."""
        inner = self._published(today, RegisterQuery()).subquery()
        statement = (select(inner.c.jugendamt_id, inner.c.jugendamt, func.count())
                     .group_by(inner.c.jugendamt_id, inner.c.jugendamt)
                     .order_by(inner.c.jugendamt, inner.c.jugendamt_id))
        return [(r[0], r[1], int(r[2])) for r in self._session.execute(statement)]


def _has_member_in(place: str) -> ColumnElement[bool]:
    """A current member Kita whose postcode starts with ``place`` or whose town contains it (any case)."""
    member, kita = FamilienzentrumMemberRow, KitaRow
    escaped = place.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    matches = or_(kita.postcode.like(f"{escaped}%", escape="\\"),
                  func.lower(kita.city).like(f"%{escaped.lower()}%", escape="\\"))
    return (select(member.id).join(kita, kita.id == member.kita_id)
            .where(member.familienzentrum_id == FamilienzentrumRow.id, member.left_on.is_(None), matches)
            .correlate(FamilienzentrumRow).exists())
