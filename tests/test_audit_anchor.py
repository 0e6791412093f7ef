"""The audit trail checked beyond its own hash chain, on SQLite and PostgreSQL (``certflow audit``).

Someone with write access to the database can rewrite the chain consistently (every hash recomputed,
the head moved along) or cut its tail, and the chain alone still verifies; a state changed directly
in a table is not in the chain at all. So:

* ``audit anchor -o FILE`` writes a signed checkpoint (the last entry's number and hash) kept outside
  the database; ``audit verify --anchor FILE`` fails (exit 1, naming the check) when the chain was
  rewritten or cut before it, or the anchor file was altered or signed with another key;
* ``audit verify`` replays the state changes of procedures and certificates and compares them with
  the tables, naming every mismatch;
* a signed audit packet prints the head of the procedure's part of the chain: a hash that stands in
  the audit trail.
"""

from __future__ import annotations

import io
import json
from datetime import date

import pytest
from click.testing import CliRunner
from pypdf import PdfReader
from sqlalchemy import text

from certflow import services
from certflow.cli import cli
from certflow.db.audit_log import entry_hash
from certflow.packet import shared_pool
from db_support import db_url, engine, postgres_admin, unguard  # noqa: F401
from test_packet_render import keypair  # noqa: F401
from test_services_world import db_world  # noqa: F401

CLEAN_ENV = {"CERTFLOW_SIGN_KEY": None, "CERTFLOW_SIGN_CERT": None, "CERTFLOW_SIGN_PKCS12": None,
             "CERTFLOW_SIGN_ANCHOR_KEY": None, "CERTFLOW_SIGN_PASSPHRASE_FILE": None, "CERTFLOW_SIGN_CHAIN": None}


