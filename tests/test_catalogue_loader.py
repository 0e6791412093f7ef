"""The catalogue loader: every error names file, line and field."""

import pytest

from certflow.catalogue import load_catalogue, parse_catalogue
from certflow.catalogue.model import AllOf, AnyOf, Level
from certflow.errors import CatalogueError


def errors(text: str) -> list[str]:
    with pytest.raises(CatalogueError) as exc:
        parse_catalogue(text, "k.yaml")
    return [str(p) for p in exc.value.problems]


def test_mini_catalogue_loads(mini):
    assert mini.key == "test-programm@1"
    crit = {c.id: c for _, _, c in mini.all_criteria()}
    assert crit["1.1"].level is Level.BASIS
    assert crit["1.5"].points == 2
    assert isinstance(crit["1.3"].logic, AnyOf)
    assert isinstance(crit["1.1"].effective_logic(), AllOf)


def test_unknown_key(mini_text):
    bad = mini_text.replace("threshold: {min_points: 2, min_basis: 1}", "threshold: {min_points: 2, min_basis: 1, mni: 1}")
    assert errors(bad) == ["k.yaml:16: areas[0].threshold.mni: unbekannter Schlüssel"]


def test_wrong_enum_value(mini_text):
    bad = mini_text.replace("level: aufbau\n        points: 2", "level: aufbaU\n        points: 2")
    assert errors(bad) == ["k.yaml:35: areas[0].criteria[2].level: muss einer dieser Werte sein: basis, aufbau"]


def test_missing_field(mini_text):
    bad = mini_text.replace("        title: Verzeichnis der Beratungsstellen\n", "")
    assert errors(bad) == ["k.yaml:18: areas[0].criteria[0].title: Pflichtfeld fehlt"]


def test_number_where_text_expected_is_read_as_text(mini_text):
    # "version: 1" unquoted stays the string "1": YAML numbers never turn ids into floats.
    cat = parse_catalogue(mini_text.replace('version: "1"', "version: 1.10"), "k.yaml")
    assert cat.version == "1.10"


def test_duplicate_ids(mini_text):
    bad = mini_text.replace("id: 4F1", "id: 4B1")
    assert errors(bad) == [
        "k.yaml:64: areas[1].profiles[1].criteria[0].id: Kriterium '4B1' muss mit '4F' beginnen (Bereichs- bzw. Profilkennung)",
        "k.yaml:64: areas[1].profiles[1].criteria[0].id: Kennung '4B1' doppelt (schon bei areas[1].profiles[0].criteria[0].id)",
    ]


def test_sub_item_must_carry_parent_number(mini_text):
    bad = mini_text.replace('- id: "1.1.1"', '- id: "1.2.1"')
    assert errors(bad) == ["k.yaml:23: areas[0].criteria[0].items[0].id: Unterpunkt '1.2.1' muss mit '1.1.' beginnen (Kennung des Kriteriums und einen Punkt)"]


def test_dangling_logic_reference_and_unused_item(mini_text):
    bad = mini_text.replace('any: ["1.3", "1.3.1"]', 'any: ["1.3", "1.3.2"]')
    assert errors(bad) == [
        "k.yaml:31: areas[0].criteria[1].items[0].id: Unterpunkt '1.3.1' kommt in logic von 1.3 nicht vor",
        "k.yaml:33: areas[0].criteria[1].logic: verweist auf '1.3.2', das weder das Kriterium 1.3 noch einer seiner Unterpunkte ist",
    ]


def test_malformed_logic(mini_text):
    bad = mini_text.replace('{any: ["1.3", "1.3.1"]}', '{any: ["1.3", {either: ["1.3.1"]}]}')
    assert errors(bad) == ["k.yaml:33: areas[0].criteria[1].logic: any[1]: erwartet eine Kennung oder genau einen Schlüssel 'all' oder 'any'"]


def test_dangling_evidence_and_activity_kinds(mini_text):
    bad = mini_text.replace("kind: fortbildung, min_hours", "kind: zeugnis, min_hours").replace(
        "{activity: kurs, every: month}", "{activity: kursus, every: month}"
    )
    assert errors(bad) == [
        "k.yaml:29: areas[0].criteria[1].frequency[0].activity: Angebotsart 'kursus' ist nicht unter activity_kinds erklärt",
        "k.yaml:45: areas[0].criteria[3].evidence[0].kind: Nachweisart 'zeugnis' ist nicht unter evidence_kinds erklärt",
    ]


def test_malformed_frequency_rule(mini_text):
    bad = mini_text.replace("{activity: sprechstunde, min: 8}", "{activity: sprechstunde, min: 0, every: fortnight}")
    assert errors(bad) == [
        "k.yaml:39: areas[0].criteria[2].frequency[0].every: muss einer dieser Werte sein: week, month, quarter, half_year, year",
        "k.yaml:39: areas[0].criteria[2].frequency[0].min: muss mindestens 1 sein",
    ]
    bad = mini_text.replace("{activity: kurs, count: records, every: half_year, each_min_sessions: 8}",
                            "{activity: kurs, every: half_year, each_min_sessions: 8}")
    assert errors(bad) == ["k.yaml:59: areas[1].profiles[0].criteria[0].frequency[0].each_min_sessions: each_min_sessions gilt nur mit count: records (gezählt werden Angebote, nicht Termine)"]


def test_unreachable_threshold(mini_text):
    bad = mini_text.replace("min_points: 2, min_basis: 1}", "min_points: 6, min_basis: 3}")
    assert errors(bad) == [
        "k.yaml:16: areas[0].threshold.min_basis: Schwelle 3 Basiskriterien ist nicht erreichbar: nur 2 Basiskriterien vorhanden (erst-einzel)",
        "k.yaml:16: areas[0].threshold.min_points: Schwelle 6 Punkte ist nicht erreichbar: höchstens 5 Punkte möglich (erst-einzel)",
    ]


