"""Windows of a Prüfzeitraum for "at least once per week / month / quarter / half-year / year" rules.

* **week**: calendar weeks, Monday to Sunday. A week cut by the start or the end
  of the Prüfzeitraum joins the week next to it, so every window holds every
  weekday at least once (a group that meets on Mondays is never asked for a
  meeting in a stray Friday-to-Sunday).
* **half_year**: the halves of the Kindergartenjahr, 1 August – 31 January and
  1 February – 31 July, as pädquis publishes them [P5]: a Prüfzeitraum
  01.01.–31.01. of the next year splits at 31 July / 1 August
  (:func:`certflow.calendar.prüfzeitraum_halves`), a Kindergartenjahr into
  Aug–Jan and Feb–Jul. A piece at either end shorter than half a half-year joins
  its neighbour (the January before the first 1 February is no half-year of its own).
* **month**, **quarter**, **year**: whole calendar months counted from the first
  day of the Prüfzeitraum. Month arithmetic clamps to the month's end, so a
  period starting on 31 Jan or on a leap day never drifts. A trailing remainder
  shorter than half a window is added to the window before it instead of
  demanding an offer in a few stray days.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache
from itertools import pairwise

from dateutil.relativedelta import relativedelta

from ..calendar import KGJ_START_MONTH

MONTHS = {"month": 1, "quarter": 3, "half_year": 6, "year": 12}

DAY = timedelta(days=1)
WEEK = timedelta(days=7)

_HALF_STARTS = (KGJ_START_MONTH, (KGJ_START_MONTH + 6 - 1) % 12 + 1)  # 1 August and 1 February

DateRange = tuple[date, date]


@lru_cache(maxsize=256)
def windows(start: date, end: date, every: str) -> tuple[DateRange, ...]:
    """Consecutive windows ``(first, last)`` covering ``start``..``end`` exactly."""
    if every == "week":
        return _weeks(start, end)
    if every == "half_year":
        return _halves(start, end)
    return _months(start, end, MONTHS[every])


@lru_cache(maxsize=256)
def window_starts(start: date, end: date, every: str) -> tuple[date, ...]:
    """The first day of each of :func:`windows`, for finding a day's window by bisection."""
    return tuple(first for first, _ in windows(start, end, every))


def _months(start: date, end: date, months: int) -> tuple[DateRange, ...]:
    out: list[DateRange] = []
    i = 0
    while True:
        first = start + relativedelta(months=months * i)
        if first > end:
            break
        full_last = start + relativedelta(months=months * (i + 1)) - DAY
        last = min(full_last, end)
        if out and last < full_last and _days(first, last) < _days(first, full_last) / 2:
            out[-1] = (out[-1][0], last)
        else:
            out.append((first, last))
        i += 1
    return tuple(out)


def _weeks(start: date, end: date) -> tuple[DateRange, ...]:
    out: list[DateRange] = []
    first = start
    while first <= end:
        last = min(first + timedelta(days=6 - first.weekday()), end)  # that week's Sunday, or the end
        out.append((first, last))
        first = last + DAY
    if len(out) > 1 and _days(*out[0]) < 7:
        out[0:2] = [(out[0][0], out[1][1])]
    if len(out) > 1 and _days(*out[-1]) < 7:
        out[-2:] = [(out[-2][0], out[-1][1])]
    return tuple(out)


def _half_of(day: date) -> DateRange:
    """The half of the Kindergartenjahr ``day`` lies in (Aug–Jan or Feb–Jul)."""
    begins = [date(y, m, 1) for y in (day.year - 1, day.year) for m in _HALF_STARTS]
    first = max(b for b in begins if b <= day)
    return first, first + relativedelta(months=6) - DAY


def _halves(start: date, end: date) -> tuple[DateRange, ...]:
    cuts = sorted(date(y, m, 1) for y in range(start.year, end.year + 1) for m in _HALF_STARTS
                  if start < date(y, m, 1) <= end)
    firsts = [start, *cuts]
    out = [(first, nxt - DAY) for first, nxt in pairwise(firsts)] + [(firsts[-1], end)]
    if len(out) > 1 and _days(*out[0]) < _days(*_half_of(out[0][0])) / 2:
        out[0:2] = [(out[0][0], out[1][1])]
    if len(out) > 1 and _days(*out[-1]) < _days(*_half_of(out[-1][0])) / 2:
        out[-2:] = [(out[-2][0], out[-1][1])]
    return tuple(out)


def _days(first: date, last: date) -> int:
    """Days from ``first`` to ``last``, both included."""
    return (last - first).days + 1


def fmt(day: date) -> str:
    return day.strftime("%d.%m.%Y")