def invoke(*args, env=None):
    runner = CliRunner(env={**CLEAN_ENV, "COLUMNS": "110", **(env or {})})
    return runner.invoke(cli, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture
def world(db_world):
    """A certified Familienzentrum (procedure and seal) and a nominated one, on a migrated database."""
    db_world.certify("fz-1")
    db_world.nominate("fz-v")
    return db_world


@pytest.fixture
def url(world, db_url):
    return db_url


def _keypair(folder, name: str):
    """Another self-signed certificate and key (PEM files), as a second certification body would have."""
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    folder.mkdir()
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    start = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(start)
            .not_valid_after(start + dt.timedelta(days=30)).sign(key, hashes.SHA256()))
    (folder / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                       serialization.NoEncryption()))
    (folder / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return folder / "key.pem", folder / "cert.pem"


def _rewrite(engine, seq: int, **change) -> None:
    """Change entry ``seq`` and recompute every hash from there on, and the head: a consistent forgery."""
    with engine.begin() as connection:
        unguard(connection, "audit_log")
        rows = connection.execute(text("SELECT * FROM audit_log WHERE seq >= :seq ORDER BY seq"), {"seq": seq}).all()
        prev = connection.execute(text("SELECT hash FROM audit_log WHERE seq = :seq"), {"seq": seq - 1}).scalar()
        prev = prev or "0" * 64
        for row in rows:
            fields = {k: getattr(row, k) for k in ("seq", "at", "actor_id", "action", "subject_kind", "subject_id",
                                                   "from_state", "to_state", "reason", "payload")}
            if row.seq == seq:
                fields.update(change)
            if isinstance(fields["at"], str):  # SQLite: the UTC wall clock as text
                from datetime import UTC, datetime
                fields["at"] = datetime.fromisoformat(fields["at"]).replace(tzinfo=UTC)
            digest = entry_hash(**fields, prev_hash=prev)
            connection.execute(text("UPDATE audit_log SET reason = :reason, payload = :payload, to_state = :to_state, "
                                    "prev_hash = :prev, hash = :hash WHERE seq = :seq"),
                               {"reason": fields["reason"], "payload": fields["payload"],
                                "to_state": fields["to_state"], "prev": prev, "hash": digest, "seq": row.seq})
            prev = digest
        connection.execute(text("UPDATE audit_head SET last_hash = :hash"), {"hash": prev})


def _cut(engine, keep: int) -> None:
    """Remove every entry after ``keep`` and set the head to match: a consistent cut of the tail."""
    with engine.begin() as connection:
        unguard(connection, "audit_log")
        connection.execute(text("DELETE FROM audit_log WHERE seq > :keep"), {"keep": keep})
        last = connection.execute(text("SELECT hash FROM audit_log WHERE seq = :keep"), {"keep": keep}).scalar()
        connection.execute(text("UPDATE audit_head SET last_seq = :keep, last_hash = :hash"),
                           {"keep": keep, "hash": last})


def _head(engine) -> tuple[int, str]:
    with engine.connect() as connection:
        return tuple(connection.execute(text("SELECT last_seq, last_hash FROM audit_head")).one())


def test_anchor_then_verify_passes_and_says_what_was_checked(world, url, tmp_path, engine):
    key, anchor = tmp_path / "anker.key", tmp_path / "anker.json"
    written = invoke("audit", "anchor", "-o", anchor, "--key-file", key, "--url", url)
    assert written.exit_code == 0, written.output
    seq, digest = _head(engine)
    assert written.output == (f"Neue Schlüsseldatei {key} angelegt: getrennt von der Datenbank aufbewahren.\n"
                              f"Anker {anchor} geschrieben: Eintrag {seq}, Prüfsumme {digest} "
                              f"(signiert mit dem HMAC-Schlüssel {key}).\n")
    assert key.stat().st_mode & 0o077 == 0
    content = json.loads(anchor.read_text(encoding="utf-8"))
    assert (content["format"], content["seq"], content["hash"], content["method"]) == (
        "certflow-audit-anchor/1", seq, digest, "hmac-sha256")

    world.do(services.register, "lead-v", "V-2025-002", "Anmeldung")  # the trail grows after the anchor: fine
    checked = invoke("audit", "verify", "--anchor", anchor, "--key-file", key, "--url", url)
    assert checked.exit_code == 0, checked.output
    lines = checked.output.splitlines()
    assert lines[0] == f"Prüfprotokoll in Ordnung: {seq + 1} Einträge geprüft."
    assert lines[1].startswith("Anker vom ") and lines[1].endswith(f": Eintrag {seq} stimmt überein.")
    assert lines[2] == "Zustände: 2 Verfahren und 1 Urkunden stimmen mit dem Prüfprotokoll überein."

    again = invoke("audit", "anchor", "-o", tmp_path / "zweiter.json", "--key-file", key, "--url", url)
    assert again.exit_code == 0 and "Neue Schlüsseldatei" not in again.output  # the key file is reused


def test_a_consistently_rewritten_chain_fails_against_the_anchor(world, url, tmp_path, engine):
    key, anchor = tmp_path / "anker.key", tmp_path / "anker.json"
    assert invoke("audit", "anchor", "-o", anchor, "--key-file", key, "--url", url).exit_code == 0
    seq, _ = _head(engine)
    _rewrite(engine, 5, reason="nachträglich geschönt")

    plain = invoke("audit", "verify", "--url", url)
    assert plain.exit_code == 0, plain.output  # the chain alone cannot tell: every hash was recomputed

    checked = invoke("audit", "verify", "--anchor", anchor, "--key-file", key, "--url", url)
    assert checked.exit_code == 1
    assert checked.output == (f"Abgleich mit dem Anker fehlgeschlagen: Die Kette wurde bis Eintrag {seq} "
                              "umgeschrieben: seine Prüfsumme ist nicht mehr die des Ankers\n")


def test_a_cut_tail_fails_against_the_anchor(world, url, tmp_path, engine):
    key, anchor = tmp_path / "anker.key", tmp_path / "anker.json"
    assert invoke("audit", "anchor", "-o", anchor, "--key-file", key, "--url", url).exit_code == 0
    seq, _ = _head(engine)
    _cut(engine, seq - 1)  # the nomination of fz-v's procedure is gone
    checked = invoke("audit", "verify", "--anchor", anchor, "--key-file", key, "--url", url)
    assert checked.exit_code == 1
    assert checked.output.splitlines() == [
        f"Abgleich mit dem Anker fehlgeschlagen: Die Kette wurde gekürzt: sie endet bei Eintrag {seq - 1}, der "
        f"Anker bestätigt Eintrag {seq}",
        "Zustand weicht vom Prüfprotokoll ab: Verfahren V-2025-002 steht in der Tabelle ('nominiert'), aber nicht "
        "im Prüfprotokoll",
    ]


@pytest.mark.parametrize(("table", "where", "state", "message"), [
    ("procedure", "id = 'V-2025-001'", "withdrawn",
     "Verfahren V-2025-001: in der Tabelle 'zurückgezogen', laut Prüfprotokoll 'zertifiziert'"),
    ("procedure", "id = 'V-2025-002'", "audited",
     "Verfahren V-2025-002: in der Tabelle 'begangen', laut Prüfprotokoll 'nominiert'"),
    ("certificate", "number = 'FZ-2026-001'", "revoked",
     "Urkunde FZ-2026-001 vom 11.05.2026: in der Tabelle 'widerrufen', laut Prüfprotokoll 'gültig'"),
])
def test_a_state_changed_in_the_table_is_named(world, url, engine, table, where, state, message):
    assert invoke("audit", "verify", "--url", url).exit_code == 0
    with engine.begin() as connection:
        connection.execute(text(f"UPDATE {table} SET state = :state WHERE {where}"), {"state": state})
    checked = invoke("audit", "verify", "--url", url)
    assert (checked.exit_code, checked.output) == (1, f"Zustand weicht vom Prüfprotokoll ab: {message}\n")


def test_a_row_the_trail_never_recorded_is_named(world, url, engine):
    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO procedure (id, familienzentrum_id, kind, catalogue_key, kgj, period_start, period_end, "
            "state, version) VALUES ('V-2025-099', 'fz-b', 'erst', 'familienzentrum-nrw@2020', 2025, '2025-08-01', "
            "'2026-07-31', 'certified', 1)"))
    checked = invoke("audit", "verify", "--url", url)
    assert (checked.exit_code, checked.output) == (
        1, "Zustand weicht vom Prüfprotokoll ab: Verfahren V-2025-099 steht in der Tabelle ('zertifiziert'), aber "
           "nicht im Prüfprotokoll\n")


