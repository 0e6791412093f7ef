"""The reports the Land asks for: a Jugendamt's nomination report of one Kindergartenjahr (due on 15 June) and the
statistics of a Jugendamt or of the whole Land.

* :func:`nomination_report`: the places of the contingent (granted, carried in, nominated, returned, carried over,
  free), the nominated Familienzentren with the date and reason of each nomination (late ones marked), and the
  contingent's movements from its audit trail. A coordinator reports for their Jugendamt; the certification body
  and the administration may read any Jugendamt's.
* :func:`statistics`: coverage per town (Kitas, those in a Familienzentrum with a live seal, their share), the live
  seals by the year they lapse, and the result per area of the submitted self-assessments of the procedures decided
  in the last four Kindergartenjahre (scored again by the engine: where do Familienzentren fall short most often).
  A coordinator sees their Jugendamt; the certification body and the administration a Jugendamt or the Land.

The files (PDF, XLSX) are made from these results by :mod:`certflow.reports`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from ..assessment import Assessment, Period
from ..calendar import KindergartenYear, contingent_calendar
from ..db.repositories.reports import ContingentEntry, NominatedProcedure, TownFigures
from ..lifecycle.entities import PROCEDURE_STATE_LABELS, Role
from ..lifecycle.machinery import Refused, local_date
from ..scoring import Scorer
from .actors import resolve
from .common import catalogue_for_key, today
from .dashboard import jugendamt_in_view

if TYPE_CHECKING:
    from ..db.unit_of_work import UnitOfWork

__all__ = ["AreaShortfall", "Movement", "NominationLine", "NominationReport", "ReportChoices", "Statistics",
           "nomination_report", "report_choices", "statistics"]

LAND = "Nordrhein-Westfalen"
STATISTICS_YEARS = 4
"""The statistics' results per area cover the procedures decided in this many Kindergartenjahre up to today's."""


@dataclass(frozen=True, slots=True)
class NominationLine:
    nominated: NominatedProcedure
    on_time: bool

    @property
    def state_label(self) -> str:
        return PROCEDURE_STATE_LABELS[self.nominated.state]


@dataclass(frozen=True, slots=True)
class Movement:
    """A movement of the contingent in words: when, what, how many places, why."""

    on: date
    what: str
    places: int
    reason: str


@dataclass(frozen=True, slots=True)
class NominationReport:
    jugendamt_id: str
    jugendamt: str
    kgj: KindergartenYear
    due: date
    made_on: date
    granted: int
    carried_in: int
    nominated: int
    returned: int
    carried_out: int
    free: int
    lines: tuple[NominationLine, ...]
    movements: tuple[Movement, ...]

    @property
    def late(self) -> tuple[NominationLine, ...]:
        return tuple(line for line in self.lines if not line.on_time)


def _movement(entry: ContingentEntry) -> Movement | None:
    on = local_date(entry.at)
    payload = entry.payload
    action = entry.action.rsplit(".", 1)[-1]  # "contingent.create" -> "create"
    if action == "create":
        return Movement(on, "Kontingent gewährt", int(payload.get("granted", 0)), entry.reason)
    if action == "reserve":
        return Movement(on, "Platz vergeben (Nominierung)", 1, entry.reason)
    if action == "release":
        return Movement(on, "Platz wieder frei (Nominierung zurückgezogen)", 1, entry.reason)
    if action == "update":
        for name, what in (("granted", "Kontingent geändert"), ("returned", "Plätze zurückgegeben"),
                           ("carried_out", "ins nächste Kindergartenjahr übertragen"),
                           ("carried_in", "aus dem Vorjahr übertragen")):
            if name in payload:
                old, new = payload[name]
                return Movement(on, what, int(new) - int(old or 0), entry.reason)
    return None


def nomination_report(uow: UnitOfWork, actor_id: str, kgj: KindergartenYear, *,
                      jugendamt_id: str | None = None) -> NominationReport:
    """The nomination report of the Jugendamt the actor looks at for the places of ``kgj``."""
    actor = resolve(uow, actor_id)
    jugendamt = jugendamt_in_view(uow, actor, jugendamt_id)
    contingent = uow.contingents.find(jugendamt.id, kgj)
    if contingent is None:
        raise Refused(f"Das Jugendamt {jugendamt.name} hat für {kgj} kein Kontingent")
    due = contingent_calendar(kgj).nominations_due
    lines = tuple(NominationLine(n, n.nominated_at is None or local_date(n.nominated_at) <= due)
                  for n in uow.reports.nominations(jugendamt.id, kgj))
    movements = tuple(m for m in map(_movement, uow.reports.contingent_entries(jugendamt.id, kgj)) if m is not None)
    return NominationReport(jugendamt.id, jugendamt.name, kgj, due, today(uow), contingent.granted,
                            contingent.carried_in, contingent.nominated, contingent.returned, contingent.carried_out,
                            contingent.free, lines, movements)


@dataclass(frozen=True, slots=True)
class AreaShortfall:
    """An area (by catalogue): in how many of the scored self-assessments it was not met."""

    area_id: str
    title: str
    scored: int
    not_met: int

    @property
    def share(self) -> float:
        return self.not_met / self.scored if self.scored else 0.0


@dataclass(frozen=True, slots=True)
class Statistics:
    scope: str
    jugendamt_id: str | None
    day: date
    towns: tuple[TownFigures, ...]
    lapsing: tuple[tuple[int, int], ...]
    since: KindergartenYear
    scored: int
    shortfalls: tuple[AreaShortfall, ...]

    @property
    def kitas(self) -> int:
        return sum(t.kitas for t in self.towns)

    @property
    def kitas_in_familienzentren(self) -> int:
        return sum(t.kitas_in_familienzentren for t in self.towns)

    @property
    def share(self) -> float:
        return self.kitas_in_familienzentren / self.kitas if self.kitas else 0.0


def _statistics_scope(uow: UnitOfWork, actor_id: str, jugendamt_id: str | None) -> tuple[str | None, str]:
    actor = resolve(uow, actor_id)
    if jugendamt_id is None and actor.role in (Role.CERTIFIER, Role.ADMIN):
        return None, LAND
    jugendamt = jugendamt_in_view(uow, actor, jugendamt_id)
    return jugendamt.id, jugendamt.name


def statistics(uow: UnitOfWork, actor_id: str, *, jugendamt_id: str | None = None) -> Statistics:
    """The statistics of the Jugendamt the actor looks at, or (certification body, administration, no Jugendamt
    named) of the Land."""
    scope_id, scope = _statistics_scope(uow, actor_id, jugendamt_id)
    day = today(uow)
    since = KindergartenYear(KindergartenYear.of(day).start_year - (STATISTICS_YEARS - 1))
    counts: Counter[tuple[str, str]] = Counter()
    missed: Counter[tuple[str, str]] = Counter()
    order: dict[tuple[str, str], int] = {}
    scorers: dict[str, Scorer] = {}
    submissions = uow.reports.decided_submissions(scope_id, since)
    for submission in submissions:
        key = submission.catalogue_key
        if key not in scorers:
            scorers[key] = Scorer(catalogue_for_key(key))
        assessment = Assessment.model_validate_json(submission.canonical_json)
        report = scorers[key].score(assessment, Period(start=submission.period_start, end=submission.period_end))
        for position, area in enumerate(report.areas):
            counts[(area.id, area.title)] += 1
            order.setdefault((area.id, area.title), position)
            if not area.met:
                missed[(area.id, area.title)] += 1
    shortfalls = tuple(AreaShortfall(area_id, title, counts[(area_id, title)], missed[(area_id, title)])
                       for area_id, title in sorted(counts, key=lambda k: order[k]))
    return Statistics(scope, scope_id, day, tuple(uow.reports.coverage(day, scope_id)),
                      tuple(uow.reports.lapsing_by_year(day, scope_id)), since, len(submissions), shortfalls)


@dataclass(frozen=True, slots=True)
class ReportChoices:
    """What the reports page offers the actor: the Jugendämter they may pick (``(id, name)``; a coordinator only
    theirs), whether the Land as a whole is offered, the Jugendamt in view and its contingents' Kindergartenjahre
    (newest first)."""

    jugendaemter: tuple[tuple[str, str], ...]
    land: bool
    jugendamt_id: str | None
    years: tuple[KindergartenYear, ...]


def report_choices(uow: UnitOfWork, actor_id: str, *, jugendamt_id: str | None = None) -> ReportChoices:
    actor = resolve(uow, actor_id)
    land = actor.role in (Role.CERTIFIER, Role.ADMIN)
    if land:
        offered = tuple((j.id, j.name) for j in sorted(uow.jugendaemter.all(), key=lambda j: (j.name, j.id)))
        chosen = jugendamt_in_view(uow, actor, jugendamt_id).id if jugendamt_id else None
    else:
        own = jugendamt_in_view(uow, actor, jugendamt_id)
        offered, chosen = ((own.id, own.name),), own.id
    years = tuple(sorted((c.kgj for c in uow.contingents.all(chosen)), key=lambda k: -k.start_year)) if chosen else ()
    return ReportChoices(offered, land, chosen, years)
