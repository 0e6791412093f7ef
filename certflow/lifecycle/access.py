"""Who may see what: the read scope of each role.

* a Kita lead sees only their own Familienzentrum (Einzel or Verbund) and its procedures;
* a coordinator sees only the Familienzentren of their Jugendamt;
* an auditor sees only the procedures assigned to them (and the Familienzentrum of each);
* the certification body and administrators see everything.

What someone may *do* is decided by the machines' guards (:mod:`.guards`); this module is
about reading, so that lists, histories and documents never show another's data.
"""

from __future__ import annotations

from collections.abc import Iterable

from .entities import Familienzentrum, Procedure, Role, User

__all__ = ["may_see_familienzentrum", "may_see_procedure", "visibility_refusal"]

_EVERYTHING = frozenset({Role.CERTIFIER, Role.ADMIN})


def may_see_procedure(user: User, procedure: Procedure, fz: Familienzentrum) -> bool:
    if procedure.familienzentrum_id != fz.id:
        raise ValueError(f"procedure {procedure.id} does not belong to {fz.id}")
    if user.role is Role.AUDITOR:
        return procedure.auditor_id == user.id
    return may_see_familienzentrum(user, fz, ())


def may_see_familienzentrum(user: User, fz: Familienzentrum, procedures: Iterable[Procedure]) -> bool:
    """``procedures`` are the Familienzentrum's procedures (an auditor sees it through them)."""
    if user.role in _EVERYTHING:
        return True
    if user.role is Role.COORDINATOR:
        return user.jugendamt_id is not None and user.jugendamt_id == fz.jugendamt_id
    if user.role is Role.KITA_LEAD:
        return user.familienzentrum_id == fz.id
    if user.role is Role.AUDITOR:
        return any(p.auditor_id == user.id for p in procedures if p.familienzentrum_id == fz.id)
    return False


def visibility_refusal(user: User, fz: Familienzentrum, procedure: Procedure | None = None,
                       procedures: Iterable[Procedure] = ()) -> str | None:
    """``None`` when ``user`` may see it, else a German message that reveals nothing about it."""
    if procedure is not None:
        ok = may_see_procedure(user, procedure, fz)
    else:
        ok = may_see_familienzentrum(user, fz, procedures)
    if ok:
        return None
    what = f"Verfahren {procedure.id}" if procedure is not None else f"Familienzentrum {fz.id}"
    return f"Kein Zugriff: {user.name} ({user.role.label}) darf {what} nicht sehen"
