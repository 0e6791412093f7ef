"""Documents rendered in worker processes: the audit packet, the Qualitätsprofil and the Urkunde from the database.

The renderer never runs inside a transaction, nor in the caller's process (see
:mod:`certflow.packet.workers` for why), and the template folder, the evidence store and the
signature are the deployment's (:class:`~certflow.settings.Settings`, through the
:class:`~.runner.Application`). Two ways:

* **one document** (:func:`render_packet`, :func:`render_qualitaetsprofil`,
  :func:`render_certificate`): its data is read in one unit of work (read scope applies), then
  rendered by a worker of a :class:`~certflow.packet.RenderPool` (the process's shared pool unless
  one is given) and written here, atomically. Failures leave as :class:`~.runner.UseCaseError`:
  refused, bad input, the database, or a document that cannot be made (``INPUT``, with the
  renderer's German message);
* **many** (:func:`render_all_packets`, :func:`document_jobs`): :class:`~certflow.packet.BatchJob`\\ s
  for :func:`~certflow.packet.render_batch` whose data each worker loads itself. A job's ``data`` is
  a :func:`functools.partial` over :func:`load_packet` or :func:`load_certificate` (module-level,
  so the worker unpickles it by name) and plain values: the database URL, the acting user, the
  procedure or seal number, the evidence folder, the moment. The worker opens its own engine and
  unit of work; a refusal or broken data becomes a :class:`~certflow.packet.PacketError` with a
  German message: that document fails, the batch goes on.

Workers do not share the parent's working directory or environment (a forkserver keeps those of
the moment it started), so everything is passed resolved: the URL with an absolute SQLite path,
the evidence folder, the template folder.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from ..packet.model import PacketError
from ..settings import Settings
from .documents import certificate_data, packet_data
from .queries import packet_procedures, seal_numbers
from .runner import Application, ErrorKind, UseCaseError

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from ..db.unit_of_work import UnitOfWork
    from ..packet import BatchJob, BatchReport, CertificateData, PacketData, RenderPool, RenderResult, SignerConfig

__all__ = [
    "DocumentList", "certificate_job", "configured_signer", "document_jobs", "documents_of", "load_certificate",
    "load_packet", "packet_job", "render_all_packets", "render_certificate", "render_packet",
    "render_qualitaetsprofil", "worker_url",
]

T = TypeVar("T")


def _cannot(what: str, cause: object) -> UseCaseError:
    """A document that cannot be made (or a signature that cannot be used): bad input, in German."""
    return UseCaseError(ErrorKind.INPUT, f"Fehler: {what}{cause}")


def configured_signer(settings: Settings) -> SignerConfig | None:
    """The packet signature the certification body configured (``settings.signing``), or ``None``.

    Checked before anything is rendered or signed off: unusable settings are bad input naming the variable.
    """
    from ..packet.sign import signer_from_settings

    try:
        return signer_from_settings(settings.signing)
    except PacketError as exc:
        raise _cannot("", exc) from None


def _templates(settings: Settings) -> str | None:
    """The template folder as an absolute path (``None``: the shipped templates)."""
    return str(Path(settings.templates).absolute()) if settings.templates else None


# --- one document ----------------------------------------------------------------------------------------------


def _render(app: Application, kind: str, read: Callable[[UnitOfWork], Any], out: str | Path,
            signer: SignerConfig | None, pool: RenderPool | None) -> RenderResult:
    from ..packet.workers import shared_pool

    data = app.run(read)
    try:
        return (pool or shared_pool()).render(kind, data, out, _templates(app.settings), signer=signer)
    except PacketError as exc:
        raise _cannot("", exc) from None
    except OSError as exc:
        raise _cannot(f"{out}: ", exc.strerror or exc) from None


def render_packet(app: Application, actor_id: str, procedure_id: str, out: str | Path, *,
                  signer: SignerConfig | None = None, pool: RenderPool | None = None) -> RenderResult:
    """The audit packet of a procedure as ``actor_id`` may see it, written to ``out`` (``signer``: PAdES).

    Before the sign-off it shows the procedure as it stands; after it, the packet signed off (the same bytes).
    """
    store = app.evidence_store()
    return _render(app, "packet", lambda uow: packet_data(uow, actor_id, procedure_id, evidence_store=store), out,
                   signer, pool)


def render_qualitaetsprofil(app: Application, actor_id: str, procedure_id: str, out: str | Path, *,
                            pool: RenderPool | None = None) -> RenderResult:
    """The Qualitätsprofil of a procedure (the written feedback), written to ``out``."""
    store = app.evidence_store()
    return _render(app, "qualitaetsprofil",
                   lambda uow: packet_data(uow, actor_id, procedure_id, evidence_store=store), out, None, pool)


def render_certificate(app: Application, actor_id: str, number: str, out: str | Path, *,
                       pool: RenderPool | None = None) -> RenderResult:
    """The Urkunde of the newest term of the seal ``number``, written to ``out``."""
    return _render(app, "urkunde", lambda uow: certificate_data(uow, actor_id, number), out, None, pool)


# --- many, in a batch: in the worker ---------------------------------------------------------------------------


def _worded(error: UseCaseError) -> str:
    """One line for a batch report: a refusal, the problems of bad input, or the database's message."""
    if error.kind in (ErrorKind.REFUSED, ErrorKind.CONFLICT, ErrorKind.NOT_FOUND):
        return f"Abgelehnt: {error.message}"
    if error.kind is ErrorKind.INPUT and error.problems:
        return f"Fehler ({error.input_kind}): " + "; ".join(str(p) for p in error.problems)
    return error.message


