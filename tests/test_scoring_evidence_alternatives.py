"""Evidence rules with alternatives of kinds: a qualification counts as well as a training."""

from datetime import date

import pytest

from certflow.assessment import Assessment, Evidence, Period
from certflow.catalogue import load_catalogue, parse_catalogue
from certflow.catalogue.model import EvidenceRule
from certflow.catalogue.wording import evidence_text
from certflow.errors import CatalogueError
from certflow.resources import default_catalogue
from certflow.scoring import Scorer
from certflow.scoring.rules import check_evidence

KGJ = Period(start=date(2025, 8, 1), end=date(2026, 7, 31))
LABELS = {"qualifikation": "Qualifikationsnachweis", "fortbildung": "Fortbildungsnachweis"}
RULE = EvidenceRule.model_validate({
    "kind": "qualifikation", "min_hours": 30,
    "alternatives": [{"kind": "fortbildung", "min_hours": 30, "max_age_years": 7}],
})


def ev(kind: str, day: str, hours: float | None, title: str = "Nachweis") -> Evidence:
    return Evidence(items=["1.7"], kind=kind, title=title, date=date.fromisoformat(day), hours=hours)


def check(evidence) -> tuple[str, ...]:
    return check_evidence(RULE, evidence, KGJ, LABELS["qualifikation"], (LABELS["fortbildung"],))


def test_either_kind_counts():
    assert check([ev("qualifikation", "2012-05-01", 120)]) == ()   # a Zusatzausbildung does not age
    assert check([ev("fortbildung", "2024-05-01", 32)]) == ()       # a training of 30 h or more
    assert check([ev("qualifikation", "2012-05-01", 12), ev("fortbildung", "2024-05-01", 30)]) == ()


def test_none_given_names_both_kinds():
    assert check([]) == ("Nachweis „Qualifikationsnachweis“ oder „Fortbildungsnachweis“ fehlt",)


def test_each_alternative_keeps_its_own_conditions():
    reasons = check([ev("qualifikation", "2025-01-10", 12, "Kurs A"), ev("fortbildung", "2015-03-01", 40, "Kurs B")])
    assert reasons == (
        "keine Alternative erfüllt: 0 von 1 gültigen Nachweisen „Qualifikationsnachweis“: „Kurs A“ nur 12 Std., "
        "mindestens 30 Std. gefordert; 0 von 1 gültigen Nachweisen „Fortbildungsnachweis“: „Kurs B“ (01.03.2015) "
        "ist älter als 7 Jahre (Stichtag 31.07.2026)",)


def test_a_rule_without_alternatives_reads_as_before():
    plain = EvidenceRule(kind="fortbildung", min_hours=6)
    assert plain.options() == (plain.options()[0],) and plain.options()[0].kind == "fortbildung"
    assert check_evidence(plain, [], KGJ, "Fortbildungsnachweis") == ("Nachweis „Fortbildungsnachweis“ fehlt",)


def test_the_wording_names_every_alternative():
    assert evidence_text(RULE, "Qualifikationsnachweis", LABELS) == (
        "Nachweis „Qualifikationsnachweis“, mindestens 30 Std. oder Nachweis „Fortbildungsnachweis“, "
        "mindestens 30 Std., höchstens 7 Jahre alt")


ALTERNATIVE = ("          - {kind: fortbildung, min_hours: 30, max_age_years: 7}",
               "          - kind: fortbildung\n"
               "            min_hours: 30\n"
               "            alternatives:\n"
               "              - {kind: KIND, min_hours: 30}")


def test_alternatives_in_a_catalogue(mini_text):
    text = mini_text.replace(ALTERNATIVE[0], ALTERNATIVE[1].replace("KIND", "konzept"))
    cat = parse_catalogue(text)
    (rule,) = {c.id: c for _, _, c in cat.all_criteria()}["1.7"].evidence
    assert [o.kind for o in rule.options()] == ["fortbildung", "konzept"]


