"""The administration's registers: users and Kitas a page at a time, searched and counted in SQL.

Reached as ``uow.registers``. Each page is one statement whatever the size of the database: the
rows of the page joined with the names they show (Jugendamt, Familienzentrum, Träger; the e-mail
address and whether a password is set), and beside them the number of all matching rows, an
uncorrelated scalar subquery that counts on the one table alone (a window count would join every
row just to count it). Only a page past the end needs a second statement (the count alone).
:meth:`RegisterRepository.party_choices` gives the id and name of every Jugendamt, Familienzentrum
and Träger for the forms' choices in one statement (names only: no members, no versions).

Search is a case-insensitive substring of id or name (Kitas: also the town), with ``%`` and ``_``
taken literally; on SQLite case folding covers ASCII letters only (its ``lower``).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, func, literal, or_, select, union_all

from ...lifecycle.entities import Kita, Role, User
from ..tables import (
    AppUserRow,
    FamilienzentrumRow,
    JugendamtRow,
    KitaRow,
    PasswordCredentialRow,
    TraegerRow,
    UserContactRow,
)
from .base import Repository

__all__ = ["AccountLine", "KitaLine", "PartyChoices", "RegisterPage", "RegisterRepository"]

U = AppUserRow.__table__  # type: ignore[attr-defined]
J = JugendamtRow.__table__  # type: ignore[attr-defined]
F = FamilienzentrumRow.__table__  # type: ignore[attr-defined]
T = TraegerRow.__table__  # type: ignore[attr-defined]
K = KitaRow.__table__  # type: ignore[attr-defined]
C = UserContactRow.__table__  # type: ignore[attr-defined]
P = PasswordCredentialRow.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class AccountLine:
    """A user as the register shows them: the names of what the role is tied to, address, standing."""

    user: User
    jugendamt_name: str | None
    familienzentrum_name: str | None
    traeger_name: str | None
    email: str | None
    has_password: bool
    active: bool
    version: int


@dataclass(frozen=True, slots=True)
class KitaLine:
    kita: Kita
    traeger_name: str | None
    jugendamt_name: str | None


@dataclass(frozen=True, slots=True)
class RegisterPage:
    """``lines`` of one page (``offset`` rows skipped) and how many rows match in all."""

    lines: tuple[Any, ...]
    total: int
    offset: int


@dataclass(frozen=True, slots=True)
class PartyChoices:
    """(id, name) of every Jugendamt, Familienzentrum and Träger, each ordered by id."""

    jugendaemter: tuple[tuple[str, str], ...]
    familienzentren: tuple[tuple[str, str], ...]
    traeger: tuple[tuple[str, str], ...]


def _matches(term: str, *columns: Any) -> ColumnElement[bool]:
    needle = term.lower()
    return or_(*(func.lower(column).contains(needle, autoescape=True) for column in columns))


class RegisterRepository(Repository):
    kind = "register"

    def _counted_page(self, statement: Select, table: Any, where: list[ColumnElement[bool]], limit: int,
                      offset: int) -> tuple[list[Any], int]:
        """The rows of ``statement`` filtered by ``where`` on the page, and the number of rows of ``table`` that
        ``where`` matches: beside each row as an uncorrelated scalar subquery (counted once, on the table alone,
        while the page itself is read by its index up to the limit); a page past the end counts alone."""
        count = select(func.count()).select_from(table).where(*where)
        rows = list(self._session.execute(statement.add_columns(count.scalar_subquery().label("total"))
                                          .where(*where).limit(limit).offset(offset)))
        if rows:
            return rows, int(rows[0].total)
        return [], 0 if offset == 0 else int(self._session.execute(count).scalar_one())

    def _accounts(self) -> Select:
        return (
            select(U, J.c.name.label("jugendamt_name"), F.c.name.label("familienzentrum_name"),
                   T.c.name.label("traeger_name"), C.c.email, P.c.user_id.is_not(None).label("has_password"))
            .select_from(U.outerjoin(J, J.c.id == U.c.jugendamt_id).outerjoin(F, F.c.id == U.c.familienzentrum_id)
                         .outerjoin(T, T.c.id == U.c.traeger_id).outerjoin(C, C.c.user_id == U.c.id)
                         .outerjoin(P, P.c.user_id == U.c.id)))

    @staticmethod
    def _account_line(row: Any) -> AccountLine:
        values = row._mapping
        return AccountLine(User(**{name: values[U.c[name]] for name in User.__slots__}), row.jugendamt_name,
                           row.familienzentrum_name, row.traeger_name, row.email or None, bool(row.has_password),
                           bool(values[U.c.active]), int(values[U.c.version]))

    def users_page(self, *, search: str = "", role: Role | None = None, active: bool | None = None,
                   limit: int, offset: int = 0) -> RegisterPage:
        """Users ordered by id, ``limit`` after ``offset``, matching ``search`` (id, name), ``role`` and
        ``active`` (None: any), with the number of all that match. One statement."""
        where: list[ColumnElement[bool]] = []
        if search:
            where.append(_matches(search, U.c.id, U.c.name))
        if role is not None:
            where.append(U.c.role == role)
        if active is not None:
            where.append(U.c.active.is_(True) if active else U.c.active.is_(False))
        statement = self._accounts().order_by(self._byte_order(U.c.id))
        rows, total = self._counted_page(statement, U, where, limit, offset)
        return RegisterPage(tuple(self._account_line(row) for row in rows), total, offset)

    def account(self, user_id: str) -> AccountLine | None:
        """One user as :meth:`users_page` shows them (None: no such user). One statement."""
        row = self._session.execute(self._accounts().where(U.c.id == user_id)).first()
        return None if row is None else self._account_line(row)

    def kitas_page(self, *, search: str = "", limit: int, offset: int = 0) -> RegisterPage:
        """Kitas ordered by id, ``limit`` after ``offset``, matching ``search`` (id, name, town), with the names
        of their Träger and Jugendamt and the number of all that match. One statement."""
        statement = (
            select(K, T.c.name.label("traeger_name"), J.c.name.label("jugendamt_name"))
            .select_from(K.outerjoin(T, T.c.id == K.c.traeger_id).outerjoin(J, J.c.id == K.c.jugendamt_id))
            .order_by(self._byte_order(K.c.id)))
        where = [_matches(search, K.c.id, K.c.name, K.c.city)] if search else []
        rows, total = self._counted_page(statement, K, where, limit, offset)
        lines = tuple(KitaLine(Kita(**{name: row._mapping[K.c[name]] for name in Kita.__slots__}),
                               row.traeger_name, row.jugendamt_name) for row in rows)
        return RegisterPage(lines, total, offset)

    def party_choices(self) -> PartyChoices:
        """Id and name of every Jugendamt, Familienzentrum and Träger (for the forms' choices). One statement."""
        parts = [select(literal(kind).label("kind"), table.c.id, table.c.name)
                 for kind, table in (("j", J), ("f", F), ("t", T))]
        found: dict[str, list[tuple[str, str]]] = {"j": [], "f": [], "t": []}
        for kind, party_id, name in self._session.execute(union_all(*parts)):
            found[kind].append((party_id, name))
        return PartyChoices(*(tuple(sorted(found[kind])) for kind in "jft"))  # by id, as Python orders strings

    def party_names(self, ids: Collection[str]) -> dict[str, str]:
        """The names of the Jugendämter, Familienzentren and Träger with these ids (unknown ones left out);
        one statement, none for no ids."""
        wanted = sorted(set(ids))
        if not wanted:
            return {}
        rows = self._session.execute(union_all(*(select(table.c.id, table.c.name).where(table.c.id.in_(wanted))
                                                 for table in (J, F, T))))
        return {party_id: name for party_id, name in rows}