def test_an_altered_or_foreign_anchor_is_not_trusted(world, url, tmp_path, engine):
    key, anchor = tmp_path / "anker.key", tmp_path / "anker.json"
    assert invoke("audit", "anchor", "-o", anchor, "--key-file", key, "--url", url).exit_code == 0
    content = json.loads(anchor.read_text(encoding="utf-8"))

    forged = tmp_path / "gefaelscht.json"  # someone who cut the chain moves the anchor back along
    forged.write_text(json.dumps({**content, "seq": content["seq"] - 1}), encoding="utf-8")
    checked = invoke("audit", "verify", "--anchor", forged, "--key-file", key, "--url", url)
    assert (checked.exit_code, checked.output) == (
        1, "Abgleich mit dem Anker fehlgeschlagen: Die Signatur des Ankers stimmt nicht: die Datei wurde verändert; "
           "der Anker wurde nicht verwendet\n")

    other_key = tmp_path / "anderer.key"
    own = tmp_path / "eigener.json"  # or signs one of their own
    assert invoke("audit", "anchor", "-o", own, "--key-file", other_key, "--url", url).exit_code == 0
    foreign = invoke("audit", "verify", "--anchor", own, "--key-file", key, "--url", url)
    assert (foreign.exit_code, foreign.output) == (
        1, f"Abgleich mit dem Anker fehlgeschlagen: Der Anker ist nicht mit dem HMAC-Schlüssel {key} signiert; "
           "der Anker wurde nicht verwendet\n")


def test_the_certification_bodys_key_signs_the_anchor(world, url, tmp_path, engine, keypair):
    key_path, cert_path = keypair
    signing = {"CERTFLOW_SIGN_KEY": str(key_path), "CERTFLOW_SIGN_CERT": str(cert_path)}
    anchor = tmp_path / "anker.json"
    written = invoke("audit", "anchor", "-o", anchor, "--url", url, env=signing)
    assert written.exit_code == 0, written.output
    assert written.output.endswith("(signiert mit dem Zertifikat „Test-Auditorin“ der Zertifizierungsstelle).\n")
    content = json.loads(anchor.read_text(encoding="utf-8"))
    assert content["method"] == "x509-sha256" and content["certificate"]

    assert invoke("audit", "verify", "--anchor", anchor, "--url", url, env=signing).exit_code == 0
    _rewrite(engine, 3, reason="umgeschrieben")
    rewritten = invoke("audit", "verify", "--anchor", anchor, "--url", url, env=signing)
    assert rewritten.exit_code == 1 and "Die Kette wurde bis Eintrag" in rewritten.output

    other = _keypair(tmp_path / "andere", "Andere Stelle")
    foreign = invoke("audit", "verify", "--anchor", anchor, "--url", url,
                     env={"CERTFLOW_SIGN_KEY": str(other[0]), "CERTFLOW_SIGN_CERT": str(other[1])})
    assert foreign.exit_code == 1
    assert foreign.output == ("Abgleich mit dem Anker fehlgeschlagen: Der Anker ist nicht mit dem Zertifikat „Andere "
                              "Stelle“ der Zertifizierungsstelle signiert; der Anker wurde nicht verwendet\n")

    other_env = {"CERTFLOW_SIGN_KEY": str(other[0]), "CERTFLOW_SIGN_CERT": str(other[1])}
    rsa_anchor = tmp_path / "rsa.json"  # an RSA key signs and checks as well (the first one is EC)
    assert invoke("audit", "anchor", "-o", rsa_anchor, "--url", url, env=other_env).exit_code == 0
    assert invoke("audit", "verify", "--anchor", rsa_anchor, "--url", url, env=other_env).exit_code == 0

    unconfigured = invoke("audit", "verify", "--anchor", anchor, "--url", url)
    assert (unconfigured.exit_code, unconfigured.output) == (
        2, "Fehler: Der Anker ist mit dem Schlüssel der Zertifizierungsstelle signiert; zum Prüfen CERTFLOW_SIGN_KEY "
           "und CERTFLOW_SIGN_CERT (oder CERTFLOW_SIGN_PKCS12) setzen\n")


