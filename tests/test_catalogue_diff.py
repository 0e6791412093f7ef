from certflow.catalogue import parse_catalogue
from certflow.catalogue.diff import diff_catalogues


def test_identical_catalogues_have_no_diff(mini):
    assert diff_catalogues(mini, mini).empty


def test_added_removed_changed_and_thresholds(mini_text):
    old = parse_catalogue(mini_text)
    new_text = (
        mini_text.replace('version: "1"', 'version: "2"')
        .replace("title: Offene Sprechstunde", "title: Offene Sprechstunde für Eltern")
        .replace("level: aufbau\n        points: 2", "level: basis\n        points: 1")
        .replace("{activity: sprechstunde, min: 8}", "{activity: sprechstunde, min: 10}")
        .replace("min_points: 2, min_basis: 1}", "min_points: 3, min_basis: 1}")
        .replace('      - id: "1.7"', '      - id: "1.8"')
        .replace('          - id: "1.3.1"\n            title: Vermittlung in eine Eltern-Kind-Gruppe',
                 '          - id: "1.3.1"\n            title: Vermittlung in eine Gruppe')
    )
    new = parse_catalogue(new_text)
    d = diff_catalogues(old, new)
    assert [str(c) for c in d.criteria] == [
        "~ 1.3 Eltern-Kind-Gruppe: Unterpunkt 1.3.1: Titel geändert",
        "~ 1.5 Offene Sprechstunde für Eltern: Stufe aufbau → basis; Punkte 2 → 1; Titel geändert; Häufigkeitsregeln geändert",
        "+ 1.8 Qualifizierte Fachkraft: in 1, aufbau, 1 Punkt(e)",
        "- 1.7 Qualifizierte Fachkraft",
    ]
    assert [str(c) for c in d.thresholds] == ["~ Bereich 1: Mindestpunkte 2 → 3"]


def test_moved_criterion_and_changed_logic(mini_text):
    old = parse_catalogue(mini_text)
    new = parse_catalogue(mini_text.replace('{any: ["1.3", "1.3.1"]}', '{all: ["1.3", "1.3.1"]}'))
    assert [str(c) for c in diff_catalogues(old, new).criteria] == [
        "~ 1.3 Eltern-Kind-Gruppe: Verknüpfung 1.3 ODER 1.3.1 → 1.3 UND 1.3.1",
    ]


def test_shipped_versions_differ():
    from certflow.catalogue import load_catalogue
    from certflow.resources import criteria_dir

    d = diff_catalogues(load_catalogue(criteria_dir() / "familienzentrum-nrw-2010.yaml"),
                        load_catalogue(criteria_dir() / "familienzentrum-nrw-2020.yaml"))
    kinds = {c.what for c in d.criteria}
    assert kinds == {"added", "removed", "changed"}
    assert any(c.subject.startswith("Profil 4B") and c.what == "added" for c in d.thresholds)
