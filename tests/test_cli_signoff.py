"""``certflow procedure sign-off -o FILE`` and ``certflow packet verify FILE --as U`` on both databases.

The sign-off renders the packet and stores its SHA-256; verify reads the procedure from the
embedded manifest and compares with that hash, within the checker's read scope.
"""

from __future__ import annotations

import hashlib

from click.testing import CliRunner

from certflow.cli import cli
from conftest import TOKENS
from db_support import db_url, engine, postgres_admin  # noqa: F401
from test_services_documents import _to_visit, world  # noqa: F401
from test_packet_render import keypair  # noqa: F401
from test_services_world import db_world  # noqa: F401


def invoke(*args, env=None):
    """``certflow ARGS``, proving ``--as`` with that user's token on the ``--db`` of ARGS (conftest)."""
    runner = CliRunner(env={"COLUMNS": "110", **TOKENS.env(args), **(env or {})})
    return runner.invoke(cli, [str(a) for a in args], catch_exceptions=False)


def test_sign_off_writes_the_packet_and_verify_compares_with_the_stored_hash(world, db_url, tmp_path,
                                                                          monkeypatch):
    pid, _store, _ = _to_visit(world, tmp_path)
    monkeypatch.setenv("CERTFLOW_EVIDENCE_DIR", str(tmp_path / "store"))
    draft = tmp_path / "entwurf.pdf"
    assert invoke("packet", pid, "-o", draft, "--as", "cert-1", "--db", db_url).exit_code == 0
    unsigned = invoke("packet", "verify", draft, "--as", "cert-1", "--db", db_url)
    assert (unsigned.exit_code, unsigned.output) == (
        1, f"Die Datei ist NICHT abgezeichnet: zum Verfahren {pid} ist keine SHA-256 eines abgezeichneten "
           "Auditpakets gespeichert.\n")

    out = tmp_path / "paket.pdf"
    signed = invoke("procedure", "sign-off", pid, "-o", out, "--as", "aud-1", "--reason", "Bericht fertig",
                    "--db", db_url)
    assert signed.exit_code == 0, signed.output
    digest = hashlib.sha256(out.read_bytes()).hexdigest()
    assert signed.output == (f"Begehung im Verfahren {pid} abgezeichnet (2 Bewertung(en)); Begehung, Bewertungen "
                             f"und Auditpaket sind jetzt eingefroren; SHA-256 des Auditpakets: {digest}\n"
                             f"Auditpaket {out} geschrieben\n")

    ok = invoke("packet", "verify", out, "--as", "cert-1", "--db", db_url)
    assert (ok.exit_code, ok.output) == (0, "Die Datei ist das freigegebene Paket (SHA-256 stimmt überein).\n")
    assert invoke("packet", "verify", draft, "--as", "cert-1", "--db", db_url).exit_code == 1

    tampered = tmp_path / "geaendert.pdf"
    data = bytearray(out.read_bytes())
    at = data.index(b"/CreationDate (D:") + len(b"/CreationDate (D:")  # a date digit: still a readable packet
    data[at] = ord("1") if data[at] != ord("1") else ord("2")
    tampered.write_bytes(bytes(data))
    bad = invoke("packet", "verify", tampered, "--as", "cert-1", "--db", db_url)
    assert bad.exit_code == 1 and "NICHT das freigegebene Paket" in bad.output, bad.output

    other = invoke("packet", "verify", out, "--procedure", "V-2025-099", "--as", "cert-1", "--db", db_url)
    assert (other.exit_code, other.output) == (
        1, f"Die Datei ist NICHT das Auditpaket des Verfahrens V-2025-099: sie gehört zum Verfahren {pid}.\n")


