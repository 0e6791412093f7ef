"""The dates a calendar feed shows: every deadline, audit date and validity end. Pure.

:func:`feed_events` turns the same :class:`PlanningInput` the planner reads
into :class:`CalendarItem` s (one all-day date each, German texts);
:mod:`certflow.notify.ics` writes them as iCalendar. The procedure and seal
dates come from :func:`certflow.lifecycle.deadlines.deadlines`, the
coordinators' yearly dates from :func:`certflow.calendar.contingent_calendar`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from ..calendar import contingent_calendar, format_date_de
from ..lifecycle.deadlines import deadlines
from ..lifecycle.entities import (
    PROCEDURE_STATE_LABELS,
    CertificateState,
    ProcedureState,
)
from .inputs import PlanningInput
from .plan import _KIND_LABEL, _World
from .rules import REMINDER_RULES, ReminderRules

__all__ = ["CalendarItem", "feed_events", "for_familienzentrum", "for_jugendamt"]


@dataclass(frozen=True, slots=True, order=True)
class CalendarItem:
    """One all-day date in a feed. ``uid`` is stable: derived from subject, kind and day."""

    day: date
    subject: str
    kind: str
    summary: str
    description: str
    familienzentrum_id: str | None = None
    jugendamt_id: str | None = None

    @property
    def uid(self) -> str:
        digest = hashlib.sha256(f"{self.subject}|{self.kind}|{self.day.isoformat()}".encode()).hexdigest()
        return f"{digest[:32]}@certflow"


def feed_events(snapshot: PlanningInput, rules: ReminderRules = REMINDER_RULES) -> list[CalendarItem]:
    """Every open deadline of every procedure and live seal, and each Jugendamt's contingent dates.

    Sorted by (day, subject, kind). Renewed, expired and revoked seals and finished
    procedures have no dates left.
    """
    world = _World(snapshot, rules)
    out: list[CalendarItem] = []
    for info in world.procedures:
        p = info.procedure
        fz = world.fz(p.familienzentrum_id)
        state = PROCEDURE_STATE_LABELS[ProcedureState(p.state)]
        for d in deadlines([(p, info.state_since, info.planned_audit)], [], rules.deadlines):
            lines = [f"{_KIND_LABEL[p.kind]} {p.kgj} von {fz.name}", f"Stand: {state}"]
            if d.kind == "audit" and p.auditor_id:
                lines.append(f"Auditor/in: {world.user_name(p.auditor_id)}")
            lines.append(f"Prüfzeitraum {format_date_de(p.period_start)} – {format_date_de(p.period_end)}")
            out.append(CalendarItem(d.due, d.subject, d.kind, f"{d.label}: {fz.name}", "\n".join(lines),
                                    fz.id, fz.jugendamt_id))
    for cert in world.certificates:
        if world.has_successor(cert) or CertificateState(cert.state) is CertificateState.RENEWED:
            continue
        fz = world.fz(cert.familienzentrum_id)
        for d in deadlines([], [cert]):
            text = (f"Gütesiegel Familienzentrum NRW Nr. {cert.number} von {fz.name}, "
                    f"gültig bis {format_date_de(cert.valid_until)}")
            if d.kind == "recertification_opens":
                text += "\nDie Unterlagen der Zertifizierungsstelle kommen; eine Verschiebung ist nicht möglich."
            else:
                funding = world.common_facts(fz)["funding_eur"]
                text += f"\nOhne Re-Zertifizierung endet danach die Förderung ({funding} je Kindergartenjahr)."
            out.append(CalendarItem(d.due, d.subject, d.kind, f"{d.label}: {fz.name}", text, fz.id, fz.jugendamt_id))
    for ja in sorted(snapshot.jugendaemter, key=lambda j: j.id):
        for kgj in sorted(set(snapshot.calendar_years)):
            cal = contingent_calendar(kgj, rules.contingent)
            contingent = world.contingents.get((ja.id, kgj))
            subject = f"jugendamt:{ja.id}:{kgj}"
            out.append(CalendarItem(cal.decree_expected, subject, "decree_expected",
                                    f"Kontingent-Erlass {kgj} erwartet",
                                    f"Erlass des Ministeriums über die neuen Familienzentrumsplätze {kgj} für "
                                    f"{ja.name} (erwarteter Termin)", jugendamt_id=ja.id))
            out.append(CalendarItem(cal.nominations_due, subject, "nominations_due",
                                    f"Nominierungen {kgj} an das Land melden",
                                    f"Meldefrist für die vom Jugendhilfeausschuss ausgewählten Kitas ({ja.name})",
                                    jugendamt_id=ja.id))
            if contingent is not None and contingent.free > 0:
                out.append(CalendarItem(cal.return_deadline, subject, "places_unused",
                                        f"Ungenutzte Plätze {kgj} zurückgeben ({contingent.free})",
                                        f"{ja.name}: {contingent.describe()}; zurückgegebene Plätze werden "
                                        f"{cal.reoffered_in} erneut angeboten", jugendamt_id=ja.id))
    return sorted(out)


def for_jugendamt(items: Iterable[CalendarItem], jugendamt_id: str) -> list[CalendarItem]:
    """The dates of one Jugendamt: its own and those of its Familienzentren."""
    return [i for i in items if i.jugendamt_id == jugendamt_id]


def for_familienzentrum(items: Iterable[CalendarItem], familienzentrum_id: str) -> list[CalendarItem]:
    return [i for i in items if i.familienzentrum_id == familienzentrum_id]
