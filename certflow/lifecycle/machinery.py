"""One shared state machine per kind of subject, fired for one subject at a time.

The ``transitions`` library keeps a machine's states, events and guards in a
:class:`~transitions.Machine`; the *state* itself lives on the model. Here every
kind of subject (procedure, certificate) has ONE module-level machine built with
``model=None``. :func:`fire_event` attaches a short-lived binding for one subject
(``add_model`` with the subject's current state as ``initial``), fires the event
and detaches it again (``remove_model``), so the same machine serves every row
read from the database and keeps nothing between calls.

The binding, not the entity, is the ``transitions`` model: ``add_model``
decorates its model with trigger methods (``submit()``, ``is_submitted()``,
``may_submit()`` ...) that would otherwise stick to the entity (and cannot be set
on a slotted dataclass). Its ``state`` property reads and writes the entity's
``state`` attribute (``model_attribute="state"``).

Every event carries the actor and a reason; with ``send_event=True`` the guards
(``conditions`` that raise :class:`Refused`) and callbacks receive an
:class:`~transitions.core.EventData` and read them from ``event.kwargs``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from transitions import Machine, State
from transitions.core import EventData

from .entities import User

__all__ = [
    "BERLIN", "Clock", "ContextSpec", "LabelledState", "LifecycleMachine", "Refused", "Run", "StateChange",
    "arg", "fire_event", "local_date", "refuse_if", "subject_of", "utc_now",
]

StateT = TypeVar("StateT", bound=StrEnum)
SubjectT = TypeVar("SubjectT")

Clock = Callable[[], datetime]
"""Returns the current time as a timezone-aware datetime; tests inject a fixed one."""

BERLIN = ZoneInfo("Europe/Berlin")
"""Dates of the procedure (deadlines, validity) are days in NRW."""


def utc_now() -> datetime:
    return datetime.now(UTC)


def local_date(at: datetime) -> date:
    """The calendar day in NRW at the instant ``at``."""
    return at.astimezone(BERLIN).date()


class Refused(Exception):
    """The domain refuses an action; ``message`` says in German what is wrong."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def refuse_if(message: str | None) -> None:
    """Raise :class:`Refused` when a guard returned a message."""
    if message:
        raise Refused(message)


@dataclass(frozen=True, slots=True)
class StateChange:
    """The record of one accepted event: who did what to which subject, when and why."""

    subject_kind: str
    subject_id: str
    from_state: str | None
    to_state: str
    event: str
    actor_id: str
    at: datetime
    reason: str
    warnings: tuple[str, ...] = ()


@dataclass(slots=True)
class Run:
    """Per-fire data handed to guards and callbacks as ``event.kwargs["run"]``."""

    at: datetime
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class ContextSpec:
    """Which context keywords an event needs and which it accepts besides."""

    required: frozenset[str] = frozenset()
    optional: frozenset[str] = frozenset()


def arg(event: EventData, name: str) -> Any:
    """A keyword the event was fired with (``actor``, ``reason``, ``run`` or a context key)."""
    return event.kwargs.get(name)


class LabelledState(State):
    """A state with a German label for messages and diagrams."""

    def __init__(self, name: str, label: str = "", final: bool = False, **kwargs: Any):
        super().__init__(name, final=final, **kwargs)
        self.label = label or str(name)


class LifecycleMachine(Machine):
    """A ``transitions`` machine for one kind of subject, shared by all subjects of that kind."""

    state_cls = LabelledState

    def __init__(
        self, *, subject_kind: str, state_enum: type[StateT], state_labels: Mapping[StateT, str],
        final_states: frozenset[str], initial: str, transitions: list[dict[str, Any]],
        event_labels: Mapping[str, str], context: Mapping[str, ContextSpec],
        subject_id: Callable[[Any], str], authorize: Callable[[EventData], None] | None = None,
        after_change: Callable[[EventData], None] | None = None,
    ):
        self.subject_kind = subject_kind
        self.state_enum = state_enum
        self.event_labels = dict(event_labels)
        self.context_specs = dict(context)
        self.subject_id = subject_id
        self._models_lock = threading.Lock()
        states = [{"name": s.value, "label": state_labels[s], "final": s.value in final_states}
                  for s in state_enum]
        super().__init__(
            model=None, states=states, initial=initial, transitions=transitions,
            send_event=True, auto_transitions=False, model_attribute="state",
            prepare_event=[authorize] if authorize else None,
            after_state_change=[after_change] if after_change else None,
            name=subject_kind,
        )
        missing = set(self.events) - set(self.event_labels)
        if missing:
            raise ValueError(f"events without a label: {sorted(missing)}")

    def labelled_state(self, state: str) -> LabelledState:
        """The state named ``state`` (every state of the machine is built as ``state_cls``)."""
        found = self.get_state(state)
        if not isinstance(found, LabelledState):
            raise TypeError(f"{self.subject_kind} state '{state}' is a {type(found).__name__}, not a LabelledState")
        return found

    def labelled_states(self) -> list[LabelledState]:
        """Every state in definition order."""
        return [self.labelled_state(name) for name in self.states]

    def state_label(self, state: str) -> str:
        return self.labelled_state(state).label

    def event_label(self, event: str) -> str:
        return self.event_labels[event]

    def allowed_events(self, state: str) -> list[str]:
        """Events that may be fired in ``state`` (guards aside), in definition order."""
        return [name for name, ev in self.events.items() if state in ev.transitions]


