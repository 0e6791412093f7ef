"""Batch rendering: broken jobs are reported in German, the others are rendered; hung or crashing workers
do not stop the batch. Jobs here are Urkunden and Qualitätsprofile (fast) and packets that fail early.

The job functions below run inside the worker processes, which import this module by name.
"""

from __future__ import annotations

import dataclasses
import os
import resource
import signal
import time
from pathlib import Path

import pytest

from certflow.packet import BatchJob, EvidenceFile, render_batch, verify_packet
from certflow.packet.sample import einzel_packet, sample_certificate


def raises_in_loading():
    raise RuntimeError("Verfahren nicht gefunden")


def hangs_in_c_code():
    """Stands in for a render stuck where the worker's timer cannot interrupt it."""
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
    time.sleep(300)


def crashes():
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # no core file
    os.abort()


def hogs_memory():
    return bytearray(3 * 1024 ** 3)


@pytest.fixture(scope="module")
def certificate():
    return sample_certificate("verbund", members=3)


@pytest.fixture(scope="module")
def packet():
    return einzel_packet()


def test_broken_jobs_are_reported_and_the_others_rendered(tmp_path, certificate, packet):
    missing = EvidenceFile("weg.pdf", "Konzeption bzw. schriftliches Konzept", "Konzept, verschwunden", "0" * 64, 10,
                           path=tmp_path / "weg.pdf")
    broken = dataclasses.replace(packet, evidence=(*packet.evidence[:3], missing))
    jobs = [
        BatchJob("urkunde-1", certificate, kind="urkunde"),
        BatchJob("kaputt", broken),
        BatchJob("qualitaetsprofil", packet, kind="qualitaetsprofil"),
        BatchJob("laden", raises_in_loading),
        BatchJob("speicher", hogs_memory),
    ]
    seen = []
    report = render_batch(jobs, tmp_path / "out", workers=2, timeout_s=60, memory_mb=1024, progress=False,
                          on_done=lambda job, ok, msg: seen.append((job, ok)))
    assert [i.job_id for i in report.ok] == ["urkunde-1", "qualitaetsprofil"]
    failed = dict(report.failed)
    assert list(failed) == ["kaputt", "laden", "speicher"]
    assert failed["kaputt"].startswith("Nachweis N-04 „Konzept, verschwunden“: Datei") and "nicht lesbar" in failed["kaputt"]
    assert failed["laden"] == "Unerwarteter Fehler (RuntimeError): Verfahren nicht gefunden"
    assert failed["speicher"] == "Speichergrenze von 1024 MB überschritten"
    assert sorted(seen) == sorted([(j.id, j.id in ("urkunde-1", "qualitaetsprofil")) for j in jobs])
    for item in report.ok:
        assert item.path == tmp_path / "out" / f"{item.job_id}.pdf" and item.pages >= 1
        assert verify_packet(item.path, item.sha256).ok
    assert not list((tmp_path / "out").glob("*.part")) and not (tmp_path / "out" / "kaputt.pdf").exists()
    assert "3 fehlgeschlagen" in report.summary() and "kaputt: Nachweis" in report.summary()


def test_a_hung_worker_or_runaway_template_does_not_hang_the_batch(tmp_path, certificate):
    loop = tmp_path / "vorlagen" / "certificate"
    loop.mkdir(parents=True)
    (loop / "urkunde.html").write_text("{% for i in range(10**12) %}{% endfor %}", encoding="utf-8")
    jobs = [
        BatchJob("haengt", hangs_in_c_code, kind="urkunde"),
        BatchJob("schleife", certificate, kind="urkunde", templates_dir=str(tmp_path / "vorlagen")),
        BatchJob("gut", certificate, kind="urkunde"),
    ]
    start = time.monotonic()
    report = render_batch(jobs, tmp_path / "out", workers=2, timeout_s=4, progress=False)
    assert time.monotonic() - start < 30
    assert [i.job_id for i in report.ok] == ["gut"]
    failed = dict(report.failed)
    assert failed["haengt"] == "Zeitlimit von 4 s überschritten (Arbeitsprozess beendet)"
    assert failed["schleife"] == "Zeitlimit von 4 s überschritten"


def test_a_crashing_worker_is_blamed_alone(tmp_path, certificate):
    jobs = [BatchJob("absturz", crashes, kind="urkunde"), BatchJob("gut", certificate, kind="urkunde")]
    report = render_batch(jobs, tmp_path / "out", workers=2, timeout_s=60, progress=False)
    assert [i.job_id for i in report.ok] == ["gut"]
    assert report.failed == [("absturz", "Arbeitsprozess abgebrochen (Absturz oder Speichergrenze von 1024 MB)")]


def test_job_ids_must_give_distinct_file_names(tmp_path, certificate):
    with pytest.raises(ValueError, match="unique"):
        render_batch([BatchJob("a/b", certificate, kind="urkunde"), BatchJob("a b", certificate, kind="urkunde")],
                     tmp_path, progress=False)
    with pytest.raises(ValueError, match="kind"):
        BatchJob("x", certificate, kind="brief")
    assert Path(tmp_path).is_dir()