def _read(url: str, evidence: str | None, at: datetime | None, action: Callable[[Application, UnitOfWork], T]) -> T:
    """Run a read use case in a worker's own application (engine, unit of work); failures become a PacketError."""
    from ..lifecycle.machinery import utc_now

    settings = Settings(database_url=url, evidence_store=evidence or None)  # a store's location
    app = Application(settings, clock=(lambda: at) if at is not None else utc_now, after_commit=(),
                      check_schema=False)  # the parent checked the schema before it made the jobs
    try:
        return app.run(lambda uow: action(app, uow))
    except UseCaseError as exc:
        raise PacketError(_worded(exc)) from None
    finally:
        app.close()


def load_packet(url: str, actor_id: str, procedure_id: str, evidence: str, at: datetime | None = None) -> PacketData:
    """The audit packet's data of one procedure, read as ``actor_id`` (``at`` pins the clock, e.g. the demo's day)."""
    return _read(url, evidence, at, lambda app, uow: packet_data(uow, actor_id, procedure_id,
                                                                 evidence_store=app.evidence_store()))


def load_certificate(url: str, actor_id: str, number: str, at: datetime | None = None) -> CertificateData:
    """The Urkunde's data of the newest term of the seal ``number``, read as ``actor_id``."""
    return _read(url, None, at, lambda app, uow: certificate_data(uow, actor_id, number))


# --- many, in a batch: in the parent ---------------------------------------------------------------------------


def worker_url(engine: Engine) -> str:
    """The engine's URL for another process: with its password, a SQLite file as an absolute path."""
    url = engine.url
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:" \
            and not url.database.startswith("file:"):
        url = url.set(database=str(Path(url.database).resolve()))
    return url.render_as_string(hide_password=False)


def packet_job(url: str, actor_id: str, procedure_id: str, *, evidence: str, kind: str = "packet",
               job_id: str | None = None, at: datetime | None = None,
               templates_dir: str | None = None, signer: SignerConfig | None = None) -> BatchJob:
    """A job rendering the audit packet (or, ``kind="qualitaetsprofil"``, the Qualitätsprofil) of a procedure;
    ``signer`` (packets only) appends the certification body's PAdES signature."""
    from ..packet import BatchJob

    return BatchJob(job_id or procedure_id, functools.partial(load_packet, url, actor_id, procedure_id, evidence, at),
                    kind=kind, templates_dir=templates_dir, signer=signer if kind == "packet" else None)


