"""Month arithmetic on the standard library, clamped like ``dateutil.relativedelta``.

31.07. minus 3 months is 30.04.; 29.02.2028 minus 12 months is 28.02.2027.
"""

from __future__ import annotations

import calendar
from datetime import date

__all__ = ["add_months", "add_years"]


def add_months(d: date, months: int) -> date:
    """``d`` moved by ``months`` (negative: back); a missing day becomes the month's last day."""
    index = d.year * 12 + (d.month - 1) + months
    year, month = divmod(index, 12)
    month += 1
    return date(year, month, min(d.day, calendar.monthrange(year, month)[1]))


def add_years(d: date, years: int) -> date:
    return add_months(d, 12 * years)
