"""``certflow qualitaetsprofil VERFAHREN -o DATEI --as BENUTZER`` on the demo database (``demo_proven`` in conftest:
the demo with the users' tokens, which prove ``--as``)."""

from __future__ import annotations

import hashlib

import pytest
from click.testing import CliRunner
from pypdf import PdfReader

from certflow.cli import cli
from conftest import TOKENS

pytestmark = pytest.mark.usefixtures("demo_evidence")


def invoke(*args):
    return CliRunner(env={"COLUMNS": "110", **TOKENS.env(args)}).invoke(cli, [str(a) for a in args],
                                                                       catch_exceptions=False)


def test_the_qualitaetsprofil_of_a_decided_procedure(demo_proven, tmp_path):
    out = tmp_path / "qp.pdf"
    result = invoke("qualitaetsprofil", "V-2024-002", "-o", out, "--as", "koord-hellbach", "--db", demo_proven.db)
    assert result.exit_code == 0, result.output
    pages = len(PdfReader(out).pages)
    assert result.output == (f"Qualitätsprofil {out}: {pages} {'Seite' if pages == 1 else 'Seiten'}\n"
                             f"SHA-256: {hashlib.sha256(out.read_bytes()).hexdigest()}\n")
    text = "\n".join(page.extract_text() or "" for page in PdfReader(out).pages)
    assert "Qualitätsprofil" in text and "Familienzentrum Zechenhaus" in text
    # the same document the demo wrote (in a worker process, as another user)
    assert out.read_bytes() == (demo_proven.documents / "V-2024-002-qualitaetsprofil.pdf").read_bytes()


@pytest.mark.parametrize("procedure_id, user, message", [
    ("V-2024-002", "koord-wiesental",
     "Abgelehnt: Kein Zugriff: Jana Wiesner (Koordination im Jugendamt) darf Verfahren V-2024-002 nicht sehen\n"),
    ("V-2025-001", "admin", "Abgelehnt: Verfahren V-2025-001: es gibt noch keine eingereichte Selbstbewertung\n"),
])
def test_refused_without_scope_or_submission(demo_proven, tmp_path, procedure_id, user, message):
    out = tmp_path / "qp.pdf"
    result = invoke("qualitaetsprofil", procedure_id, "-o", out, "--as", user, "--db", demo_proven.db)
    assert (result.exit_code, result.output) == (3, message)
    assert not out.exists()


def test_a_folder_as_target_is_bad_input(demo_proven, tmp_path):
    result = invoke("qualitaetsprofil", "V-2024-002", "-o", tmp_path, "--as", "admin", "--db", demo_proven.db)
    assert result.exit_code == 2
    assert f"{tmp_path} ist ein Ordner; eine Zieldatei angeben" in result.output
