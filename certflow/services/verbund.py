"""Use cases of a Verbund: a Kita joins, a Kita leaves (and the seal may have to be revoked), an
Einzeleinrichtung becomes a Verbund.

Who may (decided here): the coordinator of the Verbund's Jugendamt and admin
record a joining or leaving Kita; the Zertifizierungsstelle may record a leave
too. When a leave costs the Verbund its seal (half or fewer of the members
certified with it remain [D11]), the seal is revoked in the same step; only the
Zertifizierungsstelle may revoke, so such a leave is refused for anyone else
(nothing changes) and the message says so.

* The members certified are those at the moment the seal was issued: replayed
  from the audit trail (the Familienzentrum's membership entries before the
  certificate's ``certificate.issue`` entry), so a Kita that leaves, or joins,
  on the day of issue is counted right (:func:`certified_members`).
* A joining Kita beyond the "in der Regel" rules (a sixth member, more than
  3 km away [D10]) needs ``exception_reason``; the exception is recorded in the
  audit trail as ``familienzentrum.exception`` (who, when, why, which rules).
* :func:`restructure` (certifier or admin): a certified Einzeleinrichtung becomes
  a Verbund through a new Erst-Zertifizierung without a contingent place; the
  seal it earns has a new Zertifizierungsnummer and supersedes the old one [P1].
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from ..calendar import KindergartenYear, format_date_de
from ..lifecycle import guards
from ..lifecycle import verbund as domain
from ..lifecycle.entities import DEFAULT_CATALOGUE_KEY, Certificate, Familienzentrum, Role, User
from ..lifecycle.machinery import Refused, refuse_if
from ..lifecycle.opening import open_restructuring
from .actors import resolve
from .certificates import revoke
from .common import Result, live_certificate, need_reason, require_visible, today

if TYPE_CHECKING:
    from ..db.audit_log import AuditEntry
    from ..db.unit_of_work import UnitOfWork

__all__ = ["certified_members", "join", "leave", "restructure"]


def certified_members(uow: UnitOfWork, fz: Familienzentrum, cert: Certificate) -> list[str]:
    """The Kitas that were members of ``fz`` when ``cert`` was issued, in joining order [D11].

    The audit trail orders the issue among the day's membership changes; without an issue
    entry (a seal recorded outside the use cases) the members on the day of issue count.
    """
    issue = [_seq(e) for e in uow.audit_log.entries_for("certificate", cert.key) if e.action == "certificate.issue"]
    if issue:
        members = None
        for entry in uow.audit_log.entries_for("familienzentrum", fz.id):
            if _seq(entry) > issue[0]:
                break
            payload = entry.payload or {}
            if entry.action == "familienzentrum.create":
                members = payload.get("member_kita_ids")
            elif "member_kita_ids" in payload:
                members = payload["member_kita_ids"][1]
        if members:
            return list(members)
    return uow.familienzentren.members_on(fz.id, cert.issued)


def _seq(entry: AuditEntry) -> int:
    """The position of an entry read from the audit log (only an entry not yet appended lacks one)."""
    if entry.seq is None:
        raise ValueError(f"audit entry {entry.action} for {entry.subject_id} was read without a sequence number")
    return entry.seq


def _exception_reason(reason: str | None) -> str:
    """Why an exception to the "in der Regel" rules is accepted; the domain accepts none without [D10]."""
    if reason is None or not reason.strip():
        raise ValueError("an exception to the Verbund rules was accepted without a reason")
    return reason.strip()


def _record_exception(uow: UnitOfWork, actor: User, fz: Familienzentrum, why: str, rules: Iterable[str],
                      **facts: object) -> None:
    """The audit trail's record of an exception to the "in der Regel" rules [D10]."""
    uow.record(actor_id=actor.id, action="familienzentrum.exception", subject_kind="familienzentrum",
               subject_id=fz.id, reason=why, payload={"rules": list(rules), **facts})


def join(uow: UnitOfWork, actor_id: str, familienzentrum_id: str, kita_id: str, reason: str, *,
         exception_reason: str | None = None) -> Result:
    """The Kita joins the Verbund; it carries the Verbund's seal until that expires [D11].

    A sixth member or one more than 3 km away joins only with ``exception_reason`` [D10].
    """
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
    outcome = domain.join(fz, members, kita, cert, today(uow), exception_reason=exception_reason)
    uow.familienzentren.save(outcome.familienzentrum, actor_id=actor.id, reason=reason)
    if outcome.exceptions:
        _record_exception(uow, actor, fz, _exception_reason(outcome.exception_reason), outcome.exceptions,
                          kita_id=kita.id, join_reason=reason)
    return Result("verbund.joined", {"outcome": outcome.message}, familienzentrum=outcome.familienzentrum,
                  certificate=cert)


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
    certified = certified_members(uow, fz, cert) if cert is not None else list(fz.member_kita_ids)
    outcome = domain.leave(fz, kita_id, certified or fz.member_kita_ids, new_zuschussempfaenger_id)
    if cert is not None and not outcome.seal_kept:
        if actor.role is not Role.CERTIFIER:
            raise Refused(f"{outcome.message}. Einen Austritt, der das Gütesiegel {cert.number} kostet, erfasst die "
                          "Zertifizierungsstelle zusammen mit dem Widerruf")
        uow.familienzentren.save(outcome.familienzentrum, actor_id=actor.id, reason=reason)
        why = f"Widerruf nach Austritt von {kita_id}: {reason}"
        change = revoke(uow, actor, outcome.familienzentrum, cert, why)
        return Result("verbund.left", {"outcome": outcome.message, "kita": kita_id, "revoked": cert.number},
                      changes=(change,), familienzentrum=outcome.familienzentrum, certificate=cert)
    uow.familienzentren.save(outcome.familienzentrum, actor_id=actor.id, reason=reason)
    return Result("verbund.left", {"outcome": outcome.message, "kita": kita_id, "seal_kept": outcome.seal_kept,
                                   "valid_until": cert.valid_until if cert is not None else None},
                  familienzentrum=outcome.familienzentrum, certificate=cert)


