"""The command line: exit codes, messages and exact output."""

import json
import os

import pytest
from click.testing import CliRunner

from certflow.cli import cli
from certflow.resources import criteria_dir, examples_dir

from conftest import DATA

GOLDEN = DATA / "golden"


@pytest.fixture
def run(monkeypatch):
    monkeypatch.setenv("COLUMNS", "110")
    runner = CliRunner()

    def invoke(*args):
        return runner.invoke(cli, [str(a) for a in args], catch_exceptions=False)

    return invoke


def golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("CERTFLOW_UPDATE_GOLDEN"):
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8"), f"output differs from {path} (CERTFLOW_UPDATE_GOLDEN=1 rewrites it)"


def test_validate_ok(run):
    result = run("catalogue", "validate", criteria_dir() / "familienzentrum-nrw-2020.yaml")
    assert result.exit_code == 0
    assert result.output.endswith("gültig (familienzentrum-nrw@2020, 80 Kriterien)\n")


def test_validate_error_has_location_and_exit_2(run, tmp_path, mini_text):
    bad = tmp_path / "bad.yaml"
    bad.write_text(mini_text.replace("level: aufbau\n        points: 2", "level: aufbau\n        points: zwei"), encoding="utf-8")
    result = run("catalogue", "validate", bad)
    assert result.exit_code == 2
    assert result.output == (
        "Fehler (Katalog): 1 Problem(e)\n"
        f"  {bad}:36: areas[0].criteria[2].points: muss eine ganze Zahl sein\n"
    )
    assert "Traceback" not in result.output


def test_validate_missing_file(run, tmp_path):
    result = run("catalogue", "validate", tmp_path / "nope.yaml")
    assert result.exit_code == 2
    assert "Datei nicht lesbar: No such file or directory" in result.output


def test_show(run):
    result = run("catalogue", "show", DATA / "mini.yaml")
    assert result.exit_code == 0
    golden("show-mini.txt", result.output)


def test_diff(run):
    result = run("catalogue", "diff", criteria_dir() / "familienzentrum-nrw-2010.yaml",
                 criteria_dir() / "familienzentrum-nrw-2020.yaml")
    assert result.exit_code == 0
    assert result.output.startswith("Vergleich familienzentrum-nrw@2010 → familienzentrum-nrw@2020\nKriterien: ")


def test_score_pass_and_fail_exit_codes(run):
    assert run("score", examples_dir() / "assessment-pass.yaml").exit_code == 0
    assert run("score", examples_dir() / "assessment-fail.yaml").exit_code == 1


def test_score_text_output(run):
    result = run("score", DATA / "mini-assessment-fail.yaml", "--catalogue", DATA / "mini.yaml")
    assert result.exit_code == 1
    golden("score-mini-fail.txt", result.output)


def test_score_json(run):
    result = run("score", DATA / "mini-assessment.yaml", "--catalogue", DATA / "mini.yaml", "--format", "json")
    assert result.exit_code == 0
    data = json.loads(result.output)
    assert data["verdict"] == "erfüllt" and [a["id"] for a in data["areas"]] == ["1", "4", "5"]


def test_score_period_from_the_command_line(run):
    result = run("score", DATA / "mini-assessment.yaml", "--catalogue", DATA / "mini.yaml",
                 "--period-start", "2026-08-01", "--period-end", "2027-07-31", "--format", "json")
    assert result.exit_code == 1
    assert json.loads(result.output)["period_start"] == "2026-08-01"


def test_score_bad_period_arguments(run):
    result = run("score", DATA / "mini-assessment.yaml", "--catalogue", DATA / "mini.yaml", "--period-start", "2026-08-01")
    assert result.exit_code == 2 and "nur zusammen" in result.output
    result = run("score", DATA / "mini-assessment.yaml", "--catalogue", DATA / "mini.yaml",
                 "--period-start", "2026-08-01", "--period-end", "2026-07-01")
    assert result.exit_code == 2 and "liegt vor" in result.output


def test_score_without_period(run, tmp_path):
    text = (DATA / "mini-assessment.yaml").read_text(encoding="utf-8")
    path = tmp_path / "a.yaml"
    path.write_text(text.replace("period: {start: 2025-08-01, end: 2026-07-31}\n", ""), encoding="utf-8")
    result = run("score", path, "--catalogue", DATA / "mini.yaml")
    assert result.exit_code == 2
    assert f"{path}: period: kein Prüfzeitraum" in result.output


def test_score_unknown_shipped_catalogue(run):
    result = run("score", DATA / "mini-assessment.yaml")
    assert result.exit_code == 2
    assert "kein mitgelieferter Katalog test-programm@1; mit --catalogue DATEI angeben" in result.output


def test_score_bad_assessment(run, tmp_path):
    path = tmp_path / "a.yaml"
    path.write_text("catalogue: test-programm\ncatalogue_version: '1'\nprocedure: erst\nform: einzel\nanswers: [1]\n", encoding="utf-8")
    result = run("score", path, "--catalogue", DATA / "mini.yaml")
    assert result.exit_code == 2
    assert result.output == f"Fehler (Selbstbewertung): 1 Problem(e)\n  {path}:5: answers: muss ein Abschnitt mit Schlüsseln sein\n"


def test_assessment_validate_and_migrate(run, tmp_path):
    result = run("assessment", "validate", DATA / "mini-assessment.yaml", "--catalogue", DATA / "mini.yaml")
    assert result.exit_code == 0 and "gültig (8 Antworten, 4 Angebote, 2 Nachweise" in result.output
    new = tmp_path / "v2.yaml"
    new.write_text((DATA / "mini.yaml").read_text(encoding="utf-8").replace('version: "1"', 'version: "2"')
                   .replace("title: Sozialraumanalyse", "title: Sozialraumanalyse, aktuell"), encoding="utf-8")
    out = tmp_path / "carried.yaml"
    result = run("assessment", "migrate", DATA / "mini-assessment.yaml", "--catalogue", DATA / "mini.yaml",
                 "--to", new, "-o", out)
    assert result.exit_code == 0
    assert result.output == (
        f"7 von 8 Antworten übernommen nach {out} (test-programm@2)\n"
        "1 Angaben entfallen:\n"
        "  Antwort 5.1: in test-programm@2 geändert (Titel), bitte neu beantworten\n"
    )
    result = run("assessment", "validate", out, "--catalogue", new)
    assert result.exit_code == 0, result.output
    assert not list(tmp_path.glob("*.tmp"))


def test_demo(demo_db):
    """The README's main command (run once per session by the ``demo_db`` fixture): a demo database in the
    working directory and its documents beside it (replacing both on a new run: see test_cli_demo.py)."""
    assert demo_db.output.startswith("Demo-Datenbank certflow-demo.sqlite angelegt, Stand 10.03.2026.\n")
    assert demo_db.db.read_bytes().startswith(b"SQLite format 3")
    assert "Übersicht (als admin)" in demo_db.output
    assert "Dokumente: 14 PDF in certflow-demo-dokumente (" in demo_db.output
    assert len(list(demo_db.documents.glob("*.pdf"))) == 14
