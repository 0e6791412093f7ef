"""``certflow packet [render]|verify``, ``packet --all`` and ``certflow certificate [render]`` on copies of the
demo database (built once per session: ``demo_db`` in conftest; ``--as`` proven with the user's token)."""

from __future__ import annotations

import hashlib
import re
import sqlite3

import pytest
from click.testing import CliRunner
from pypdf import PdfReader

from certflow.cli import cli
from conftest import TOKENS

DAY = "2026-03-10"
CERTIFIED = re.compile(r"^(\S.*?) {2,}\S.*?(V-\d{4}-\d{3}) +zertifiziert +.*?(FZ-\d{4}-\d{3})", re.MULTILINE)
FZ_ID = re.compile(r"^(fz-[a-z-]+)\s", re.MULTILINE)
SHA = re.compile(r"SHA-256: ([0-9a-f]{64})")


def invoke(*args):
    runner = CliRunner(env={"COLUMNS": "110", **TOKENS.env(args)})
    return runner.invoke(cli, [str(a) for a in args], catch_exceptions=False)


pytestmark = pytest.mark.usefixtures("demo_evidence")


@pytest.fixture(scope="module")
def demo(demo_proven, tmp_path_factory):
    """The demo database and the certified procedure it holds: (copy, name, procedure, certificate, other lead)."""
    copy = demo_proven.copy(tmp_path_factory.mktemp("packet") / "copy.sqlite")
    overview = invoke("overview", "--as", "admin", "--today", DAY, "--db", copy)
    assert overview.exit_code == 0, overview.output
    matches = CERTIFIED.findall(overview.output)
    assert matches, overview.output
    name, procedure_id, number = matches[-1]
    others = [fz for fz in FZ_ID.findall(overview.output) if name.lower() not in fz]
    other_lead = "leitung-" + others[0].removeprefix("fz-")
    return copy, name.strip(), procedure_id, number, other_lead


@pytest.fixture(scope="module")
def rendered(demo, tmp_path_factory):
    db, _name, procedure_id, _number, _lead = demo
    out = tmp_path_factory.mktemp("out") / "packet.pdf"
    result = invoke("packet", "render", procedure_id, "-o", out, "--as", "admin", "--db", db)
    assert result.exit_code == 0, result.output
    return out, result.output


def test_render_packet_from_the_database(demo, rendered):
    _db, name, _procedure_id, _number, _lead = demo
    out, output = rendered
    assert out.exists() and out.stat().st_size > 0
    assert re.search(r"\d+ Seiten", output)
    reader = PdfReader(out)
    text = "\n".join(page.extract_text() or "" for page in reader.pages)
    assert name in text
    assert re.search(r"\b1\.1\b", text)