def test_an_undeclared_alternative_is_located(mini_text):
    with pytest.raises(CatalogueError) as exc:
        parse_catalogue(mini_text.replace(ALTERNATIVE[0], ALTERNATIVE[1].replace("KIND", "zeugnis")), "k.yaml")
    assert [str(p) for p in exc.value.problems] == [
        "k.yaml:48: areas[0].criteria[3].evidence[0].alternatives[0].kind: "
        "Nachweisart 'zeugnis' ist nicht unter evidence_kinds erklärt"]


def test_an_alternative_has_no_scope_and_no_alternatives_of_its_own(mini_text):
    nested = ALTERNATIVE[1].replace("KIND", "konzept").replace("min_hours: 30}", "alternatives: []}")
    with pytest.raises(CatalogueError) as exc:
        parse_catalogue(mini_text.replace(ALTERNATIVE[0], nested), "k.yaml")
    assert [str(p) for p in exc.value.problems] == [
        "k.yaml:48: areas[0].criteria[3].evidence[0].alternatives[0].alternatives: unbekannter Schlüssel"]
    same = ALTERNATIVE[1].replace("KIND", "fortbildung")
    with pytest.raises(CatalogueError) as exc:
        parse_catalogue(mini_text.replace(ALTERNATIVE[0], same), "k.yaml")
    assert [str(p) for p in exc.value.problems] == [
        "k.yaml:48: areas[0].criteria[3].evidence[0].alternatives[0]: "
        "dieselbe Nachweisregel wie die Regel selbst (Art 'fortbildung', gleiche Bedingungen)"]


def _assessment(answers: dict, *evidence: dict) -> Assessment:
    return Assessment.model_validate({
        "catalogue": "familienzentrum-nrw", "catalogue_version": "2020", "procedure": "erst", "form": "einzel",
        "period": {"start": KGJ.start, "end": KGJ.end}, "answers": answers, "evidence": list(evidence),
    })


def _assessment_17(*evidence: dict) -> Assessment:
    return _assessment({"1.7": "erfuellt"}, *({"items": ["1.7"], **e} for e in evidence))


@pytest.fixture(scope="module")
def shipped():
    return load_catalogue(default_catalogue())


def _criterion(report, cid):
    return next(c for a in report.areas for c in a.criteria if c.id == cid)


def test_the_shipped_criterion_1_7_accepts_a_zusatzausbildung_or_a_fortbildung(shipped):
    scorer = Scorer(shipped)
    for kind in ("qualifikation", "fortbildung"):
        record = {"kind": kind, "title": "Erst- und Verweisberatung", "date": "2023-06-30", "hours": 30}
        assert _criterion(scorer.score(_assessment_17(record), KGJ), "1.7").met, kind
    short = {"kind": "fortbildung", "title": "Impulstag", "date": "2025-03-01", "hours": 6}
    result = _criterion(scorer.score(_assessment_17(short), KGJ), "1.7")
    assert not result.met
    assert result.reasons == (
        "keine Alternative erfüllt: Nachweis „Qualifikationsnachweis (Weiterbildung, Zusatzausbildung)“ fehlt; "
        "0 von 1 gültigen Nachweisen „Fortbildungsnachweis“: „Impulstag“ nur 6 Std., mindestens 30 Std. gefordert",)


def test_the_shipped_criterion_1_2_accepts_a_qualification_instead_of_a_training(shipped):
    scorer = Scorer(shipped)
    answers = {"1.2": "erfuellt", "1.2.1": "erfuellt"}

    def met(**record):
        piece = {"items": ["1.2"], "title": "Interkulturelle Kompetenz", "date": "2016-04-01", **record}
        return _criterion(scorer.score(_assessment(answers, piece), KGJ), "1.2").met

    assert met(kind="qualifikation")                  # a Zusatzausbildung of 2016 still counts
    assert not met(kind="fortbildung", hours=8)       # a one-day training of 2016 is too old
    assert met(kind="fortbildung", hours=8, date="2022-04-01")