def test_verify_is_scoped_and_says_what_is_wrong_with_a_file(world, db_url, tmp_path, monkeypatch):
    pid, _store, _ = _to_visit(world, tmp_path)
    monkeypatch.setenv("CERTFLOW_EVIDENCE_DIR", str(tmp_path / "store"))
    out = tmp_path / "paket.pdf"
    assert invoke("procedure", "sign-off", pid, "-o", out, "--as", "aud-1", "--reason", "fertig",
                  "--db", db_url).exit_code == 0

    foreign = invoke("packet", "verify", out, "--as", "coord-b", "--db", db_url)  # the other Jugendamt
    assert foreign.exit_code == 3 and "Kein Zugriff" in foreign.output

    not_pdf = tmp_path / "notiz.pdf"
    not_pdf.write_text("kein PDF", encoding="utf-8")
    broken = invoke("packet", "verify", not_pdf, "--as", "cert-1", "--db", db_url)
    assert broken.exit_code == 2 and f"Fehler: {not_pdf}: keine lesbare PDF-Datei" in broken.output
    assert "Traceback" not in broken.output

    usage = invoke("packet", "verify", out, "--db", db_url)
    assert usage.exit_code == 2 and "--as BENUTZER angeben" in usage.output


def test_sign_off_into_a_missing_folder_is_refused_before_anything_is_frozen(world, db_url, tmp_path, monkeypatch):
    pid, _store, _ = _to_visit(world, tmp_path)
    monkeypatch.setenv("CERTFLOW_EVIDENCE_DIR", str(tmp_path / "store"))
    result = invoke("procedure", "sign-off", pid, "-o", tmp_path / "fehlt" / "paket.pdf", "--as", "aud-1",
                    "--reason", "fertig", "--db", db_url)
    assert result.exit_code == 2 and "gibt es nicht" in result.output
    assert world.read(lambda uow: uow.audits.signed_off(pid)) is None


def test_a_configured_signature_is_appended_and_verify_checks_it(world, db_url, tmp_path, monkeypatch, keypair):
    pid, _store, _ = _to_visit(world, tmp_path)
    key, cert = keypair
    monkeypatch.setenv("CERTFLOW_EVIDENCE_DIR", str(tmp_path / "store"))
    monkeypatch.setenv("CERTFLOW_SIGN_KEY", str(key))
    monkeypatch.setenv("CERTFLOW_SIGN_CERT", str(tmp_path / "fehlt.pem"))
    refused = invoke("procedure", "sign-off", pid, "-o", tmp_path / "paket.pdf", "--as", "aud-1", "--reason", "x",
                     "--db", db_url)
    assert refused.exit_code == 2 and "CERTFLOW_SIGN_CERT=" in refused.output and "nicht gefunden" in refused.output
    assert world.read(lambda uow: uow.audits.signed_off(pid)) is None  # checked before anything is frozen

    monkeypatch.setenv("CERTFLOW_SIGN_CERT", str(cert))
    out = tmp_path / "paket.pdf"
    signed = invoke("procedure", "sign-off", pid, "-o", out, "--as", "aud-1", "--reason", "fertig", "--db", db_url)
    assert signed.exit_code == 0, signed.output
    assert signed.output.endswith(f"Auditpaket {out} geschrieben, digital signiert (PAdES)\n")
    stored = world.read(lambda uow: uow.audits.packet_sha256(pid))
    assert hashlib.sha256(out.read_bytes()).hexdigest() != stored  # the file is the packet + its signature

    ok = invoke("packet", "verify", out, "--as", "cert-1", "--trust", cert, "--db", db_url)
    assert ok.exit_code == 0, ok.output
    assert "mit digitaler Signatur" in ok.output and "Test-Auditorin" in ok.output

    again = tmp_path / "nochmal.pdf"
    rendered = invoke("packet", pid, "-o", again, "--as", "cert-1", "--db", db_url)
    assert rendered.exit_code == 0, rendered.output
    assert rendered.output.startswith(f"Auditpaket {again}: ") and ", digital signiert (PAdES)\n" in rendered.output
    assert f"SHA-256: {stored}\n" in rendered.output
    assert invoke("packet", "verify", again, "--as", "cert-1", "--db", db_url).exit_code == 0
