"""The coordinator's view of one Jugendamt: the dashboard's figures and the filtered list of Familienzentren.

* :func:`dashboard`: seals by state, seals lapsing in the next 12 months (with the re-certification
  under way), procedures by state, the contingents per Kindergartenjahr (granted, carried in, used,
  returned, carried on, free), the Familienzentren a nomination is meant for and how many audit packets
  there are;
* :func:`familienzentren`: the Familienzentren of the Jugendamt filtered by the current procedure's
  state, town, seal expiring before a day and Einzel/Verbund (:class:`FamilienzentrumFilter`), a page at
  a time;
* the dashboard's actions on the Jugendamt looked at: :func:`nominate_in_jugendamt`,
  :func:`return_places_of_jugendamt`, :func:`carry_over_of_jugendamt` (the use cases of
  :mod:`.procedures` and :mod:`.contingents`; a Familienzentrum of another Jugendamt and an unknown
  one are refused alike, so a refusal does not tell whether it exists).

Both compute in SQL (:class:`certflow.db.repositories.dashboard.DashboardRepository`): a fixed number of
queries, whatever the size of the Jugendamt. Who may (decided here): the coordinator sees their own
Jugendamt; the certification body and the administration any one they name; nobody else.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

from dateutil.relativedelta import relativedelta

from ..calendar import KindergartenYear
from ..catalogue.model import Form
from ..db.repositories.dashboard import NO_PROCEDURE, LapsingSeal, ListedFamilienzentrum
from ..errors import InputError, Problem
from ..lifecycle.contingents import Contingent
from ..lifecycle.entities import CertificateState, Jugendamt, ProcedureState, Role, User
from ..lifecycle.machinery import Refused
from .actors import resolve
from .common import Result, today
from .contingents import carry_over, return_places
from .procedures import nominate

if TYPE_CHECKING:
    from ..db.unit_of_work import UnitOfWork

__all__ = [
    "FILTER_FIELDS", "LAPSE_WINDOW", "NO_PROCEDURE", "TOWN_MAX", "Dashboard", "FamilienzentrumFilter",
    "FamilienzentrumListing", "LapsingSeal", "ListedFamilienzentrum", "carry_over_of_jugendamt", "dashboard",
    "familienzentren", "jugendamt_in_view", "nominate_in_jugendamt", "return_places_of_jugendamt",
]

LAPSE_WINDOW = relativedelta(years=1)
"""How far ahead the dashboard looks for lapsing seals."""
TOWN_MAX = 100
EARLIEST, LATEST = date(1900, 1, 1), date(2199, 12, 31)
FILTER_FIELDS = ("zustand", "ort", "siegel_vor", "form")
"""The names of the list's filters in a form or query string (see :meth:`FamilienzentrumFilter.parse`)."""
_SEAL_ORDER = [*CertificateState, None]


def jugendamt_in_view(uow: UnitOfWork, actor: User, jugendamt_id: str | None = None) -> Jugendamt:
    """The Jugendamt ``actor`` looks at: a coordinator their own (naming another is refused), the certification
    body and the administration the one they name; everyone else is refused."""
    if actor.role is Role.COORDINATOR:
        if actor.jugendamt_id is None:
            raise Refused(f"{actor.name} ist keinem Jugendamt zugeordnet")
        if jugendamt_id not in (None, actor.jugendamt_id):
            raise Refused(f"Kein Zugriff: {actor.name} ({actor.role.label}) darf das Jugendamt {jugendamt_id} "
                          "nicht sehen")
        jugendamt_id = actor.jugendamt_id
    elif actor.role in (Role.CERTIFIER, Role.ADMIN):
        if not jugendamt_id:
            raise Refused(f"Bitte das Jugendamt angeben: die Rolle '{actor.role.label}' ist keinem Jugendamt "
                          "zugeordnet")
    else:
        raise Refused(f"Die Übersicht eines Jugendamts ist der Rolle '{actor.role.label}' nicht zugänglich "
                      f"(nur {Role.COORDINATOR.label}, {Role.CERTIFIER.label} und {Role.ADMIN.label})")
    jugendamt = uow.jugendaemter.find(jugendamt_id)
    if jugendamt is None:
        raise Refused(f"Jugendamt {jugendamt_id} gibt es nicht")
    return jugendamt


