"""Repositories of the parties: Jugendämter, Träger, users, Kitas and Familienzentren.

Kitas and Familienzentren are edited (versioned rows); the others are only
added and read here. A Familienzentrum's members are rows of
``familienzentrum_member``: joining adds one, leaving sets ``left_on``; the
domain's ``member_kita_ids`` are the current members in joining order.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date
from typing import Any

from sqlalchemy import Select, select, update

from ...lifecycle.entities import Familienzentrum, Jugendamt, Kita, Traeger, User
from ...lifecycle.machinery import local_date
from ..tables import AppUserRow, FamilienzentrumMemberRow, FamilienzentrumRow, JugendamtRow, KitaRow, TraegerRow
from ..versioning import diff, update_versioned
from .base import Repository
from .scope import familienzentrum_visible

__all__ = ["FamilienzentrumRepository", "JugendamtRepository", "KitaRepository", "TraegerRepository",
           "UserRepository"]


class _Simple(Repository):
    """Add and read an entity whose fields are exactly its row's columns."""

    row_cls: Any
    entity_cls: Any

    def add(self, entity: Any, *, actor_id: str, reason: str) -> None:
        values = _values(entity)
        self._insert(self.row_cls(**values))
        self._log("create", entity.id, actor_id=actor_id, reason=reason, payload=values)

    def find(self, entity_id: str) -> Any | None:
        row = self._session.get(self.row_cls, entity_id, populate_existing=True)
        return None if row is None else self.entity_cls(**{n: getattr(row, n) for n in self.entity_cls.__slots__})

    def get(self, entity_id: str) -> Any:
        return self._require(self.find(entity_id), entity_id)

    def all(self) -> list[Any]:
        """Every entity, ordered by id."""
        return self._entities(select(self.row_cls).order_by(self.row_cls.id))

    def many(self, ids: Collection[str]) -> list[Any]:
        """The entities with these ids (unknown ids are left out), ordered by id; one query."""
        if not ids:
            return []
        return self._entities(select(self.row_cls).where(self.row_cls.id.in_(list(ids))).order_by(self.row_cls.id))

    def _entities(self, statement: Select) -> list[Any]:
        return [self.entity_cls(**{n: getattr(row, n) for n in self.entity_cls.__slots__})
                for row in self._all(statement)]


def _values(entity: Any) -> dict[str, Any]:
    return {name: getattr(entity, name) for name in type(entity).__slots__}


class JugendamtRepository(_Simple):
    kind, row_cls, entity_cls = "jugendamt", JugendamtRow, Jugendamt


class TraegerRepository(_Simple):
    kind, row_cls, entity_cls = "traeger", TraegerRow, Traeger


class UserRepository(_Simple):
    kind, row_cls, entity_cls = "user", AppUserRow, User


def _kita(row: KitaRow) -> Kita:
    return Kita(**{name: getattr(row, name) for name in Kita.__slots__})


