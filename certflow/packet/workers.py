"""Worker processes that render: the forkserver pool, its limits, and :class:`RenderPool` for one document at a time.

Why processes: writing a PDF sets ``SOURCE_DATE_EPOCH`` (fontTools stamps each font subset with
the current time otherwise, and the bytes would differ from run to run), and that variable is
process-wide, so :mod:`.render` sets it under a lock and threads of one process render one
after the other. A worker process renders one document at a time, so there the variable is its
own and N workers render N documents at once. A server's threads (and the sign-off, which must
not hold a transaction while it renders) hand their documents to a :class:`RenderPool` and wait
for the bytes; :func:`shared_pool` is the process's pool.

Workers come from a ``forkserver`` that has WeasyPrint loaded already: cheap to start, and safe
beside other threads. They keep the working directory and environment of the moment the
forkserver started, so what they are given must not depend on either: the pool makes the
template folder and the evidence files' paths absolute before it sends a document.

Each document is bounded (the same limits as :func:`~.batch.render_batch`): every worker runs
under ``RLIMIT_AS`` = ``memory_mb``; a timer in the worker interrupts a render after
``timeout_s``; a worker that does not come back ``GRACE_S`` later (stuck in C code, killed by
the kernel) is killed with its pool, and the next document gets a fresh one. Every failure is a
:class:`~.model.PacketError` with a German message.
"""

from __future__ import annotations

import atexit
import dataclasses
import multiprocessing
import os
import resource
import signal
import threading
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any, Self

from .model import CertificateData, PacketData, PacketError

__all__ = ["GRACE_S", "RenderPool", "guarded", "kill", "new_executor", "shared_pool"]

GRACE_S = 3.0
_PRELOAD = ["certflow.packet.render", "weasyprint"]


# --- in the worker process -------------------------------------------------------------------------------------


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


def guarded(call: Callable[[], Any], timeout_s: float, memory_mb: int | None) -> tuple[str, Any]:
    """In a worker: ``call()`` under the time limit; ``("ok", value)`` or ``("error", German message)``."""
    def on_alarm(signum, frame):
        raise _Timeout

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, timeout_s)
    try:
        return "ok", call()
    except _Timeout:
        return "error", f"Zeitlimit von {timeout_s:g} s überschritten"
    except MemoryError:
        return "error", f"Speichergrenze von {memory_mb} MB überschritten"
    except PacketError as exc:
        return "error", str(exc)
    except Exception as exc:  # noqa: BLE001 - one broken document must not take the others down: report it
        return "error", f"Unerwarteter Fehler ({type(exc).__name__}): {exc}"
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _pdf(kind: str, data: Any, templates_dir: str | None, timeout_s: float,
         memory_mb: int | None) -> tuple[str, Any]:
    from .render import document_pdf

    return guarded(lambda: document_pdf(kind, data, templates_dir), timeout_s, memory_mb)


# --- in the parent -----------------------------------------------------------------------------------------------


def new_executor(workers: int, memory_mb: int | None) -> ProcessPoolExecutor:
    """A process pool of ``workers`` forked from the forkserver (WeasyPrint preloaded), each under ``memory_mb``."""
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(_PRELOAD)
    return ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_init_worker, initargs=(memory_mb,))


def kill(executor: ProcessPoolExecutor) -> None:
    """End a pool whose worker hangs: kill its processes (ours, by object), then shut it down."""
    processes = list((getattr(executor, "_processes", None) or {}).values())
    for p in processes:
        p.kill()
    for p in processes:
        p.join(timeout=5)
    executor.shutdown(wait=False, cancel_futures=True)


def _absolute(data: PacketData | CertificateData) -> PacketData | CertificateData:
    """``data`` with every evidence file's path absolute (the worker has its own working directory)."""
    if not isinstance(data, PacketData) or all(f.path is None or Path(f.path).is_absolute() for f in data.evidence):
        return data
    files = tuple(f if f.path is None else dataclasses.replace(f, path=Path(f.path).absolute()) for f in data.evidence)
    return dataclasses.replace(data, evidence=files)


class RenderPool:
    """Worker processes that render one document each at a time; safe to share between threads.

    ::

        pool = RenderPool(workers=2)
        pdf, pages = pool.pdf("packet", data, templates_dir)   # bytes, as packet_pdf gives them
        result = pool.render("urkunde", certificate, "urkunde.pdf")
        pool.close()

    Workers are started when needed (at most ``workers``) and stay for the next document.
    A document that fails raises :class:`PacketError`; if it took its worker down (a crash, the
    memory limit, a hang past the time limit), the pool starts afresh for the next one; documents
    other threads had running in that pool fail with it.
    """

    def __init__(self, workers: int = 1, *, timeout_s: float = 120.0, memory_mb: int | None = 1024):
        if workers < 1:
            raise ValueError("a render pool needs at least one worker")
        self.workers, self.timeout_s, self.memory_mb = workers, timeout_s, memory_mb
        self._executor: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(workers)  # a document waits here, not in the time limit

    def _current(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._executor is None:
                self._executor = new_executor(self.workers, self.memory_mb)
            return self._executor

    def _discard(self, executor: ProcessPoolExecutor) -> None:
        with self._lock:
            if self._executor is executor:
                self._executor = None
        kill(executor)

    def pdf(self, kind: str, data: PacketData | CertificateData,
            templates_dir: str | Path | None = None) -> tuple[bytes, int]:
        """The bytes and page count of a document (``packet``, ``qualitaetsprofil``, ``urkunde``), from a worker."""
        templates = str(Path(templates_dir).absolute()) if templates_dir is not None else None
        sent = _absolute(data)

        def submit(executor: ProcessPoolExecutor) -> Future[tuple[str, Any]]:
            return executor.submit(_pdf, kind, sent, templates, self.timeout_s, self.memory_mb)

        with self._slots:
            executor = self._current()
            try:
                future = submit(executor)
            except (BrokenProcessPool, RuntimeError):  # broken or shut down meanwhile: once more in a fresh pool
                self._discard(executor)
                executor = self._current()
                future = submit(executor)
            try:
                status, payload = future.result(timeout=self.timeout_s + GRACE_S)
            except FutureTimeout:
                self._discard(executor)
                raise PacketError(f"Zeitlimit von {self.timeout_s:g} s überschritten (Arbeitsprozess beendet)") \
                    from None
            except BrokenProcessPool:
                self._discard(executor)
                raise PacketError("Arbeitsprozess abgebrochen (Absturz oder Speichergrenze von "
                                  f"{self.memory_mb} MB)") from None
        if status != "ok":
            raise PacketError(payload)
        return payload

    def render(self, kind: str, data: PacketData | CertificateData, out_path: str | Path,
               templates_dir: str | Path | None = None, *, signer=None):
        """Render a document in a worker and write it to ``out_path`` here (atomically; ``signer``: packets only)."""
        from .render import write_pdf

        if signer is not None and kind != "packet":
            raise ValueError("only the audit packet is signed")
        pdf, pages = self.pdf(kind, data, templates_dir)
        return write_pdf(out_path, pdf, pages, signer)

    def close(self) -> None:
        """Stop the workers (waiting for documents still being rendered)."""
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


_shared: RenderPool | None = None
_shared_lock = threading.Lock()


def shared_pool() -> RenderPool:
    """This process's render pool (two workers at most, one on a single core), started on first use."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = RenderPool(workers=min(2, os.cpu_count() or 1))
            atexit.register(_shared.close)
        return _shared
