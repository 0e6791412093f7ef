"""Zertifizierungskontingente: the new Familienzentrum places a Jugendamt gets per Kindergartenjahr.

Facts (/work/shared/domain.md, section 3): a ministry decree each February/March
allocates new places to the Jugendämter; the Jugendhilfeausschuss picks the
Kitas and reports them to the Land by 15 June [C1][C2][C3]; an unused place can
be returned and is offered again the next Kindergartenjahr [S1].

A :class:`Contingent` is an immutable value; every operation returns a new one
or raises :class:`~.machinery.Refused` with a German message. Free places are
``granted + carried_in - nominated - returned``. The database layer must still
serialise concurrent nominations (no overbooking under concurrency); this
module only keeps the arithmetic and the refusals.

Decision (the sources give no number): one grant or return moves at most
:data:`MAX_PLACES` places (10 000; all of NRW has about 3 000 Familienzentren,
a decree gives a Jugendamt a handful), and no count of a contingent exceeds
:data:`MAX_CONTINGENT_PLACES`, far below the database's integer columns.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from ..calendar import KindergartenYear
from .machinery import Refused

__all__ = [
    "MAX_CONTINGENT_PLACES", "MAX_PLACES", "Contingent", "carry_over", "free_place_refusal", "grant", "nominate",
    "release", "return_place",
]

MAX_PLACES = 10_000
"""The most places one grant (a decree) or one return may move."""

MAX_CONTINGENT_PLACES = 1_000_000
"""The most places any count of one contingent may reach (granted, nominated, returned, carried)."""


@dataclass(frozen=True, slots=True)
class Contingent:
    """The places of one Jugendamt for one Kindergartenjahr.

    * ``granted``: new places from the ministry's decree (may grow by later grants);
    * ``carried_in``: places returned in the previous Kindergartenjahr, offered again [S1];
    * ``nominated``: places given to a nominated Kita;
    * ``returned``: unused places given back to the Land;
    * ``carried_out``: how many of the returned places were already carried to the next year.
    """

    jugendamt_id: str
    kgj: KindergartenYear
    granted: int = 0
    nominated: int = 0
    returned: int = 0
    carried_in: int = 0
    carried_out: int = 0

    def __post_init__(self) -> None:
        for name in ("granted", "nominated", "returned", "carried_in", "carried_out"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_CONTINGENT_PLACES:
                raise ValueError(f"Kontingent: {name} muss eine ganze Zahl von 0 bis {MAX_CONTINGENT_PLACES} sein, "
                                 f"nicht {value!r}")
        if self.free < 0:
            raise ValueError(f"Kontingent {self.kgj}: mehr Plätze vergeben oder zurückgegeben als vorhanden")
        if self.carried_out > self.returned:
            raise ValueError(f"Kontingent {self.kgj}: mehr Plätze übertragen als zurückgegeben")

    @property
    def total(self) -> int:
        """Places available this year: granted plus carried in."""
        return self.granted + self.carried_in

    @property
    def free(self) -> int:
        return self.granted + self.carried_in - self.nominated - self.returned

    def describe(self) -> str:
        """``"3 von 3 vergeben"``, with returned places named when there are any."""
        text = f"{self.nominated} von {self.total} vergeben"
        if self.returned:
            text += f", {self.returned} zurückgegeben"
        return text


def _who(contingent: Contingent, jugendamt_name: str | None) -> str:
    return jugendamt_name or contingent.jugendamt_id


def free_place_refusal(contingent: Contingent, jugendamt_name: str | None = None) -> str | None:
    """Guard: ``None`` when a place is free, else the German refusal."""
    if contingent.free > 0:
        return None
    return (
        f"Kein freier Platz im Kontingent des Jugendamts {_who(contingent, jugendamt_name)} "
        f"für {contingent.kgj} ({contingent.describe()})"
    )


def _places_refusal(places: object, action: str) -> str | None:
    """Why ``places`` is no count one grant or return may move (German), or ``None``."""
    if isinstance(places, bool) or not isinstance(places, int) or places < 1:
        return f"Es muss mindestens ein Platz {action} werden, nicht {places!r}"
    if places > MAX_PLACES:
        shown = str(places) if len(str(places)) <= 24 else str(places)[:21] + "…"
        return f"Es können höchstens {MAX_PLACES} Plätze auf einmal {action} werden, nicht {shown}"
    return None


def grant(contingent: Contingent, places: int) -> Contingent:
    """The decree (or a later one) grants ``places`` more new places (1 to :data:`MAX_PLACES`)."""
    message = _places_refusal(places, "zugeteilt")
    if message:
        raise Refused(message)
    if contingent.granted + places > MAX_CONTINGENT_PLACES:
        raise Refused(f"Das Kontingent {contingent.kgj} hätte dann mehr als {MAX_CONTINGENT_PLACES} Plätze")
    return replace(contingent, granted=contingent.granted + places)


def nominate(contingent: Contingent, jugendamt_name: str | None = None) -> Contingent:
    """Take one free place for a nominated Kita, or refuse when none is left."""
    message = free_place_refusal(contingent, jugendamt_name)
    if message:
        raise Refused(message)
    return replace(contingent, nominated=contingent.nominated + 1)


def release(contingent: Contingent, jugendamt_name: str | None = None) -> Contingent:
    """Free the place of a nominated Kita whose procedure was withdrawn (PROVISIONAL, no source)."""
    if contingent.nominated == 0:
        raise Refused(
            f"Im Kontingent des Jugendamts {_who(contingent, jugendamt_name)} für {contingent.kgj} "
            "ist kein Platz vergeben, der frei werden könnte"
        )
    return replace(contingent, nominated=contingent.nominated - 1)


def return_place(contingent: Contingent, places: int = 1, jugendamt_name: str | None = None) -> Contingent:
    """Give ``places`` unused places back to the Land [S1]; only free places can be returned.

    A place given to a Kita whose procedure was withdrawn is first freed with
    :func:`release`; then it can be nominated again or returned.
    """
    message = _places_refusal(places, "zurückgegeben")
    if message:
        raise Refused(message)
    if places > contingent.free:
        raise Refused(
            f"Das Jugendamt {_who(contingent, jugendamt_name)} kann für {contingent.kgj} nur "
            f"{contingent.free} freie(n) Platz/Plätze zurückgeben, nicht {places} ({contingent.describe()})"
        )
    return replace(contingent, returned=contingent.returned + places)


def carry_over(contingent: Contingent, following: Contingent | None = None) -> tuple[Contingent, Contingent]:
    """Offer the returned, not yet carried places again in the next Kindergartenjahr [S1].

    Returns ``(this year, next year)``: this year's ``carried_out`` and next
    year's ``carried_in`` grow by the same number, so a place is carried once.
    ``following`` is next year's contingent if it exists already (e.g. after
    the next decree); it must belong to the same Jugendamt and the next year.
    """
    nxt = contingent.kgj.next()
    if following is None:
        following = Contingent(contingent.jugendamt_id, nxt)
    if following.jugendamt_id != contingent.jugendamt_id or following.kgj != nxt:
        raise Refused(
            f"Zurückgegebene Plätze gehen an dasselbe Jugendamt im Kindergartenjahr {nxt}, "
            f"nicht an {following.jugendamt_id} für {following.kgj}"
        )
    places = contingent.returned - contingent.carried_out
    if places == 0:
        raise Refused(f"Für {contingent.kgj} gibt es keine zurückgegebenen Plätze, die noch zu übertragen wären")
    return (
        replace(contingent, carried_out=contingent.carried_out + places),
        replace(following, carried_in=following.carried_in + places),
    )
