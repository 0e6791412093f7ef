"""``certflow report meldung|statistik`` on a copy of the demo (SQLite; the service is tested on PostgreSQL in
test_services_reports): the files parse, the scopes hold, bad input exits 2 and refusals 3, nothing half-written."""

from __future__ import annotations

import io

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from certflow.cli import cli
from conftest import TOKENS


def invoke(*args):
    runner = CliRunner(env={"COLUMNS": "110", **TOKENS.env(args)})
    return runner.invoke(cli, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture
def db(demo_proven, tmp_path):
    return demo_proven.copy(tmp_path / "demo.sqlite")


def test_the_coordinator_writes_the_nomination_report_as_pdf_and_xlsx(db, tmp_path):
    pdf, xlsx = tmp_path / "meldung.pdf", tmp_path / "meldung.xlsx"
    result = invoke("--db", db, "report", "meldung", "--kgj", "2025/26", "-o", pdf, "--as", "koord-hellbach")
    assert result.exit_code == 0, result.output
    assert pdf.read_bytes().startswith(b"%PDF") and f"{pdf}: " in result.output
    result = invoke("--db", db, "report", "meldung", "--kgj", "2025/26", "-o", xlsx, "--as", "koord-hellbach")
    assert result.exit_code == 0, result.output
    book = load_workbook(io.BytesIO(xlsx.read_bytes()))
    lines = list(book["Nominierungen"].iter_rows(min_row=2, values_only=True))
    assert [line[0] for line in lines] == ["V-2025-002", "V-2025-004", "V-2025-006"]


def test_the_certification_body_writes_the_land_s_statistics(db, tmp_path):
    out = tmp_path / "statistik.xlsx"
    result = invoke("--db", db, "report", "statistik", "-o", out, "--as", "zert-1")
    assert result.exit_code == 0, result.output
    towns = [row[0] for row in load_workbook(out)["Abdeckung"].iter_rows(min_row=2, values_only=True)]
    assert "Hellbach" in towns and "Obermühlen" in towns


@pytest.mark.parametrize(("args", "code", "message"), [
    (["meldung", "--kgj", "2025/26", "--as", "koord-wiesental", "--jugendamt", "ja-hellbach"], 3,
     "darf das Jugendamt ja-hellbach nicht sehen"),
    (["meldung", "--kgj", "2025/26", "--as", "leitung-senfkorn"], 3, "nicht zugänglich"),
    (["meldung", "--kgj", "2025/26", "--as", "zert-1"], 3, "Bitte das Jugendamt angeben"),
    (["meldung", "--kgj", "2019/20", "--as", "koord-hellbach"], 3, "kein Kontingent"),
    (["statistik", "--as", "auditor-1"], 3, "nicht zugänglich"),
    (["meldung", "--kgj", "zwanzig", "--as", "koord-hellbach"], 2, "zwanzig"),
])
def test_refusals_and_bad_input_write_nothing(db, tmp_path, args, code, message):
    out = tmp_path / ("out.xlsx" if args[0] == "statistik" else "out.pdf")
    result = invoke("--db", db, "report", *args, "-o", out)
    assert result.exit_code == code, result.output
    assert message in result.output and "Traceback" not in result.output
    assert not out.exists() and list(tmp_path.glob("*.part")) == []


def test_a_wrong_file_ending_is_a_usage_error(db, tmp_path):
    result = invoke("--db", db, "report", "meldung", "--kgj", "2025/26", "-o", tmp_path / "m.docx", "--as",
                    "koord-hellbach")
    assert result.exit_code == 2 and "muss auf .pdf oder .xlsx enden" in result.output
