"""What a reminder is: a subject, a kind, a due day, who gets it and the facts a template needs.

A :class:`Reminder` is a value: the planner (:mod:`.plan`) derives the same
reminders from the same data every time, and :attr:`Reminder.key`
(``subject|kind|due``) is the unique key of the reminder table. Sending,
digests and the inbox work on these values; nothing here knows about mail,
templates or the database.

``facts`` holds JSON-safe values only (str, int, float, bool, None and lists
of them): dates are already written the German way (``"31.07.2027"``), so a
stored reminder renders the same as a freshly planned one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from datetime import date
from types import MappingProxyType
from typing import Any

from ..lifecycle.entities import Role

__all__ = [
    "CALENDAR_KINDS", "CERTIFICATE_KINDS", "ESCALATED", "EVIDENCE_KINDS", "PROCEDURE_KINDS", "Recipient",
    "Reminder", "base_kind", "family_of", "validity_kind",
]

ESCALATED = ".escalated"
"""Suffix of an escalation's kind: ``submission_due.escalated``."""

CERTIFICATE_KINDS = frozenset({"recert_opens", "lapsed"})
"""Besides these, every ``validity_<n>m`` step of the ladder (:func:`validity_kind`)."""
PROCEDURE_KINDS = frozenset({
    "registration_due", "submission_due", "changes_unanswered", "audit_upcoming", "decision_pending",
})
CALENDAR_KINDS = frozenset({"decree_expected", "nominations_due", "places_unused"})
EVIDENCE_KINDS = frozenset({"evidence_expiring"})


def validity_kind(months: int) -> str:
    """The kind of the ladder step ``months`` before the validity end: ``validity_6m``."""
    return f"validity_{months}m"


def base_kind(kind: str) -> str:
    """``submission_due.escalated`` -> ``submission_due``; other kinds unchanged."""
    return kind.removesuffix(ESCALATED)


@lru_cache(maxsize=256)
def family_of(kind: str) -> str:
    """The template family of a kind: certificate, procedure, calendar, evidence or escalation."""
    if kind.endswith(ESCALATED):
        return "escalation"
    if kind in CERTIFICATE_KINDS or (kind.startswith("validity_") and kind.endswith("m")):
        return "certificate"
    if kind in PROCEDURE_KINDS:
        return "procedure"
    if kind in CALENDAR_KINDS:
        return "calendar"
    if kind in EVIDENCE_KINDS:
        return "evidence"
    raise ValueError(f"unknown reminder kind {kind!r}")


@dataclass(frozen=True, slots=True, order=True)
class Recipient:
    """Who gets a reminder: a concrete user, or a role in a scope nobody fills yet.

    ``scope`` names what the role is tied to: ``familienzentrum:FZ-1``,
    ``jugendamt:JA-1``, ``procedure:P-1`` (the assigned auditor) or
    ``certifier``. ``user_id`` is ``None`` when the input knows no person in
    that role and scope: such a reminder cannot be delivered and must be shown
    to the administration (see docs/reminders.md).
    """

    role: Role
    scope: str
    user_id: str | None = None

    @property
    def resolved(self) -> bool:
        return self.user_id is not None


Fact = Any  # str | int | float | bool | None | list of those


def _freeze_facts(facts: Mapping[str, Fact]) -> Mapping[str, Fact]:
    frozen = {k: facts[k] for k in sorted(facts)}
    if list in map(type, frozen.values()):
        for k, v in frozen.items():
            if isinstance(v, list):
                frozen[k] = tuple(v)
    return MappingProxyType(frozen)


_NORMALIZED: dict[tuple[Recipient, ...], tuple[Recipient, ...]] = {}
"""Recipient tuples sorted and without duplicates, by the tuple given (the planner repeats a few thousand)."""


def _normalized(recipients: tuple[Recipient, ...]) -> tuple[Recipient, ...]:
    found = _NORMALIZED.get(recipients)
    if found is None:
        found = tuple(sorted(set(recipients)))
        if len(_NORMALIZED) > 100_000:  # a bound, not a policy: start again
            _NORMALIZED.clear()
        _NORMALIZED[recipients] = found
    return found


