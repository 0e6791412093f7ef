"""The read scopes of :mod:`certflow.lifecycle.access` as SQL conditions, so lists are filtered in the database.

Each function is the twin of one predicate there and must say exactly what it says:

* :func:`familienzentrum_visible` of ``may_see_familienzentrum`` (on ``familienzentrum`` rows): certifier and
  admin everything, a coordinator the Familienzentren of their Jugendamt, a Kita lead their own, an auditor
  those with a procedure assigned to them, anyone else nothing;
* :func:`procedure_visible` of ``may_see_procedure`` (on ``procedure`` rows): an auditor the procedures
  assigned to them, everyone else the procedures of the Familienzentren they may see.

tests/test_services_queries_sql.py checks both against the predicates for every role.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, false, select, true

from ...lifecycle.entities import Role, User
from ..tables import FamilienzentrumRow, ProcedureRow

__all__ = ["familienzentrum_visible", "procedure_visible"]

_EVERYTHING = frozenset({Role.CERTIFIER, Role.ADMIN})


def familienzentrum_visible(user: User) -> ColumnElement[bool]:
    """Whether ``user`` may see a ``familienzentrum`` row (``may_see_familienzentrum``)."""
    fz = FamilienzentrumRow
    if user.role in _EVERYTHING:
        return true()
    if user.role is Role.COORDINATOR:
        return fz.jugendamt_id == user.jugendamt_id if user.jugendamt_id is not None else false()
    if user.role is Role.KITA_LEAD:
        return fz.id == user.familienzentrum_id if user.familienzentrum_id is not None else false()
    if user.role is Role.AUDITOR:
        assigned = select(ProcedureRow.id).where(ProcedureRow.familienzentrum_id == fz.id,
                                                 ProcedureRow.auditor_id == user.id)
        return assigned.correlate(fz).exists()
    return false()


def procedure_visible(user: User) -> ColumnElement[bool]:
    """Whether ``user`` may see a ``procedure`` row (``may_see_procedure``)."""
    if user.role is Role.AUDITOR:
        return ProcedureRow.auditor_id == user.id
    if user.role in _EVERYTHING:
        return true()
    fz = FamilienzentrumRow
    return ProcedureRow.familienzentrum_id.in_(select(fz.id).where(familienzentrum_visible(user)))
