"""Documents from the database, rendered in worker processes (certflow/services/rendering.py).

On SQLite and PostgreSQL (the ``world`` fixture): one document read in one unit of work and rendered by a
worker; the batch jobs whose workers load their data themselves, a refusal or broken data failing that
document alone with a German message.
"""

from __future__ import annotations

import pickle
from datetime import datetime, timezone

import pytest
from pypdf import PdfReader
from sqlalchemy import create_engine

from certflow.packet import PacketData, PacketError, read_manifest, verify_packet
from certflow.services.rendering import (
    DocumentList, configured_signer, document_jobs, documents_of, load_certificate, load_packet, packet_job,
    render_all_packets, render_packet, render_qualitaetsprofil, worker_url,
)
from certflow.services.runner import Application, ErrorKind, UseCaseError
from certflow.settings import Settings
from db_support import db_url, engine, postgres_admin  # noqa: F401
from test_services_documents import _to_visit, world  # noqa: F401
from test_services_world import db_world  # noqa: F401


@pytest.fixture
def visited(world, tmp_path):
    """A procedure with a submitted self-assessment (evidence in ``tmp_path/store``) and a recorded visit,
    and an application on the world's database whose evidence store is that one."""
    pid, store, evidence = _to_visit(world, tmp_path)
    app = Application(world.app.settings.with_(evidence_dir=store.root), engine=world.app.engine, clock=world.clock,
                      after_commit=(), check_schema=False)
    return app, pid, store, evidence


def test_a_packet_is_read_in_scope_and_rendered_in_a_worker(visited, tmp_path):
    app, pid, _store, _ = visited
    out = tmp_path / "paket.pdf"
    result = render_packet(app, "coord-a", pid, out)
    assert (result.path, result.signed) == (out, False) and result.pages == len(PdfReader(out).pages) > 10
    assert verify_packet(out, result.sha256).ok and read_manifest(out)["procedure"]["id"] == pid
    assert [p.name for p in tmp_path.iterdir() if p.suffix in (".pdf", ".part")] == ["paket.pdf"]

    with pytest.raises(UseCaseError, match="^Kein Zugriff: Carl B") as refused:
        render_packet(app, "coord-b", pid, tmp_path / "fremd.pdf")
    assert refused.value.kind is ErrorKind.REFUSED and not (tmp_path / "fremd.pdf").exists()


def test_the_qualitaetsprofil_and_a_document_that_cannot_be_made(visited, tmp_path):
    app, pid, store, evidence = visited
    profile = render_qualitaetsprofil(app, "lead-1", pid, tmp_path / "qp.pdf")
    assert "Qualitätsprofil" in PdfReader(profile.path).pages[0].extract_text()

    store.get(evidence[0].sha256).write_bytes(b"%PDF-1.4 changed")  # no longer the bytes submitted
    with pytest.raises(UseCaseError) as broken:
        render_packet(app, "admin", pid, tmp_path / "kaputt.pdf")
    assert broken.value.kind is ErrorKind.INPUT
    assert broken.value.message.startswith("Fehler: Nachweis N-01") and "SHA-256 der Datei beleg-0.pdf" in \
        broken.value.message
    assert not (tmp_path / "kaputt.pdf").exists() and not (tmp_path / "kaputt.pdf.part").exists()


def test_the_configured_signature_is_checked_before_anything_is_rendered(tmp_path):
    assert configured_signer(Settings()) is None
    with pytest.raises(UseCaseError) as bad:
        configured_signer(Settings(signing={"KEY": str(tmp_path / "fehlt.pem")}))
    assert bad.value.kind is ErrorKind.INPUT
    assert bad.value.message == f"Fehler: Signatur: CERTFLOW_SIGN_KEY={tmp_path / 'fehlt.pem'}: Datei nicht gefunden"