def _thawed(facts: Mapping[str, Fact]) -> dict[str, Fact]:
    out = facts.copy() if isinstance(facts, MappingProxyType) else dict(facts)  # a proxy's copy() runs in C
    for k, v in out.items():
        if isinstance(v, tuple):
            out[k] = list(v)
    return out


@dataclass(frozen=True, slots=True)
class Reminder:
    """One reminder about one subject, due on one day.

    * ``subject``: ``certificate:<number>/<issued>``, ``procedure:<id>``,
      ``jugendamt:<id>:<KGJ label>`` or ``evidence:<procedure>:<sha256 or title>``;
    * ``kind``: e.g. ``validity_6m``, ``submission_due``, ``submission_due.escalated``;
    * ``due``: the day it is sent (local day in NRW); ``event_date``: the day it is about
      (the validity end, the deadline, the audit);
    * ``send_until``: the last day on which sending it still makes sense (``None``: no
      limit); a reminder not sent by then is stale (the next step of its ladder took over);
    * ``level``: 0 for a reminder, 1 for an escalation; ``escalates`` is then the key of
      the reminder whose step is overdue;
    * ``urgent``: sent with the next daily digest even to people who chose a weekly one.
    """

    subject: str
    kind: str
    due: date
    event_date: date
    title: str
    recipients: tuple[Recipient, ...]
    facts: Mapping[str, Fact] = field(default_factory=dict, hash=False)
    level: int = 0
    send_until: date | None = None
    familienzentrum_id: str | None = None
    jugendamt_id: str | None = None
    urgent: bool = False
    escalates: str | None = None

    def __post_init__(self) -> None:
        family_of(self.kind)  # unknown kinds are a programming error
        if "|" in self.subject or "|" in self.kind:
            raise ValueError(f"'|' separates the parts of a reminder key: {self.subject!r}, {self.kind!r}")
        object.__setattr__(self, "recipients", _normalized(tuple(self.recipients)))
        object.__setattr__(self, "facts", _freeze_facts(self.facts))

    @property
    def key(self) -> str:
        """The unique key ``subject|kind|due``, e.g. ``procedure:P-1|submission_due|2027-01-17``."""
        return f"{self.subject}|{self.kind}|{self.due.isoformat()}"

    @property
    def family(self) -> str:
        return family_of(self.kind)

    @property
    def user_ids(self) -> tuple[str, ...]:
        """The concrete users, sorted and without duplicates."""
        return tuple(sorted({r.user_id for r in self.recipients if r.user_id is not None}))

    @property
    def unresolved(self) -> tuple[Recipient, ...]:
        """Roles in a scope that nobody fills: nobody would get the reminder in that role."""
        return tuple(r for r in self.recipients if r.user_id is None)

    def is_stale(self, as_of: date) -> bool:
        """Past ``send_until``: not worth sending any more."""
        return self.send_until is not None and as_of > self.send_until

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form for the reminder table's payload; :meth:`from_dict` reads it back."""
        return {
            "subject": self.subject, "kind": self.kind, "due": self.due.isoformat(),
            "event_date": self.event_date.isoformat(), "title": self.title,
            "recipients": [{"role": r.role._value_, "scope": r.scope, "user_id": r.user_id} for r in self.recipients],
            "facts": _thawed(self.facts),
            "level": self.level, "send_until": self.send_until.isoformat() if self.send_until else None,
            "familienzentrum_id": self.familienzentrum_id, "jugendamt_id": self.jugendamt_id,
            "urgent": self.urgent, "escalates": self.escalates,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Reminder:
        until = data.get("send_until")
        return cls(
            subject=data["subject"], kind=data["kind"], due=date.fromisoformat(data["due"]),
            event_date=date.fromisoformat(data["event_date"]), title=data["title"],
            recipients=tuple(Recipient(Role(r["role"]), r["scope"], r.get("user_id")) for r in data["recipients"]),
            facts=dict(data.get("facts", {})), level=int(data.get("level", 0)),
            send_until=date.fromisoformat(until) if until else None,
            familienzentrum_id=data.get("familienzentrum_id"), jugendamt_id=data.get("jugendamt_id"),
            urgent=bool(data.get("urgent", False)), escalates=data.get("escalates"),
        )
