"""The evidence store's seam: the same scenarios on the local folder and on its in-memory twin, and the
setting that chooses the store (``CERTFLOW_EVIDENCE_STORE``)."""

from __future__ import annotations

import hashlib
import io
import re
import uuid
from pathlib import Path

import pytest

from certflow.evidence_staging import EvidenceStaging
from certflow.evidence_store import (
    EvidenceRejected, EvidenceStore, LocalEvidenceStore, MemoryEvidenceStore, open_evidence_store,
)
from certflow.services.runner import Application, UseCaseError
from certflow.settings import Settings

PDF = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"
PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
       b"\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7\x35\x81\x84\x00\x00\x00\x00IEND\xaeB`\x82")


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture(params=["local", "memory"])
def store(request, tmp_path) -> EvidenceStore:
    if request.param == "local":
        return LocalEvidenceStore(tmp_path / "belege", max_bytes=4096)
    return MemoryEvidenceStore("vertrag", max_bytes=4096)


def test_put_then_read_it_back_by_its_hash(store):
    stored = store.put(PDF, "konzept.pdf")
    assert (stored.sha256, stored.size, stored.media_type, stored.filename) == (
        sha(PDF), len(PDF), "application/pdf", "konzept.pdf")
    assert store.exists(stored.sha256) and store.size(stored.sha256) == len(PDF)
    with store.open(stored.sha256) as fh:
        assert fh.read() == PDF
    assert store.get(stored.sha256).read_bytes() == PDF  # a file on this machine, for attachments and downloads
    assert store.verify(stored.sha256)
    assert set(store.iterate()) == {stored.sha256}


def test_the_same_content_is_stored_once_from_bytes_a_stream_or_a_path(store, tmp_path):
    source = tmp_path / "bild.png"
    source.write_bytes(PNG)
    first = store.put(PNG, "a.png")
    assert store.put(io.BytesIO(PNG), "b.png").sha256 == first.sha256
    assert store.put(source, "c.png").sha256 == first.sha256
    assert list(store.iterate()) == [first.sha256]


@pytest.mark.parametrize(("content", "expected", "message"), [
    (b"", None, "Datei ist leer"),
    (b"%PDF-" + b"x" * 5000, None, "größer als 4 KB"),
    (b"MZ\x90\x00" + b"\x00" * 60, None, "ist nicht erlaubt"),
    (PDF, "0" * 64, "Prüfsumme stimmt nicht"),
    (PDF, "kein-hash", "kein SHA-256-Wert"),
])
def test_both_refuse_the_same_files_with_the_same_german_reason(store, content, expected, message):
    with pytest.raises(EvidenceRejected, match=message) as refused:
        store.put(content, "beleg.bin", expected_sha256=expected)
    assert refused.value.reason.startswith("beleg.bin: ")
    assert list(store.iterate()) == []


def test_a_staged_file_reaches_the_store_only_when_published(store):
    pending = store.stage(PDF, "konzept.pdf")
    assert pending.stored.sha256 == sha(PDF) and not store.exists(sha(PDF))
    pending.discard()
    assert not store.exists(sha(PDF))
    again = store.stage(PDF, "konzept.pdf")
    assert again.publish() == again.stored and store.exists(sha(PDF))
    again.publish()  # idempotent
    assert list(store.iterate()) == [sha(PDF)]


def test_delete_and_unknown_files(store):
    stored = store.put(PDF, "x.pdf")
    store.delete(stored.sha256)
    store.delete(stored.sha256)  # nothing there: nothing happens
    assert not store.exists(stored.sha256) and list(store.iterate()) == []
    with pytest.raises(FileNotFoundError):
        store.open(stored.sha256)
    with pytest.raises(FileNotFoundError):
        store.get(stored.sha256)
    with pytest.raises(ValueError):
        store.exists("../../etc/passwd")


def test_the_staging_area_keeps_drafts_apart_and_promotes_into_the_store(store):
    staging = EvidenceStaging.beside(store)
    staged = staging.stage("P-17", PDF, "konzept.pdf")
    assert staged.new and staging.has("P-17", sha(PDF)) and not store.exists(sha(PDF))
    assert staging.staged("P-17") == {sha(PDF)} and staging.staged("P-18") == frozenset()
    assert not staging.stage("P-17", PDF, "nochmal.pdf").new
    assert staging.describe("P-17", sha(PDF), "konzept.pdf").media_type == "application/pdf"
    staging.stage("P-17", PNG, "bild.png")
    promotion = staging.promote("P-17", [(sha(PDF), "konzept.pdf")], store)
    assert [f.sha256 for f in promotion.moved] == [sha(PDF)] and promotion.failed == ()
    staging.clear("P-17", keep=[sha(PNG)])
    assert staging.staged("P-17") == {sha(PNG)}
    staging.clear("P-17")
    assert staging.staged("P-17") == frozenset() and list(store.iterate()) == [sha(PDF)]
    with pytest.raises(ValueError):
        staging.stage("../P-17", PDF, "x.pdf")


def test_a_memory_store_is_one_per_name_in_the_process():
    name = f"t-{uuid.uuid4().hex[:8]}"
    try:
        first = open_evidence_store(f"memory:{name}")
        first.put(PDF, "x.pdf")
        assert open_evidence_store(f"memory:{name}").exists(sha(PDF))
        assert not open_evidence_store(f"memory:{name}-anders").exists(sha(PDF))
    finally:
        MemoryEvidenceStore.forget(name)
        MemoryEvidenceStore.forget(f"{name}-anders")


def test_the_setting_chooses_the_store(tmp_path):
    default = Settings.from_env({})
    assert default.evidence_location == "local:certflow-evidence"
    local = Settings.from_env({"CERTFLOW_EVIDENCE_STORE": f"local:{tmp_path / 'belege'}",
                               "CERTFLOW_EVIDENCE_DIR": "/woanders"})
    assert local.evidence_dir == tmp_path / "belege"  # the store's folder wins (backups copy that one)
    store = Application(local).evidence_store()
    assert isinstance(store, LocalEvidenceStore) and store.root == tmp_path / "belege"
    assert open_evidence_store(store.location).root == store.root  # what a worker process is handed
    memory = Application(Settings.from_env({"CERTFLOW_EVIDENCE_STORE": "memory:einstellung"})).evidence_store()
    assert isinstance(memory, MemoryEvidenceStore) and memory.location == "memory:einstellung"
    MemoryEvidenceStore.forget("einstellung")


@pytest.mark.parametrize("location", ["s3:eimer", "local:", "irgendwas"])
def test_an_unknown_store_is_refused_in_german(location):
    with pytest.raises(UseCaseError) as refused:
        Application(Settings.from_env({"CERTFLOW_EVIDENCE_STORE": location})).evidence_store()
    assert "ist kein Belegspeicher" in refused.value.message and "local:PFAD" in refused.value.message


def test_every_use_of_evidence_files_goes_through_the_seam():
    """Outside the two seam modules nothing builds a store itself or walks a store's folder (the backup copies the
    local folder as files: the one place that knows its layout, see docs); the rest asks the application for the
    store the settings name (``Application.evidence_store()``)."""
    root = Path(__file__).resolve().parents[1] / "certflow"
    made = re.compile(r"(?<![\w.])(?:Local|Memory)?EvidenceStore\(|evidence_store\(\)\.root|-staging")
    offenders = [f"{path.relative_to(root)}: {hit.group(0)}" for path in sorted(root.rglob("*.py"))
                 if path.name not in ("evidence_store.py", "evidence_staging.py", "backup.py")
                 for hit in made.finditer(path.read_text(encoding="utf-8"))]
    assert offenders == []
