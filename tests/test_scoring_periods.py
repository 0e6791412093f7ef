from datetime import date

from certflow.scoring.periods import windows


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


def test_thirteen_month_recertification_period_folds_the_stray_month_into_the_last_half():
    # 01.01.2026–31.01.2027: half-years Jan–Jun and Jul–Jan; January 2027 alone is no half-year.
    assert windows(date(2026, 1, 1), date(2027, 1, 31), "half_year") == (
        (date(2026, 1, 1), date(2026, 6, 30)),
        (date(2026, 7, 1), date(2027, 1, 31)),
    )


def test_a_long_remainder_is_its_own_window():
    assert windows(date(2026, 1, 1), date(2026, 10, 31), "half_year") == (
        (date(2026, 1, 1), date(2026, 6, 30)),
        (date(2026, 7, 1), date(2026, 10, 31)),
    )


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
