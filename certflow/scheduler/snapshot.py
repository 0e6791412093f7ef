"""The planner's input from the database, and the planner run per Jugendamt.

:func:`load_snapshot` (kept in the reminder repository,
:meth:`certflow.db.repositories.reminders.ReminderRepository.planning_input`, so that the
services reach it through the unit of work) reads in one pass and a handful of bulk queries,
no query per row, in this order: Jugendämter, Familienzentren and their
current members, users, certificate terms, procedures, the procedures' state-change
days from the audit trail (one ``GROUP BY``), the days of their latest self-assessment
revisions (one ``GROUP BY``), the latest revision of every running procedure (for the
evidence with a maximum age) and the contingents of the current and the next
Kindergartenjahr. Optionally limited to one Familienzentrum or one Jugendamt (the scope
of a re-plan after a change).

Dates per procedure (:class:`~certflow.reminders.ProcedureInfo`):

* ``state_since``: the day (NRW) of the last audit entry with a ``to_state``
  (``procedure.<event>``); a procedure without any (imported data) falls back to the
  start of its Prüfzeitraum, a stable day, so its deadlines do not move from scan to scan;
* ``last_activity``: the day of its latest saved self-assessment revision (drafts
  overwrite theirs, so this is the last save); uploads have no table yet and do not count;
* ``planned_audit``: ``Procedure.planned_audit_date`` (set when the visit is scheduled).

:func:`plan` runs the pure planner per Jugendamt: nothing in a plan crosses a
Jugendamt (a certificate looks at its own Familienzentrum's terms and procedures, a
reminder goes to that Familienzentrum's leads and its Jugendamt's coordinators, plus the
certification body and auditors, who are in every part), so the union of the parts is
exactly ``plan_reminders(snapshot)`` (a test checks it), while the planner's lookups,
which scan all users and terms for each reminder, stay small.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from ..db.repositories.reminders import calendar_years, load_planning_input as load_snapshot
from ..lifecycle.entities import Role
from ..reminders import REMINDER_RULES, PlanningInput, Reminder, ReminderRules, plan_reminders
from ..reminders.plan import ordered_unique

__all__ = ["calendar_years", "load_snapshot", "partition", "plan"]


def partition(snapshot: PlanningInput) -> list[PlanningInput]:
    """The snapshot split per Jugendamt; each part carries the people every part needs."""
    fz_ja = {fz.id: fz.jugendamt_id for fz in snapshot.familienzentren}
    auditor_ids = {info.procedure.auditor_id for info in snapshot.procedures if info.procedure.auditor_id}
    common = tuple(u for u in snapshot.users if u.role in (Role.CERTIFIER, Role.AUDITOR) or u.id in auditor_ids)
    common_ids = {u.id for u in common}

    def group(items: Iterable, key) -> dict[str, list]:
        out: dict[str, list] = defaultdict(list)
        for item in items:
            out[key(item)].append(item)
        return out

    fzs = group(snapshot.familienzentren, lambda f: f.jugendamt_id)
    leads = group((u for u in snapshot.users if u.role is Role.KITA_LEAD and u.familienzentrum_id in fz_ja
                   and u.id not in common_ids), lambda u: fz_ja[u.familienzentrum_id])
    coordinators = group((u for u in snapshot.users if u.role is Role.COORDINATOR and u.jugendamt_id is not None
                          and u.id not in common_ids), lambda u: u.jugendamt_id)
    # Data of a Familienzentrum missing from the snapshot goes to a part of its own, where
    # the planner reports it as it would for the whole snapshot.
    certificates = group(snapshot.certificates, lambda c: fz_ja.get(c.familienzentrum_id, "?"))
    procedures = group(snapshot.procedures, lambda i: fz_ja.get(i.procedure.familienzentrum_id, "?"))
    evidence = group(snapshot.evidence, lambda e: fz_ja.get(e.familienzentrum_id, "?"))
    contingents = group(snapshot.contingents, lambda c: c.jugendamt_id)
    ja_by_id = {ja.id: ja for ja in snapshot.jugendaemter}
    parts = []
    for ja_id in sorted(set(ja_by_id) | set(fzs) | set(certificates) | set(procedures) | set(evidence)):
        parts.append(PlanningInput(
            jugendaemter=(ja_by_id[ja_id],) if ja_id in ja_by_id else (),
            familienzentren=tuple(fzs.get(ja_id, ())),
            users=tuple(leads.get(ja_id, ())) + tuple(coordinators.get(ja_id, ())) + common,
            certificates=tuple(certificates.get(ja_id, ())), procedures=tuple(procedures.get(ja_id, ())),
            contingents=tuple(contingents.get(ja_id, ())), calendar_years=snapshot.calendar_years,
            evidence=tuple(evidence.get(ja_id, ())),
        ))
    return parts


def plan(snapshot: PlanningInput, rules: ReminderRules = REMINDER_RULES) -> list[Reminder]:
    """``plan_reminders(snapshot, rules)``, computed per Jugendamt (same list, in the same order)."""
    out: list[Reminder] = []
    for part in partition(snapshot):
        out += plan_reminders(part, rules)
    return ordered_unique(out)
