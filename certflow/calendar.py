"""Dates of the Gütesiegel procedure: Kindergartenjahr, validity, re-certification, contingents.

Pure functions over :class:`datetime.date`: no I/O, no clock, no database. Every
rule cites its source from ``/work/shared/domain.md`` (section 1 "Legal frame",
section 3 "Process and timeline"); the source keys in brackets resolve there.

Facts used
----------
* Kindergartenjahr (KGJ) = 1 Aug – 31 Jul (KiBiz § 1 Abs. 3) [K1].
* The seal is valid 4 years, extended to the end of the KGJ in which it
  expires (DVO KiBiz § 11) [D11]. The Corona extensions up to 31 Jul 2022 are
  historic one-offs and are not modelled.
* Re-certification: documents arrive in October/November, before the
  Prüfzeitraum, which starts on 01.01.; pädquis checks "das Kalenderjahr, also
  den Zeitraum von Januar bis Januar", published as the halves 01.01.–31.07.
  and 01.08.–31.01. [P2][P5]. No postponement to the next year [P2].
* First certification: invitation in August, about one KGJ of development
  [P2][Q3].
* Contingents: a ministry decree each February/March (06.03.2019, 23.02.2021,
  21.02.2022, 07.03.2023); the Jugendamt reports its choice to the Land by
  15 June; an unused place can be returned and is re-offered the next KGJ
  [C1][C2][C3][S1].

Decisions where the sources are silent
--------------------------------------
* **Counting four years** (:func:`term_end`): as in BGB § 187 Abs. 2 / § 188
  Abs. 2: the issue day counts as the first day, so the term ends on the day
  *before* the same calendar date ``years`` later (issued 10.05.2022 -> ends
  09.05.2026). If that date does not exist (issued 29.02., target year not a
  leap year), the term ends on the last day of February (§ 188 Abs. 3).
* **Validity** (:func:`validity_end`): 31 Jul of the KGJ containing the term's
  last day. A term ending on 31.07. is not extended; one ending on 01.08.
  falls into the next KGJ and is extended by 364/365 days.

PROVISIONAL: the re-certification timeline
------------------------------------------
The exact rule is **UNCONFIRMED**; the model below is our reading, kept in
:class:`RecertificationRule` so it can be changed as data.

For a seal valid until 31 Jul Y:

* the re-certification belongs to the KGJ (Y-1)/Y, the one that ends on the
  validity end (:func:`recertification_year`); it cannot be postponed [P2];
* the Prüfzeitraum is the 13 months "Januar bis Januar" **01.01.Y-1 – 31.01.Y**,
  halves 01.01.–31.07.Y-1 and 01.08.Y-1 – 31.01.Y (:func:`recertification_period`);
* the documents arrive from **01.10.Y-2**, three months before it
  (:func:`recertification_opens`);
* evaluation, on-site visit and decision follow between 01.02.Y and 31.07.Y,
  so the new seal follows the old one without a gap.

Why not a Prüfzeitraum starting 01.01.Y (documents in October Y-1)? A 13-month
Prüfzeitraum from 01.01.Y would end on 31.01.Y+1, six months *after* the seal
lapsed on 31.07.Y; the funding would break and the "no postponement" rule
would make no sense. Starting one year earlier is the only choice that keeps
all published facts (start 01.01., Januar bis Januar, documents in Oct/Nov
before the start, seal renewed before it lapses). It also fits the only
dated example: a visit in mid-February 2020 and the result on 05.05.2020 [W1],
i.e. right after a Prüfzeitraum ending 31.01.2020 and well before 31.07.2020.
:func:`recertification_period` refuses a rule whose Prüfzeitraum would end
after the validity end.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from dateutil.relativedelta import relativedelta

from .errors import InputError, Problem

__all__ = [
    "CONTINGENT_RULE",
    "EARLIEST_DATE",
    "LATEST_DATE",
    "ContingentCalendar",
    "ContingentRule",
    "KindergartenYear",
    "MonthDay",
    "Period",
    "RECERTIFICATION_RULE",
    "RecertificationRule",
    "InvalidDate",
    "contingent_calendar",
    "date_range_problem",
    "first_certification_period",
    "format_date_de",
    "prüfzeitraum_halves",
    "pruefzeitraum_halves",
    "recertification_opens",
    "recertification_period",
    "recertification_year",
    "require_date",
    "term_end",
    "validity_end",
]

Period = tuple[date, date]
"""A closed date range ``(first day, last day)``, both days included."""

KGJ_START_MONTH = 8
"""The Kindergartenjahr starts on 1 August (KiBiz § 1 Abs. 3) [K1]."""

VALIDITY_YEARS = 4
"""The seal is valid four years (DVO KiBiz § 11) [D11]."""

_ONE_DAY = timedelta(days=1)
_KGJ_PATTERN = re.compile(r"(\d{4})\s*/\s*(\d{2}|\d{4})")


def format_date_de(d: date) -> str:
    """Format a date the German way: ``date(2027, 7, 31)`` -> ``"31.07.2027"``."""
    return f"{d.day:02d}.{d.month:02d}.{d.year:04d}"


EARLIEST_DATE = date(1900, 1, 1)
LATEST_DATE = date(2200, 12, 31)
"""The dates certflow accepts, both included (a decision: the sources are silent).

