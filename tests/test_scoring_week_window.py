"""The week window: "at least once a week" counts every calendar week, so a skipped week is missing."""

from datetime import date, timedelta

import pytest

from certflow.assessment import Activity, Assessment, Period
from certflow.catalogue import load_catalogue, parse_catalogue
from certflow.catalogue.model import FrequencyRule
from certflow.catalogue.wording import frequency_text
from certflow.errors import CatalogueError
from certflow.resources import default_catalogue
from certflow.scoring import Scorer
from certflow.scoring.periods import windows
from certflow.scoring.rules import check_frequency

KGJ = Period(start=date(2025, 8, 1), end=date(2026, 7, 31))   # Friday to Friday
WEEKLY = FrequencyRule(activity="eltern_kind_gruppe", every="week")


def tuesdays(first: date, last: date) -> list[date]:
    day = first + timedelta(days=(1 - first.weekday()) % 7)
    out = []
    while day <= last:
        out.append(day)
        day += timedelta(days=7)
    return out


def group(day: date, item: str = "1.3") -> Activity:
    return Activity(item=item, date=day, kind="eltern_kind_gruppe", sessions=1)


def test_week_windows_are_calendar_weeks_and_cut_weeks_join_their_neighbour():
    ws = windows(KGJ.start, KGJ.end, "week")
    assert ws[0] == (date(2025, 8, 1), date(2025, 8, 10))      # Fri–Sun 1–3 Aug joins the week of 4 Aug
    assert ws[1] == (date(2025, 8, 11), date(2025, 8, 17))
    assert ws[-1] == (date(2026, 7, 20), date(2026, 7, 31))    # Mon–Fri 27–31 Jul joins the week before
    assert len(ws) == 51
    assert all(a[1] + timedelta(days=1) == b[0] for a, b in zip(ws, ws[1:]))
    assert all(first.weekday() == 0 and (last - first).days == 6 for first, last in ws[1:-1])
    assert all((last - first).days >= 6 for first, last in ws)  # every window holds every weekday


def test_a_short_period_is_one_week_window():
    assert windows(date(2026, 3, 4), date(2026, 3, 12), "week") == ((date(2026, 3, 4), date(2026, 3, 12)),)
    assert windows(date(2026, 3, 9), date(2026, 3, 15), "week") == ((date(2026, 3, 9), date(2026, 3, 15)),)


def test_every_week_met_and_a_skipped_week_named():
    every = [group(d) for d in tuesdays(KGJ.start, KGJ.end)]
    assert check_frequency(WEEKLY, every, KGJ, "Eltern-Kind-Gruppe") == ()
    skipped = [a for a in every if a.date != date(2026, 3, 10)]
    assert check_frequency(WEEKLY, skipped, KGJ, "Eltern-Kind-Gruppe") == (
        "mindestens 1 Termin „Eltern-Kind-Gruppe“ je Woche gefordert, zu wenig in 1 Woche "
        "(09.03.2026–15.03.2026: 0)",)
    two_in_one_week = skipped + [group(date(2026, 3, 5))]     # a second meeting does not fill another week
    assert check_frequency(WEEKLY, two_in_one_week, KGJ, "Eltern-Kind-Gruppe") != ()


def test_many_skipped_weeks_use_the_plural():
    summer = [group(d) for d in tuesdays(KGJ.start, KGJ.end) if not date(2026, 7, 1) <= d <= date(2026, 7, 31)]
    (reason,) = check_frequency(WEEKLY, summer, KGJ, None)
    assert reason == ("mindestens 1 Termin je Woche gefordert, zu wenig in 3 Wochen (06.07.2026–12.07.2026: 0; "
                             "13.07.2026–19.07.2026: 0; 20.07.2026–31.07.2026: 0)")


def test_the_wording_says_per_week():
    assert frequency_text(WEEKLY, "Eltern-Kind-Gruppe") == "mindestens 1 Termin „Eltern-Kind-Gruppe“ je Woche"


def test_week_is_a_valid_window_in_a_catalogue(mini_text):
    cat = parse_catalogue(mini_text.replace("{activity: kurs, every: month}", "{activity: kurs, every: week}"))
    crit = {c.id: c for _, _, c in cat.all_criteria()}
    assert crit["1.3"].frequency[0].every == "week"
    with pytest.raises(CatalogueError) as exc:
        parse_catalogue(mini_text.replace("{activity: kurs, every: month}", "{activity: kurs, every: weekly}"),
                        "k.yaml")
    assert [str(p) for p in exc.value.problems] == [
        "k.yaml:29: areas[0].criteria[1].frequency[0].every: muss einer dieser Werte sein: "
        "week, month, quarter, half_year, year"]


def _weekly_group_assessment(days: list[date]) -> Assessment:
    return Assessment.model_validate({
        "catalogue": "familienzentrum-nrw", "catalogue_version": "2020", "procedure": "erst", "form": "einzel",
        "period": {"start": KGJ.start, "end": KGJ.end},
        "answers": {"1.3": "erfuellt", "1.3.1": "nicht_erfuellt"},
        "activities": [{"item": "1.3", "date": d, "kind": "eltern_kind_gruppe"} for d in days],
    })


def test_the_shipped_criterion_1_3_is_weekly_and_a_skipped_week_fails_it():
    catalogue = load_catalogue(default_catalogue())
    crit = {c.id: c for _, _, c in catalogue.all_criteria()}["1.3"]
    assert [(r.activity, r.every, r.min) for r in crit.frequency] == [("eltern_kind_gruppe", "week", 1)]
    scorer = Scorer(catalogue)

    def item_13(days):
        report = scorer.score(_weekly_group_assessment(days), KGJ)
        (result,) = [i for c in report.areas[0].criteria if c.id == "1.3" for i in c.items if i.id == "1.3"]
        return result

    every = tuesdays(KGJ.start, KGJ.end)
    assert item_13(every).met
    # March 2026 has five Tuesdays: without the one of 10 March it still has four ("four a month" passed it)
    missed = item_13([d for d in every if d != date(2026, 3, 10)])
    assert not missed.met
    assert missed.reasons == ("mindestens 1 Termin „Eltern-Kind-Gruppe“ je Woche gefordert, zu wenig in 1 Woche "
                              "(09.03.2026–15.03.2026: 0)",)
