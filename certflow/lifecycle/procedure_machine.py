"""The procedure's state machine: ONE module-level ``transitions`` machine for every procedure.

States and events (German labels in messages and diagrams)::

    nominated -register-> registered -start_development-> in_development -submit-> submitted
    submitted -request_changes-> changes_requested -resubmit-> submitted
    submitted -schedule_audit-> audit_scheduled (again: reschedule) -record_audit-> audited
    audited -certify-> certified | audited -reject-> not_certified
    submitted | changes_requested -reject-> not_certified
    any non-final state -withdraw-> withdrawn
    change_period: internal (state unchanged), moves the Prüfzeitraum

:func:`fire` is the only way in. Every event needs ``familienzentrum`` in the
context; the other context keywords are listed in :data:`CONTEXT`. Who may fire
an event is in :data:`EVENT_ROLES`; decisions and audit records have their own
guards (certifier role, four eyes, assigned auditor).
"""

from __future__ import annotations

from typing import Any

from transitions.core import EventData

from . import guards
from .entities import (
    PROCEDURE_FINAL_STATES,
    PROCEDURE_STATE_LABELS,
    Decision,
    Outcome,
    Procedure,
    ProcedureState,
    Role,
    User,
)
from .machinery import (
    Clock,
    ContextSpec,
    LifecycleMachine,
    StateChange,
    arg,
    fire_event,
    local_date,
    refuse_if,
    subject_of,
    utc_now,
)

__all__ = ["CONTEXT", "EVENT_LABELS", "EVENT_ROLES", "PROCEDURE_MACHINE", "decision_from", "fire"]

S = ProcedureState
_OPEN = [s.value for s in S if s not in PROCEDURE_FINAL_STATES]

EVENT_LABELS = {
    "register": "Registrieren",
    "start_development": "Entwicklung beginnen",
    "submit": "Einreichen",
    "request_changes": "Nachbesserung anfordern",
    "resubmit": "Erneut einreichen",
    "schedule_audit": "Begehung planen",
    "record_audit": "Begehung erfassen",
    "certify": "Zertifizieren",
    "reject": "Ablehnen",
    "withdraw": "Zurückziehen",
    "change_period": "Prüfzeitraum ändern",
}

EVENT_ROLES: dict[str, frozenset[Role]] = {
    "register": frozenset({Role.KITA_LEAD, Role.ADMIN}),
    "start_development": frozenset({Role.KITA_LEAD, Role.ADMIN}),
    "submit": frozenset({Role.KITA_LEAD}),
    "resubmit": frozenset({Role.KITA_LEAD}),
    "request_changes": frozenset({Role.CERTIFIER}),
    "schedule_audit": frozenset({Role.CERTIFIER}),
    "withdraw": frozenset({Role.KITA_LEAD, Role.COORDINATOR, Role.ADMIN}),
    "change_period": frozenset({Role.CERTIFIER, Role.ADMIN}),
    # record_audit, certify, reject: see the guards assigned_auditor, decider_is_certifier, four_eyes
}

_FZ = frozenset({"familienzentrum"})
CONTEXT: dict[str, ContextSpec] = {
    **{event: ContextSpec(_FZ) for event in EVENT_LABELS},
    "submit": ContextSpec(_FZ | {"catalogue", "assessment", "snapshot"}),
    "resubmit": ContextSpec(_FZ | {"catalogue", "assessment", "snapshot"}),
    "schedule_audit": ContextSpec(_FZ | {"auditor", "kitas", "audit_date"}),
    "record_audit": ContextSpec(_FZ | {"visit"}),
    "certify": ContextSpec(_FZ | {"snapshot"}),
    "change_period": ContextSpec(_FZ | {"period_start", "period_end"}, frozenset({"certificate"})),
}


def _proc(event: EventData) -> Procedure:
    return subject_of(event, Procedure)


# --- guards (transition conditions): raise Refused or return True -----------------


def submission_complete(event: EventData) -> bool:
    proc, fz, assessment = _proc(event), arg(event, "familienzentrum"), arg(event, "assessment")
    check = guards.check_submission(proc, fz, arg(event, "catalogue"), assessment)
    refuse_if(check.refusal)
    refuse_if(guards.snapshot_refusal(proc, assessment, arg(event, "snapshot"), check.passed))
    arg(event, "run").warnings.extend(check.warnings)
    return True


def auditor_impartial(event: EventData) -> bool:
    refuse_if(guards.auditor_conflict(arg(event, "auditor"), arg(event, "familienzentrum"), arg(event, "kitas")))
    return True


def assigned_auditor(event: EventData) -> bool:
    refuse_if(guards.assigned_auditor_refusal(arg(event, "actor"), _proc(event)))
    return True


def visit_valid(event: EventData) -> bool:
    today = local_date(arg(event, "run").at)
    refuse_if(guards.visit_refusal(_proc(event), arg(event, "familienzentrum"), arg(event, "visit"), today))
    return True


def decider_is_certifier(event: EventData) -> bool:
    refuse_if(guards.decider_role_refusal(arg(event, "actor")))
    return True


def four_eyes(event: EventData) -> bool:
    refuse_if(guards.four_eyes_refusal(arg(event, "actor"), _proc(event)))
    return True


