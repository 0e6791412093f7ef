"""Render many packets (or Urkunden, Qualitätsprofile) in parallel worker processes.

One broken procedure does not stop the batch: every job ends either in ``ok`` or in ``failed``
with a German message. Each document is bounded:

* memory: every worker process runs under ``RLIMIT_AS`` = ``memory_mb``;
* time: a timer in the worker interrupts a render after ``timeout_s``; should a worker not
  come back (stuck in C code, killed by the kernel), the parent gives it a grace period, then
  kills the pool, reports the job and carries on with a new pool.

A job that crashes its worker (the pool breaks) is retried once on its own, so a crash is
pinned on the job that caused it and the others are not blamed. Workers come from a
``forkserver`` that has WeasyPrint loaded already: cheap to start, and safe beside the
progress bar's thread.
"""

from __future__ import annotations

import multiprocessing
import re
import resource
import signal
import time
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .model import PacketError

__all__ = ["KINDS", "BatchItem", "BatchJob", "BatchReport", "render_batch"]

KINDS = ("packet", "qualitaetsprofil", "urkunde")
_GRACE_S = 3.0


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


class _Timeout(BaseException):
    """Raised by the timer; a BaseException so that no ``except Exception`` on the way swallows it."""


def _init_worker(memory_mb: int | None) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    if memory_mb:
        soft = memory_mb * 1024 * 1024
        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        if hard != resource.RLIM_INFINITY:
            soft = min(soft, hard)
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def _render(job: BatchJob, data: Any, out: Path):
    from . import render

    if job.kind == "packet":
        return render.render_packet(data, out, job.templates_dir, signer=job.signer)
    if job.kind == "qualitaetsprofil":
        return render.render_qualitaetsprofil(data, out, job.templates_dir)
    return render.render_certificate(data, out, job.templates_dir)


def _run(job: BatchJob, out: Path, timeout_s: float, memory_mb: int | None) -> tuple[str, Any]:
    def on_alarm(signum, frame):
        raise _Timeout

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, timeout_s)
    start = time.perf_counter()
    try:
        data = job.data() if callable(job.data) else job.data
        r = _render(job, data, out)
        return "ok", BatchItem(job.id, r.path, r.sha256, r.pages, r.bytes, time.perf_counter() - start)
    except _Timeout:
        return "error", f"Zeitlimit von {timeout_s:g} s überschritten"
    except MemoryError:
        return "error", f"Speichergrenze von {memory_mb} MB überschritten"
    except PacketError as exc:
        return "error", str(exc)
    except Exception as exc:  # one broken procedure must not stop the batch: report it, in German
        return "error", f"Unerwarteter Fehler ({type(exc).__name__}): {exc}"
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        out.with_name(out.name + ".part").unlink(missing_ok=True)


# --- in the parent ---------------------------------------------------------------------------------


def _file_name(job_id: str) -> str:
    return (re.sub(r"[^A-Za-z0-9._-]+", "_", job_id).strip("._") or "dokument") + ".pdf"


def _pool(workers: int, memory_mb: int | None) -> ProcessPoolExecutor:
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["certflow.packet.render", "weasyprint"])
    return ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_init_worker, initargs=(memory_mb,))


def _kill(pool: ProcessPoolExecutor) -> None:
    """End a pool whose worker hangs: kill its processes (ours, by object), then shut it down."""
    processes = list((getattr(pool, "_processes", None) or {}).values())
    for p in processes:
        p.kill()
    for p in processes:
        p.join(timeout=5)
    pool.shutdown(wait=False, cancel_futures=True)


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
    pool = _pool(workers, memory_mb)

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
                running[fut] = (job, time.monotonic() + timeout_s + _GRACE_S, True)
            while pending and not suspects and len(running) < workers:
                job = pending.popleft()
                fut = pool.submit(_run, job, out_dir / _file_name(job.id), timeout_s, memory_mb)
                running[fut] = (job, time.monotonic() + timeout_s + _GRACE_S, False)
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
                for fut, (job, _, _) in list(running.items()):  # innocent bystanders: run again
                    pending.appendleft(job)
                running.clear()
                _kill(pool)
                pool = _pool(workers, memory_mb)
    except BaseException:
        _kill(pool)
        raise
    finally:
        bar.stop()
    pool.shutdown(wait=True)
    report.seconds = time.perf_counter() - started
    order = {j.id: i for i, j in enumerate(jobs)}
    report.ok.sort(key=lambda item: order[item.job_id])
    report.failed.sort(key=lambda f: order[f[0]])
    return report
