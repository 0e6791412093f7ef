from datetime import date

import pytest

from certflow.assessment import Activity, Period
from certflow.calendar import prüfzeitraum_halves, recertification_period
from certflow.catalogue.model import FrequencyRule
from certflow.scoring.periods import windows
from certflow.scoring.rules import check_frequency


def test_half_years_of_a_kindergartenjahr():
    assert windows(date(2025, 8, 1), date(2026, 7, 31), "half_year") == (
        (date(2025, 8, 1), date(2026, 1, 31)),
        (date(2026, 2, 1), date(2026, 7, 31)),
    )


def test_months_cover_the_period_exactly():
    ws = windows(date(2025, 8, 1), date(2026, 7, 31), "month")
    assert len(ws) == 12
    assert ws[0] == (date(2025, 8, 1), date(2025, 8, 31))
    assert ws[6] == (date(2026, 2, 1), date(2026, 2, 28))
    assert all((b[0] - a[1]).days == 1 for a, b in zip(ws, ws[1:]))


def test_thirteen_month_recertification_period_has_the_published_halves():
    # 01.01.2026–31.01.2027 is published as the halves 01.01.–31.07. and 01.08.–31.01. [P5]: the split
    # follows the Kindergartenjahr, not six months from the start (which gave 30 June).
    assert windows(date(2026, 1, 1), date(2027, 1, 31), "half_year") == (
        (date(2026, 1, 1), date(2026, 7, 31)),
        (date(2026, 8, 1), date(2027, 1, 31)),
    )
    assert windows(date(2026, 1, 1), date(2027, 1, 31), "half_year") == prüfzeitraum_halves(
        date(2026, 1, 1), date(2027, 1, 31))


@pytest.mark.parametrize("valid_until", [date(2027, 7, 31), date(2028, 7, 31), date(2030, 7, 31)])
def test_every_recertification_period_splits_like_the_calendar(valid_until):
    start, end = recertification_period(valid_until)
    assert windows(start, end, "half_year") == prüfzeitraum_halves(start, end)


def test_a_course_in_july_counts_for_the_first_half_of_a_recertification_period():
    period = Period(start=date(2026, 1, 1), end=date(2027, 1, 31))
    rule = FrequencyRule(activity="kurs", every="half_year")
    courses = [Activity(item="4B2", date=d, kind="kurs") for d in (date(2026, 7, 15), date(2026, 11, 3))]
    assert check_frequency(rule, courses, period, "Kurs") == ()
    late = [Activity(item="4B2", date=d, kind="kurs") for d in (date(2026, 8, 3), date(2026, 11, 3))]
    assert check_frequency(rule, late, period, "Kurs") == (
        "mindestens 1 Termin „Kurs“ je Halbjahr gefordert, zu wenig in 1 Halbjahr (01.01.2026–31.07.2026: 0)",)


def test_half_years_follow_the_kindergartenjahr_and_a_long_remainder_is_its_own_window():
    assert windows(date(2026, 1, 1), date(2026, 10, 31), "half_year") == (
        (date(2026, 1, 1), date(2026, 7, 31)),
        (date(2026, 8, 1), date(2026, 10, 31)),
    )
    # a Prüfzeitraum moved to start in March: the published split at 1 August stays
    assert windows(date(2026, 3, 1), date(2027, 1, 31), "half_year") == (
        (date(2026, 3, 1), date(2026, 7, 31)),
        (date(2026, 8, 1), date(2027, 1, 31)),
    )
    # an Erst-Zertifizierung extended by one Kindergartenjahr: four halves
    assert windows(date(2025, 8, 1), date(2027, 7, 31), "half_year") == (
        (date(2025, 8, 1), date(2026, 1, 31)), (date(2026, 2, 1), date(2026, 7, 31)),
        (date(2026, 8, 1), date(2027, 1, 31)), (date(2027, 2, 1), date(2027, 7, 31)),
    )
    assert windows(date(2026, 2, 10), date(2026, 3, 20), "half_year") == ((date(2026, 2, 10), date(2026, 3, 20)),)


def test_leap_day_start_does_not_drift():
    ws = windows(date(2024, 2, 29), date(2025, 2, 27), "quarter")
    assert ws[0] == (date(2024, 2, 29), date(2024, 5, 28))
    assert ws[1] == (date(2024, 5, 29), date(2024, 8, 28))
    assert ws[-1][1] == date(2025, 2, 27)


def test_month_end_start_clamps():
    ws = windows(date(2024, 1, 31), date(2024, 4, 29), "month")
    assert ws == (
        (date(2024, 1, 31), date(2024, 2, 28)),
        (date(2024, 2, 29), date(2024, 3, 30)),
        (date(2024, 3, 31), date(2024, 4, 29)),
    )
