"""Use cases of the seal: issue after a decision, start the re-certification, housekeeping.

* :func:`issue_for_decision` (called by :func:`.procedures.decide`): an
  Erst-Zertifizierung gets a new Zertifizierungsnummer ``FZ-<year>-<seq>``
  (year of the decision); a Re-Zertifizierung keeps the Familienzentrum's number,
  issues the next term and marks the old one ``renewed``. The new certification of
  a restructured Verbund supersedes the old seal (other number) the same way [P1].
* :func:`start_recertification`: certifier or admin, only in the year it is due
  (no postponement [P2]) and once its window is open (documents from 1 October,
  not e.g. on the day the seal was issued), unless forced with a reason: the
  forced opening is recorded with a warning; also opens the old term's
  re-certification window when it is open already.
* :func:`advance_certificates`: the scheduled job (admin or certifier): opens the
  re-certification window of every seal whose documents are due and lets lapsed
  seals expire. A seal that is revoked or expires no longer counts for the
  Familienzentrum (its ``certificate_number`` is cleared), so only a new
  Erst-Zertifizierung remains.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import TYPE_CHECKING

from ..calendar import KindergartenYear, recertification_opens
from ..catalogue.model import ProcedureKind
from ..lifecycle import guards
from ..lifecycle.certificate_machine import fire_certificate, issue_certificate
from ..lifecycle.entities import (
    DEFAULT_CATALOGUE_KEY,
    Certificate,
    CertificateState,
    Familienzentrum,
    Procedure,
    Role,
    User,
)
from ..lifecycle.machinery import Refused, StateChange, local_date, refuse_if
from ..lifecycle.opening import open_recertification
from .actors import resolve
from .common import LIVE_CERTIFICATE, Result, live_certificate, need_reason, require_visible, today

if TYPE_CHECKING:
    from ..db.unit_of_work import UnitOfWork

__all__ = ["advance_certificates", "issue_for_decision", "revoke", "start_recertification"]


def _fire(uow: UnitOfWork, cert: Certificate, event: str, actor: User, reason: str, **context) -> StateChange:
    change = fire_certificate(cert, event, actor, reason, clock=uow.clock, **context)
    uow.certificates.save(cert, change)
    return change


def _drop_number(uow: UnitOfWork, fz: Familienzentrum, cert: Certificate, actor: User, reason: str) -> None:
    """The seal is gone: the Familienzentrum no longer holds its number."""
    if fz.certificate_number == cert.number:
        uow.familienzentren.save(replace(fz, certificate_number=None), actor_id=actor.id, reason=reason)


def issue_for_decision(uow: UnitOfWork, actor: User, fz: Familienzentrum, procedure: Procedure,
                       decided: StateChange) -> tuple[Certificate, list[StateChange]]:
    """Issue the seal term earned by a ``certify`` decision; renew the previous term of a re-certification."""
    issued = local_date(decided.at)
    reason = f"Zertifiziert im Verfahren {procedure.id}: {decided.reason}"
    changes: list[StateChange] = []
    old = live_certificate(uow.certificates.of_familienzentrum(fz.id))
    if procedure.kind is ProcedureKind.RE and fz.certificate_number:
        new = issue_certificate(fz.certificate_number, fz.id, issued)
        uow.certificates.add(new, actor_id=actor.id, reason=reason)
        if old is not None and old.number == new.number:
            if old.state is CertificateState.VALID:
                changes.append(_fire(uow, old, "open_recertification", actor, reason))
            changes.append(_fire(uow, old, "renew", actor, reason, successor=new))
        return new, changes
    number = uow.certificates.next_number(f"FZ-{issued.year}-")
    new = issue_certificate(number, fz.id, issued)
    uow.certificates.add(new, actor_id=actor.id, reason=reason)
    uow.familienzentren.save(replace(fz, certificate_number=number), actor_id=actor.id, reason=reason)
    if old is not None and old.number != number and issued <= old.valid_until:
        # a restructured Verbund's new certification: its seal takes over from the old one [P1]
        changes.append(_fire(uow, old, "supersede", actor, reason, successor=new))
    return new, changes


def start_recertification(uow: UnitOfWork, actor_id: str, familienzentrum_id: str, reason: str, *,
                          kgj: KindergartenYear | None = None, procedure_id: str | None = None,
                          catalogue_key: str = DEFAULT_CATALOGUE_KEY, force: bool = False) -> Result:
    """Open the Re-Zertifizierung of the Familienzentrum's seal (default: in the year it is due).

    Before its window opens it is refused unless ``force``; a forced opening carries the domain's
    warning (in the result and, with the opening, in the audit trail).
    """
    result = _open_recertification(uow, actor_id, familienzentrum_id, reason, kgj=kgj, procedure_id=procedure_id,
                                   catalogue_key=catalogue_key, force=force)
    forced = result.changes[0].warnings
    return replace(result, warnings=(*result.warnings, *forced)) if forced else result


def _open_recertification(uow: UnitOfWork, actor_id: str, familienzentrum_id: str, reason: str, *,
                          kgj: KindergartenYear | None, procedure_id: str | None, catalogue_key: str,
                          force: bool) -> Result:
    reason = need_reason(reason, "Re-Zertifizierung eröffnen")
    actor = resolve(uow, actor_id)
    fz = uow.familienzentren.get(familienzentrum_id)
    procedures = uow.procedures.of_familienzentrum(fz.id)
    require_visible(actor, fz, procedures=procedures)
    refuse_if(guards.actor_refusal(actor, {Role.CERTIFIER, Role.ADMIN}, "Re-Zertifizierung eröffnen", fz))
    certificates = uow.certificates.of_familienzentrum(fz.id)
    cert = live_certificate(certificates) or (max(certificates, key=lambda c: c.issued) if certificates else None)
    if cert is None:
        raise Refused(f"{fz.name} hat kein Gütesiegel; möglich ist nur eine Erst-Zertifizierung")
    due_kgj = kgj or KindergartenYear.of(cert.valid_until)
    opening = open_recertification(
        fz, cert, procedure_id=procedure_id or uow.procedures.next_id(f"V-{due_kgj.start_year}-"), actor=actor,
        reason=reason, kgj=kgj, catalogue_key=catalogue_key, procedures=procedures, clock=uow.clock, force=force)
    uow.procedures.add(opening.procedure, opening.change)
    changes = [opening.change]
    if cert.state is CertificateState.VALID and today(uow) >= recertification_opens(cert.valid_until):
        changes.append(_fire(uow, cert, "open_recertification", actor, reason))
    return Result("certificate.recertification_opened", {"familienzentrum": fz.name}, changes=tuple(changes),
                  procedure=opening.procedure, certificate=cert)


def advance_certificates(uow: UnitOfWork, actor_id: str,
                         reason: str = "Fristen der Gütesiegel fortgeschrieben") -> Result:
    """Open due re-certification windows and let lapsed seals expire, as of the clock's day."""
    reason = need_reason(reason, "Gütesiegel fortschreiben")
    actor = resolve(uow, actor_id)
    refuse_if(guards.actor_refusal(actor, {Role.CERTIFIER, Role.ADMIN}, "Gütesiegel fortschreiben"))
    day = today(uow)
    changes: list[StateChange] = []
    seals: list[tuple[str, str, str, date]] = []
    for cert in uow.certificates.all(*LIVE_CERTIFICATE):
        if day > cert.valid_until:
            changes.append(_fire(uow, cert, "expire", actor, reason))
            _drop_number(uow, uow.familienzentren.get(cert.familienzentrum_id), cert, actor, reason)
            seals.append(("expired", cert.number, cert.familienzentrum_id, cert.valid_until))
        elif cert.state is CertificateState.VALID and day >= recertification_opens(cert.valid_until):
            changes.append(_fire(uow, cert, "open_recertification", actor, reason))
            seals.append(("due", cert.number, cert.familienzentrum_id, cert.valid_until))
    return Result("certificates.advanced", {"day": day, "seals": tuple(seals)}, changes=tuple(changes),
                  count=len(changes))


def revoke(uow: UnitOfWork, actor: User, fz: Familienzentrum, cert: Certificate, reason: str) -> StateChange:
    """Revoke a live seal term (certifier) and drop the Familienzentrum's number."""
    change = _fire(uow, cert, "revoke", actor, reason)
    _drop_number(uow, fz, cert, actor, reason)
    return change
