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

PACKETS = ["V-2020-001", "V-2020-002", "V-2022-001", "V-2024-001", "V-2024-002", "V-2025-007"]  # signed off
UNSIGNED = ["V-2025-004", "V-2025-005", "V-2025-006"]  # submitted, not signed off: only with --all-documents
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
    assert ("\nDokumente: 14 PDF in certflow-demo-dokumente (6 Auditpakete, 5 Qualitätsprofile, 3 Urkunden)\n"
            f"  Nicht abgezeichnet, daher ohne PDF (--all-documents): {', '.join(UNSIGNED)}\n" in demo_db.output)
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
    """Its packet of the signed-off procedure is the packet signed off (same SHA-256), and the example says so
    (as the machine's administrator: it reads only, so it runs on the session's demo as it is)."""
    assert VERIFY.findall(demo_db.output) == [
        "certflow --db certflow-demo.sqlite --local-admin packet verify certflow-demo-dokumente/V-2025-007.pdf"]
    assert ("  # Ein Auditpaket der Demo mit der bei der Abzeichnung gespeicherten SHA-256 vergleichen\n"
            in demo_db.output)
    monkeypatch.chdir(demo_db.folder)
    result = invoke(*shlex.split(VERIFY.findall(demo_db.output)[0])[1:])
    assert result.exit_code == 0, result.output


def test_every_command_the_demo_prints_works_as_printed(demo_db, tmp_path, monkeypatch):
    """The printed commands, run in order on a copy of the demo: the token lines write each user's token file
    (``> USER.token``), the commands prove ``--as`` with it or act with ``--local-admin``; each ends with the exit
    code its comment promises (0 unless it says "Exit-Code 3"). All but ``packet --all``."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CERTFLOW_EVIDENCE_DIR", str(demo_db.folder / "certflow-evidence"))
    monkeypatch.delenv("CERTFLOW_TOKEN", raising=False)
    monkeypatch.delenv("CERTFLOW_ADMIN_USER", raising=False)
    demo_db.copy(tmp_path / "certflow-demo.sqlite")
    (tmp_path / "certflow-demo-dokumente").symlink_to(demo_db.documents)
    commands, comment = [], ""
    for line in demo_db.output.splitlines():
        if line.startswith("  # "):
            comment = line
        elif line.startswith("  certflow"):
            commands.append((line.strip(), comment))
    assert len(commands) == 18 and sum(" users token " in c for c, _ in commands) == 6
    for command, comment in commands:
        args = shlex.split(command)[1:]
        if "--all" in args:  # renders every packet of a Jugendamt (long): test_cli_packet runs it
            assert args[-4:] == ["--as", "koord-wiesental", "--token-file", "koord-wiesental.token"]
            continue
        target = None
        if ">" in args:
            args, target = args[:args.index(">")], args[args.index(">") + 1]
        result = invoke(*args)
        expected = 3 if "Exit-Code 3" in comment and target is None else 0
        assert result.exit_code == expected, (command, result.output)
        if target is not None:
            (tmp_path / target).write_text(result.stdout, encoding="utf-8")
        elif "--token-file" not in args and "--local-admin" not in args:
            assert args[:2] == ["audit", "verify"]  # the only command without an actor
    assert "Prüfprotokoll in Ordnung" in invoke("audit", "verify", "--url", "sqlite:///certflow-demo.sqlite").output


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
