"""``certflow backup`` and ``certflow restore``: database and evidence store together, with a manifest of hashes.

Restored into an empty database and an empty evidence store (SQLite -> SQLite, PostgreSQL ->
PostgreSQL, SQLite -> PostgreSQL), the audit packet and the Urkunde render to the very same bytes,
``audit verify`` passes (against an anchor written before the backup, too), and the guard triggers
are in place. A backup is checked against its manifest before anything is written; a database or
evidence store that is not empty is refused.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from certflow import services
from certflow.calendar import KindergartenYear
from certflow.cli import cli
from certflow.db import make_engine, upgrade
from certflow.evidence_store import LocalEvidenceStore
from certflow.lifecycle import Outcome
from certflow.packet import shared_pool
from certflow.services.documents import certificate_data, packet_data
from certflow.services.runner import Application
from certflow.settings import Settings
from db_support import FixedClock, db_url, engine, pg_schema, postgres_admin  # noqa: F401
from test_services_documents import _to_visit
from test_services_world import KGJ, database_world, db_world  # noqa: F401

pytestmark = pytest.mark.slow  # renders packets and certificates (seconds each)

CLEAN_ENV = {"CERTFLOW_SIGN_KEY": None, "CERTFLOW_SIGN_CERT": None, "CERTFLOW_SIGN_PKCS12": None,
             "CERTFLOW_SIGN_ANCHOR_KEY": None, "CERTFLOW_EVIDENCE_DIR": None}


def invoke(*args):
    return CliRunner(env={**CLEAN_ENV, "COLUMNS": "110"}).invoke(cli, [str(a) for a in args], catch_exceptions=False)


def _url(engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def _documents(url: str, store: Path, clock, pid: str, number: str) -> dict[str, bytes]:
    """The audit packet of ``pid`` and the Urkunde ``number`` as they render from the database at ``url``."""
    app = Application(Settings(database_url=url, evidence_dir=store), clock=clock, after_commit=())
    try:
        packet = app.run(lambda uow: packet_data(uow, "cert-1", pid, evidence_store=LocalEvidenceStore(store)))
        urkunde = app.run(lambda uow: certificate_data(uow, "cert-1", number))
        stored = app.run(lambda uow: uow.audits.packet_sha256(pid))
    finally:
        app.close()
    return {"packet": shared_pool().pdf("packet", packet)[0], "urkunde": shared_pool().pdf("urkunde", urkunde)[0],
            "stored": stored.encode()}


def _fill(world, tmp_path) -> tuple[str, str, Path, bytes]:
    """A procedure submitted with evidence, signed off (packet rendered), certified; another one nominated."""
    pid, store, _evidence = _to_visit(world, tmp_path)
    signed = services.sign_off(world.app, "aud-1", pid, "Bericht fertig", evidence_store=store, pool=shared_pool())
    world.at(date(2026, 5, 11))
    decided = world.do(services.decide, "cert-2", pid, Outcome.CERTIFIED, "Alle Bereiche erfüllt")
    world.nominate("fz-v")
    return pid, decided.certificate.number, store.root, signed.document


@pytest.fixture
def empty_target(db_url, request, tmp_path):
    """An empty database of the same kind as ``db_url`` (not set up)."""
    if db_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'restored.sqlite'}"
        return
    with pg_schema(request.getfixturevalue("postgres_admin")) as url:
        yield url


def _round_trip(world, source_url: str, target_url: str, tmp_path: Path) -> None:
    pid, number, store, signed_pdf = _fill(world, tmp_path)
    before = _documents(source_url, store, world.clock, pid, number)
    assert before["stored"].decode() == hashlib.sha256(signed_pdf).hexdigest()
    anchor, key = tmp_path / "anker.json", tmp_path / "anker.key"
    assert invoke("audit", "anchor", "-o", anchor, "--key-file", key, "--url", source_url).exit_code == 0

    saved = invoke("backup", "-o", tmp_path / "sicherung", "--db", source_url, "--evidence-dir", store)
    assert saved.exit_code == 0, saved.output
    lines = saved.output.splitlines()
    assert lines[0].startswith(f"Sicherung {tmp_path / 'sicherung'} geschrieben: ") and "2 Beleg(e)" in lines[0]
    manifest = (tmp_path / "sicherung" / "manifest.json").read_bytes()
    assert lines[1] == f"SHA-256 des Manifests: {hashlib.sha256(manifest).hexdigest()}"
    files = json.loads(manifest)["files"]
    assert {name for name in files if name.startswith("evidence/")} == {
        f"evidence/{p.parent.name}/{p.name}" for p in store.glob("??/*")}
    for name, entry in files.items():
        assert hashlib.sha256((tmp_path / "sicherung" / name).read_bytes()).hexdigest() == entry["sha256"]

    restored_store = tmp_path / "belege-neu"
    back = invoke("restore", tmp_path / "sicherung", "--db", target_url, "--evidence-dir", restored_store)
    assert back.exit_code == 0, back.output
    assert back.output.splitlines()[-1].startswith("Prüfprotokoll in Ordnung: ")

    after = _documents(target_url, restored_store, world.clock, pid, number)
    assert after == before  # byte for byte: the packet, the Urkunde and the stored hash
    verified = invoke("audit", "verify", "--anchor", anchor, "--key-file", key, "--url", target_url)
    assert verified.exit_code == 0, verified.output
    assert "Zustände: 2 Verfahren und 1 Urkunden stimmen" in verified.output

    target = make_engine(target_url)
    try:
        with pytest.raises(DBAPIError, match="Prüfprotokoll"), target.begin() as connection:
            connection.execute(text("UPDATE audit_log SET reason = 'anders' WHERE seq = 1"))
        with pytest.raises(DBAPIError, match="abgezeichnet"), target.begin() as connection:
            connection.execute(text("UPDATE audit_visit SET packet_sha256 = :h"), {"h": "0" * 64})
        app = Application(Settings(database_url=target_url, evidence_dir=restored_store), clock=world.clock,
                          after_commit=())
        try:  # the restored database goes on: new ids follow the restored ones
            opened = app.run(lambda uow: services.nominate(uow, "coord-b", "fz-b", KGJ, "Beschluss"))
            assert opened.procedure.id == "V-2025-003"
            granted = app.run(lambda uow: services.grant(uow, "admin", "ja-b", KindergartenYear(2026), 1, "Erlass"))
            assert granted.contingent.granted == 1  # a new row: the id sequences moved past the restored ids
        finally:
            app.close()
    finally:
        target.dispose()


def test_restore_gives_the_same_packets_and_a_passing_verify(db_world, engine, empty_target, tmp_path):
    _round_trip(db_world, _url(engine), empty_target, tmp_path)


def test_restore_from_sqlite_into_postgresql(postgres_admin, tmp_path):
    source = make_engine(f"sqlite:///{tmp_path / 'quelle.sqlite'}")
    upgrade(source)
    try:
        world = database_world(source, tmp_path)
        with pg_schema(postgres_admin) as target:
            _round_trip(world, _url(source), target, tmp_path)
    finally:
        source.dispose()


def test_a_tar_backup_restores_into_a_set_up_empty_database(db_world, engine, tmp_path):
    db_world.nominate()
    store = tmp_path / "leer"
    archive = tmp_path / "sicherung.tar"
    assert invoke("backup", "-o", archive, "--db", _url(engine), "--evidence-dir", store).exit_code == 0
    target = f"sqlite:///{tmp_path / 'ziel.sqlite'}"
    assert invoke("db", "upgrade", "--url", target).exit_code == 0  # set up, but without data: still empty
    back = invoke("restore", archive, "--db", target, "--evidence-dir", tmp_path / "neu")
    assert back.exit_code == 0, back.output
    assert invoke("audit", "verify", "--url", target).exit_code == 0
    again = invoke("backup", "-o", archive, "--db", _url(engine), "--evidence-dir", store)
    assert (again.exit_code, again.output) == (2, f"Fehler: {archive} gibt es schon; eine Sicherung überschreibt "
                                                  "nichts\n")


def test_restore_refuses_what_is_not_empty_and_what_does_not_match_the_manifest(db_world, engine, tmp_path):
    pid, _store, _ = _to_visit(db_world, tmp_path)
    backup = tmp_path / "sicherung"
    assert invoke("backup", "-o", backup, "--db", _url(engine), "--evidence-dir", tmp_path / "store").exit_code == 0

    into_itself = invoke("restore", backup, "--db", _url(engine), "--evidence-dir", tmp_path / "neu")
    assert into_itself.exit_code == 3
    assert into_itself.output.startswith("Abgelehnt: Zurückspielen nur in eine leere Datenbank: das Prüfprotokoll "
                                         "hat schon Einträge")

    target = f"sqlite:///{tmp_path / 'ziel.sqlite'}"
    full = tmp_path / "voll"
    full.mkdir()
    (full / "datei").write_text("x", encoding="utf-8")
    busy = invoke("restore", backup, "--db", target, "--evidence-dir", full)
    assert (busy.exit_code, busy.output) == (3, f"Abgelehnt: Zurückspielen nur in einen leeren Belegspeicher: {full} "
                                                "enthält schon Dateien\n")

    rows = backup / "database" / "procedure.jsonl"
    original = rows.read_text(encoding="utf-8")
    assert '"audited"' in original
    rows.write_text(original.replace('"audited"', '"certified"'), encoding="utf-8")
    tampered = invoke("restore", backup, "--db", target, "--evidence-dir", tmp_path / "neu")
    assert (tampered.exit_code, tampered.output) == (
        2, f"Fehler: Sicherung {backup} beschädigt: database/procedure.jsonl: Prüfsumme stimmt nicht mit dem "
           "Manifest überein\n")
    assert not (tmp_path / "neu").exists() and not (tmp_path / "ziel.sqlite").exists()  # nothing was written

    nothing = tmp_path / "nichts"
    nothing.mkdir()
    no_backup = invoke("restore", nothing, "--db", target, "--evidence-dir", tmp_path / "neu")
    assert (no_backup.exit_code, no_backup.output) == (
        2, f"Fehler: {nothing}: keine certflow-Sicherung (manifest.json fehlt)\n")

    not_empty = invoke("backup", "-o", full, "--db", _url(engine))
    assert (not_empty.exit_code, not_empty.output) == (
        2, f"Fehler: {full} ist kein leerer Ordner; eine Sicherung überschreibt nichts\n")
