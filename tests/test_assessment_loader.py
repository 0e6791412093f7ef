import pytest

from certflow.assessment import Status, load_assessment, parse_assessment
from certflow.errors import AssessmentError

from conftest import DATA


def errors(text, catalogue=None):
    with pytest.raises(AssessmentError) as exc:
        parse_assessment(text, "a.yaml", catalogue)
    return [str(p) for p in exc.value.problems]


HEAD = 'catalogue: test-programm\ncatalogue_version: "1"\nprocedure: erst\nform: einzel\n'


def test_example_loads(mini):
    a = load_assessment(DATA / "mini-assessment.yaml", mini)
    assert a.answers["1.5"].comment == "jeden ersten Dienstag"
    assert a.status_of("1.1") is Status.ERFUELLT and a.status_of("4F1") is Status.OFFEN
    assert str(a.variant) == "erst-einzel"


def test_schema_errors_are_located():
    text = HEAD + "answers:\n  '1.1': vielleicht\nactivities:\n  - {item: '1.5', date: 2025-13-01, kind: kurs, sessions: 0}\n"
    assert errors(text) == [
        'a.yaml:6: answers["1.1"].status: muss einer dieser Werte sein: erfuellt, nicht_erfuellt, offen',
        "a.yaml:8: activities[0].date: muss ein Datum sein (JJJJ-MM-TT)",
        "a.yaml:8: activities[0].sessions: muss mindestens 1 sein",
    ]


def test_period_must_be_ordered():
    assert errors(HEAD + "period: {start: 2026-08-01, end: 2026-07-31}\n") == [
        "a.yaml:5: period: Ende 2026-07-31 liegt vor dem Beginn 2026-08-01",
    ]


def test_bad_checksum():
    text = HEAD + "evidence:\n  - {items: ['1.7'], kind: fortbildung, title: X, date: 2024-01-01, sha256: abc}\n"
    assert errors(text) == ["a.yaml:6: evidence[0].sha256: hat nicht die erwartete Form (^[0-9a-f]{64}$)"]


def test_names_checked_against_the_catalogue(mini):
    text = (
        'catalogue: test-programm\ncatalogue_version: "2"\nprocedure: erst\nform: einzel\n'
        "profiles: [4X]\nanswers:\n  '9.9': erfuellt\n"
        "activities:\n  - {item: '1.5', date: 2025-09-01, kind: yoga}\n"
        "evidence:\n  - {items: ['1.7', '7.7'], kind: urkunde, title: X, date: 2024-01-01}\n"
    )
    assert errors(text, mini) == [
        "a.yaml:2: catalogue_version: Selbstbewertung gehört zu Version 2, der Katalog hat Version 1 (mit 'certflow assessment migrate' übertragen)",
        "a.yaml:5: profiles[0]: Profil '4X' gibt es im Katalog nicht (vorhanden: 4B, 4F)",
        "a.yaml:7: answers[\"9.9\"]: Kriterium oder Unterpunkt '9.9' gibt es im Katalog test-programm@1 nicht",
        "a.yaml:9: activities[0].kind: Angebotsart 'yoga' ist im Katalog nicht erklärt (vorhanden: sprechstunde, kurs)",
        "a.yaml:11: evidence[0].items[1]: Kriterium oder Unterpunkt '7.7' gibt es im Katalog nicht",
        "a.yaml:11: evidence[0].kind: Nachweisart 'urkunde' ist im Katalog nicht erklärt (vorhanden: fortbildung, konzept)",
    ]


def test_json_assessment(mini, tmp_path):
    path = tmp_path / "a.json"
    path.write_text('{"catalogue": "test-programm", "catalogue_version": "1", "procedure": "re",\n'
                    ' "form": "verbund", "answers": {"1.1": {"status": "erfuellt"}}}\n', encoding="utf-8")
    a = load_assessment(path, mini)
    assert str(a.variant) == "re-verbund" and a.status_of("1.1") is Status.ERFUELLT
