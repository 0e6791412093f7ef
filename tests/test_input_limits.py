"""Bad input and faults (issue 11): a clear German error, exit 2, nothing left behind, never a traceback.

Each test here failed on main before its fix: an input that never ends was read without limit, a CSV
field over 128 KB raised csv.Error, ``--db typo.sqlite`` left an empty database behind, and an internal
error exited 1 (which means "rules not met") with a traceback.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from certflow.cli import cli
from certflow.errors import InputError
from certflow.kita_csv import KitaCsvError, parse_kitas
from certflow import yamlsource
from certflow.yamlsource import read_text

MAX_INPUT_BYTES = getattr(yamlsource, "MAX_INPUT_BYTES", 32 * 1024 * 1024)

HEADER = "id;name;traeger_id;jugendamt_id;strasse;plz;ort;lat;lon\n"


def test_an_input_that_never_ends_is_refused_at_the_size_limit(tmp_path):
    endless = tmp_path / "endlos.yaml"
    endless.symlink_to("/dev/zero")
    with pytest.raises(InputError) as refused:
        read_text(endless)
    assert str(refused.value) == f"{endless}: Datei zu groß (mehr als {MAX_INPUT_BYTES // (1024 * 1024)} MB)"


def test_a_file_just_under_the_limit_is_read_and_one_byte_more_is_not(tmp_path, monkeypatch):
    monkeypatch.setattr("certflow.yamlsource.MAX_INPUT_BYTES", 10, raising=False)
    fits, too_big = tmp_path / "a.yaml", tmp_path / "b.yaml"
    fits.write_text("x" * 10, encoding="utf-8")
    too_big.write_text("x" * 11, encoding="utf-8")
    assert read_text(fits) == "x" * 10
    with pytest.raises(InputError, match="Datei zu groß"):
        read_text(too_big)


def test_score_of_an_endless_file_exits_2_without_a_traceback(tmp_path):
    endless = tmp_path / "endlos.yaml"
    endless.symlink_to("/dev/zero")
    result = CliRunner().invoke(cli, ["score", str(endless)])
    assert result.exit_code == 2, result.output
    assert "Datei zu groß" in result.output and "Traceback" not in result.output


def test_a_csv_field_over_128_kb_is_a_row_error_not_a_crash():
    text = HEADER + "k1;" + "A" * (200 * 1024) + ";t1;ja1;Weg 1;12345;Ort;51.0;7.0\n"
    with pytest.raises(KitaCsvError) as refused:
        parse_kitas(text, "kitas.csv")
    assert [str(p) for p in refused.value.problems] == [
        "kitas.csv:2: Feld zu lang (mehr als 131072 Zeichen)"]


def test_kitas_import_of_a_huge_field_exits_2(tmp_path, demo_proven):
    db = demo_proven.copy(tmp_path / "copy.sqlite")
    csv_file = tmp_path / "kitas.csv"
    csv_file.write_text(HEADER + "k1;" + "A" * (200 * 1024) + ";t1;ja1;Weg 1;12345;Ort;51.0;7.0\n", encoding="utf-8")
    proof = {"CERTFLOW_TOKEN": demo_proven.tokens.token(db, "admin")}  # proves --as (conftest)
    result = CliRunner().invoke(cli, ["--db", str(db), "kitas", "import", str(csv_file), "--as", "admin",
                                      "--reason", "Test"], env=proof)
    assert result.exit_code == 2, result.output
    assert "Feld zu lang" in result.output and "Traceback" not in result.output


def test_a_mistyped_database_file_is_refused_and_not_created(tmp_path):
    typo = tmp_path / "tippfehler.sqlite"
    result = CliRunner().invoke(cli, ["--db", str(typo), "overview", "--as", "admin"])
    assert result.exit_code == 2, result.output
    assert f"Datenbankdatei {typo} gibt es nicht" in result.output
    assert "certflow db upgrade" in result.output
    assert not typo.exists()


def test_db_upgrade_still_creates_a_new_database(tmp_path):
    new = tmp_path / "neu.sqlite"
    result = CliRunner().invoke(cli, ["db", "upgrade", "--url", str(new)])
    assert result.exit_code == 0, result.output
    assert new.exists()


def test_an_internal_error_exits_70_with_a_german_line_not_1_and_no_traceback(tmp_path):
    # A command that hits a bug: simulate it by breaking the scoring engine in a child process.
    script = (
        "import sys, certflow.scoring.engine as e\n"
        "def boom(*a, **k): raise RuntimeError('kaputt')\n"
        "e.Scorer.score = boom\n"
        "from certflow.cli import main\n"
        f"sys.argv = ['certflow', 'score', {str(Path(__file__).parent.parent / 'examples' / 'assessment-pass.yaml')!r}]\n"
        "main()\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "CERTFLOW_DEBUG"}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert done.returncode == 70, done.stderr
    assert "Traceback" not in done.stderr
    assert "Interner Fehler (RuntimeError: kaputt)" in done.stderr
