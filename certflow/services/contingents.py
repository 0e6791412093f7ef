"""Use cases of the contingents of places: grant, return, carry over.

Who may (decided here; the sources name the Land's decree and the Jugendamt's
planning [C1][S1]):

* **grant**: admin only (records the ministry's decree for a Jugendamt);
* **return** and **carry over**: the coordinator of that Jugendamt or admin.

Nominating takes a place (:func:`.procedures.nominate`); withdrawing a
nomination frees it (:func:`.procedures.withdraw`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..calendar import KindergartenYear
from ..lifecycle import contingents as domain
from ..lifecycle.entities import Role, User
from ..lifecycle.machinery import Refused
from .actors import resolve
from .common import Result, need_reason

if TYPE_CHECKING:
    from ..db.unit_of_work import UnitOfWork

__all__ = ["carry_over", "grant", "return_places"]


def _allowed(actor: User, jugendamt_id: str, action: str, roles: frozenset[Role]) -> None:
    if actor.role not in roles:
        allowed = ", ".join(r.label for r in Role if r in roles)
        raise Refused(f"{action} ist der Rolle '{actor.role.label}' nicht erlaubt (erlaubt: {allowed})")
    if actor.role is Role.COORDINATOR and actor.jugendamt_id != jugendamt_id:
        raise Refused(f"{actor.name} gehört nicht zum Jugendamt {jugendamt_id}")


def grant(uow: UnitOfWork, actor_id: str, jugendamt_id: str, kgj: KindergartenYear, places: int,
          reason: str) -> Result:
    """The decree grants ``places`` new places to the Jugendamt for ``kgj`` (added to earlier grants)."""
    reason = need_reason(reason, "Plätze zuteilen")
    actor = resolve(uow, actor_id)
    _allowed(actor, jugendamt_id, "Plätze zuteilen", frozenset({Role.ADMIN}))
    jugendamt = uow.jugendaemter.get(jugendamt_id)
    current = uow.contingents.find(jugendamt_id, kgj)
    granted = domain.grant(current or domain.Contingent(jugendamt_id, kgj), places)
    if current is None:
        uow.contingents.add(granted, actor_id=actor.id, reason=reason)
    else:
        uow.contingents.save(granted, actor_id=actor.id, reason=reason)
    return Result("contingent.granted", {"jugendamt": jugendamt.name}, contingent=granted, count=places)


def return_places(uow: UnitOfWork, actor_id: str, jugendamt_id: str, kgj: KindergartenYear, places: int,
                  reason: str) -> Result:
    """The Jugendamt gives ``places`` unused places of ``kgj`` back to the Land [S1]."""
    reason = need_reason(reason, "Plätze zurückgeben")
    actor = resolve(uow, actor_id)
    _allowed(actor, jugendamt_id, "Plätze zurückgeben", frozenset({Role.COORDINATOR, Role.ADMIN}))
    jugendamt = uow.jugendaemter.get(jugendamt_id)
    current = uow.contingents.find(jugendamt_id, kgj)
    if current is None:
        raise Refused(f"{jugendamt.name} hat für {kgj} kein Kontingent")
    returned = domain.return_place(current, places, jugendamt.name)
    uow.contingents.save(returned, actor_id=actor.id, reason=reason)
    return Result("contingent.returned", {"jugendamt": jugendamt.name}, contingent=returned, count=places)


def carry_over(uow: UnitOfWork, actor_id: str, jugendamt_id: str, kgj: KindergartenYear, reason: str) -> Result:
    """Offer the returned places of ``kgj`` again in the next Kindergartenjahr, once [S1]."""
    reason = need_reason(reason, "Plätze übertragen")
    actor = resolve(uow, actor_id)
    _allowed(actor, jugendamt_id, "Plätze übertragen", frozenset({Role.COORDINATOR, Role.ADMIN}))
    jugendamt = uow.jugendaemter.get(jugendamt_id)
    current = uow.contingents.find(jugendamt_id, kgj)
    if current is None:
        raise Refused(f"{jugendamt.name} hat für {kgj} kein Kontingent")
    following = uow.contingents.find(jugendamt_id, kgj.next())
    this_year, next_year = domain.carry_over(current, following)
    uow.contingents.save(this_year, actor_id=actor.id, reason=reason)
    if following is None:
        uow.contingents.add(next_year, actor_id=actor.id, reason=reason)
    else:
        uow.contingents.save(next_year, actor_id=actor.id, reason=reason)
    moved = next_year.carried_in - (following.carried_in if following else 0)
    return Result("contingent.carried_over", {"jugendamt": jugendamt.name, "from_kgj": kgj}, contingent=next_year,
                  count=moved)