def test_all_packets_of_a_jugendamt_in_parallel(visited, tmp_path):
    app, pid, _store, _ = visited
    report = render_all_packets(app, "coord-a", "ja-a", tmp_path / "pakete", workers=1)
    assert ([i.job_id for i in report.ok], report.failed) == ([pid], [])
    assert report.ok[0].path == tmp_path / "pakete" / f"{pid}.pdf" and verify_packet(report.ok[0].path,
                                                                                      report.ok[0].sha256).ok

    nothing = render_all_packets(app, "coord-b", "ja-b", tmp_path / "leer")
    assert (nothing.ok, nothing.failed) == ([], []) and not (tmp_path / "leer").exists()
    with pytest.raises(UseCaseError, match="darf die Verfahren des Jugendamts ja-a nicht sehen") as refused:
        render_all_packets(app, "coord-b", "ja-a", tmp_path / "fremd")
    assert refused.value.kind is ErrorKind.REFUSED and not (tmp_path / "fremd").exists()


def test_the_jobs_pickle_and_their_workers_load_the_data_themselves(visited, tmp_path):
    app, pid, store, _ = visited
    url = worker_url(app.engine)
    at = datetime(2026, 3, 20, 11, tzinfo=timezone.utc)
    job = pickle.loads(pickle.dumps(packet_job(url, "admin", pid, evidence=str(store.root), at=at,
                                               templates_dir="/vorlagen")))
    assert (job.id, job.kind, job.templates_dir) == (pid, "packet", "/vorlagen")
    data = job.data()
    assert isinstance(data, PacketData) and data.procedure.id == pid
    assert data.generated_on.isoformat() == "2026-03-20"  # not decided, not signed off: the pinned day
    assert data.evidence[0].status == "attached" and data.evidence[0].path.parent.parent == store.root

    listing = app.run(lambda uow: documents_of(uow, "admin"))
    assert listing == DocumentList(packets=(pid,), profiles=(), seals=())
    assert document_jobs(app, "admin", listing, rendered=frozenset({pid})) == []
    (again,) = document_jobs(app, "admin", listing, at=at)
    assert (again.id, again.kind, again.data.args) == (pid, "packet", (url, "admin", pid, str(store.root), at))


@pytest.mark.parametrize("user, procedure_id, message", [
    ("admin", "V-1999-001", "Abgelehnt: Verfahren V-1999-001 gibt es nicht"),
    ("lead-b", None, "Abgelehnt: Kein Zugriff: Lina B (Kita-Leitung) darf Verfahren {pid} nicht sehen"),
])
def test_a_refusal_in_the_worker_is_that_documents_german_error(visited, user, procedure_id, message):
    app, pid, store, _ = visited
    with pytest.raises(PacketError) as caught:
        load_packet(worker_url(app.engine), user, procedure_id or pid, str(store.root))
    assert str(caught.value) == message.format(pid=pid)
    with pytest.raises(PacketError, match="^Abgelehnt: Gütesiegel FZ-1999-001 gibt es nicht$"):
        load_certificate(worker_url(app.engine), "admin", "FZ-1999-001")


def test_an_unreadable_database_is_that_documents_error(tmp_path):
    (tmp_path / "kaputt.sqlite").write_bytes(b"kein SQLite")
    with pytest.raises(PacketError, match="^Datenbankfehler: file is not a database$"):
        load_packet(f"sqlite:///{tmp_path}/kaputt.sqlite", "admin", "V-2025-004", str(tmp_path))


def test_worker_url_makes_a_sqlite_file_absolute_and_keeps_a_password(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert worker_url(create_engine("sqlite:///demo.sqlite")) == f"sqlite:///{tmp_path}/demo.sqlite"
    assert worker_url(create_engine("sqlite:////srv/x.sqlite")) == "sqlite:////srv/x.sqlite"
    assert worker_url(create_engine("postgresql+psycopg://u:geheim@db:5432/certflow")) == \
        "postgresql+psycopg://u:geheim@db:5432/certflow"