def test_unusable_anchor_or_key_is_bad_input(world, url, tmp_path):
    no_key = invoke("audit", "anchor", "-o", tmp_path / "a.json", "--url", url)
    assert no_key.exit_code == 2 and no_key.output.startswith("Fehler: Kein Schlüssel für den Anker")

    not_json = tmp_path / "notiz.json"
    not_json.write_text("kein Anker", encoding="utf-8")
    bad = invoke("audit", "verify", "--anchor", not_json, "--key-file", tmp_path / "k", "--url", url)
    assert (bad.exit_code, bad.output) == (2, f"Fehler: {not_json}: kein certflow-Anker (keine JSON-Datei)\n")

    anchor = tmp_path / "anker.json"
    assert invoke("audit", "anchor", "-o", anchor, "--key-file", tmp_path / "k", "--url", url).exit_code == 0
    missing = invoke("audit", "verify", "--anchor", anchor, "--url", url)
    assert (missing.exit_code, missing.output) == (
        2, "Fehler: Der Anker ist mit einer Schlüsseldatei signiert; zum Prüfen --key-file DATEI oder "
           "CERTFLOW_SIGN_ANCHOR_KEY angeben\n")
    named = invoke("audit", "verify", "--anchor", anchor, "--url", url,
                   env={"CERTFLOW_SIGN_ANCHOR_KEY": str(tmp_path / "k")})
    assert named.exit_code == 0, named.output


def test_no_anchor_for_a_broken_trail(world, url, tmp_path, engine):
    with engine.begin() as connection:
        connection.execute(text("UPDATE procedure SET state = 'certified' WHERE id = 'V-2025-002'"))
    refused = invoke("audit", "anchor", "-o", tmp_path / "a.json", "--key-file", tmp_path / "k", "--url", url)
    assert (refused.exit_code, refused.output) == (
        3, "Abgelehnt: Kein Anker geschrieben: Zustand weicht vom Prüfprotokoll ab: Verfahren V-2025-002: in der "
           "Tabelle 'zertifiziert', laut Prüfprotokoll 'nominiert'\n")
    assert not (tmp_path / "a.json").exists()


def test_a_signed_packet_prints_the_head_of_the_chain(db_world, tmp_path, engine):
    """The sign-off's packet names the hash of the procedure's last entry before it: a hash in the chain,
    held outside the database by everyone who has the packet."""
    pid = db_world.nominate()
    db_world.to_development(pid)
    db_world.at(date(2026, 3, 2))
    db_world.submit(pid)
    db_world.schedule(pid)
    db_world.record(pid)
    signed = services.sign_off(db_world.app, "aud-1", pid, "Bericht fertig", pool=shared_pool())
    reader = PdfReader(io.BytesIO(signed.document))
    page_text = "".join(page.extract_text() for page in reader.pages).replace("\n", "").replace(" ", "")
    with engine.connect() as connection:
        last = connection.execute(text("SELECT hash FROM audit_log WHERE subject_kind = 'procedure' AND "
                                       "subject_id = :pid ORDER BY seq DESC LIMIT 1"), {"pid": pid}).scalar_one()
    assert "KopfderPrüfkette" in page_text
    assert last in page_text
