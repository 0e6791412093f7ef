"""Windows of a Prüfzeitraum for "at least once per month / quarter / half-year / year" rules.

Windows are counted from the first day of the Prüfzeitraum in whole calendar
months (a period from 1 Aug gives half-years Aug–Jan and Feb–Jul). Month
arithmetic clamps to the month's end, so a period starting on 31 Jan or on a
leap day never drifts. A trailing remainder shorter than half a window is added
to the window before it instead of demanding an offer in a few stray days.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

from dateutil.relativedelta import relativedelta

MONTHS = {"month": 1, "quarter": 3, "half_year": 6, "year": 12}

DAY = timedelta(days=1)


@lru_cache(maxsize=256)
def windows(start: date, end: date, every: str) -> tuple[tuple[date, date], ...]:
    """Consecutive windows ``(first, last)`` covering ``start``..``end`` exactly."""
    months = MONTHS[every]
    out: list[tuple[date, date]] = []
    i = 0
    while True:
        first = start + relativedelta(months=months * i)
        if first > end:
            break
        full_last = start + relativedelta(months=months * (i + 1)) - DAY
        last = min(full_last, end)
        if out and last < full_last and (last - first).days + 1 < ((full_last - first).days + 1) / 2:
            out[-1] = (out[-1][0], last)
        else:
            out.append((first, last))
        i += 1
    return tuple(out)


def fmt(day: date) -> str:
    return day.strftime("%d.%m.%Y")
