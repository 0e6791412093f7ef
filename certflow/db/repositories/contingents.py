"""The contingents of places, and taking a place without ever overbooking.

:func:`reserve_place` is one conditional statement::

    UPDATE contingent SET nominated = nominated + 1, version = version + 1
    WHERE jugendamt_id = :ja AND kgj = :kgj
      AND granted + carried_in - nominated - returned > 0

It is atomic on both databases: on PostgreSQL a second writer waits for the
first one's row lock and then re-checks the condition against the committed
row (READ COMMITTED re-evaluates the WHERE of an UPDATE); on SQLite the
``BEGIN IMMEDIATE`` write lock lets one transaction in at a time. No row
matched means no free place: the refusal is the domain's wording
(:func:`certflow.lifecycle.contingents.free_place_refusal`). The CHECK
constraint ``not_overbooked`` is the last line of defence.

Free places are ``granted + carried_in - nominated - returned`` as in the
domain; ``carried_out`` counts returned places passed on and is not subtracted again.
"""

from __future__ import annotations

from typing import Any, Protocol

from sqlalchemy import select, update

from ...calendar import KindergartenYear
from ...lifecycle.contingents import Contingent, free_place_refusal
from ...lifecycle.machinery import Refused
from ..tables import ContingentRow, JugendamtRow
from ..versioning import diff, update_versioned
from .base import Repository


__all__ = ["ContingentRepository", "release_place", "reserve_place"]

_COUNTS = ("granted", "nominated", "returned", "carried_in", "carried_out")
_T = ContingentRow.__table__


def _key(contingent: Contingent) -> str:
    return f"{contingent.jugendamt_id}/{contingent.kgj}"


def _contingent(row: Any) -> Contingent:
    return Contingent(row.jugendamt_id, KindergartenYear(row.kgj), **{name: getattr(row, name) for name in _COUNTS})


def _counts(contingent: Contingent) -> dict[str, int]:
    return {name: getattr(contingent, name) for name in _COUNTS}


class ContingentRepository(Repository):
    kind = "contingent"

    def _where(self, jugendamt_id: str, kgj: KindergartenYear):
        return (_T.c.jugendamt_id == jugendamt_id, _T.c.kgj == kgj.start_year)

    def find(self, jugendamt_id: str, kgj: KindergartenYear) -> Contingent | None:
        row = self._session.execute(select(_T).where(*self._where(jugendamt_id, kgj))).first()
        if row is None:
            return None
        contingent = _contingent(row)
        self._versions.seen(self.kind, _key(contingent), row.version)
        return contingent

    def all(self, jugendamt_id: str | None = None) -> list[Contingent]:
        """Every contingent (or those of one Jugendamt), by Jugendamt and Kindergartenjahr."""
        statement = select(_T).order_by(_T.c.jugendamt_id, _T.c.kgj)
        if jugendamt_id is not None:
            statement = statement.where(_T.c.jugendamt_id == jugendamt_id)
        out = []
        for row in self._session.execute(statement):
            contingent = _contingent(row)
            self._versions.seen(self.kind, _key(contingent), row.version)
            out.append(contingent)
        return out

    def get(self, jugendamt_id: str, kgj: KindergartenYear) -> Contingent:
        """The contingent, or an empty one (nothing granted) when the decree gave none."""
        return self.find(jugendamt_id, kgj) or Contingent(jugendamt_id, kgj)

    def add(self, contingent: Contingent, *, actor_id: str, reason: str) -> None:
        self._insert(ContingentRow(jugendamt_id=contingent.jugendamt_id, kgj=contingent.kgj.start_year,
                                   **_counts(contingent), version=1))
        self._versions.seen(self.kind, _key(contingent), 1)
        self._log("create", _key(contingent), actor_id=actor_id, reason=reason, payload=_counts(contingent))

    def save(self, contingent: Contingent, *, actor_id: str, reason: str, expected_version: int | None = None) -> int:
        """Write a contingent changed by the domain (grant, return_place, carry_over); optimistic locking."""
        key = _key(contingent)
        expected = self._versions.expected(self.kind, key, expected_version)
        old = self._session.execute(select(_T).where(*self._where(contingent.jugendamt_id, contingent.kgj))).first()
        changes = diff(_counts(_contingent(old)), _counts(contingent)) if old is not None else _counts(contingent)
        new = update_versioned(self._session, ContingentRow,
                               {"jugendamt_id": contingent.jugendamt_id, "kgj": contingent.kgj.start_year},
                               kind=self.kind, subject_id=key, expected=expected, values=_counts(contingent))
        self._versions.seen(self.kind, key, new)
        self._log("update", key, actor_id=actor_id, reason=reason, payload=changes)
        return new

    def _step(self, jugendamt_id: str, kgj: KindergartenYear, delta: int, condition: Any) -> Contingent | None:
        statement = (update(_T).where(*self._where(jugendamt_id, kgj), condition)
                     .values(nominated=_T.c.nominated + delta, version=_T.c.version + 1))
        if self._session.execute(statement).rowcount != 1:
            return None
        return self.find(jugendamt_id, kgj)

    def _name(self, jugendamt_id: str) -> str | None:
        return self._session.execute(select(JugendamtRow.name).where(JugendamtRow.id == jugendamt_id)).scalar()

    def reserve_place(self, jugendamt_id: str, kgj: KindergartenYear, *, actor_id: str, reason: str) -> Contingent:
        """Take one free place atomically; Refused ("Kein freier Platz ...") when none is left."""
        free = _T.c.granted + _T.c.carried_in - _T.c.nominated - _T.c.returned > 0
        taken = self._step(jugendamt_id, kgj, +1, free)
        if taken is None:
            current = self.get(jugendamt_id, kgj)
            raise Refused(free_place_refusal(current, self._name(jugendamt_id))
                          or f"Kein freier Platz im Kontingent des Jugendamts {jugendamt_id} für {kgj}")
        self._log("reserve", _key(taken), actor_id=actor_id, reason=reason,
                  payload={"nominated": [taken.nominated - 1, taken.nominated]})
        return taken

    def release_place(self, jugendamt_id: str, kgj: KindergartenYear, *, actor_id: str, reason: str) -> Contingent:
        """Give back the place of a withdrawn nomination (see ``contingents.release``), atomically."""
        released = self._step(jugendamt_id, kgj, -1, _T.c.nominated > 0)
        if released is None:
            raise Refused(f"Im Kontingent des Jugendamts {self._name(jugendamt_id) or jugendamt_id} für {kgj} "
                          "ist kein Platz vergeben, der frei werden könnte")
        self._log("release", _key(released), actor_id=actor_id, reason=reason,
                  payload={"nominated": [released.nominated + 1, released.nominated]})
        return released


class _WithContingents(Protocol):
    """A unit of work (anything with the contingent repository)."""

    contingents: ContingentRepository


def reserve_place(uow: _WithContingents, jugendamt_id: str, kgj: KindergartenYear, *, actor_id: str,
                  reason: str) -> Contingent:
    """Take one free place of the Jugendamt's contingent for ``kgj`` in ``uow``'s transaction (never overbooks)."""
    return uow.contingents.reserve_place(jugendamt_id, kgj, actor_id=actor_id, reason=reason)


def release_place(uow: _WithContingents, jugendamt_id: str, kgj: KindergartenYear, *, actor_id: str,
                  reason: str) -> Contingent:
    return uow.contingents.release_place(jugendamt_id, kgj, actor_id=actor_id, reason=reason)