class KitaRepository(Repository):
    kind = "kita"

    def add(self, kita: Kita, *, actor_id: str, reason: str) -> None:
        values = _values(kita)
        self._insert(KitaRow(**values, version=1))
        self._versions.seen(self.kind, kita.id, 1)
        self._log("create", kita.id, actor_id=actor_id, reason=reason, payload=values)

    def get(self, kita_id: str, *, expected_version: int | None = None) -> Kita:
        return _kita(self._load_versioned(select(KitaRow).where(KitaRow.id == kita_id), kita_id, expected_version))

    def find(self, kita_id: str) -> Kita | None:
        row = self._first(select(KitaRow).where(KitaRow.id == kita_id))
        if row is None:
            return None
        self._versions.seen(self.kind, row.id, row.version)
        return _kita(row)

    def in_jugendamt(self, jugendamt_id: str) -> list[Kita]:
        return self._many(select(KitaRow).where(KitaRow.jugendamt_id == jugendamt_id).order_by(KitaRow.id))

    def all(self) -> list[Kita]:
        """Every Kita, ordered by id."""
        return self._many(select(KitaRow).order_by(KitaRow.id))

    def _many(self, statement) -> list[Kita]:
        rows = self._all(statement)
        for row in rows:
            self._versions.seen(self.kind, row.id, row.version)
        return [_kita(row) for row in rows]

    def save(self, kita: Kita, *, actor_id: str, reason: str, expected_version: int | None = None) -> int:
        """Write an edited Kita; return the new version (ConflictError if someone saved it meanwhile)."""
        expected = self._versions.expected(self.kind, kita.id, expected_version)
        old = self._require(self._first(select(KitaRow).where(KitaRow.id == kita.id)), kita.id)
        changes = diff(_values(_kita(old)), _values(kita))
        new = update_versioned(self._session, KitaRow, {"id": kita.id}, kind=self.kind, subject_id=kita.id,
                               expected=expected, values=_values(kita))
        self._versions.seen(self.kind, kita.id, new)
        self._log("update", kita.id, actor_id=actor_id, reason=reason, payload=changes)
        return new


_FZ_COLUMNS = tuple(name for name in Familienzentrum.__slots__ if name != "member_kita_ids")


def _fz_values(fz: Familienzentrum) -> dict[str, Any]:
    return {name: getattr(fz, name) for name in _FZ_COLUMNS}


