"""What every use case shares: the result, the day, the reason, the read scope, the catalogues.

Services are the application layer between a user interface (the command line,
later a web app) and the pure domain (:mod:`certflow.lifecycle`): each loads
what it needs through the repositories of one :class:`~certflow.db.UnitOfWork`,
checks the actor's read scope, lets the domain's guards decide, and saves
through the repositories (which write the audit trail). No SQL, no click.
Time comes from the unit of work's clock (``uow.clock``), so a test or the demo
can pin it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from typing import TYPE_CHECKING, Any

from ..catalogue import Catalogue, load_catalogue
from ..lifecycle.access import visibility_refusal
from ..lifecycle.contingents import Contingent
from ..lifecycle.entities import Certificate, CertificateState, Familienzentrum, Procedure, User
from ..lifecycle.machinery import Refused, StateChange, local_date, refuse_if
from ..resources import shipped_catalogues

if TYPE_CHECKING:
    from ..db.unit_of_work import UnitOfWork

__all__ = [
    "LIVE_CERTIFICATE", "Result", "catalogue_for_key", "live_certificate", "need_reason",
    "require_visible", "today",
]

LIVE_CERTIFICATE = (CertificateState.VALID, CertificateState.RECERTIFICATION_DUE)


@dataclass(frozen=True, slots=True)
class Result:
    """What a use case did, as data: the event, the facts its wording needs, warnings, the subjects touched.

    The entrypoints word it (:func:`certflow.messages.describe`); ``warnings`` are the domain's own
    German notes (a submission that does not meet the thresholds, a seal that will lapse).
    """

    event: str
    facts: Mapping[str, Any] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    changes: tuple[StateChange, ...] = ()
    procedure: Procedure | None = None
    certificate: Certificate | None = None
    contingent: Contingent | None = None
    familienzentrum: Familienzentrum | None = None
    count: int = 0
    document: bytes | None = field(default=None, repr=False)  # a PDF the use case produced (the signed packet)


def today(uow: UnitOfWork) -> date:
    """The calendar day in NRW by the unit of work's clock."""
    return local_date(uow.now())


def need_reason(reason: str | None, action: str) -> str:
    """Every change needs a reason (the audit trail records why); refuse an empty one."""
    if not isinstance(reason, str) or not reason.strip():
        raise Refused(f"{action}: bitte einen Grund angeben")
    return reason.strip()


def require_visible(user: User, fz: Familienzentrum, procedure: Procedure | None = None,
                    procedures: Iterable[Procedure] = ()) -> None:
    """Refuse (without revealing anything) what ``user`` may not see."""
    refuse_if(visibility_refusal(user, fz, procedure, procedures))


def live_certificate(certificates: Iterable[Certificate]) -> Certificate | None:
    """The newest seal term that is still valid or due for re-certification."""
    live = [c for c in certificates if CertificateState(c.state) in LIVE_CERTIFICATE]
    return max(live, key=lambda c: c.issued) if live else None


@cache
def _shipped() -> dict[str, str]:
    """Catalogue key -> file of the shipped catalogues (read once)."""
    out = {}
    for path in shipped_catalogues():
        cat = load_catalogue(path)
        out[cat.key] = str(path)
        _CACHE.setdefault(cat.key, cat)
    return out


_CACHE: dict[str, Catalogue] = {}


def catalogue_for_key(key: str) -> Catalogue:
    """The shipped catalogue a procedure is pinned to (``"familienzentrum-nrw@2020"``), loaded once."""
    if key not in _CACHE:
        shipped = _shipped()
        if key not in shipped:
            known = ", ".join(sorted(shipped)) or "keine"
            raise Refused(f"Der Katalog {key} ist nicht vorhanden (mitgeliefert: {known})")
    return _CACHE[key]