Far enough back for any record of the seal (it exists since 2006) and far enough ahead for any
plan; and far from the ends of Python's calendar (years 1 and 9999), so that the arithmetic on
an accepted date (four-year terms, Kindergartenjahre, re-certification periods, reminders and
their escalations, Prüfzeitraum windows: a few years either way) never leaves it. Dates enter
through :func:`date_range_problem`: the command line's date type, the visit and the planned
audit date, the Prüfzeitraum of ``score``, ``--as-of``.
"""


def date_range_problem(day: date, what: str = "Datum") -> str | None:
    """Why ``day`` is outside the accepted dates (German, naming ``what``), or ``None`` when it is inside."""
    if EARLIEST_DATE <= day <= LATEST_DATE:
        return None
    return (f"{what} {format_date_de(day)} liegt außerhalb des zulässigen Zeitraums "
            f"({format_date_de(EARLIEST_DATE)} bis {format_date_de(LATEST_DATE)})")


class InvalidDate(InputError):
    """A date outside the accepted range (bad input: exit 2)."""

    kind = "Datum"


def require_date(day: date, what: str) -> date:
    """``day`` if it lies in the accepted range, else :class:`InvalidDate` naming ``what`` ("Tag der Begehung")."""
    problem = date_range_problem(day, "das Datum")
    if problem:
        raise InvalidDate([Problem(what, None, (), problem)])
    return day


@dataclass(frozen=True, slots=True, order=True)
class KindergartenYear:
    """One Kindergartenjahr, 1 Aug ``start_year`` – 31 Jul ``start_year + 1`` [K1].

    Ordered by ``start_year``; ``str()`` gives the usual label ``"2025/26"``.
    """

    start_year: int

    def __post_init__(self) -> None:
        if isinstance(self.start_year, bool) or not isinstance(self.start_year, int):
            raise ValueError(f"Kindergartenjahr: Startjahr muss eine ganze Zahl sein, nicht {self.start_year!r}")
        if not 1 <= self.start_year <= 9998:
            raise ValueError(f"Kindergartenjahr: Startjahr {self.start_year} liegt außerhalb von 1 bis 9998")

    @property
    def start(self) -> date:
        """First day: 1 August of ``start_year``."""
        return date(self.start_year, KGJ_START_MONTH, 1)

    @property
    def end(self) -> date:
        """Last day: 31 July of ``start_year + 1``."""
        return date(self.start_year + 1, KGJ_START_MONTH, 1) - _ONE_DAY

    @property
    def label(self) -> str:
        """``"2025/26"`` (second year with two digits, ``"1999/00"`` across a century)."""
        return f"{self.start_year}/{(self.start_year + 1) % 100:02d}"

    def __str__(self) -> str:
        return self.label

    def next(self) -> KindergartenYear:
        """The following Kindergartenjahr."""
        return KindergartenYear(self.start_year + 1)

    def previous(self) -> KindergartenYear:
        """The preceding Kindergartenjahr."""
        return KindergartenYear(self.start_year - 1)

    def contains(self, d: date) -> bool:
        """Whether ``d`` lies in this Kindergartenjahr (both ends included)."""
        return self.start <= d <= self.end

    @classmethod
    def of(cls, d: date) -> KindergartenYear:
        """The Kindergartenjahr ``d`` falls in: 31.07.2026 -> 2025/26, 01.08.2026 -> 2026/27."""
        return cls(d.year if d.month >= KGJ_START_MONTH else d.year - 1)

    @classmethod
    def parse(cls, text: str) -> KindergartenYear:
        """Read ``"2025/26"`` or ``"2025/2026"`` (surrounding blanks allowed).

        Raises :class:`ValueError` with a German message for anything else,
        including a second year that does not follow the first (``"2025/27"``).
        """
        if not isinstance(text, str):
            raise ValueError(f"Kindergartenjahr muss als Text angegeben werden (z. B. 2025/26), nicht {text!r}")
        match = _KGJ_PATTERN.fullmatch(text.strip())
        if match is None:
            raise ValueError(f"Ungültiges Kindergartenjahr „{text}“: erwartet wird JJJJ/JJ, z. B. 2025/26")
        first, second = int(match.group(1)), match.group(2)
        expected = first + 1
        follows = int(second) == (expected if len(second) == 4 else expected % 100)
        if not follows:
            raise ValueError(
                f"Ungültiges Kindergartenjahr „{text}“: auf {first} muss {expected} folgen "
                f"(richtig: {first}/{expected % 100:02d})"
            )
        return cls(first)


@dataclass(frozen=True, slots=True)
class MonthDay:
    """A day of the year without a year, e.g. ``MonthDay(6, 15)`` for the 15 June.

    29 February is refused: it does not exist every year.
    """

    month: int
    day: int

    def __post_init__(self) -> None:
        try:
            date(2001, self.month, self.day)  # 2001 is no leap year: refuses 29.02.
        except (TypeError, ValueError):
            raise ValueError(
                f"Ungültiger Kalendertag {self.day!r}.{self.month!r}.: "
                "Tag und Monat müssen in jedem Jahr existieren (29.02. ist nicht erlaubt)"
            ) from None

    def in_year(self, year: int) -> date:
        """This day in ``year``."""
        return date(year, self.month, self.day)

    def __str__(self) -> str:
        return f"{self.day:02d}.{self.month:02d}."


def term_end(issued: date, years: int = VALIDITY_YEARS) -> date:
    """Last day of a term of ``years`` years starting on ``issued`` (the issue day counts).

    Rule (cf. BGB § 187 Abs. 2, § 188 Abs. 2 and 3): the day before the same
    calendar date ``years`` later; 10.05.2022 -> 09.05.2026, 01.08.2022 ->
    31.07.2026. A term starting on 29.02. ends on the last day of February if
    the target year has no 29.02.: 29.02.2020 + 1 year -> 28.02.2021; with a
    leap year it is the 28.02. as well: 29.02.2020 + 4 years -> 28.02.2024.
    """
    if years < 1:
        raise ValueError(f"Laufzeit muss mindestens 1 Jahr betragen, nicht {years}")
    anniversary = issued + relativedelta(years=years)
    if (issued.month, issued.day) == (2, 29) and anniversary.day == 28:
        # relativedelta clamped 29.02. to 28.02.: the missing day's predecessor
        # is the end of February itself (§ 188 Abs. 3 BGB).
        return anniversary
    return anniversary - _ONE_DAY


def validity_end(issued: date, years: int = VALIDITY_YEARS) -> date:
    """Last day the seal issued on ``issued`` is valid.

    DVO KiBiz § 11 [D11]: valid ``years`` (4) years, extended to the end of the
    Kindergartenjahr in which it expires. The four years end on
    :func:`term_end`; the seal then runs to 31 Jul of that day's
    Kindergartenjahr:

    * issued 10.05.2022 -> term ends 09.05.2026 (KGJ 2025/26) -> 31.07.2026;
    * issued 01.08.2022 -> term ends 31.07.2026 (KGJ 2025/26) -> 31.07.2026;
    * issued 02.08.2022 -> term ends 01.08.2026 (KGJ 2026/27) -> 31.07.2027.

    The result is always a 31 July, at least ``term_end`` and less than
    ``years + 1`` years after ``issued``.
    """
    return KindergartenYear.of(term_end(issued, years)).end


def recertification_year(valid_until: date) -> KindergartenYear:
    """The Kindergartenjahr whose re-certification renews a seal valid until ``valid_until``.

    It is the KGJ that ends on the validity end (31.07.2027 -> 2026/27): the
    procedure must be finished before the seal lapses and cannot be postponed
    to the next year [D11][P2]. For a ``valid_until`` that is not a 31 July
    (e.g. a historic date) it is the KGJ containing that day.
    """
    return KindergartenYear.of(valid_until)


@dataclass(frozen=True, slots=True)
class RecertificationRule:
    """PROVISIONAL timing of a re-certification (see the module docstring).

    * ``period_start``: first day of the Prüfzeitraum, in the calendar year in
      which the re-certification's Kindergartenjahr starts; default 01.01. [P2].
    * ``period_months``: length of the Prüfzeitraum; default 13 ("Januar bis
      Januar": 01.01. – 31.01. of the next year) [P5].
    * ``documents_lead_months``: the documents arrive this many months before
      the Prüfzeitraum starts; default 3, i.e. 01.10. (sources: "Oktober/November") [P2].
    """

    period_start: MonthDay = MonthDay(1, 1)
    period_months: int = 13
    documents_lead_months: int = 3

    def __post_init__(self) -> None:
        if self.period_months < 1:
            raise ValueError(f"Prüfzeitraum muss mindestens 1 Monat lang sein, nicht {self.period_months}")
        if self.documents_lead_months < 0:
            raise ValueError(
                f"Vorlauf für die Unterlagen darf nicht negativ sein, nicht {self.documents_lead_months}"
            )


RECERTIFICATION_RULE = RecertificationRule()
"""The default, PROVISIONAL re-certification timing."""


def recertification_period(valid_until: date, rule: RecertificationRule = RECERTIFICATION_RULE) -> Period:
    """The Prüfzeitraum of the re-certification of a seal valid until ``valid_until``. PROVISIONAL.

    Default: 01.01. of the year in which :func:`recertification_year` starts,
    13 months long ("Januar bis Januar") [P2][P5]. Valid until 31.07.2027 ->
    Prüfzeitraum 01.01.2026 – 31.01.2027.

    Raises :class:`ValueError` if ``rule`` would make the Prüfzeitraum end after
    ``valid_until``: the seal must be renewed before it lapses.
    """
    start = rule.period_start.in_year(recertification_year(valid_until).start_year)
    end = start + relativedelta(months=rule.period_months) - _ONE_DAY
    if end > valid_until:
        raise ValueError(
            f"Prüfzeitraum {format_date_de(start)}–{format_date_de(end)} endet nach dem Ablauf "
            f"des Gütesiegels am {format_date_de(valid_until)}"
        )
    return start, end


def recertification_opens(valid_until: date, rule: RecertificationRule = RECERTIFICATION_RULE) -> date:
    """When the re-certification documents arrive for a seal valid until ``valid_until``. PROVISIONAL.

    "Oktober/November, noch vor Beginn des jeweiligen Prüfzeitraumes" [P2]:
    ``rule.documents_lead_months`` (3) months before :func:`recertification_period`
    starts. Valid until 31.07.2027 -> Prüfzeitraum from 01.01.2026 -> 01.10.2025.
    """
    start, _ = recertification_period(valid_until, rule)
    return start - relativedelta(months=rule.documents_lead_months)


def prüfzeitraum_halves(start: date, end: date) -> tuple[Period, Period]:
    """Split a Prüfzeitraum into the two published halves [P5].

    The split follows the Kindergartenjahr, as pädquis publishes it: the first
    half ends on the 31 July of the Kindergartenjahr containing ``start``, the
    second half runs from the 1 August to ``end``. 01.01.2026 – 31.01.2027 ->
    (01.01.2026 – 31.07.2026, 01.08.2026 – 31.01.2027).

    Raises :class:`ValueError` if ``end`` is before ``start`` or the range does
    not reach into a second Kindergartenjahr.
    """
    if end < start:
        raise ValueError(f"Prüfzeitraum endet ({format_date_de(end)}) vor seinem Beginn ({format_date_de(start)})")
    first_end = KindergartenYear.of(start).end
    if first_end >= end:
        raise ValueError(
            f"Prüfzeitraum {format_date_de(start)}–{format_date_de(end)} lässt sich nicht teilen: "
            f"er endet spätestens am {format_date_de(first_end)}, dem Ende des Kindergartenjahres"
        )
    return (start, first_end), (first_end + _ONE_DAY, end)


pruefzeitraum_halves = prüfzeitraum_halves
"""ASCII alias of :func:`prüfzeitraum_halves` for callers and tools that avoid non-ASCII names."""


def first_certification_period(kgj: KindergartenYear) -> Period:
    """The development year of an Erst-Zertifizierung started in ``kgj``.

    pädquis invites in August and the Kita develops for about one
    Kindergartenjahr [P2][Q3]: the whole KGJ, 1 Aug – 31 Jul.
    """
    return kgj.start, kgj.end


@dataclass(frozen=True, slots=True)
class ContingentRule:
    """Days of the yearly contingent procedure, in the calendar year in which the KGJ starts.

    * ``decree``: expected date of the ministry's decree; default 01.03.
      (decrees came between 21.02. and 07.03.) [C1][C2][C3].
    * ``nominations``: the Jugendamt reports its nominated Kitas to the Land;
      default 15.06. [C1][S1].
    * ``returns``: last day to return an unused place; default 15.06., with
      the nominations: a place not nominated is reported back in the same
      report so that the Land can re-offer it the next KGJ [S1]. This deadline
      is PROVISIONAL (no published date).
    """

    decree: MonthDay = MonthDay(3, 1)
    nominations: MonthDay = MonthDay(6, 15)
    returns: MonthDay = MonthDay(6, 15)

    def __post_init__(self) -> None:
        if not (self.decree.month, self.decree.day) < (self.nominations.month, self.nominations.day):
            raise ValueError(f"Meldefrist {self.nominations} muss nach dem Erlass {self.decree} liegen")
        if (self.returns.month, self.returns.day) < (self.decree.month, self.decree.day):
            raise ValueError(f"Rückgabefrist {self.returns} darf nicht vor dem Erlass {self.decree} liegen")
        if (self.returns.month, self.returns.day) >= (KGJ_START_MONTH, 1):
            raise ValueError(f"Rückgabefrist {self.returns} muss vor Beginn des Kindergartenjahres (01.08.) liegen")
        if (self.nominations.month, self.nominations.day) >= (KGJ_START_MONTH, 1):
            raise ValueError(f"Meldefrist {self.nominations} muss vor Beginn des Kindergartenjahres (01.08.) liegen")


CONTINGENT_RULE = ContingentRule()
"""The default contingent timing."""


@dataclass(frozen=True, slots=True)
class ContingentCalendar:
    """Dates for the new Familienzentrum places of one Kindergartenjahr ``kgj``."""

    kgj: KindergartenYear
    decree_expected: date
    nominations_due: date
    return_deadline: date

    @property
    def reoffered_in(self) -> KindergartenYear:
        """A returned, unused place is re-offered in the next Kindergartenjahr [S1]."""
        return self.kgj.next()


def contingent_calendar(kgj: KindergartenYear, rule: ContingentRule = CONTINGENT_RULE) -> ContingentCalendar:
    """The contingent calendar for the new places of ``kgj``.

    All dates fall in the calendar year in which ``kgj`` starts, before the
    invitation in August [C1][C2][C3][S1][P2]. For 2025/26 with the default
    rule: decree expected 01.03.2025, nominations due 15.06.2025, unused places
    returned by 15.06.2025.
    """
    year = kgj.start_year
    return ContingentCalendar(
        kgj=kgj,
        decree_expected=rule.decree.in_year(year),
        nominations_due=rule.nominations.in_year(year),
        return_deadline=rule.returns.in_year(year),
    )
