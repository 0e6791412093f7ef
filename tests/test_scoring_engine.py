"""The engine on the mini catalogue: combination rules, thresholds, profiles, variants, deficits."""

from datetime import date

import pytest

from certflow.assessment import Period
from certflow.catalogue import parse_catalogue
from certflow.scoring import Scorer

from conftest import KGJ, make_assessment

#: Everything in the mini catalogue met, for an Erst/Einzel with profile 4B.
FULL = {
    "answers": {"1.1": "erfuellt", "1.1.1": "erfuellt", "1.3": "erfuellt", "1.5": "erfuellt", "1.7": "erfuellt",
                "4B1": "erfuellt", "4F1": "erfuellt", "5.1": "erfuellt"},
    "activities": [{"item": "1.3", "date": f"{y}-{m:02d}-10", "kind": "kurs"}
                   for y, m in [(2025, m) for m in range(8, 13)] + [(2026, m) for m in range(1, 8)]]
    + [{"item": "1.5", "date": "2025-09-02", "kind": "sprechstunde", "sessions": 4},
       {"item": "1.5", "date": "2026-03-03", "kind": "sprechstunde", "sessions": 4},
       {"item": "4B1", "date": "2025-10-01", "kind": "kurs", "sessions": 8},
       {"item": "4B1", "date": "2026-03-01", "kind": "kurs", "sessions": 8}],
    "evidence": [{"items": ["1.7"], "kind": "fortbildung", "title": "Beratung", "hours": 30, "date": "2022-01-10"},
                 {"items": ["5.1"], "kind": "konzept", "title": "Analyse", "date": "2026-01-10"}],
    "profiles": ["4B"],
}


def assess(**changes):
    data = {k: (dict(v) if isinstance(v, dict) else list(v)) for k, v in FULL.items()}
    for key, value in changes.items():
        if key == "answers":
            data["answers"].update(value)
        else:
            data[key] = value
    return make_assessment(**data)


def by_id(report):
    out = {}
    for area in report.areas:
        out[area.id] = area
        for c in area.criteria:
            out[c.id] = c
        for p in area.profiles:
            out[p.id] = p
            for c in p.criteria:
                out[c.id] = c
    return out


def test_everything_met(mini):
    report = Scorer(mini).score(assess(), KGJ)
    assert report.passed and report.verdict == "erfüllt"
    assert report.deficits == ()
    r = by_id(report)
    assert (r["1"].tally.points, r["1"].tally.max_points, r["1"].tally.basis_met) == (5, 5, 2)


def test_or_where_only_the_second_branch_holds(mini):
    r = by_id(Scorer(mini).score(assess(answers={"1.3": "nicht_erfuellt", "1.3.1": "erfuellt"}), KGJ))
    assert r["1.3"].met and r["1.3"].reasons == ()
    assert [(i.id, i.met) for i in r["1.3"].items] == [("1.3", False), ("1.3.1", True)]


def test_or_where_no_branch_holds_explains_both(mini):
    r = by_id(Scorer(mini).score(assess(answers={"1.3": "nicht_erfuellt"}), KGJ))
    assert not r["1.3"].met
    assert r["1.3"].reasons == (
        "keine Alternative erfüllt (1.3 ODER 1.3.1)", "als nicht erfüllt angegeben", "1.3.1: keine Angabe",
    )


def test_and_needs_the_sub_item(mini):
    r = by_id(Scorer(mini).score(assess(answers={"1.1.1": "offen"}), KGJ))
    assert not r["1.1"].met and r["1.1"].reasons == ("1.1.1: keine Angabe",)


def test_claimed_but_rule_not_met(mini):
    acts = [a for a in FULL["activities"] if a["item"] != "1.5"] + [
        {"item": "1.5", "date": "2025-09-02", "kind": "sprechstunde", "sessions": 7}]
    r = by_id(Scorer(mini).score(assess(activities=acts), KGJ))
    assert not r["1.5"].met
    assert r["1.5"].reasons == (
        "mindestens 8 Termine „Offene Sprechstunde“ im Prüfzeitraum gefordert, 7 nachgewiesen (1 fehlt)",
        "mindestens 1 Termin „Offene Sprechstunde“ je Halbjahr gefordert, zu wenig in 1 Halbjahr (01.02.2026–31.07.2026: 0)",
    )


def test_area_exactly_at_threshold_and_one_below(mini_text):
    # Area 1 has 5 points at most; set the threshold to 4 and drop 1.7 (1 point): exactly 4.
    cat = parse_catalogue(mini_text.replace("min_points: 2, min_basis: 1}", "min_points: 4, min_basis: 2}"))
    scorer = Scorer(cat)
    at = scorer.score(assess(answers={"1.7": "nicht_erfuellt"}), KGJ)
    assert by_id(at)["1"].met and at.passed
    below = scorer.score(assess(answers={"1.7": "nicht_erfuellt", "1.5": "nicht_erfuellt"}), KGJ)
    area = by_id(below)["1"]
    assert not area.met and not below.passed
    assert area.reasons == ("2 von mindestens 4 Punkten (2 fehlen)",)
    basis_short = scorer.score(assess(answers={"1.1": "offen"}), KGJ)
    assert by_id(basis_short)["1"].reasons == ("1 von mindestens 2 Basiskriterien erfüllt (1 fehlt)",)


