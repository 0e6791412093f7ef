"""Every rule kind at its edges: at the threshold, one below, period boundaries, leap days, age."""

from datetime import date, timedelta

from dateutil.relativedelta import relativedelta

from certflow.assessment import Activity, Evidence, Period
from certflow.catalogue.model import EvidenceRule, FrequencyRule
from certflow.scoring.rules import check_evidence, check_frequency

KGJ = Period(start=date(2025, 8, 1), end=date(2026, 7, 31))


def act(day: str, sessions: int = 1, kind: str = "kurs") -> Activity:
    return Activity(item="1.5", date=date.fromisoformat(day), kind=kind, sessions=sessions)


def ev(day: str, hours: float | None = None, kind: str = "fortbildung", title: str = "Kurs") -> Evidence:
    return Evidence(items=["1.7"], kind=kind, title=title, date=date.fromisoformat(day), hours=hours)


class TestMinimumSessions:
    rule = FrequencyRule(activity="kurs", min=8)

    def test_exactly_at_minimum(self):
        assert check_frequency(self.rule, [act("2025-09-01", 5), act("2026-03-01", 3)], KGJ, "Kurs") == ()

    def test_one_below(self):
        assert check_frequency(self.rule, [act("2025-09-01", 5), act("2026-03-01", 2)], KGJ, "Kurs") == (
            "mindestens 8 Termine „Kurs“ im Prüfzeitraum gefordert, 7 nachgewiesen (1 fehlt)",
        )

    def test_period_boundaries_are_inclusive(self):
        assert check_frequency(self.rule, [act("2025-08-01", 4), act("2026-07-31", 4)], KGJ, "Kurs") == ()

    def test_a_day_outside_does_not_count_and_is_named(self):
        assert check_frequency(self.rule, [act("2025-07-31", 4), act("2026-08-01", 1), act("2026-07-31", 4)], KGJ, "Kurs") == (
            "mindestens 8 Termine „Kurs“ im Prüfzeitraum gefordert, 4 nachgewiesen (4 fehlen); "
            "5 außerhalb des Prüfzeitraums nicht gezählt",
        )

    def test_other_activity_kinds_do_not_count(self):
        assert check_frequency(self.rule, [act("2025-09-01", 8, kind="sprechstunde")], KGJ, None) == (
            "mindestens 8 Termine im Prüfzeitraum gefordert, 0 nachgewiesen (8 fehlen)",
        )


class TestEveryWindow:
    def test_monthly_met(self):
        rule = FrequencyRule(every="month")
        acts = [act(f"{y}-{m:02d}-15") for y, m in [(2025, m) for m in range(8, 13)] + [(2026, m) for m in range(1, 8)]]
        assert check_frequency(rule, acts, KGJ, None) == ()

    def test_monthly_gap_names_the_month(self):
        rule = FrequencyRule(every="month")
        acts = [act(f"2025-{m:02d}-15") for m in range(8, 13)] + [act(f"2026-{m:02d}-15") for m in (1, 3, 4, 5, 6, 7)]
        assert check_frequency(rule, acts, KGJ, None) == (
            "mindestens 1 Termin je Monat gefordert, zu wenig in 1 Monat (01.02.2026–28.02.2026: 0)",
        )

    def test_many_gaps_are_summarised(self):
        rule = FrequencyRule(every="month", min=2)
        assert check_frequency(rule, [], KGJ, None) == (
            "mindestens 2 Termine je Monat gefordert, zu wenig in 12 Monaten "
            "(01.08.2025–31.08.2025: 0; 01.09.2025–30.09.2025: 0; 01.10.2025–31.10.2025: 0 und 9 weitere)",
        )

    def test_half_year_course_records_with_minimum_sessions(self):
        rule = FrequencyRule(activity="kurs", count="records", every="half_year", each_min_sessions=8)
        assert check_frequency(rule, [act("2025-10-01", 8), act("2026-02-01", 8)], KGJ, "Kurs") == ()
        # A course of 7 sessions is no course of 8: the second half-year has none.
        assert check_frequency(rule, [act("2025-10-01", 8), act("2026-02-01", 7)], KGJ, "Kurs") == (
            "mindestens 1 Angebot „Kurs“ mit je mindestens 8 Terminen je Halbjahr gefordert, "
            "zu wenig in 1 Halbjahr (01.02.2026–31.07.2026: 0)",
        )

    def test_leap_day_activity_counts_in_february(self):
        period = Period(start=date(2023, 8, 1), end=date(2024, 7, 31))
        rule = FrequencyRule(every="month")
        acts = [act(f"2023-{m:02d}-01") for m in range(8, 13)] + [act(f"2024-{m:02d}-01") for m in (1, 3, 4, 5, 6, 7)]
        assert check_frequency(rule, acts, period, None) == (
            "mindestens 1 Termin je Monat gefordert, zu wenig in 1 Monat (01.02.2024–29.02.2024: 0)",
        )
        assert check_frequency(rule, acts + [act("2024-02-29")], period, None) == ()

    def test_yearly(self):
        rule = FrequencyRule(every="year")
        assert check_frequency(rule, [act("2026-07-31")], KGJ, None) == ()


