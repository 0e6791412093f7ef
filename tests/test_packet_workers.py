"""RenderPool: documents rendered in worker processes, byte for byte as in-process, safe to share between threads.

Urkunden and Qualitätsprofile only (fast); the packet through the pool is covered by the sign-off
(tests/test_services_documents.py: rendered in a worker, rendered again in-process, same bytes).
"""

from __future__ import annotations

import dataclasses
import threading
from pathlib import Path

import pytest

from certflow.packet import EvidenceFile, PacketError, RenderPool, certificate_pdf, qualitaetsprofil_pdf, shared_pool
from certflow.packet import render as render_module
from certflow.packet.sample import einzel_packet, sample_certificate
from certflow.packet.workers import _absolute


@pytest.fixture(scope="module")
def pool():
    with RenderPool(workers=2, timeout_s=30, memory_mb=1024) as pool:
        yield pool


@pytest.fixture(scope="module")
def certificate():
    return sample_certificate("verbund", members=3)


def test_the_same_bytes_as_rendered_in_this_process(pool, certificate):
    data = einzel_packet()
    assert pool.pdf("urkunde", certificate) == certificate_pdf(certificate)
    assert pool.pdf("qualitaetsprofil", data) == qualitaetsprofil_pdf(data)


def test_threads_render_at_once_without_the_process_lock(pool, certificate):
    """SOURCE_DATE_EPOCH is set in the worker: a render through the pool never waits for this process's lock."""
    expected = certificate_pdf(certificate)
    results: dict[int, bytes] = {}

    def render(i: int) -> None:
        results[i] = pool.pdf("urkunde", certificate)[0]

    with render_module._EPOCH_LOCK:  # held here the whole time: an in-process render would wait forever
        threads = [threading.Thread(target=render, args=(i,)) for i in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
    assert not any(t.is_alive() for t in threads)
    assert results == {0: expected[0], 1: expected[0], 2: expected[0]}


def test_written_atomically_and_only_the_packet_is_signed(pool, certificate, tmp_path):
    result = pool.render("urkunde", certificate, tmp_path / "urkunde.pdf")
    assert result.path.read_bytes() == certificate_pdf(certificate)[0] and result.pages == 1 and not result.signed
    assert list(tmp_path.iterdir()) == [tmp_path / "urkunde.pdf"]
    with pytest.raises(ValueError, match="only the audit packet"):
        pool.render("urkunde", certificate, tmp_path / "x.pdf", signer=object())


def test_a_relative_template_folder_is_the_callers(pool, certificate, tmp_path, monkeypatch):
    """The worker has its own working directory: the pool sends the folder as an absolute path."""
    folder = tmp_path / "vorlagen" / "certificate"
    folder.mkdir(parents=True)
    (folder / "urkunde.html").write_text("<html><head></head><body><p>Eigene Urkunde {{ c.certificate_number }}</p>"
                                         "</body></html>", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    pdf, pages = pool.pdf("urkunde", certificate, "vorlagen")
    assert (pdf, pages) == certificate_pdf(certificate, tmp_path / "vorlagen")
    with pytest.raises(PacketError, match="^Vorlagenordner .*/fehlt gibt es nicht$"):
        pool.pdf("urkunde", certificate, "fehlt")


def test_evidence_paths_are_sent_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    data = einzel_packet()
    relative = EvidenceFile("beleg.pdf", "Konzeption", "Beleg", "0" * 64, 10, path=Path("belege/beleg.pdf"))
    sent = _absolute(dataclasses.replace(data, evidence=(*data.evidence[:2], relative)))
    assert sent.evidence[-1].path == tmp_path / "belege" / "beleg.pdf"
    assert sent.evidence[:2] == data.evidence[:2]
    assert _absolute(data) is data  # nothing relative: sent as it is


def test_failures_are_german_and_the_pool_goes_on(certificate, tmp_path):
    loop = tmp_path / "schleife" / "certificate"
    loop.mkdir(parents=True)
    (loop / "urkunde.html").write_text("{% for i in range(10**12) %}{% endfor %}", encoding="utf-8")
    hog = tmp_path / "speicher" / "certificate"
    hog.mkdir(parents=True)
    (hog / "urkunde.html").write_text("{{ 'x' * (4 * 1024 ** 3) }}", encoding="utf-8")
    with RenderPool(workers=1, timeout_s=3, memory_mb=512) as pool:
        with pytest.raises(PacketError, match="^Zeitlimit von 3 s überschritten$"):
            pool.pdf("urkunde", certificate, tmp_path / "schleife")
        with pytest.raises(PacketError, match="^Speichergrenze von 512 MB überschritten$"):
            pool.pdf("urkunde", certificate, tmp_path / "speicher")
        assert pool.pdf("urkunde", certificate) == certificate_pdf(certificate)
    with pytest.raises(ValueError, match="at least one worker"):
        RenderPool(workers=0)


def test_the_process_has_one_shared_pool():
    assert shared_pool() is shared_pool()
    assert 1 <= shared_pool().workers <= 2
