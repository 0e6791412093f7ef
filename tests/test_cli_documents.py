"""The jobs whose data a worker process loads itself (certflow/cli/documents.py), run here in-process."""

from __future__ import annotations

import pickle
from datetime import datetime, timezone

import pytest
from sqlalchemy import create_engine

from certflow.cli.documents import certificate_job, load_packet, packet_job, worker_url
from certflow.packet import CertificateData, PacketData, PacketError


def test_worker_url_makes_a_sqlite_file_absolute_and_keeps_a_password(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert worker_url(create_engine("sqlite:///demo.sqlite")) == f"sqlite:///{tmp_path}/demo.sqlite"
    assert worker_url(create_engine("sqlite:////srv/x.sqlite")) == "sqlite:////srv/x.sqlite"
    assert worker_url(create_engine("postgresql+psycopg://u:geheim@db:5432/certflow")) == \
        "postgresql+psycopg://u:geheim@db:5432/certflow"


def test_jobs_pickle_and_load_their_data(demo_db, tmp_path):
    url = f"sqlite:///{demo_db.db}"
    at = datetime(2026, 3, 10, 11, tzinfo=timezone.utc)
    job = pickle.loads(pickle.dumps(packet_job(url, "admin", "V-2025-004", evidence=str(tmp_path), at=at,
                                               templates_dir="/vorlagen")))
    assert (job.id, job.kind, job.templates_dir) == ("V-2025-004", "packet", "/vorlagen")
    data = job.data()
    assert isinstance(data, PacketData) and data.procedure.id == "V-2025-004"
    assert data.generated_on.isoformat() == "2026-03-10"  # not decided, not signed off: the pinned day
    profile = packet_job(url, "admin", "V-2024-002", evidence=str(tmp_path), kind="qualitaetsprofil",
                         job_id="V-2024-002-qualitaetsprofil")
    assert (profile.id, profile.kind) == ("V-2024-002-qualitaetsprofil", "qualitaetsprofil")
    urkunde = pickle.loads(pickle.dumps(certificate_job(url, "admin", "FZ-2023-001", job_id="FZ-2023-001-urkunde")))
    assert (urkunde.id, urkunde.kind) == ("FZ-2023-001-urkunde", "urkunde")
    data = urkunde.data()
    assert isinstance(data, CertificateData) and data.certificate_number == "FZ-2023-001"


@pytest.mark.parametrize("user, procedure_id, message", [
    ("admin", "V-2025-001", "Abgelehnt: Verfahren V-2025-001: es gibt noch keine eingereichte Selbstbewertung"),
    ("admin", "V-1999-001", "Abgelehnt: Verfahren V-1999-001 gibt es nicht"),
    ("leitung-senfkorn", "V-2025-007",
     "Abgelehnt: Kein Zugriff: Markus Brandes (Kita-Leitung) darf Verfahren V-2025-007 nicht sehen"),
])
def test_a_refusal_in_the_worker_is_that_documents_german_error(demo_db, tmp_path, user, procedure_id, message):
    with pytest.raises(PacketError) as caught:
        load_packet(f"sqlite:///{demo_db.db}", user, procedure_id, str(tmp_path))
    assert str(caught.value) == message


def test_an_unreadable_database_is_that_documents_error(tmp_path):
    (tmp_path / "kaputt.sqlite").write_bytes(b"kein SQLite")
    with pytest.raises(PacketError, match="^Datenbankfehler: file is not a database$"):
        load_packet(f"sqlite:///{tmp_path}/kaputt.sqlite", "admin", "V-2025-004", str(tmp_path))
