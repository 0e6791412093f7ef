"""``certflow demo``: the documents it writes beside the database, reproducibly, into a folder it replaces carefully.

The demo itself is built once per session (``demo_db`` in conftest); only the reproducibility test
builds it a second time. Every test here on the demo is ``slow`` (conftest marks them).
"""

from __future__ import annotations

import re
import shlex

import pytest
from click.testing import CliRunner
from pypdf import PdfReader

from certflow.cli import cli

from conftest import DEMO_DAY

PACKETS = ["V-2020-001", "V-2020-002", "V-2022-001", "V-2024-001", "V-2024-002", "V-2025-004", "V-2025-005",
           "V-2025-006", "V-2025-007"]  # every procedure with a submitted self-assessment
DECIDED = ["V-2020-001", "V-2020-002", "V-2022-001", "V-2024-001", "V-2024-002"]
SEALS = ["FZ-2021-001", "FZ-2021-002", "FZ-2023-001"]  # newest term of each: valid, expired, re-certification due
NAMES = sorted([f"{p}.pdf" for p in PACKETS] + [f"{p}-qualitaetsprofil.pdf" for p in DECIDED]
               + [f"{n}-urkunde.pdf" for n in SEALS])
VERIFY = re.compile(r"^  (certflow .* packet verify .*)$", re.MULTILINE)


def invoke(*args):
    return CliRunner(env={"COLUMNS": "110"}).invoke(cli, [str(a) for a in args], catch_exceptions=False)


def test_the_demo_writes_its_documents_beside_the_database(demo_db):
    assert sorted(p.name for p in demo_db.documents.iterdir()) == [".certflow-demo", *NAMES]
    assert (demo_db.documents / ".certflow-demo").read_text(encoding="utf-8") == "".join(f"{n}\n" for n in NAMES)
    assert ("\nDokumente: 17 PDF in certflow-demo-dokumente (9 Auditpakete, 5 Qualitätsprofile, 3 Urkunden)\n"
            in demo_db.output)
    for name in NAMES:
        first_page = PdfReader(demo_db.documents / name).pages[0].extract_text()
        subject, _, kind = name.removesuffix(".pdf").partition("-qualitaetsprofil")
        subject = subject.removesuffix("-urkunde")
        assert subject in first_page, name
        expected = ("URKUNDE" if name.endswith("-urkunde.pdf") else "Qualitätsprofil" if "qualitaetsprofil" in name
                    else "Prüfbericht (Audit-Paket)")
        assert expected in first_page, name
    assert max(len(line) for line in demo_db.output.splitlines() if not line.startswith("  certflow")) <= 110


def test_the_demo_shows_how_to_verify_a_packet_it_wrote(demo_db, monkeypatch):
    """Its packet of the signed-off procedure is the packet signed off (same SHA-256), and the example says so."""
    assert VERIFY.findall(demo_db.output) == [
        "certflow --db certflow-demo.sqlite packet verify certflow-demo-dokumente/V-2025-007.pdf --as zert-1"]
    assert ("  # Ein Auditpaket der Demo mit der bei der Abzeichnung gespeicherten SHA-256 vergleichen\n"
            in demo_db.output)
    monkeypatch.chdir(demo_db.folder)
    result = invoke(*shlex.split(VERIFY.findall(demo_db.output)[0])[1:])
    assert result.exit_code == 0, result.output


@pytest.mark.slow  # builds the demo a second time
def test_the_demo_is_reproducible_and_replaces_only_what_it_wrote(demo_db, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the sign-offs' evidence store (./certflow-evidence) lands here
    (tmp_path / "b.sqlite").write_text("alt")
    folder = tmp_path / "pdf-ordner"
    folder.mkdir()
    (folder / ".certflow-demo").write_text("V-1999-001.pdf\n../draussen.pdf\n", encoding="utf-8")
    (folder / "V-1999-001.pdf").write_bytes(b"%PDF alt")       # written by an earlier run: goes
    (folder / "notiz.txt").write_text("meins")                  # not listed: stays
    (tmp_path / "draussen.pdf").write_bytes(b"%PDF fremd")      # listed, but not in the folder: stays

    result = invoke("demo", "--db", "b.sqlite", "--today", DEMO_DAY, "--documents", "pdf-ordner")
    assert result.exit_code == 0, result.output
    assert result.output == demo_db.output.replace("certflow-demo.sqlite", "b.sqlite").replace(
        "certflow-demo-dokumente", "pdf-ordner")
    assert sorted(p.name for p in folder.iterdir()) == [".certflow-demo", *NAMES, "notiz.txt"]
    for name in NAMES:
        assert (folder / name).read_bytes() == (demo_db.documents / name).read_bytes(), name
    assert (tmp_path / "draussen.pdf").read_bytes() == b"%PDF fremd"
    assert (tmp_path / "b.sqlite").read_bytes().startswith(b"SQLite format 3")


@pytest.mark.parametrize("content", ["notiz.txt", "alt.pdf"])
def test_the_demo_refuses_a_folder_it_did_not_write(tmp_path, content):
    (tmp_path / "demo.sqlite").write_text("alt")
    folder = tmp_path / "certflow-demo-dokumente"  # the default: beside the database
    folder.mkdir()
    (folder / content).write_text("meins")
    result = invoke("demo", "--db", tmp_path / "demo.sqlite", "--today", DEMO_DAY)
    assert result.exit_code == 2
    assert result.output == (f"Der Ordner {folder} ist nicht leer und stammt nicht von certflow demo (keine Datei "
                             ".certflow-demo); bitte einen anderen Ordner mit --documents angeben oder ihn leeren.\n")
    assert (tmp_path / "demo.sqlite").read_text() == "alt"  # nothing changed
    assert [p.name for p in folder.iterdir()] == [content]


def test_the_demo_refuses_a_file_as_documents_folder(tmp_path):
    (tmp_path / "datei").write_text("x")
    result = invoke("demo", "--db", tmp_path / "demo.sqlite", "--documents", tmp_path / "datei")
    assert result.exit_code == 2
    assert "datei" in result.output and "is a file" in result.output
    assert not (tmp_path / "demo.sqlite").exists()


def test_the_demos_packets_embed_their_evidence_and_list_what_came_on_paper(demo_db):
    """The demo stores a small file per evidence record (every tenth was shown on paper, without a file)."""
    import json

    reader = PdfReader(demo_db.documents / "V-2025-007.pdf")
    manifest = json.loads(reader.attachments["manifest.json"][0])
    statuses = [e["status"] for e in manifest["evidence"]]
    assert set(statuses) == {"attached", "no_file"}
    assert statuses.count("no_file") == len(statuses) // 10
    embedded = {e["attachment"] for e in manifest["evidence"] if e["status"] == "attached"}
    assert set(reader.attachments) == embedded | {"manifest.json"}
    stored = {p.name for p in (demo_db.folder / "certflow-evidence").rglob("*") if p.is_file()}
    assert {e["sha256"] for e in manifest["evidence"] if e["status"] == "attached"} <= stored