def test_threshold_reachable_only_with_a_verbund_criterion_is_an_error(mini_text):
    # Area 5 has 5.1 for everyone and 5.3 for Verbünde only: 2 Basis items are out of reach for an Einzel.
    bad = mini_text.replace("threshold: {min_points: 1, min_basis: 1, provisional", "threshold: {min_points: 1, min_basis: 2, provisional")
    assert errors(bad) == ["k.yaml:70: areas[2].threshold.min_basis: Schwelle 2 Basiskriterien ist nicht erreichbar: nur 1 Basiskriterien vorhanden (erst-einzel)"]


def test_profile_rule_must_be_satisfiable(mini_text):
    bad = mini_text.replace("profile_rule: {min_chosen: 1, min_met: 1}", "profile_rule: {min_chosen: 3, min_met: 1}")
    assert errors(bad) == ["k.yaml:49: areas[1].profile_rule.min_chosen: 3 Profile zu wählen, aber nur 2 vorhanden"]


def test_provisional_needs_a_note(mini_text):
    bad = mini_text.replace(", note: nur zum Test}", "}")
    assert errors(bad) == ["k.yaml:70: areas[2].threshold.provisional: provisional: true braucht eine note, die sagt, warum der Wert vorläufig ist"]


def test_not_a_mapping():
    assert errors("- a\n- b\n") == ["k.yaml:1: ein Katalog ist ein Abschnitt mit Schlüsseln (programme, version, areas, ...)"]


def test_unreadable_file(tmp_path):
    with pytest.raises(CatalogueError, match="Datei nicht lesbar"):
        load_catalogue(tmp_path / "missing.yaml")
    bad = tmp_path / "latin1.yaml"
    bad.write_bytes("title: Gr\xfc\xdfe\n".encode("latin-1"))
    with pytest.raises(CatalogueError, match="Datei nicht lesbar"):
        load_catalogue(bad)


def test_logic_must_name_the_criterion_itself_once(mini_text):
    assert errors(mini_text.replace('{any: ["1.3", "1.3.1"]}', '{any: ["1.3.1"]}')) == [
        "k.yaml:33: areas[0].criteria[1].logic: nennt das Kriterium 1.3 selbst nicht (seine eigene Aussage zählte sonst nie)",
    ]
    assert errors(mini_text.replace('{any: ["1.3", "1.3.1"]}', '{any: ["1.3", "1.3.1", {all: ["1.3.1"]}]}')) == [
        "k.yaml:33: areas[0].criteria[1].logic: nennt '1.3.1' mehrfach",
    ]


def test_valid_until_before_valid_from(mini_text):
    assert errors(mini_text.replace("valid_from: 2020-08-01", "valid_from: 2020-08-01\nvalid_until: 2019-07-31")) == [
        "k.yaml:6: valid_until: valid_until 2019-07-31 liegt vor valid_from 2020-08-01",
    ]


def test_min_met_above_min_chosen(mini_text):
    assert errors(mini_text.replace("profile_rule: {min_chosen: 1, min_met: 1}", "profile_rule: {min_chosen: 1, min_met: 2}")) == [
        "k.yaml:49: areas[1].profile_rule.min_met: min_met 2 ist größer als min_chosen 1: min_chosen anheben",
    ]


def test_threshold_override_per_variant(mini_text):
    # A Verbund must meet both Basis items of area 5 (5.3 applies to Verbünde only).
    text = mini_text.replace(
        "threshold: {min_points: 1, min_basis: 1, provisional: true, note: nur zum Test}",
        "threshold: {min_points: 1, min_basis: 1, overrides: [{form: [verbund], min_basis: 2}], provisional: true, note: nur zum Test}",
    )
    cat = parse_catalogue(text, "k.yaml")
    from certflow.catalogue.model import Form, ProcedureKind, Variant

    t = cat.areas[2].threshold
    assert t.for_variant(Variant(ProcedureKind.ERST, Form.EINZEL)) == (1, 1)
    assert t.for_variant(Variant(ProcedureKind.RE, Form.VERBUND)) == (1, 2)
    # ... and an override that no variant can reach is an error like any threshold.
    assert errors(text.replace("min_basis: 2}]", "min_basis: 3}]")) == [
        "k.yaml:70: areas[2].threshold.min_basis: Schwelle 3 Basiskriterien ist nicht erreichbar: nur 2 Basiskriterien vorhanden (erst-verbund)",
    ]


def test_shipped_catalogues_load():
    from certflow.resources import shipped_catalogues

    loaded = {load_catalogue(p).key: load_catalogue(p) for p in shipped_catalogues()}
    assert set(loaded) == {"familienzentrum-nrw@2010", "familienzentrum-nrw@2020"}
    cat2020 = loaded["familienzentrum-nrw@2020"]
    assert len(cat2020.all_criteria()) >= 60
    assert [a.id for a in cat2020.areas] == ["1", "2", "3", "4", "5", "6", "7", "8"]
    assert [p.id for p in cat2020.areas[3].profiles][:3] == ["4B", "4F", "4K"]
    assert len(cat2020.areas[3].profiles) == 7


def test_worked_example_in_the_docs_is_valid():
    from conftest import ROOT

    doc = (ROOT / "docs" / "catalogue.md").read_text(encoding="utf-8")
    example = doc.split("```yaml\n", 1)[1].split("```", 1)[0]
    cat = parse_catalogue(example, "docs/catalogue.md")
    assert [a.kind.value for a in cat.areas] == ["leistung", "profil", "struktur"]
