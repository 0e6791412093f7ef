"""How a procedure comes into being: nomination, re-certification, restructuring.

A procedure is created, not fired into existence, so these functions are the
"event zero" of its history; each returns the new :class:`Procedure` with the
:class:`~.machinery.StateChange` that records its creation (``from_state=None``).

* **Erst-Zertifizierung**: the Jugendamt nominates a Kita for a place of its
  contingent [C1]; the procedure starts ``nominated`` and the development year
  is the Kindergartenjahr ``kgj`` [P2][Q3].
* **Re-Zertifizierung**: opened for a live seal, in the year it is due, once
  its window is open (:func:`certflow.calendar.recertification_opens`; earlier
  only when forced, which the opening's record names as a warning), with the
  Prüfzeitraum from :func:`certflow.calendar.recertification_period`; no
  contingent place is used (the Familienzentrum is funded already) and no
  nomination is needed, so it starts ``registered``.
* **Restructuring** (Einzel -> Verbund) [P1]: a new Erst-Zertifizierung without
  a contingent place, starting ``registered``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from ..calendar import (
    KindergartenYear,
    first_certification_period,
    format_date_de,
    recertification_opens,
    recertification_period,
    recertification_year,
)
from ..catalogue.model import Form, ProcedureKind
from . import guards
from .contingents import Contingent, nominate
from .entities import DEFAULT_CATALOGUE_KEY, Certificate, Familienzentrum, Procedure, ProcedureState, Role, User
from .machinery import Clock, Refused, StateChange, local_date, refuse_if, utc_now
from .verbund import RestructuringPlan

__all__ = ["Opening", "open_first_certification", "open_recertification", "open_restructuring"]


@dataclass(frozen=True, slots=True)
class Opening:
    procedure: Procedure
    change: StateChange
    contingent: Contingent | None = None  # the contingent after the nomination took its place


def _now(clock: Clock) -> datetime:
    at = clock()
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("the clock must return a timezone-aware datetime")
    return at.astimezone(UTC)


def _record(procedure: Procedure, event: str, actor: User, reason: str, at: datetime,
            warnings: tuple[str, ...] = ()) -> StateChange:
    return StateChange("procedure", procedure.id, None, procedure.state.value, event, actor.id, at, reason.strip(),
                       warnings)


def _reason(reason: str, action: str) -> None:
    if not isinstance(reason, str) or not reason.strip():
        raise Refused(f"{action}: bitte einen Grund angeben")


def open_first_certification(
    fz: Familienzentrum, contingent: Contingent, *, procedure_id: str, kgj: KindergartenYear, actor: User,
    reason: str, catalogue_key: str = DEFAULT_CATALOGUE_KEY, jugendamt_name: str | None = None,
    procedures: Iterable[Procedure] = (), clock: Clock = utc_now,
) -> Opening:
    """The Jugendamt nominates ``fz`` for a place of ``contingent`` in ``kgj``.

    ``procedures`` are the Familienzentrum's earlier procedures (none may be open).
    """
    action = "Nominieren"
    _reason(reason, action)
    refuse_if(guards.actor_refusal(actor, {Role.COORDINATOR, Role.ADMIN}, action, fz))
    refuse_if(guards.open_procedure_refusal(fz, procedures))
    refuse_if(guards.first_certification_refusal(fz, contingent, kgj, jugendamt_name))
    taken = nominate(contingent, jugendamt_name)
    start, end = first_certification_period(kgj)
    procedure = Procedure(procedure_id, fz.id, ProcedureKind.ERST, catalogue_key, kgj, start, end)
    return Opening(procedure, _record(procedure, "nominate", actor, reason, _now(clock)), taken)


def open_recertification(
    fz: Familienzentrum, certificate: Certificate, *, procedure_id: str, actor: User, reason: str,
    kgj: KindergartenYear | None = None, catalogue_key: str = DEFAULT_CATALOGUE_KEY,
    procedures: Iterable[Procedure] = (), clock: Clock = utc_now, force: bool = False,
) -> Opening:
    """Open the re-certification of ``certificate``; ``kgj`` defaults to its due year.

    Refused for a later year (no postponement), for a lapsed seal, while another
    procedure of the Familienzentrum is open, and before its window opens (e.g. for
    a seal issued today) unless ``force``: then the opening's record carries a warning.
    """
    action = "Re-Zertifizierung eröffnen"
    _reason(reason, action)
    refuse_if(guards.actor_refusal(actor, {Role.CERTIFIER, Role.ADMIN}, action, fz))
    due = recertification_year(certificate.valid_until)
    kgj = due if kgj is None else kgj
    at = _now(clock)
    refuse_if(guards.recertification_start_refusal(fz, certificate, kgj, local_date(at)))
    refuse_if(guards.open_procedure_refusal(fz, procedures))
    early = guards.recertification_window_refusal(certificate, local_date(at))
    if early and not force:
        raise Refused(early)
    warnings: tuple[str, ...] = ()
    if early:
        opens = format_date_de(recertification_opens(certificate.valid_until))
        warnings = (f"Vor dem Re-Zertifizierungsfenster eröffnet (erzwungen): es beginnt am {opens}",)
    start, end = recertification_period(certificate.valid_until)
    procedure = Procedure(procedure_id, fz.id, ProcedureKind.RE, catalogue_key, kgj, start, end,
                          state=ProcedureState.REGISTERED)
    return Opening(procedure, _record(procedure, "open_recertification", actor, reason, at, warnings))


def open_restructuring(
    plan: RestructuringPlan, *, procedure_id: str, actor: User, reason: str, kgj: KindergartenYear | None = None,
    catalogue_key: str = DEFAULT_CATALOGUE_KEY, procedures: Iterable[Procedure] = (), clock: Clock = utc_now,
) -> Opening:
    """Open the new certification of a restructured Verbund (see :func:`.verbund.restructure_to_verbund`)."""
    action = "Neue Zertifizierung als Verbund eröffnen"
    _reason(reason, action)
    fz = plan.familienzentrum
    if fz.form is not Form.VERBUND:
        raise ValueError("a restructuring plan describes a Verbund")
    refuse_if(guards.actor_refusal(actor, {Role.CERTIFIER, Role.ADMIN}, action, fz))
    refuse_if(guards.open_procedure_refusal(fz, procedures))
    kgj = kgj or plan.kgj
    if kgj is None:
        raise Refused(f"{action}: bitte das Kindergartenjahr angeben")
    if plan.kgj is not None and kgj > plan.kgj:
        raise Refused(f"Die neue Zertifizierung muss spätestens im Kindergartenjahr {plan.kgj} erfolgen, "
                      f"in dem das bisherige Gütesiegel {plan.previous_certificate_number} endet")
    start, end = first_certification_period(kgj)
    procedure = Procedure(procedure_id, fz.id, ProcedureKind.ERST, catalogue_key, kgj, start, end,
                          state=ProcedureState.REGISTERED)
    return Opening(procedure, _record(procedure, "open_restructuring", actor, reason, _now(clock)))
