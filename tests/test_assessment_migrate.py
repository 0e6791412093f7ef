from certflow.assessment import Status
from certflow.assessment.migrate import migrate_assessment
from certflow.catalogue import parse_catalogue

from conftest import make_assessment


def test_unchanged_answers_are_kept_and_every_drop_is_reported(mini_text):
    old = parse_catalogue(mini_text)
    new = parse_catalogue(
        mini_text.replace('version: "1"', 'version: "2"')
        .replace("title: Offene Sprechstunde", "title: Offene Sprechstunde für Eltern")
        .replace('      - id: "1.7"', '      - id: "1.8"')
        .replace("      - id: 4F\n", "      - id: 4G\n").replace("id: 4F1", "id: 4G1")
    )
    a = make_assessment(
        answers={"1.1": "erfuellt", "1.5": "erfuellt", "1.7": "nicht_erfuellt"},
        profiles=["4B", "4F"],
        activities=[{"item": "1.5", "date": "2025-09-01", "kind": "sprechstunde"},
                    {"item": "1.7", "date": "2025-09-01", "kind": "kurs"}],
        evidence=[{"items": ["1.7", "1.1"], "kind": "fortbildung", "title": "Kurs", "date": "2025-01-01"},
                  {"items": ["1.7"], "kind": "fortbildung", "title": "Nur 1.7", "date": "2025-01-01"}],
    )
    carried, dropped = migrate_assessment(a, old, new)
    assert carried.catalogue_version == "2"
    assert carried.answers == {"1.1": a.answers["1.1"]}
    assert carried.answers["1.1"].status is Status.ERFUELLT
    assert carried.profiles == ["4B"]
    assert [act.item for act in carried.activities] == ["1.5"]  # facts stay while their item exists
    assert [(e.title, e.items) for e in carried.evidence] == [("Kurs", ["1.1"])]
    assert [str(d) for d in dropped] == [
        "Antwort 1.5: in test-programm@2 geändert (Titel), bitte neu beantworten",
        "Antwort 1.7: entfällt in test-programm@2",
        "Angebot 2 (1.7, 01.09.2025): entfällt in test-programm@2",
        "Nachweis 1 („Kurs“), Bezug 1.7: entfällt in test-programm@2",
        "Nachweis 2 („Nur 1.7“), Bezug 1.7: entfällt in test-programm@2",
        "Nachweis 2 („Nur 1.7“): kein Bezug bleibt übrig",
        "Profil 4F: entfällt in test-programm@2",
    ]


def test_migrating_to_the_same_version_keeps_everything(mini):
    a = make_assessment(answers={"1.1": "erfuellt"}, profiles=["4B"])
    carried, dropped = migrate_assessment(a, mini, mini)
    assert carried == a and dropped == []