def submission_passed(event: EventData) -> bool:
    refuse_if(guards.certifiable_refusal(_proc(event), arg(event, "snapshot")))
    return True


def no_postponement(event: EventData) -> bool:
    proc = _proc(event)
    refuse_if(guards.period_change_refusal(
        proc, arg(event, "period_start"), arg(event, "period_end"), arg(event, "certificate")))
    return True


# --- callbacks ------------------------------------------------------------------


def _authorize(event: EventData) -> None:
    """Machine-wide ``prepare_event``: the context belongs to the procedure; the actor's role fits."""
    proc, fz = _proc(event), arg(event, "familienzentrum")
    if fz.id != proc.familienzentrum_id:
        raise ValueError(f"familienzentrum {fz.id} is not the one of procedure {proc.id}")
    roles = EVENT_ROLES.get(event.event.name)
    if roles is not None:
        refuse_if(guards.actor_refusal(arg(event, "actor"), roles, EVENT_LABELS[event.event.name], fz))


def _record_submission(event: EventData) -> None:
    _proc(event).submitted_revision = arg(event, "snapshot").revision


def _assign_auditor(event: EventData) -> None:
    proc = _proc(event)
    proc.auditor_id = arg(event, "auditor").id
    proc.planned_audit_date = arg(event, "audit_date")


def _move_period(event: EventData) -> None:
    proc = _proc(event)
    proc.period_start, proc.period_end = arg(event, "period_start"), arg(event, "period_end")


def _bump_version(event: EventData) -> None:
    _proc(event).version += 1


_TRANSITIONS: list[dict[str, Any]] = [
    {"trigger": "register", "source": S.NOMINATED.value, "dest": S.REGISTERED.value},
    {"trigger": "start_development", "source": S.REGISTERED.value, "dest": S.IN_DEVELOPMENT.value},
    {"trigger": "submit", "source": S.IN_DEVELOPMENT.value, "dest": S.SUBMITTED.value,
     "conditions": [submission_complete], "after": [_record_submission]},
    {"trigger": "request_changes", "source": S.SUBMITTED.value, "dest": S.CHANGES_REQUESTED.value},
    {"trigger": "resubmit", "source": S.CHANGES_REQUESTED.value, "dest": S.SUBMITTED.value,
     "conditions": [submission_complete], "after": [_record_submission]},
    {"trigger": "schedule_audit", "source": [S.SUBMITTED.value, S.AUDIT_SCHEDULED.value],
     "dest": S.AUDIT_SCHEDULED.value, "conditions": [auditor_impartial], "after": [_assign_auditor]},
    {"trigger": "record_audit", "source": S.AUDIT_SCHEDULED.value, "dest": S.AUDITED.value,
     "conditions": [assigned_auditor, visit_valid]},
    {"trigger": "certify", "source": S.AUDITED.value, "dest": S.CERTIFIED.value,
     "conditions": [decider_is_certifier, four_eyes, submission_passed]},
    {"trigger": "reject", "source": [S.SUBMITTED.value, S.CHANGES_REQUESTED.value, S.AUDITED.value],
     "dest": S.NOT_CERTIFIED.value, "conditions": [decider_is_certifier, four_eyes]},
    {"trigger": "withdraw", "source": _OPEN, "dest": S.WITHDRAWN.value},
    {"trigger": "change_period", "source": [s for s in _OPEN if s != S.AUDITED.value], "dest": None,
     "conditions": [no_postponement], "after": [_move_period]},
]

PROCEDURE_MACHINE = LifecycleMachine(
    subject_kind="procedure", state_enum=ProcedureState, state_labels=PROCEDURE_STATE_LABELS,
    final_states=frozenset(s.value for s in PROCEDURE_FINAL_STATES), initial=S.NOMINATED.value,
    transitions=_TRANSITIONS, event_labels=EVENT_LABELS, context=CONTEXT, subject_id=lambda p: p.id,
    authorize=_authorize, after_change=_bump_version,
)
"""The one machine every procedure is fired through."""


def fire(procedure: Procedure, event: str, actor: User, reason: str, *, clock: Clock = utc_now,
         **context: Any) -> StateChange:
    """Fire ``event`` on ``procedure`` as ``actor`` for ``reason``; return the record of the change.

    On success ``procedure.state`` (and, per event, ``submitted_revision``,
    ``auditor_id`` with ``planned_audit_date``, or the Prüfzeitraum) is updated and ``procedure.version``
    grows by one. On :class:`~.machinery.Refused` nothing changes.
    """
    return fire_event(PROCEDURE_MACHINE, procedure, event, actor, reason, clock, context)


def decision_from(change: StateChange) -> Decision:
    """The :class:`Decision` recorded by a ``certify`` or ``reject`` change."""
    outcomes = {"certify": Outcome.CERTIFIED, "reject": Outcome.NOT_CERTIFIED}
    if change.subject_kind != "procedure" or change.event not in outcomes:
        raise ValueError(f"{change.subject_kind} event '{change.event}' is not a decision")
    return Decision(change.subject_id, change.actor_id, change.at, outcomes[change.event], change.reason)