def test_profiles_must_be_chosen_and_met(mini):
    scorer = Scorer(mini)
    none = scorer.score(assess(profiles=[]), KGJ)
    assert by_id(none)["4"].reasons == (
        "0 Profil(e) gewählt, mindestens 1 gefordert",
        "0 gewählte(s) Profil(e) erfüllt, mindestens 1 gefordert (nicht erfüllt: keines)",
    )
    failing = scorer.score(assess(answers={"4B1": "offen"}), KGJ)
    assert not failing.passed
    assert by_id(failing)["4"].reasons == ("0 gewählte(s) Profil(e) erfüllt, mindestens 1 gefordert (nicht erfüllt: 4B)",)
    # 4F instead of 4B: 4F1 is answered, so the choice alone decides.
    other = scorer.score(assess(answers={"4B1": "offen"}, profiles=["4F"]), KGJ)
    assert other.passed and by_id(other)["4F"].chosen and not by_id(other)["4B"].chosen


def test_verbund_only_criterion_applies_only_to_a_verbund(mini):
    scorer = Scorer(mini)
    einzel = by_id(scorer.score(assess(), KGJ))
    assert "5.3" not in einzel
    verbund = scorer.score(assess(form="verbund"), KGJ)
    r = by_id(verbund)
    assert not r["5.3"].met and r["5"].tally.basis_total == 2
    assert verbund.passed  # area 5 needs only one Basis item


def test_deficits_are_ordered_by_area_and_flag_what_blocks(mini):
    report = Scorer(mini).score(assess(answers={"1.1": "offen", "1.3": "offen", "5.1": "nicht_erfuellt", "1.7": "offen"}), KGJ)
    assert [(d.area, d.subject, d.blocking) for d in report.deficits] == [
        ("1", "Bereich 1", True), ("1", "1.1", True), ("1", "1.3", True), ("1", "1.7", True),
        ("5", "Bereich 5", True), ("5", "Bereich 5", True), ("5", "5.1", True),
    ]


def test_non_blocking_deficit(mini):
    report = Scorer(mini).score(assess(answers={"1.7": "offen"}), KGJ)
    assert report.passed
    assert [(d.subject, d.blocking, d.message) for d in report.deficits] == [("1.7", False, "keine Angabe")]


def test_same_input_same_report(mini):
    scorer = Scorer(mini)
    assert scorer.score(assess(), KGJ) == scorer.score(assess(), KGJ) == Scorer(mini).score(assess(), KGJ)


def test_period_changes_the_outcome(mini):
    # The same records judged for the next Kindergartenjahr: nothing took place in it.
    later = Period(start=date(2026, 8, 1), end=date(2027, 7, 31))
    r = by_id(Scorer(mini).score(assess(), later))
    assert not r["1.5"].met and not r["4B1"].met


def test_json_report_shape(mini):
    data = Scorer(mini).score(assess(answers={"1.7": "offen"}), KGJ).to_dict()
    assert data["verdict"] == "erfüllt" and data["period_start"] == "2025-08-01"
    assert data["areas"][0]["tally"] == {
        "points": 4, "max_points": 5, "min_points": 2, "basis_met": 2, "basis_total": 2, "min_basis": 1, "met": True,
    }


@pytest.mark.parametrize("procedure,form", [("erst", "einzel"), ("erst", "verbund"), ("re", "einzel"), ("re", "verbund")])
def test_every_variant_compiles_once(mini, procedure, form):
    scorer = Scorer(mini)
    a = assess(procedure=procedure, form=form)
    scorer.score(a, KGJ)
    plan = scorer.plan(a.variant)
    scorer.score(a, KGJ)
    assert scorer.plan(a.variant) is plan


def test_verbund_override_in_the_shipped_catalogue():
    from certflow.assessment import Answer, Status
    from certflow.catalogue import load_catalogue
    from certflow.catalogue.model import Form, ProcedureKind, Variant
    from certflow.resources import default_catalogue
    from certflow.samples import satisfying_assessment

    cat = load_catalogue(default_catalogue())
    scorer = Scorer(cat)
    a = satisfying_assessment(cat, Variant(ProcedureKind.ERST, Form.VERBUND))
    assert scorer.score(a, a.period).passed
    without = a.model_copy(update={"answers": {**a.answers, "6.6": Answer(status=Status.OFFEN)}})
    report = scorer.score(without, a.period)
    assert not report.passed
    assert by_id(report)["6"].reasons == ("5 von mindestens 6 Basiskriterien erfüllt (1 fehlt)",)