def certificate_job(url: str, actor_id: str, number: str, *, job_id: str | None = None, at: datetime | None = None,
                    templates_dir: str | None = None) -> BatchJob:
    """A job rendering the Urkunde of the newest term of the seal ``number``."""
    from ..packet import BatchJob

    return BatchJob(job_id or number, functools.partial(load_certificate, url, actor_id, number, at),
                    kind="urkunde", templates_dir=templates_dir)


def render_all_packets(app: Application, actor_id: str, jugendamt_id: str, out_dir: str | Path, *,
                       signer: SignerConfig | None = None, workers: int = 2, timeout_s: float = 120,
                       memory_mb: int | None = 1024, progress: bool = False) -> BatchReport:
    """The packet of every procedure of the Jugendamt that has a submitted self-assessment and that the actor
    may see (:func:`~.queries.packet_procedures`), rendered in parallel into ``out_dir/<procedure>.pdf``.

    Nothing to render: an empty report, and ``out_dir`` is not made. A refusal or bad input (another
    Jugendamt, an unknown one) leaves as :class:`~.runner.UseCaseError` before anything is rendered;
    a procedure that fails later fails alone (``report.failed``).
    """
    from ..packet import BatchReport, render_batch

    ids = app.run(lambda uow: packet_procedures(uow, actor_id, jugendamt_id))
    if not ids:
        return BatchReport()
    url, evidence, templates = worker_url(app.engine), app.evidence_store().location, _templates(app.settings)
    jobs = [packet_job(url, actor_id, procedure_id, evidence=evidence, templates_dir=templates, signer=signer)
            for procedure_id in ids]
    return render_batch(jobs, out_dir, workers=workers, timeout_s=timeout_s, memory_mb=memory_mb, progress=progress)


@dataclass(frozen=True, slots=True)
class DocumentList:
    """Every document of the database: the packet of each procedure with a submitted self-assessment,
    the Qualitätsprofil of each decided one (procedure ids), the Urkunde of each seal (seal numbers)."""

    packets: tuple[str, ...]
    profiles: tuple[str, ...]
    seals: tuple[str, ...]


def documents_of(uow: UnitOfWork, actor_id: str) -> DocumentList:
    """The documents of every Jugendamt as ``actor_id`` may see them (for the certification body and admin:
    a coordinator or Kita lead is refused for a Jugendamt not theirs)."""
    jugendaemter = [j.id for j in uow.jugendaemter.all()]
    packets = tuple(p for ja in jugendaemter for p in packet_procedures(uow, actor_id, ja))
    profiles = tuple(p for ja in jugendaemter for p in packet_procedures(uow, actor_id, ja, decided=True))
    return DocumentList(packets, profiles, tuple(seal_numbers(uow, actor_id)))


def document_jobs(app: Application, actor_id: str, listing: DocumentList, *, at: datetime | None = None,
                  rendered: frozenset[str] = frozenset()) -> list[BatchJob]:
    """The jobs rendering ``listing`` (its packets as ``<procedure>``, Qualitätsprofile as
    ``<procedure>-qualitaetsprofil``, Urkunden as ``<number>-urkunde``), read as ``actor_id`` at ``at``;
    the packets of the procedures in ``rendered`` are left out (the caller has their bytes already)."""
    url, evidence, templates = worker_url(app.engine), app.evidence_store().location, _templates(app.settings)
    jobs = [packet_job(url, actor_id, p, evidence=evidence, at=at, templates_dir=templates)
            for p in listing.packets if p not in rendered]
    jobs += [packet_job(url, actor_id, p, evidence=evidence, at=at, templates_dir=templates, kind="qualitaetsprofil",
                        job_id=f"{p}-qualitaetsprofil") for p in listing.profiles]
    jobs += [certificate_job(url, actor_id, n, at=at, templates_dir=templates, job_id=f"{n}-urkunde")
             for n in listing.seals]
    return jobs
