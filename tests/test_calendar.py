"""Tests for certflow.calendar: exact dates, edge cases and a property test."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from dateutil.relativedelta import relativedelta
from hypothesis import given
from hypothesis import strategies as st

from certflow.calendar import (
    CONTINGENT_RULE,
    ContingentCalendar,
    ContingentRule,
    KindergartenYear,
    MonthDay,
    RecertificationRule,
    contingent_calendar,
    first_certification_period,
    format_date_de,
    prüfzeitraum_halves,
    pruefzeitraum_halves,
    recertification_opens,
    recertification_period,
    recertification_year,
    term_end,
    validity_end,
)

KGJ_2025 = KindergartenYear(2025)


# --- KindergartenYear -------------------------------------------------------


def test_kindergarten_year_bounds_and_label() -> None:
    assert KGJ_2025.start == date(2025, 8, 1)
    assert KGJ_2025.end == date(2026, 7, 31)
    assert KGJ_2025.label == "2025/26"
    assert str(KGJ_2025) == "2025/26"
    assert str(KindergartenYear(1999)) == "1999/00"
    assert str(KindergartenYear(2009)) == "2009/10"


def test_kindergarten_year_next_previous_and_order() -> None:
    assert KGJ_2025.next() == KindergartenYear(2026)
    assert KGJ_2025.previous() == KindergartenYear(2024)
    assert KGJ_2025.next().previous() == KGJ_2025
    assert KindergartenYear(2024) < KGJ_2025 < KindergartenYear(2026)
    assert KGJ_2025.next().start == KGJ_2025.end + timedelta(days=1)


def test_kindergarten_year_is_frozen_and_hashable() -> None:
    with pytest.raises(AttributeError):
        KGJ_2025.start_year = 2030  # type: ignore[misc]
    assert {KGJ_2025, KindergartenYear(2025)} == {KGJ_2025}


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2026, 7, 31), 2025),
        (date(2026, 8, 1), 2026),
        (date(2025, 12, 31), 2025),
        (date(2026, 1, 1), 2025),
        (date(2024, 2, 29), 2023),
        (date(2025, 8, 1), 2025),
    ],
)
def test_kindergarten_year_of(day: date, expected: int) -> None:
    assert KindergartenYear.of(day) == KindergartenYear(expected)


def test_kindergarten_year_contains() -> None:
    assert KGJ_2025.contains(date(2025, 8, 1))
    assert KGJ_2025.contains(date(2026, 7, 31))
    assert KGJ_2025.contains(date(2026, 1, 1))
    assert not KGJ_2025.contains(date(2025, 7, 31))
    assert not KGJ_2025.contains(date(2026, 8, 1))


@pytest.mark.parametrize(
    ("text", "expected"),
    [("2025/26", 2025), ("2025/2026", 2025), (" 2025 / 26 ", 2025), ("1999/00", 1999), ("1999/2000", 1999)],
)
def test_kindergarten_year_parse(text: str, expected: int) -> None:
    assert KindergartenYear.parse(text) == KindergartenYear(expected)


def test_kindergarten_year_parse_roundtrip() -> None:
    for year in (1999, 2000, 2025, 2099):
        assert KindergartenYear.parse(str(KindergartenYear(year))) == KindergartenYear(year)


@pytest.mark.parametrize(
    "text",
    ["", "2025", "2025/27", "2025/2027", "2025-26", "25/26", "2025/6", "abcd/ef", "2025/26/27", "2025/026", "0000/01"],
)
def test_kindergarten_year_parse_errors(text: str) -> None:
    with pytest.raises(ValueError, match="Kindergartenjahr"):
        KindergartenYear.parse(text)


def test_kindergarten_year_parse_error_is_german_and_helpful() -> None:
    with pytest.raises(ValueError) as excinfo:
        KindergartenYear.parse("2025/27")
    assert "2025/26" in str(excinfo.value)
    with pytest.raises(ValueError, match="z. B. 2025/26"):
        KindergartenYear.parse("2025-26")


def test_kindergarten_year_parse_rejects_non_text() -> None:
    with pytest.raises(ValueError, match="Text"):
        KindergartenYear.parse(2025)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", [0, 9999, -1])
def test_kindergarten_year_rejects_out_of_range(bad: int) -> None:
    with pytest.raises(ValueError, match="Startjahr"):
        KindergartenYear(bad)


# --- Validity ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("issued", "years", "expected"),
    [
        (date(2022, 5, 10), 4, date(2026, 5, 9)),
        (date(2022, 8, 1), 4, date(2026, 7, 31)),
        (date(2022, 8, 2), 4, date(2026, 8, 1)),
        (date(2021, 1, 1), 4, date(2024, 12, 31)),
        (date(2020, 12, 31), 4, date(2024, 12, 30)),
        # leap years
        (date(2020, 2, 29), 4, date(2024, 2, 28)),
        (date(2024, 2, 29), 4, date(2028, 2, 28)),
        (date(2020, 2, 29), 1, date(2021, 2, 28)),
        (date(2096, 2, 29), 4, date(2100, 2, 28)),  # 2100 is no leap year
        (date(2020, 3, 1), 4, date(2024, 2, 29)),
        (date(2019, 3, 1), 1, date(2020, 2, 29)),
        (date(2023, 3, 1), 1, date(2024, 2, 29)),
    ],
)
def test_term_end(issued: date, years: int, expected: date) -> None:
    assert term_end(issued, years) == expected


def test_term_end_rejects_zero_years() -> None:
    with pytest.raises(ValueError, match="Laufzeit"):
        term_end(date(2022, 1, 1), 0)


@pytest.mark.parametrize(
    ("issued", "expected"),
    [
        (date(2022, 5, 10), date(2026, 7, 31)),  # example from the rule
        (date(2022, 8, 1), date(2026, 7, 31)),  # four years end exactly on 31 Jul: no extension
        (date(2022, 8, 2), date(2027, 7, 31)),  # four years end on 1 Aug: extended by almost a year
        (date(2022, 7, 31), date(2026, 7, 31)),
        (date(2020, 2, 29), date(2024, 7, 31)),
        (date(2024, 2, 29), date(2028, 7, 31)),
        (date(2020, 12, 31), date(2025, 7, 31)),  # ends 30.12.2024, KGJ 2024/25
        (date(2021, 1, 1), date(2025, 7, 31)),  # ends 31.12.2024, KGJ 2024/25
        (date(2020, 5, 5), date(2024, 7, 31)),  # result mailed 05.05.2020 [W1]
    ],
)
def test_validity_end(issued: date, expected: date) -> None:
    assert validity_end(issued) == expected


def test_validity_end_other_term() -> None:
    assert validity_end(date(2022, 5, 10), years=1) == date(2023, 7, 31)
    assert validity_end(date(2022, 8, 2), years=2) == date(2025, 7, 31)


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31)))
def test_validity_end_property(issued: date) -> None:
    end = validity_end(issued)
    assert (end.month, end.day) == (7, 31)
    assert end >= issued + relativedelta(years=4) - relativedelta(days=1)
    assert end < issued + relativedelta(years=5)
    assert end == KindergartenYear.of(term_end(issued)).end


# --- Re-certification (PROVISIONAL model) -----------------------------------


def test_recertification_year() -> None:
    assert recertification_year(date(2027, 7, 31)) == KindergartenYear(2026)
    assert recertification_year(date(2026, 7, 31)) == KGJ_2025
    assert recertification_year(date(2026, 7, 31)).end == date(2026, 7, 31)


def test_recertification_year_for_odd_dates_is_kgj_containing_it() -> None:
    assert recertification_year(date(2022, 1, 15)) == KindergartenYear(2021)


def test_recertification_period_default() -> None:
    assert recertification_period(date(2027, 7, 31)) == (date(2026, 1, 1), date(2027, 1, 31))
    assert recertification_period(date(2024, 7, 31)) == (date(2023, 1, 1), date(2024, 1, 31))


def test_recertification_period_ends_before_seal_lapses() -> None:
    valid_until = validity_end(date(2022, 5, 10))
    start, end = recertification_period(valid_until)
    assert end < valid_until
    assert start.month == 1 and start.day == 1


def test_recertification_opens_default() -> None:
    assert recertification_opens(date(2027, 7, 31)) == date(2025, 10, 1)
    assert recertification_opens(date(2024, 7, 31)) == date(2022, 10, 1)
    # documents come before the Prüfzeitraum starts
    assert recertification_opens(date(2027, 7, 31)) < recertification_period(date(2027, 7, 31))[0]


def test_recertification_rule_is_configurable() -> None:
    rule = RecertificationRule(period_start=MonthDay(8, 1), period_months=12, documents_lead_months=2)
    assert recertification_period(date(2027, 7, 31), rule) == (date(2026, 8, 1), date(2027, 7, 31))
    assert recertification_opens(date(2027, 7, 31), rule) == date(2026, 6, 1)
    november = RecertificationRule(documents_lead_months=2)
    assert recertification_opens(date(2027, 7, 31), november) == date(2025, 11, 1)


def test_recertification_period_refuses_end_after_lapse() -> None:
    too_long = RecertificationRule(period_months=24)
    with pytest.raises(ValueError, match="endet nach dem Ablauf des Gütesiegels am 31.07.2027"):
        recertification_period(date(2027, 7, 31), too_long)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"period_months": 0}, "Prüfzeitraum"), ({"documents_lead_months": -1}, "Vorlauf")],
)
def test_recertification_rule_validation(kwargs: dict[str, int], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        RecertificationRule(**kwargs)  # type: ignore[arg-type]


def test_prüfzeitraum_halves_published_split() -> None:
    first, second = prüfzeitraum_halves(date(2026, 1, 1), date(2027, 1, 31))
    assert first == (date(2026, 1, 1), date(2026, 7, 31))
    assert second == (date(2026, 8, 1), date(2027, 1, 31))
    assert pruefzeitraum_halves is prüfzeitraum_halves


def test_prüfzeitraum_halves_of_default_period() -> None:
    halves = prüfzeitraum_halves(*recertification_period(date(2024, 7, 31)))
    assert halves == ((date(2023, 1, 1), date(2023, 7, 31)), (date(2023, 8, 1), date(2024, 1, 31)))


def test_prüfzeitraum_halves_errors() -> None:
    with pytest.raises(ValueError, match="vor seinem Beginn"):
        prüfzeitraum_halves(date(2026, 2, 1), date(2026, 1, 1))
    with pytest.raises(ValueError, match="nicht teilen"):
        prüfzeitraum_halves(date(2026, 1, 1), date(2026, 7, 31))
    with pytest.raises(ValueError, match="nicht teilen"):
        prüfzeitraum_halves(date(2026, 8, 1), date(2027, 7, 31))


# --- First certification ----------------------------------------------------


def test_first_certification_period() -> None:
    assert first_certification_period(KindergartenYear(2012)) == (date(2012, 8, 1), date(2013, 7, 31))
    assert first_certification_period(KindergartenYear(2023)) == (date(2023, 8, 1), date(2024, 7, 31))


# --- Contingents ------------------------------------------------------------


def test_contingent_calendar_default() -> None:
    cal = contingent_calendar(KGJ_2025)
    assert cal == ContingentCalendar(
        kgj=KGJ_2025,
        decree_expected=date(2025, 3, 1),
        nominations_due=date(2025, 6, 15),
        return_deadline=date(2025, 6, 15),
    )
    assert cal.reoffered_in == KindergartenYear(2026)
    assert cal.nominations_due < cal.kgj.start


def test_contingent_calendar_configurable() -> None:
    rule = ContingentRule(decree=MonthDay(2, 21), returns=MonthDay(7, 31))
    cal = contingent_calendar(KindergartenYear(2022), rule)
    assert cal.decree_expected == date(2022, 2, 21)
    assert cal.nominations_due == date(2022, 6, 15)
    assert cal.return_deadline == date(2022, 7, 31)
    assert CONTINGENT_RULE.decree == MonthDay(3, 1)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"decree": MonthDay(7, 1)}, "Meldefrist"),
        ({"returns": MonthDay(1, 15)}, "Rückgabefrist"),
        ({"returns": MonthDay(8, 1)}, "Rückgabefrist"),
        ({"nominations": MonthDay(9, 1)}, "Meldefrist"),
    ],
)
def test_contingent_rule_validation(kwargs: dict[str, MonthDay], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ContingentRule(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(("month", "day"), [(2, 29), (13, 1), (4, 31), (0, 1)])
def test_month_day_rejects_impossible_days(month: int, day: int) -> None:
    with pytest.raises(ValueError, match="Kalendertag"):
        MonthDay(month, day)


def test_month_day() -> None:
    assert MonthDay(6, 15).in_year(2025) == date(2025, 6, 15)
    assert str(MonthDay(6, 15)) == "15.06."


# --- Formatting -------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "text"),
    [(date(2027, 7, 31), "31.07.2027"), (date(2024, 2, 29), "29.02.2024"), (date(2026, 1, 1), "01.01.2026")],
)
def test_format_date_de(day: date, text: str) -> None:
    assert format_date_de(day) == text


def _docs_seal_rows() -> list[list[str]]:
    """The rows of the table "A seal awarded on 1 August" in docs/lifecycle.md."""
    import re

    from conftest import ROOT

    doc = (ROOT / "docs" / "lifecycle.md").read_text(encoding="utf-8")
    section = doc.split("### A seal awarded on 1 August", 1)[1].split("\n## ", 1)[0]
    return [[cell.strip() for cell in line.strip("|").split("|")]
            for line in section.splitlines() if re.match(r"^\| \d\d\.\d\d\.\d{4} \|", line)]


def test_the_documented_count_of_a_seal_awarded_on_1_august_holds() -> None:
    """docs/lifecycle.md explains, with a table, how a seal awarded on 1 August is counted."""

    def day(text: str) -> date:
        d, m, y = text.split(".")
        return date(int(y), int(m), int(d))

    rows = _docs_seal_rows()
    assert [r[0][:5] for r in rows] == ["31.07", "01.08", "02.08"]
    for issued, awarded_in, term, valid, kgj, period, documents in rows:
        i = day(issued)
        assert str(KindergartenYear.of(i)) == awarded_in
        assert format_date_de(term_end(i)) == term
        assert format_date_de(validity_end(i)) == valid
        assert str(recertification_year(validity_end(i))) == kgj
        start, end = recertification_period(validity_end(i))
        assert f"{format_date_de(start)}–{format_date_de(end)}" == period
        assert format_date_de(recertification_opens(validity_end(i))) == documents