class TestEvidence:
    rule = EvidenceRule(kind="fortbildung", min_hours=30, max_age_years=7)

    def test_missing(self):
        assert check_evidence(self.rule, [], KGJ, "Fortbildungsnachweis") == ("Nachweis „Fortbildungsnachweis“ fehlt",)

    def test_hours_exactly_at_minimum_and_one_below(self):
        assert check_evidence(self.rule, [ev("2024-01-01", 30)], KGJ, "F") == ()
        assert check_evidence(self.rule, [ev("2024-01-01", 29.5)], KGJ, "F") == (
            "0 von 1 gültigen Nachweisen „F“: „Kurs“ nur 29.5 Std., mindestens 30 Std. gefordert",
        )

    def test_hours_not_stated(self):
        assert check_evidence(self.rule, [ev("2024-01-01")], KGJ, "F") == (
            "0 von 1 gültigen Nachweisen „F“: „Kurs“ ohne Stundenangabe, mindestens 30 Std. gefordert",
        )

    def test_exactly_seven_years_old_counts_one_day_more_does_not(self):
        assert check_evidence(self.rule, [ev("2019-07-31", 30)], KGJ, "F") == ()
        assert check_evidence(self.rule, [ev("2019-07-30", 30)], KGJ, "F") == (
            "0 von 1 gültigen Nachweisen „F“: „Kurs“ (30.07.2019) ist älter als 7 Jahre (Stichtag 31.07.2026)",
        )

    def test_seven_years_from_a_leap_day(self):
        period = Period(start=date(2026, 3, 1), end=date(2027, 2, 28))
        # Seven years before 28.02.2027 is 28.02.2020; a training on 29.02.2020 is younger.
        assert check_evidence(self.rule, [ev("2020-02-29", 30)], period, "F") == ()
        assert check_evidence(self.rule, [ev("2020-02-27", 30)], period, "F") != ()

    def test_training_must_end_within_the_period(self):
        assert check_evidence(self.rule, [ev("2026-08-01", 40)], KGJ, "F") == (
            "0 von 1 gültigen Nachweisen „F“: „Kurs“ (01.08.2026) liegt nach dem Ende des Prüfzeitraums",
        )
        assert check_evidence(self.rule, [ev("2026-07-31", 40)], KGJ, "F") == ()

    def test_within_period(self):
        rule = EvidenceRule(kind="konzept", within_period=True)
        assert check_evidence(rule, [ev("2025-08-01", kind="konzept")], KGJ, "K") == ()
        assert check_evidence(rule, [ev("2025-07-31", kind="konzept", title="Alt")], KGJ, "K") == (
            "0 von 1 gültigen Nachweisen „K“: „Alt“ (31.07.2025) liegt vor dem Beginn des Prüfzeitraums",
        )

    def test_other_kinds_do_not_count(self):
        assert check_evidence(self.rule, [ev("2024-01-01", 40, kind="konzept")], KGJ, "F") == ("Nachweis „F“ fehlt",)

    def test_min_count(self):
        rule = EvidenceRule(kind="fortbildung", min_count=2, min_hours=6)
        assert check_evidence(rule, [ev("2024-01-01", 6), ev("2025-01-01", 8)], KGJ, "F") == ()
        assert check_evidence(rule, [ev("2024-01-01", 6), ev("2025-01-01", 5, title="Kurz")], KGJ, "F") == (
            "1 von 2 gültigen Nachweisen „F“: „Kurz“ nur 5 Std., mindestens 6 Std. gefordert",
        )
        assert check_evidence(rule, [], KGJ, "F") == ("2 Nachweise „F“ gefordert, keiner vorhanden",)


def _docs_age_examples() -> list[tuple[date, date, str]]:
    """The rows of the table "How old a piece of evidence is" in docs/catalogue.md."""
    import re

    from conftest import ROOT

    doc = (ROOT / "docs" / "catalogue.md").read_text(encoding="utf-8")
    section = doc.split("### How old a piece of evidence is", 1)[1].split("\n### ", 1)[0]
    row = re.compile(r"^\| (\d\d)\.(\d\d)\.(\d{4}) \| (\d\d)\.(\d\d)\.(\d{4}) \| (counts|too old|after the Prüfzeitraum)",
                     re.M)
    return [(date(int(m[3]), int(m[2]), int(m[1])), date(int(m[6]), int(m[5]), int(m[4])), m[7])
            for m in row.finditer(section)]


def test_the_documented_age_examples_hold():
    """docs/catalogue.md says on which day an evidence's age is measured; its examples are what the rule does."""
    examples = _docs_age_examples()
    assert len(examples) >= 6 and {e[2] for e in examples} == {"counts", "too old", "after the Prüfzeitraum"}
    rule = EvidenceRule(kind="fortbildung", max_age_years=7)
    for dated, stichtag, verdict in examples:
        period = Period(start=stichtag - relativedelta(months=13) + timedelta(days=1), end=stichtag)
        reasons = check_evidence(rule, [ev(dated.isoformat())], period, "F")
        if verdict == "counts":
            assert reasons == (), (dated, stichtag)
        elif verdict == "too old":
            assert reasons and "älter als 7 Jahre" in reasons[0] and f"Stichtag {stichtag:%d.%m.%Y}" in reasons[0]
        else:
            assert reasons and "nach dem Ende des Prüfzeitraums" in reasons[0], (dated, stichtag)