# -- the dashboard ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Dashboard:
    """The figures of one Jugendamt as of ``day``.

    ``seals``: (state of the seal, number of Familienzentren) in the order of the states, ``None`` (no seal
    yet) last, only states that occur; ``lapsing``: the live seals valid until a day from ``day`` to
    ``lapse_until``; ``procedures``: (state, number of procedures) in the order of the states;
    ``contingents``: per Kindergartenjahr, oldest first; ``candidates``: (id, name) of the Familienzentren
    without seal and open procedure; ``packets``: procedures with an audit packet.
    """

    jugendamt_id: str
    jugendamt: str
    day: date
    lapse_until: date
    familienzentren: int
    seals: tuple[tuple[CertificateState | None, int], ...]
    lapsing: tuple[LapsingSeal, ...]
    procedures: tuple[tuple[ProcedureState, int], ...]
    contingents: tuple[Contingent, ...]
    candidates: tuple[tuple[str, str], ...]
    packets: int

    @property
    def nomination_years(self) -> tuple[KindergartenYear, ...]:
        """The current and coming Kindergartenjahre with a free place (to nominate for)."""
        current = KindergartenYear.of(self.day)
        return tuple(c.kgj for c in self.contingents if c.free > 0 and c.kgj >= current)

    @property
    def returnable_years(self) -> tuple[KindergartenYear, ...]:
        """The Kindergartenjahre with a free place (to give back to the Land)."""
        return tuple(c.kgj for c in self.contingents if c.free > 0)

    @property
    def carryable_years(self) -> tuple[KindergartenYear, ...]:
        """The Kindergartenjahre with returned places not yet offered again in the next one."""
        return tuple(c.kgj for c in self.contingents if c.returned > c.carried_out)


def dashboard(uow: UnitOfWork, actor_id: str, *, jugendamt_id: str | None = None,
              on: date | None = None) -> Dashboard:
    """The dashboard of the Jugendamt ``actor_id`` looks at (:func:`jugendamt_in_view`) as of ``on`` (default:
    today). Five queries, whatever the number of Familienzentren, procedures and seals: who acts, the
    Jugendamt, the counts (one ``UNION ALL``), the lapsing seals and the contingents."""
    actor = resolve(uow, actor_id)
    jugendamt = jugendamt_in_view(uow, actor, jugendamt_id)
    day = on or today(uow)
    until = day + LAPSE_WINDOW
    counted = uow.dashboard.figures(jugendamt.id)
    seals, states = counted.seals, counted.procedures
    return Dashboard(
        jugendamt_id=jugendamt.id, jugendamt=jugendamt.name, day=day, lapse_until=until,
        familienzentren=sum(seals.values()),
        seals=tuple((state, seals[state]) for state in _SEAL_ORDER if seals.get(state)),
        lapsing=tuple(uow.dashboard.lapsing_seals(jugendamt.id, day, until)),
        procedures=tuple((state, states[state]) for state in ProcedureState if states.get(state)),
        contingents=tuple(uow.contingents.all(jugendamt.id)),
        candidates=tuple(counted.candidates), packets=counted.packets)


# -- the list of Familienzentren ---------------------------------------------------------------------------------


def _problem(name: str, message: str) -> Problem:
    return Problem("Filter", None, (name,), message)


@dataclass(frozen=True, slots=True)
class FamilienzentrumFilter:
    """What the list of Familienzentren is narrowed to (``None``: not filtered).

    ``state``: a :class:`ProcedureState` value or :data:`NO_PROCEDURE`; ``town``: a current member Kita
    lies there; ``seal_before``: the seal is live and valid until a day before it; ``form``: Einzel/Verbund.
    """

    state: str | None = None
    town: str | None = None
    seal_before: date | None = None
    form: Form | None = None

    @classmethod
    def parse(cls, values: Mapping[str, str]) -> FamilienzentrumFilter:
        """The filter from a form or query string (:data:`FILTER_FIELDS`; blank fields do not filter).

        Bad values raise :class:`~certflow.errors.InputError` with one German problem per field (its path is
        the field's name).
        """
        problems: list[Problem] = []
        state = (values.get("zustand") or "").strip() or None
        if state is not None and state != NO_PROCEDURE and state not in {s.value for s in ProcedureState}:
            problems.append(_problem("zustand", "Diesen Zustand gibt es nicht; bitte einen aus der Liste wählen"))
        town = (values.get("ort") or "").strip() or None
        if town is not None and len(town) > TOWN_MAX:
            problems.append(_problem("ort", f"Der Ort darf höchstens {TOWN_MAX} Zeichen lang sein"))
        seal_before = None
        raw = (values.get("siegel_vor") or "").strip()
        if raw:
            try:
                seal_before = date.fromisoformat(raw) if len(raw) == 10 else None
            except ValueError:
                seal_before = None
            if seal_before is None:
                problems.append(_problem("siegel_vor", f"„{raw[:40]}“ ist kein Datum; erwartet wird JJJJ-MM-TT, "
                                                       "z. B. 2027-07-31"))
            elif not EARLIEST <= seal_before <= LATEST:
                problems.append(_problem("siegel_vor", f"Das Datum muss zwischen {EARLIEST:%d.%m.%Y} und "
                                                       f"{LATEST:%d.%m.%Y} liegen"))
        form = (values.get("form") or "").strip() or None
        if form is not None and form not in {f.value for f in Form}:
            problems.append(_problem("form", "Bitte Einzeleinrichtung oder Verbund wählen"))
        if problems:
            raise InputError(problems)
        return cls(state, town, seal_before, Form(form) if form else None)

    def query(self) -> dict[str, str]:
        """The filter as form values again (only those that filter), e.g. for a link to the export."""
        values = {"zustand": self.state or "", "ort": self.town or "",
                  "siegel_vor": self.seal_before.isoformat() if self.seal_before else "",
                  "form": self.form.value if self.form else ""}
        return {name: value for name, value in values.items() if value}

    @property
    def active(self) -> bool:
        return bool(self.query())