class _Binding:
    """The ``transitions`` model for one fire: proxies ``state`` to the subject."""

    trigger: Callable[..., bool]  # added by Machine.add_model: fires an event by name

    def __init__(self, subject: Any, state_enum: type[StrEnum]):
        self.subject = subject
        self._state_enum = state_enum

    @property
    def state(self) -> str:
        return self._state_enum(self.subject.state).value

    @state.setter
    def state(self, value: str) -> None:
        self.subject.state = self._state_enum(value)


def subject_of(event: EventData, kind: type[SubjectT]) -> SubjectT:
    """The subject ``event`` was fired on (through :func:`fire_event`), checked to be a ``kind``."""
    binding = event.model
    if not isinstance(binding, _Binding) or not isinstance(binding.subject, kind):
        raise TypeError(f"event '{event.event.name}' was not fired on a {kind.__name__}")
    return binding.subject


def fire_event(
    machine: LifecycleMachine, subject: Any, event: str, actor: User, reason: str,
    clock: Clock, context: Mapping[str, Any],
) -> StateChange:
    """Fire ``event`` on ``subject`` through the shared ``machine``; see the module docstring.

    Raises :class:`Refused` (German message) when the event is unknown, not
    allowed in the subject's state, given without a reason, or a guard refuses;
    the subject is then unchanged. Raises :class:`TypeError` for a missing or
    unknown context keyword (a programming error, not a user's).
    """
    if event not in machine.events:
        known = ", ".join(machine.events)
        raise Refused(f"Unbekannter Vorgang '{event}' (bekannt: {known})")
    _check_context(machine, event, context)
    label = machine.event_label(event)
    binding = _Binding(subject, machine.state_enum)
    from_state = binding.state
    if from_state not in machine.events[event].transitions:
        allowed = ", ".join(machine.event_label(e) for e in machine.allowed_events(from_state))
        hint = f"; möglich: {allowed}" if allowed else ""
        raise Refused(f"{label} ist im Zustand '{machine.state_label(from_state)}' nicht möglich{hint}")
    if not isinstance(reason, str) or not reason.strip():
        raise Refused(f"{label}: bitte einen Grund angeben")
    at = clock()
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("the clock must return a timezone-aware datetime")
    run = Run(at.astimezone(UTC))
    with machine._models_lock:
        machine.add_model(binding, initial=from_state)
    try:
        done = binding.trigger(event, actor=actor, reason=reason.strip(), run=run, **context)
    finally:
        with machine._models_lock:
            machine.remove_model(binding)
    if not done:  # every guard raises Refused; a silent False would be a bug in a guard
        raise Refused(f"{label} wurde nicht ausgeführt")
    return StateChange(
        subject_kind=machine.subject_kind, subject_id=machine.subject_id(subject), from_state=from_state,
        to_state=binding.state, event=event, actor_id=actor.id, at=run.at, reason=reason.strip(),
        warnings=tuple(run.warnings),
    )


def _check_context(machine: LifecycleMachine, event: str, context: Mapping[str, Any]) -> None:
    spec = machine.context_specs.get(event, ContextSpec())
    missing = sorted(spec.required - context.keys())
    unknown = sorted(context.keys() - spec.required - spec.optional)
    if missing or unknown:
        parts = []
        if missing:
            parts.append(f"missing {missing}")
        if unknown:
            parts.append(f"unknown {unknown}")
        raise TypeError(f"{machine.subject_kind} event '{event}': context keywords " + ", ".join(parts))
