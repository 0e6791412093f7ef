"""Render many packets (or Urkunden, Qualitätsprofile) in parallel worker processes.

One broken procedure does not stop the batch: every job ends either in ``ok`` or in ``failed``
with a German message. Each document is bounded:

* memory: every worker process runs under ``RLIMIT_AS`` = ``memory_mb``;
* time: a timer in the worker interrupts a render after ``timeout_s``; should a worker not
  come back (stuck in C code, killed by the kernel), the parent gives it a grace period, then
  kills the pool, reports the job and carries on with a new pool.

A job that crashes its worker (the pool breaks) is retried once on its own, so a crash is
pinned on the job that caused it and the others are not blamed. Workers come from a
``forkserver`` that has WeasyPrint loaded already (:mod:`.workers`, which also renders single
documents for a server's threads): cheap to start, and safe beside the progress bar's thread.
"""

from __future__ import annotations

import re
import time
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .render import DOCUMENT_KINDS as KINDS
from .workers import GRACE_S, guarded, kill, new_executor

__all__ = ["KINDS", "BatchItem", "BatchJob", "BatchReport", "render_batch"]


@dataclass(frozen=True)
class BatchJob:
    """One document to render. ``data`` is the view-model, or a picklable callable that returns it
    (so a worker can load the data itself and a failure to load is reported for this job only)."""

    id: str
    data: Any
    kind: str = "packet"
    templates_dir: str | None = None
    signer: Any = None  # SignerConfig, packets only

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, not {self.kind!r}")
        if self.signer is not None and self.kind != "packet":
            raise ValueError("only the audit packet is signed")


@dataclass(frozen=True)
class BatchItem:
    job_id: str
    path: Path
    sha256: str
    pages: int
    bytes: int
    seconds: float


@dataclass
class BatchReport:
    ok: list[BatchItem] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> str:
        lines = [f"{len(self.ok)} erstellt, {len(self.failed)} fehlgeschlagen ({self.seconds:.1f} s)"]
        lines += [f"  {job}: {message}" for job, message in self.failed]
        return "\n".join(lines)


# --- in the worker process -----------------------------------------------------------------------


def _run(job: BatchJob, out: Path, timeout_s: float, memory_mb: int | None) -> tuple[str, Any]:
    from .render import document_pdf, write_pdf

    def render() -> BatchItem:
        start = time.perf_counter()
        data = job.data() if callable(job.data) else job.data
        r = write_pdf(out, *document_pdf(job.kind, data, job.templates_dir), signer=job.signer)
        return BatchItem(job.id, r.path, r.sha256, r.pages, r.bytes, time.perf_counter() - start)

    try:
        return guarded(render, timeout_s, memory_mb)
    finally:
        out.with_name(out.name + ".part").unlink(missing_ok=True)


# --- in the parent ---------------------------------------------------------------------------------


def _file_name(job_id: str) -> str:
    return (re.sub(r"[^A-Za-z0-9._-]+", "_", job_id).strip("._") or "dokument") + ".pdf"


class _Progress:
    def __init__(self, total: int, enabled: bool):
        self._bar = None
        if enabled:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self._bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TimeElapsedColumn(), console=Console(stderr=True))
            self._task = self._bar.add_task("Dokumente erstellen", total=total)
            self._bar.start()

    def advance(self, failed: int) -> None:
        if self._bar is not None:
            text = "Dokumente erstellen" + (f" ({failed} Fehler)" if failed else "")
            self._bar.update(self._task, advance=1, description=text)

    def stop(self) -> None:
        if self._bar is not None:
            self._bar.stop()


def render_batch(jobs: Iterable[BatchJob], out_dir: str | Path, workers: int = 2, timeout_s: float = 120,
                 memory_mb: int | None = 1024, progress: bool = True,
                 on_done: Callable[[str, bool, str], None] | None = None) -> BatchReport:
    """Render ``jobs`` into ``out_dir`` (``<job id>.pdf``) with ``workers`` processes.

    ``on_done(job_id, ok, message)`` is called as each job ends (e.g. to log or store the hash).
    """
    jobs = list(jobs)
    names = [_file_name(j.id) for j in jobs]
    if len(set(names)) != len(names):
        raise ValueError("job ids must be unique (also after making them file names)")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    report = BatchReport()
    started = time.perf_counter()
    pending: deque[BatchJob] = deque(jobs)
    suspects: deque[BatchJob] = deque()  # broke a pool together with others: run alone once more
    running: dict[Future, tuple[BatchJob, float, bool]] = {}
    bar = _Progress(len(jobs), progress)
    pool = new_executor(workers, memory_mb)

    def finish(job: BatchJob, ok: bool, payload: Any) -> None:
        if ok:
            report.ok.append(payload)
        else:
            report.failed.append((job.id, payload))
        bar.advance(len(report.failed))
        if on_done is not None:
            on_done(job.id, ok, "" if ok else payload)

    try:
        while pending or suspects or running:
            if suspects and not running:
                job = suspects.popleft()
                fut = pool.submit(_run, job, out_dir / _file_name(job.id), timeout_s, memory_mb)
                running[fut] = (job, time.monotonic() + timeout_s + GRACE_S, True)
            while pending and not suspects and len(running) < workers:
                job = pending.popleft()
                fut = pool.submit(_run, job, out_dir / _file_name(job.id), timeout_s, memory_mb)
                running[fut] = (job, time.monotonic() + timeout_s + GRACE_S, False)
            next_deadline = min(deadline for _, deadline, _ in running.values())
            done, _ = wait(running, timeout=max(0.05, min(1.0, next_deadline - time.monotonic())),
                           return_when=FIRST_COMPLETED)
            broken = False
            for fut in done:
                job, _, alone = running.pop(fut)
                try:
                    status, payload = fut.result()
                except BrokenProcessPool:
                    broken = True
                    if alone:
                        finish(job, False, f"Arbeitsprozess abgebrochen (Absturz oder Speichergrenze von "
                                           f"{memory_mb} MB)")
                    else:
                        suspects.append(job)
                    continue
                finish(job, status == "ok", payload)
            now = time.monotonic()
            overdue = [f for f, (_, deadline, _) in running.items() if now > deadline]
            if overdue or broken:
                for fut in overdue:
                    job, _, _ = running.pop(fut)
                    finish(job, False, f"Zeitlimit von {timeout_s:g} s überschritten (Arbeitsprozess beendet)")
                for job, _, _ in list(running.values()):  # innocent bystanders: run again
                    pending.appendleft(job)
                running.clear()
                kill(pool)
                pool = new_executor(workers, memory_mb)
    except BaseException:
        kill(pool)
        raise
    finally:
        bar.stop()
    pool.shutdown(wait=True)
    report.seconds = time.perf_counter() - started
    order = {j.id: i for i, j in enumerate(jobs)}
    report.ok.sort(key=lambda item: order[item.job_id])
    report.failed.sort(key=lambda f: order[f[0]])
    return report