class FamilienzentrumRepository(Repository):
    kind = "familienzentrum"

    def add(self, fz: Familienzentrum, *, actor_id: str, reason: str, joined_on: date | None = None) -> None:
        """Insert ``fz`` and its members (joined ``joined_on``, default: today in NRW)."""
        self._insert(FamilienzentrumRow(**_fz_values(fz), version=1))
        on = joined_on or local_date(self._now())
        for kita_id in fz.member_kita_ids:
            self._insert(FamilienzentrumMemberRow(familienzentrum_id=fz.id, kita_id=kita_id, joined_on=on))
        self._versions.seen(self.kind, fz.id, 1)
        payload = {**_fz_values(fz), "member_kita_ids": list(fz.member_kita_ids), "joined_on": on}
        self._log("create", fz.id, actor_id=actor_id, reason=reason, payload=payload)

    def _members(self, fz_id: str) -> list[str]:
        member = FamilienzentrumMemberRow
        query = (select(member.kita_id).where(member.familienzentrum_id == fz_id, member.left_on.is_(None))
                 .order_by(member.id))
        return list(self._session.execute(query).scalars())

    def get(self, fz_id: str, *, expected_version: int | None = None) -> Familienzentrum:
        statement = select(FamilienzentrumRow).where(FamilienzentrumRow.id == fz_id)
        row = self._load_versioned(statement, fz_id, expected_version)
        values = {name: getattr(row, name) for name in _FZ_COLUMNS}
        return Familienzentrum(**values, member_kita_ids=tuple(self._members(fz_id)))

    def find(self, fz_id: str) -> Familienzentrum | None:
        if self._first(select(FamilienzentrumRow.id).where(FamilienzentrumRow.id == fz_id)) is None:
            return None
        return self.get(fz_id)

    def all(self, jugendamt_id: str | None = None) -> list[Familienzentrum]:
        """Every Familienzentrum (or those of one Jugendamt) with its current members, ordered by id."""
        statement = select(FamilienzentrumRow).order_by(FamilienzentrumRow.id)
        if jugendamt_id is not None:
            statement = statement.where(FamilienzentrumRow.jugendamt_id == jugendamt_id)
        return self._with_members(statement)

    def visible_to(self, user: User, *, limit: int | None = None, offset: int = 0) -> list[Familienzentrum]:
        """The Familienzentren ``user`` may see (:mod:`certflow.lifecycle.access`, filtered in SQL) with their
        current members, ordered by id; a page of ``limit`` after ``offset`` (default: all). Two queries."""
        statement = select(FamilienzentrumRow).where(familienzentrum_visible(user)).order_by(FamilienzentrumRow.id)
        return self._with_members(self._page(statement, limit, offset))

    def jugendamt_of(self, fz_id: str | None) -> str | None:
        """The id of the Familienzentrum's Jugendamt (``None``: no such Familienzentrum)."""
        if fz_id is None:
            return None
        return self._session.execute(select(FamilienzentrumRow.jugendamt_id)
                                     .where(FamilienzentrumRow.id == fz_id)).scalar_one_or_none()

    def _with_members(self, statement: Select) -> list[Familienzentrum]:
        """The Familienzentren ``statement`` selects, each with its current members (of those only)."""
        rows = self._all(statement)
        if not rows:
            return []
        member = FamilienzentrumMemberRow
        members: dict[str, list[str]] = {}
        for fz_id, kita_id in self._session.execute(
                select(member.familienzentrum_id, member.kita_id)
                .where(member.left_on.is_(None), member.familienzentrum_id.in_([row.id for row in rows]))
                .order_by(member.id)):
            members.setdefault(fz_id, []).append(kita_id)
        out = []
        for row in rows:
            self._versions.seen(self.kind, row.id, row.version)
            values = {name: getattr(row, name) for name in _FZ_COLUMNS}
            out.append(Familienzentrum(**values, member_kita_ids=tuple(members.get(row.id, ()))))
        return out

    def of_kita(self, kita_id: str) -> str | None:
        """The id of the Familienzentrum the Kita belongs to now, if any."""
        member = FamilienzentrumMemberRow
        return self._session.execute(select(member.familienzentrum_id).where(
            member.kita_id == kita_id, member.left_on.is_(None))).scalars().first()

    def members_on(self, fz_id: str, day: date) -> list[str]:
        """The Kitas that were members on ``day`` (joined on or before it, not left by then), in joining order."""
        member = FamilienzentrumMemberRow
        query = (select(member.kita_id).where(
            member.familienzentrum_id == fz_id, member.joined_on <= day,
            (member.left_on.is_(None)) | (member.left_on > day)).order_by(member.id))
        return list(self._session.execute(query).scalars())

    def save(self, fz: Familienzentrum, *, actor_id: str, reason: str, expected_version: int | None = None,
             on: date | None = None) -> int:
        """Write an edited Familienzentrum; members that joined or left do so ``on`` (default: today in NRW)."""
        expected = self._versions.expected(self.kind, fz.id, expected_version)
        old = self._require(self._first(select(FamilienzentrumRow).where(FamilienzentrumRow.id == fz.id)), fz.id)
        old_members = self._members(fz.id)
        changes = diff({**{name: getattr(old, name) for name in _FZ_COLUMNS}, "member_kita_ids": old_members},
                       {**_fz_values(fz), "member_kita_ids": list(fz.member_kita_ids)})
        new = update_versioned(self._session, FamilienzentrumRow, {"id": fz.id}, kind=self.kind, subject_id=fz.id,
                               expected=expected, values=_fz_values(fz))
        on = on or local_date(self._now())
        left = [k for k in old_members if k not in fz.member_kita_ids]
        joined = [k for k in fz.member_kita_ids if k not in old_members]
        if left:
            member = FamilienzentrumMemberRow.__table__
            self._session.execute(update(member).where(
                member.c.familienzentrum_id == fz.id, member.c.kita_id.in_(left), member.c.left_on.is_(None),
            ).values(left_on=on))
        for kita_id in joined:
            self._insert(FamilienzentrumMemberRow(familienzentrum_id=fz.id, kita_id=kita_id, joined_on=on))
        if left or joined:
            changes["members_changed_on"] = on
        self._versions.seen(self.kind, fz.id, new)
        self._log("update", fz.id, actor_id=actor_id, reason=reason, payload=changes)
        return new