def test_verify_with_the_printed_sha256_then_a_flipped_byte(rendered, tmp_path):
    out, output = rendered
    sha = SHA.search(output).group(1)
    ok = invoke("packet", "verify", out, "--sha256", sha)
    assert ok.exit_code == 0, ok.output
    assert "stimmt überein" in ok.output
    data = bytearray(out.read_bytes())
    data[len(data) // 2] ^= 0x01
    tampered = tmp_path / "tampered.pdf"
    tampered.write_bytes(bytes(data))
    bad = invoke("packet", "verify", tampered, "--sha256", sha)
    assert bad.exit_code == 1, bad.output
    assert "NICHT" in bad.output


def test_a_packet_rendered_after_the_decision_is_the_one_signed_off(demo, rendered):
    """The demo's sign-off stored the packet's SHA-256; the certified procedure's packet, rendered
    from the database after the decision, is byte for byte that packet."""
    db, _name, procedure_id, _number, _lead = demo
    out, _ = rendered
    assert invoke("packet", "verify", out).exit_code == 2            # neither --as nor --sha256
    assert invoke("packet", "verify", out, "--sha256", "xyz").exit_code == 2
    stored = invoke("packet", "verify", out, "--as", "admin", "--db", db)
    assert (stored.exit_code, stored.output) == (0, "Die Datei ist das freigegebene Paket (SHA-256 stimmt überein).\n")
    named = invoke("packet", "verify", out, "--procedure", procedure_id, "--as", "admin", "--db", db)
    assert named.exit_code == 0, named.output


def test_kita_lead_of_another_familienzentrum_is_refused(demo, tmp_path):
    db, _name, procedure_id, number, lead = demo
    out = tmp_path / "no.pdf"
    result = invoke("packet", "render", procedure_id, "-o", out, "--as", lead, "--db", db)
    assert result.exit_code == 3
    assert "Kein Zugriff" in result.output
    assert not out.exists()
    cert = invoke("certificate", "render", number, "-o", out, "--as", lead, "--db", db)
    assert cert.exit_code == 3
    assert "Kein Zugriff" in cert.output


def test_certificate_render(demo, tmp_path):
    db, name, _procedure_id, number, _lead = demo
    out = tmp_path / "urkunde.pdf"
    result = invoke("certificate", "render", number, "-o", out, "--as", "admin", "--db", db)
    assert result.exit_code == 0, result.output
    text = "\n".join(page.extract_text() or "" for page in PdfReader(out).pages)
    assert name in text
    assert number in text


def _text(path) -> str:
    return "\n".join(page.extract_text() or "" for page in PdfReader(path).pages)


# --- the short forms ------------------------------------------------------------------------------------------------


def test_packet_procedure_is_short_for_packet_render(demo, rendered, demo_db, tmp_path):
    db, _name, procedure_id, _number, _lead = demo
    out = tmp_path / "kurz.pdf"
    result = invoke("packet", procedure_id, "-o", out, "--as", "admin", "--db", db)
    assert result.exit_code == 0, result.output
    long_out, long_output = rendered
    assert result.output == long_output.replace(str(long_out), str(out))
    # the same bytes as the long form and as the demo's own copy (rendered in a worker process)
    assert out.read_bytes() == long_out.read_bytes() == (demo_db.documents / f"{procedure_id}.pdf").read_bytes()


def test_certificate_number_is_short_for_certificate_render(demo, demo_db, tmp_path):
    db, _name, _procedure_id, number, _lead = demo
    out = tmp_path / "urkunde.pdf"
    result = invoke("certificate", number, "-o", out, "--as", "admin", "--db", db)
    assert result.exit_code == 0, result.output
    assert result.output == f"Urkunde {out}: 1 Seite(n)\nSHA-256: {hashlib.sha256(out.read_bytes()).hexdigest()}\n"
    assert out.read_bytes() == (demo_db.documents / f"{number}-urkunde.pdf").read_bytes()


def test_the_groups_help_names_the_short_form():
    runner = CliRunner(env={"COLUMNS": "110"})
    packet = runner.invoke(cli, ["packet", "--help"], prog_name="certflow")
    assert packet.exit_code == 0
    flat = " ".join(packet.output.split())
    assert "certflow packet --all --jugendamt ID -o ORDNER --as BENUTZER alle eines Jugendamts" in flat
    assert "Ohne BEFEHL gilt render: certflow packet [VERFAHREN] … ist certflow packet render [VERFAHREN] …" in flat
    certificate = runner.invoke(cli, ["certificate", "-h"], prog_name="certflow")
    assert certificate.exit_code == 0
    flat = " ".join(certificate.output.split())
    assert "Ohne BEFEHL gilt render: certflow certificate NUMMER … ist certflow certificate render NUMMER …" in flat
    assert re.search(r"^  recertify ", certificate.output, re.MULTILINE)


# --- packet --all ---------------------------------------------------------------------------------------------------


def _batch(db, out, user, jugendamt, *options):
    return invoke("packet", "--all", "--jugendamt", jugendamt, "-o", out, "--as", user, "--db", db, "--no-progress",
                  *options)


def _document_lines(out, procedure_ids: list[str]) -> list[str]:
    lines = []
    for procedure_id in procedure_ids:
        path = out / f"{procedure_id}.pdf"
        pages = len(PdfReader(path).pages)
        lines.append(f"{path}: {pages} Seiten, SHA-256 {hashlib.sha256(path.read_bytes()).hexdigest()}")
    return lines


def test_batch_renders_each_packet_the_user_may_see(demo, demo_db, tmp_path):
    db = demo[0]
    out = tmp_path / "pakete"
    result = _batch(db, out, "auditor-2", "ja-hellbach", "--workers", "2", "--timeout", "300", "--memory-mb", "2048")
    assert result.exit_code == 0, result.output
    assigned = ["V-2024-002", "V-2025-006"]  # the auditor's two procedures of that Jugendamt
    assert sorted(p.name for p in out.iterdir()) == [f"{p}.pdf" for p in assigned]
    lines = result.output.splitlines()
    assert lines[:2] == _document_lines(out, assigned)
    assert re.fullmatch(r"2 erstellt, 0 fehlgeschlagen \(\d+\.\d s\)", lines[2]) and len(lines) == 3
    for procedure_id in assigned:
        assert procedure_id in _text(out / f"{procedure_id}.pdf")
    # a decided procedure's packet does not depend on who renders it, nor on the day
    assert (out / "V-2024-002.pdf").read_bytes() == (demo_db.documents / "V-2024-002.pdf").read_bytes()


def _corrupt_submission(db, procedure_id: str) -> None:
    """Make a procedure's frozen self-assessment unreadable (in a copy: the freezing triggers dropped first)."""
    con = sqlite3.connect(db)
    try:
        for (trigger,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' "
                                      "AND tbl_name = 'assessment_revision'").fetchall():
            con.execute(f'DROP TRIGGER "{trigger}"')
        changed = con.execute("UPDATE assessment_revision SET canonical_json = ? WHERE procedure_id = ?",
                              ('{"catalogue": ', procedure_id)).rowcount
        con.commit()
    finally:
        con.close()
    assert changed == 1


def test_batch_reports_a_broken_procedure_and_writes_the_others(demo_proven, tmp_path):
    db = demo_proven.copy(tmp_path / "kaputt.sqlite")
    _corrupt_submission(db, "V-2025-005")
    out = tmp_path / "pakete"
    result = _batch(db, out, "koord-wiesental", "ja-wiesental")
    assert result.exit_code == 1, result.output
    written = ["V-2020-001", "V-2024-001", "V-2025-007"]
    assert sorted(p.name for p in out.iterdir()) == [f"{p}.pdf" for p in written]  # no V-2025-005.pdf, no .part
    lines = result.output.splitlines()
    assert lines[:3] == _document_lines(out, written)
    assert re.fullmatch(r"3 erstellt, 1 fehlgeschlagen \(\d+\.\d s\)", lines[3])
    assert len(lines) == 5
    assert lines[4].startswith("  V-2025-005: Fehler (Selbstbewertung): V-2025-005#1:2: YAML-Syntaxfehler: ")
    for procedure_id in written:
        assert procedure_id in _text(out / f"{procedure_id}.pdf")


@pytest.mark.parametrize("user, name, role", [
    ("koord-hellbach", "Murat Kaya", "Koordination im Jugendamt"),
    ("leitung-nordstern", "Jan Pieper", "Kita-Leitung"),
])
def test_batch_for_another_jugendamt_is_refused(demo, tmp_path, user, name, role):
    out = tmp_path / "pakete"
    result = _batch(demo[0], out, user, "ja-wiesental")
    assert (result.exit_code, result.output) == (
        3, f"Abgelehnt: Kein Zugriff: {name} ({role}) darf die Verfahren des Jugendamts ja-wiesental nicht sehen\n")
    assert not out.exists()


def test_batch_with_nothing_to_render(demo, tmp_path):
    out = tmp_path / "pakete"
    result = _batch(demo[0], out, "auditor-2", "ja-wiesental")
    assert (result.exit_code, result.output) == (
        0, "Keine Verfahren mit eingereichter Selbstbewertung im Jugendamt ja-wiesental, die auditor-2 sehen darf.\n")
    assert not out.exists()


@pytest.mark.parametrize("args, message", [
    (("--all", "--jugendamt", "ja-nirgendwo", "-o", "{new}"),
     "Fehler (Eingabe): 1 Problem(e)\n  ja-nirgendwo: ein Jugendamt mit dieser Kennung gibt es nicht\n"),
    (("--all", "--jugendamt", "ja-wiesental", "-o", "{file}"),
     "Invalid value for '-o': {file} ist eine Datei; mit --all einen Ordner angeben"),
    (("--all", "-o", "{new}"), "Error: --all braucht --jugendamt JUGENDAMT"),
    (("V-2025-007", "--all", "--jugendamt", "ja-wiesental", "-o", "{new}"),
     "Error: entweder VERFAHREN oder --all angeben, nicht beides"),
    (("V-2025-007", "--workers", "3", "-o", "{new}"), "Error: '--workers' nur mit --all"),
    (("V-2025-007", "--jugendamt", "ja-wiesental", "-o", "{new}"), "Error: '--jugendamt' nur mit --all"),
    (("-o", "{new}"), "Error: VERFAHREN angeben, oder --all --jugendamt JUGENDAMT"),
    (("V-2025-007", "-o", "{folder}"), "Invalid value for '-o': {folder} ist ein Ordner; eine Zieldatei angeben"),
])
def test_bad_input_is_exit_2_and_writes_nothing(demo, tmp_path, args, message):
    folder = tmp_path / "ordner"
    folder.mkdir()
    paths = {"new": tmp_path / "neu", "file": tmp_path / "datei.pdf", "folder": folder}
    paths["file"].write_bytes(b"%PDF")
    args = [a.format(**paths) for a in args]
    result = invoke("packet", *args, "--as", "admin", "--db", demo[0])
    assert result.exit_code == 2, result.output
    assert message.format(**paths) in result.output
    assert not paths["new"].exists() and list(folder.iterdir()) == []
