"""When to remind: the ladder, the lead times, the escalation delay. One value per programme.

All numbers are data (:class:`ReminderRules`), read per programme with
:meth:`ReminderRules.from_mapping` (e.g. from a YAML or TOML section). The
dates themselves come from the domain: procedure deadlines from
:mod:`certflow.lifecycle.deadlines` (:class:`DeadlineRules`), the seal's dates
and the contingent calendar from :mod:`certflow.calendar`.

PROVISIONAL (no published rule): every default below is our choice; the
sources only say that a lapsed seal ends the funding of 20,000 EUR per
Kindergartenjahr [K2] and that a re-certification cannot be postponed [P2].
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

from ..calendar import (
    CONTINGENT_RULE,
    RECERTIFICATION_RULE,
    ContingentRule,
    RecertificationRule,
)
from ..lifecycle.deadlines import DEADLINE_RULES, DeadlineRules

__all__ = ["REMINDER_RULES", "ReminderRules"]

_LEAD_FIELDS = (
    "registration_lead_days", "submission_lead_days", "changes_lead_days", "audit_lead_days",
    "decision_lead_days", "decree_lead_days", "nominations_lead_days", "returns_lead_days",
)
_INT_FIELDS = ("escalate_after_days", "evidence_lookahead_days", "lapsed_notice_days", "annual_funding_eur")


def _days(name: str, value: Any, *, allow_negative: bool = False) -> tuple[int, ...]:
    if isinstance(value, int) and not isinstance(value, bool):
        value = (value,)
    try:
        items = tuple(value)
    except TypeError:
        raise ValueError(f"{name}: eine Liste ganzer Zahlen ist nötig, nicht {value!r}") from None
    for v in items:
        if isinstance(v, bool) or not isinstance(v, int) or (v < 0 and not allow_negative):
            raise ValueError(f"{name}: {v!r} ist keine ganze Zahl ab 0")
    if len(set(items)) != len(items):
        raise ValueError(f"{name}: ein Wert ist doppelt aufgeführt ({', '.join(map(str, items))})")
    return tuple(sorted(items, reverse=True))


@dataclass(frozen=True, slots=True)
class ReminderRules:
    """When reminders go out, relative to the domain's dates. PROVISIONAL defaults.

    * ``ladder_months``: reminders this many months before a seal's validity end
      (12, 6, 3, 1); the lapse is reported the day after the validity end.
    * ``escalate_after_days``: a step overdue by this many days while nothing moved
      is escalated to the Jugendamt's coordinators (14).
    * ``*_lead_days``: reminders this many days before a deadline. Registration (14),
      submission (28 and 7), answering changes requested (7), the audit (7, to the
      auditor and the Kita lead), the decision (0: on the day the decision is overdue,
      ``deadlines.decision_days`` after the visit; to the certification body),
      the decree (0: on the expected day), nominations to the Land (28 and 7),
      returning unused places (14).
    * ``evidence_lookahead_days``: evidence that will be too old at the end of the next
      Prüfzeitraum is flagged this many days before that end (270).
    * ``lapsed_notice_days``: the lapse notice is not sent later than this many days
      after the lapse (60), so that importing old seals sends no stale news.
    * ``annual_funding_eur``: the grant at stake per Kindergartenjahr (KiBiz § 43) [K2].
    * ``deadlines`` / ``contingent`` / ``recertification``: the domain's own rules.
    """

    ladder_months: tuple[int, ...] = (12, 6, 3, 1)
    escalate_after_days: int = 14
    registration_lead_days: tuple[int, ...] = (14,)
    submission_lead_days: tuple[int, ...] = (28, 7)
    changes_lead_days: tuple[int, ...] = (7,)
    audit_lead_days: tuple[int, ...] = (7,)
    decision_lead_days: tuple[int, ...] = (0,)
    decree_lead_days: tuple[int, ...] = (0,)
    nominations_lead_days: tuple[int, ...] = (28, 7)
    returns_lead_days: tuple[int, ...] = (14,)
    evidence_lookahead_days: int = 270
    lapsed_notice_days: int = 60
    annual_funding_eur: int = 20_000
    deadlines: DeadlineRules = field(default=DEADLINE_RULES)
    contingent: ContingentRule = field(default=CONTINGENT_RULE)
    recertification: RecertificationRule = field(default=RECERTIFICATION_RULE)

    def __post_init__(self) -> None:
        ladder = _days("ladder_months", self.ladder_months)
        if 0 in ladder:
            raise ValueError("ladder_months: 0 Monate ist kein Vorlauf (der Ablauf wird ohnehin gemeldet)")
        object.__setattr__(self, "ladder_months", ladder)
        for name in _LEAD_FIELDS:
            object.__setattr__(self, name, _days(name, getattr(self, name)))
        for name in _INT_FIELDS:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name}: {value!r} ist keine ganze Zahl ab 0")
        if self.escalate_after_days < 1:
            raise ValueError("escalate_after_days: mindestens 1 Tag")

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], base: ReminderRules | None = None) -> ReminderRules:
        """Rules from configuration data (numbers and lists only), on top of ``base`` (the defaults).

        Unknown keys are refused with a German message; the domain rules
        (``deadlines``, ``contingent``, ``recertification``) are set in Python.
        """
        base = base or REMINDER_RULES
        allowed = {f.name for f in fields(cls)} - {"deadlines", "contingent", "recertification"}
        unknown = sorted(set(data) - allowed)
        if unknown:
            raise ValueError(f"Unbekannte Erinnerungsregel(n): {', '.join(unknown)} "
                             f"(erlaubt: {', '.join(sorted(allowed))})")
        return replace(base, **dict(data))


REMINDER_RULES = ReminderRules()
"""The default rules of the Gütesiegel Familienzentrum NRW."""