@dataclass(frozen=True, slots=True)
class FamilienzentrumListing:
    """One page of the filtered list: ``rows`` of ``total`` that pass ``filters``; ``towns`` for the town filter."""

    jugendamt_id: str
    jugendamt: str
    filters: FamilienzentrumFilter
    rows: tuple[ListedFamilienzentrum, ...]
    total: int
    towns: tuple[str, ...]
    limit: int | None = None
    offset: int = 0
    day: date = field(default=date(1970, 1, 1))


def _check_page(limit: int | None, offset: int) -> None:
    problems = []
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        problems.append(Problem("Seite", None, ("limit",), f"eine ganze Zahl ab 1 erwartet, nicht {limit!r}"))
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        problems.append(Problem("Seite", None, ("offset",), f"eine ganze Zahl ab 0 erwartet, nicht {offset!r}"))
    if problems:
        raise InputError(problems)


def familienzentren(uow: UnitOfWork, actor_id: str, filters: FamilienzentrumFilter | None = None, *,
                    jugendamt_id: str | None = None, limit: int | None = None,
                    offset: int = 0) -> FamilienzentrumListing:
    """The Familienzentren of the Jugendamt ``actor_id`` looks at that pass ``filters``, ordered by id;
    ``limit``/``offset`` give one page (default: all). Five queries, whatever the number of Familienzentren: who
    acts, the Jugendamt, the page with the number of all that pass (a window function), the members' towns of
    those on the page, the towns to filter by (one more only for a page past the last)."""
    _check_page(limit, offset)
    filters = filters or FamilienzentrumFilter()
    actor = resolve(uow, actor_id)
    jugendamt = jugendamt_in_view(uow, actor, jugendamt_id)
    figures, f = uow.dashboard, filters
    rows, total = figures.listing(jugendamt.id, state=f.state, town=f.town, seal_before=f.seal_before, form=f.form,
                                  limit=limit, offset=offset)
    return FamilienzentrumListing(
        jugendamt_id=jugendamt.id, jugendamt=jugendamt.name, filters=filters, rows=tuple(rows), total=total,
        towns=tuple(figures.towns(jugendamt.id)), limit=limit, offset=offset, day=today(uow))


# -- the dashboard's actions -------------------------------------------------------------------------------------


def nominate_in_jugendamt(uow: UnitOfWork, actor_id: str, familienzentrum_id: str, kgj: KindergartenYear,
                          reason: str, *, jugendamt_id: str | None = None) -> Result:
    """:func:`~.procedures.nominate` a Familienzentrum of the Jugendamt the actor looks at; one of another
    Jugendamt is refused with the same words as one that does not exist."""
    jugendamt = jugendamt_in_view(uow, resolve(uow, actor_id), jugendamt_id)
    if uow.familienzentren.jugendamt_of(familienzentrum_id) != jugendamt.id:
        raise Refused(f"Ein Familienzentrum „{familienzentrum_id}“ gibt es im {jugendamt.name} nicht")
    return nominate(uow, actor_id, familienzentrum_id, kgj, reason)


def return_places_of_jugendamt(uow: UnitOfWork, actor_id: str, kgj: KindergartenYear, places: int, reason: str, *,
                               jugendamt_id: str | None = None) -> Result:
    """:func:`~.contingents.return_places` of the Jugendamt the actor looks at."""
    jugendamt = jugendamt_in_view(uow, resolve(uow, actor_id), jugendamt_id)
    return return_places(uow, actor_id, jugendamt.id, kgj, places, reason)


def carry_over_of_jugendamt(uow: UnitOfWork, actor_id: str, kgj: KindergartenYear, reason: str, *,
                            jugendamt_id: str | None = None) -> Result:
    """:func:`~.contingents.carry_over` the returned places of ``kgj`` of the Jugendamt the actor looks at."""
    jugendamt = jugendamt_in_view(uow, resolve(uow, actor_id), jugendamt_id)
    return carry_over(uow, actor_id, jugendamt.id, kgj, reason)
