"""What the planner needs to know: a plain snapshot of the domain data, no database.

The database layer fills a :class:`PlanningInput` from its rows (the lifecycle
entities it already maps: :class:`~certflow.lifecycle.entities.Jugendamt`,
``Familienzentrum``, ``User``, ``Certificate``, ``Procedure``,
:class:`~certflow.lifecycle.contingents.Contingent`) plus three dates per
procedure and the evidence records that carry a maximum age. The planner only
reads it.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from ..calendar import KindergartenYear
from ..lifecycle.contingents import Contingent
from ..lifecycle.entities import (
    Certificate,
    Familienzentrum,
    Jugendamt,
    Procedure,
    User,
)

__all__ = ["EvidenceInfo", "PlanningInput", "ProcedureInfo"]


@dataclass(frozen=True, slots=True)
class ProcedureInfo:
    """A procedure with the dates the planner needs besides its state.

    * ``state_since``: the day of its last state change (the ``StateChange`` in the audit log);
    * ``last_activity``: the last day anything was done on it (state change, a saved
      self-assessment revision, an uploaded document); ``None``: nothing besides the
      state changes. Used for "nothing has moved";
    * ``planned_audit``: the agreed day of the on-site visit (state ``audit_scheduled``).
    """

    procedure: Procedure
    state_since: date
    last_activity: date | None = None
    planned_audit: date | None = None

    @property
    def last_moved(self) -> date:
        """The later of ``state_since`` and ``last_activity``."""
        if self.last_activity is None:
            return self.state_since
        return max(self.state_since, self.last_activity)


@dataclass(frozen=True, slots=True)
class EvidenceInfo:
    """A piece of evidence whose rule has a maximum age (``EvidenceRule.max_age_years``).

    ``period_end`` is the end of the next Prüfzeitraum it will be judged against (the
    Stichtag of the scoring rule: too old when ``date`` is before ``period_end`` minus
    ``max_age_years``); for a running procedure its ``period_end``, otherwise the end of
    :func:`certflow.calendar.recertification_period` of the current seal.
    """

    procedure_id: str
    familienzentrum_id: str
    title: str
    date: datetime.date  # spelled out: the field's name shadows the type in the class body
    max_age_years: int
    period_end: datetime.date
    kind: str = ""
    sha256: str | None = None


def _tuple(items: Iterable) -> tuple:
    return tuple(items)


@dataclass(frozen=True, slots=True)
class PlanningInput:
    """Everything :func:`~.plan.plan_reminders` reads.

    * ``users``: every person who may receive reminders; their role and scope say
      what for (Kita lead: ``familienzentrum_id``; coordinator: ``jugendamt_id``;
      certifier: everyone with that role; auditor: named by ``Procedure.auditor_id``);
    * ``certificates``: all terms of the seal, including renewed ones (a later term
      of the same Familienzentrum marks an older one as renewed);
    * ``calendar_years``: the Kindergartenjahre whose contingent calendar the
      coordinators are reminded of (usually the current and the next one);
    * ``contingents``: the known contingents (free places decide "places unused").
    """

    jugendaemter: tuple[Jugendamt, ...] = ()
    familienzentren: tuple[Familienzentrum, ...] = ()
    users: tuple[User, ...] = ()
    certificates: tuple[Certificate, ...] = ()
    procedures: tuple[ProcedureInfo, ...] = ()
    contingents: tuple[Contingent, ...] = ()
    calendar_years: tuple[KindergartenYear, ...] = ()
    evidence: tuple[EvidenceInfo, ...] = ()

    def __post_init__(self) -> None:
        for name in ("jugendaemter", "familienzentren", "users", "certificates", "procedures", "contingents",
                     "calendar_years", "evidence"):
            object.__setattr__(self, name, _tuple(getattr(self, name)))
