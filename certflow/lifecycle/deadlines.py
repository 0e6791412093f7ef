"""The dates a Familienzentrum has to keep, derived from its procedure and its seal.

Pure: state and dates in, :class:`Deadline` s out. The overview shows the next one; the
reminders are planned from the same list.

PROVISIONAL (no published rule; the defaults live in :class:`DeadlineRules`):

* an Erst-Zertifizierung submits by 31 March of its Kindergartenjahr, leaving April to July
  for the visit and the decision (the only dated example: visit mid-February, result early
  May [W1]);
* a Re-Zertifizierung submits within 14 days after its Prüfzeitraum ends (31.01.);
* a nominated Kita registers by 30 September (pädquis invites in August [P2]);
* changes requested are answered within 28 days; a decision is due 12 weeks after the visit.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from ..calendar import MonthDay, format_date_de, recertification_opens
from ..catalogue.model import ProcedureKind
from .entities import (
    PROCEDURE_FINAL_STATES,
    Certificate,
    CertificateState,
    Procedure,
    ProcedureState,
)

__all__ = ["DEADLINE_RULES", "Deadline", "DeadlineRules", "deadlines", "next_deadline"]


@dataclass(frozen=True, slots=True)
class DeadlineRules:
    registration: MonthDay = MonthDay(9, 30)
    erst_submission: MonthDay = MonthDay(3, 31)
    re_submission_days: int = 14
    changes_days: int = 28
    decision_days: int = 84


DEADLINE_RULES = DeadlineRules()


@dataclass(frozen=True, slots=True, order=True)
class Deadline:
    due: date
    kind: str          # registration, submission, changes, audit, decision, recertification_opens, validity_end
    label: str         # German, for people
    subject: str       # "procedure:P-1" or "certificate:FZ-2024-001"

    def __str__(self) -> str:
        return f"{self.label} bis {format_date_de(self.due)}"


def _procedure_deadlines(p: Procedure, since: date | None, planned_audit: date | None,
                         rules: DeadlineRules) -> list[Deadline]:
    subject = f"procedure:{p.id}"
    s = ProcedureState(p.state)
    if s is ProcedureState.NOMINATED:
        return [Deadline(rules.registration.in_year(p.kgj.start.year), "registration", "Registrierung", subject)]
    if s in (ProcedureState.REGISTERED, ProcedureState.IN_DEVELOPMENT):
        if p.kind is ProcedureKind.ERST:
            due = rules.erst_submission.in_year(p.kgj.end.year)
        else:
            due = p.period_end + timedelta(days=rules.re_submission_days)
        return [Deadline(due, "submission", "Einreichung der Selbstbewertung", subject)]
    if s is ProcedureState.CHANGES_REQUESTED and since is not None:
        return [Deadline(since + timedelta(days=rules.changes_days), "changes", "Nachbesserung", subject)]
    if s is ProcedureState.AUDIT_SCHEDULED and planned_audit is not None:
        return [Deadline(planned_audit, "audit", "Begehung", subject)]
    if s is ProcedureState.AUDITED and since is not None:
        return [Deadline(since + timedelta(days=rules.decision_days), "decision", "Entscheidung", subject)]
    return []


def _certificate_deadlines(c: Certificate) -> list[Deadline]:
    if CertificateState(c.state) not in (CertificateState.VALID, CertificateState.RECERTIFICATION_DUE):
        return []
    subject = f"certificate:{c.key}"
    out = [Deadline(c.valid_until, "validity_end", "Gültigkeit des Gütesiegels", subject)]
    if CertificateState(c.state) is CertificateState.VALID:
        out.append(Deadline(recertification_opens(c.valid_until), "recertification_opens",
                            "Beginn der Re-Zertifizierung", subject))
    return out


def deadlines(procedures: Iterable[tuple[Procedure, date | None, date | None]],
              certificates: Iterable[Certificate], rules: DeadlineRules = DEADLINE_RULES) -> list[Deadline]:
    """Every open deadline, earliest first. ``procedures`` are ``(procedure, in_state_since,
    planned_audit_date)``; final procedures and dead certificates have none."""
    out: list[Deadline] = []
    for p, since, planned in procedures:
        if ProcedureState(p.state) not in PROCEDURE_FINAL_STATES:
            out += _procedure_deadlines(p, since, planned, rules)
    for c in certificates:
        out += _certificate_deadlines(c)
    return sorted(out)


def next_deadline(all_deadlines: list[Deadline], today: date) -> Deadline | None:
    """The earliest deadline not yet passed; if all have passed, the latest overdue one."""
    upcoming = [d for d in all_deadlines if d.due >= today]
    if upcoming:
        return upcoming[0]
    return all_deadlines[-1] if all_deadlines else None