def restructure(uow: UnitOfWork, actor_id: str, familienzentrum_id: str, member_kita_ids: Iterable[str],
                zuschussempfaenger_id: str | None, reason: str, *, kgj: KindergartenYear | None = None,
                exception_reason: str | None = None, procedure_id: str | None = None,
                catalogue_key: str = DEFAULT_CATALOGUE_KEY) -> Result:
    """The certified Einzeleinrichtung becomes a Verbund with ``member_kita_ids``: a new Erst-Zertifizierung
    (no contingent place), by default in the year its seal is due (``kgj``: earlier, not past); the old seal
    runs until the new one is issued with a new Zertifizierungsnummer [P1]. The Zuschussempfänger defaults
    to the present Kita. Without a live seal it is refused: an uncertified Verbund starts with a nomination."""
    action = "Neue Zertifizierung als Verbund eröffnen"
    reason = need_reason(reason, action)
    actor = resolve(uow, actor_id)
    fz = uow.familienzentren.get(familienzentrum_id)
    procedures = uow.procedures.of_familienzentrum(fz.id)
    require_visible(actor, fz, procedures=procedures)
    refuse_if(guards.actor_refusal(actor, {Role.CERTIFIER, Role.ADMIN}, action, fz))
    ids = list(dict.fromkeys(member_kita_ids))
    kitas = [uow.kitas.get(k) for k in ids]
    for kita in kitas:
        elsewhere = uow.familienzentren.of_kita(kita.id)
        if elsewhere is not None and elsewhere != fz.id:
            raise Refused(f"{kita.name} gehört schon zum Familienzentrum {elsewhere}; erst dort austreten")
    cert = live_certificate(uow.certificates.of_familienzentrum(fz.id))
    if cert is None:  # without a seal there is nothing to carry over: a Verbund starts with a nomination
        raise Refused(f"{fz.name} hat kein gültiges Gütesiegel; eine neue Zertifizierung als Verbund ohne "
                      "Kontingentplatz gibt es nur für ein zertifiziertes Familienzentrum")
    current = KindergartenYear.of(today(uow))
    if kgj is not None and kgj < current:
        raise Refused(f"{action}: das Kindergartenjahr {kgj} ist vorbei (jetzt: {current})")
    zuschussempfaenger_id = zuschussempfaenger_id or fz.member_kita_ids[0]
    plan = domain.restructure_to_verbund(fz, kitas, ids, zuschussempfaenger_id, cert,
                                         exception_reason=exception_reason)
    year = kgj or plan.kgj
    if year is None:  # a live seal gives the plan its re-certification year; kept as the domain words it
        raise Refused(f"{action}: bitte das Kindergartenjahr angeben")
    opening = open_restructuring(
        plan, procedure_id=procedure_id or uow.procedures.next_id(f"V-{year.start_year}-"), actor=actor,
        reason=reason, kgj=kgj, catalogue_key=catalogue_key, procedures=procedures, clock=uow.clock)
    verbund = plan.familienzentrum
    uow.familienzentren.save(verbund, actor_id=actor.id, reason=reason)
    uow.procedures.add(opening.procedure, opening.change)
    accepted = _exception_reason(exception_reason) if plan.exceptions else None
    if accepted is not None:
        _record_exception(uow, actor, fz, accepted, plan.exceptions, kita_ids=ids, restructuring_reason=reason)
    p = opening.procedure
    text = (f"Neue Zertifizierung {p.id} für {fz.name} als Verbund eröffnet (Kindergartenjahr {p.kgj}, "
            f"Einrichtungen {', '.join(ids)}, Zuschussempfänger {zuschussempfaenger_id}); nach der Entscheidung "
            "erhält der Verbund eine neue Zertifizierungsnummer")
    if plan.previous_certificate_number and plan.previous_valid_until:
        text += (f"; das bisherige Gütesiegel {plan.previous_certificate_number} gilt bis dahin, längstens bis "
                 f"{format_date_de(plan.previous_valid_until)}, und wird nicht re-zertifiziert")
    if accepted is not None:
        text += f"; Ausnahme erfasst ({'; '.join(plan.exceptions)}): {accepted}"
    return Result("verbund.restructured", {"outcome": text}, changes=(opening.change,), procedure=p,
                  familienzentrum=verbund, certificate=cert)
