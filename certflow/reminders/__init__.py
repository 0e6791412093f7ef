"""Reminders as a pure domain: which reminder is due for whom, when, and when to escalate.

State and dates in (:class:`PlanningInput`), reminders out (:func:`plan_reminders`);
no database, mail, templates or clock. The adapters that send them live in
:mod:`certflow.notify`. See docs/reminders.md.
"""

from .feed import CalendarItem, feed_events, for_familienzentrum, for_jugendamt
from .inputs import EvidenceInfo, PlanningInput, ProcedureInfo
from .model import ESCALATED, Recipient, Reminder, base_kind, family_of, validity_kind
from .plan import Reconciliation, due_on, plan_reminders, reconcile, stale
from .rules import REMINDER_RULES, ReminderRules

__all__ = [
    "ESCALATED", "REMINDER_RULES", "CalendarItem", "EvidenceInfo", "PlanningInput", "ProcedureInfo", "Recipient",
    "Reconciliation", "Reminder", "ReminderRules", "base_kind", "due_on", "family_of", "feed_events",
    "for_familienzentrum", "for_jugendamt", "plan_reminders", "reconcile", "stale", "validity_kind",
]
