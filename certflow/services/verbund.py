"""Use cases of a Verbund: a Kita joins, a Kita leaves (and the seal may have to be revoked).

Who may (decided here): the coordinator of the Verbund's Jugendamt and admin
record a joining or leaving Kita; the Zertifizierungsstelle may record a leave
too. When a leave costs the Verbund its seal (half or fewer of the members
certified with it remain [D11]), the seal is revoked in the same step; only the
Zertifizierungsstelle may revoke, so such a leave is refused for anyone else
(nothing changes) and the message says so.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..calendar import format_date_de
from ..lifecycle import guards
from ..lifecycle import verbund as domain
from ..lifecycle.entities import Role
from ..lifecycle.machinery import Refused, refuse_if
from .actors import resolve
from .certificates import revoke
from .common import Result, live_certificate, need_reason, require_visible, today

if TYPE_CHECKING:
    from ..db.unit_of_work import UnitOfWork

__all__ = ["join", "leave"]


def join(uow: UnitOfWork, actor_id: str, familienzentrum_id: str, kita_id: str, reason: str) -> Result:
    """The Kita joins the Verbund; it carries the Verbund's seal until that expires [D11]."""
    reason = need_reason(reason, "Beitreten")
    actor = resolve(uow, actor_id)
    fz = uow.familienzentren.get(familienzentrum_id)
    require_visible(actor, fz, procedures=uow.procedures.of_familienzentrum(fz.id))
    refuse_if(guards.actor_refusal(actor, {Role.COORDINATOR, Role.ADMIN}, "Einen Beitritt erfassen", fz))
    kita = uow.kitas.get(kita_id)
    elsewhere = uow.familienzentren.of_kita(kita.id)
    if elsewhere is not None and elsewhere != fz.id:
        raise Refused(f"{kita.name} gehört schon zum Familienzentrum {elsewhere}; erst dort austreten")
    members = [uow.kitas.get(k) for k in fz.member_kita_ids]
    cert = live_certificate(uow.certificates.of_familienzentrum(fz.id))
    outcome = domain.join(fz, members, kita, cert, today(uow))
    uow.familienzentren.save(outcome.familienzentrum, actor_id=actor.id, reason=reason)
    return Result(outcome.message, familienzentrum=outcome.familienzentrum, certificate=cert)


def leave(uow: UnitOfWork, actor_id: str, familienzentrum_id: str, kita_id: str, reason: str, *,
          new_zuschussempfaenger_id: str | None = None) -> Result:
    """The Kita leaves the Verbund and loses the seal; the Verbund keeps it only while more than half
    of the members certified with it remain, else the seal is revoked (Zertifizierungsstelle only)."""
    reason = need_reason(reason, "Austreten")
    actor = resolve(uow, actor_id)
    fz = uow.familienzentren.get(familienzentrum_id)
    require_visible(actor, fz, procedures=uow.procedures.of_familienzentrum(fz.id))
    refuse_if(guards.actor_refusal(actor, {Role.COORDINATOR, Role.ADMIN, Role.CERTIFIER}, "Einen Austritt erfassen",
                                   fz))
    cert = live_certificate(uow.certificates.of_familienzentrum(fz.id))
    certified = uow.familienzentren.members_on(fz.id, cert.issued) if cert is not None else list(fz.member_kita_ids)
    outcome = domain.leave(fz, kita_id, certified or fz.member_kita_ids, new_zuschussempfaenger_id)
    changes = ()
    if cert is not None and not outcome.seal_kept:
        if actor.role is not Role.CERTIFIER:
            raise Refused(f"{outcome.message}. Einen Austritt, der das Gütesiegel {cert.number} kostet, erfasst die "
                          "Zertifizierungsstelle zusammen mit dem Widerruf")
        uow.familienzentren.save(outcome.familienzentrum, actor_id=actor.id, reason=reason)
        why = f"Widerruf nach Austritt von {kita_id}: {reason}"
        changes = (revoke(uow, actor, outcome.familienzentrum, cert, why),)
        message = f"{outcome.message}; Gütesiegel {cert.number} widerrufen"
        return Result(message, changes=changes, familienzentrum=outcome.familienzentrum, certificate=cert)
    uow.familienzentren.save(outcome.familienzentrum, actor_id=actor.id, reason=reason)
    message = outcome.message if cert is not None else (
        f"{kita_id} ist ausgetreten; der Verbund hat derzeit kein gültiges Gütesiegel")
    if cert is not None and outcome.seal_kept:
        message += f" (gültig bis {format_date_de(cert.valid_until)})"
    return Result(message, familienzentrum=outcome.familienzentrum, certificate=cert)
