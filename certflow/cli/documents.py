"""Documents from the database, rendered in worker processes (``certflow packet --all``, ``certflow demo``).

:func:`certflow.packet.render_batch` runs each :class:`~certflow.packet.BatchJob` in a worker that a
``forkserver`` starts. A job's ``data`` is a :func:`functools.partial` over a loader of this module
(module-level, so the worker can unpickle it by name) and plain values: the database URL, the
acting user, the procedure or seal number. The worker opens its own engine and unit of work and
calls the read use case (:func:`~certflow.services.documents.packet_data`,
:func:`~certflow.services.documents.certificate_data`; read scope applies). A refusal or broken data
becomes a :class:`~certflow.packet.PacketError` with a German message: that document fails, the
batch goes on.

The workers do not share the parent's working directory or environment (the forkserver keeps
those of the moment it started), so everything is passed resolved: the URL with an absolute
SQLite path, the evidence folder, the template folder.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from ..packet import BatchJob, BatchReport, CertificateData, PacketData

__all__ = [
    "certificate_job", "configured_signer", "echo_batch", "evidence_dir", "load_certificate", "load_packet",
    "packet_job", "render_or_exit", "target_file", "worker_url",
]


def worker_url(engine: Engine) -> str:
    """The engine's URL for another process: with its password, a SQLite file as an absolute path."""
    url = engine.url
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:" \
            and not url.database.startswith("file:"):
        url = url.set(database=str(Path(url.database).resolve()))
    return url.render_as_string(hide_password=False)


def evidence_dir() -> str:
    """The evidence store's folder as an absolute path (``CERTFLOW_EVIDENCE_DIR``, else ``./certflow-evidence``)."""
    from ..services import default_evidence_store

    return str(default_evidence_store().root.resolve())


def target_file(out: Path) -> None:
    """Refuse (exit 2) an ``-o`` that is a folder where one file is meant."""
    if out.is_dir():
        raise click.BadParameter(f"{out} ist ein Ordner; eine Zieldatei angeben", param_hint="'-o'")


def render_or_exit(render: Callable[..., Any], data: Any, out: Path, **options: Any) -> Any:
    """``render(data, out, <configured templates>, **options)`` in this process; a PacketError is exit 2."""
    from ..packet import PacketError, configured_templates_dir
    from .session import EXIT_INPUT

    try:
        return render(data, out, configured_templates_dir(), **options)
    except PacketError as exc:
        click.echo(f"Fehler: {exc}", err=True)
        raise SystemExit(EXIT_INPUT) from None


def configured_signer():
    """The packet signature the certification body configured (``CERTFLOW_SIGN_*``), or ``None``.

    Checked before anything is rendered or signed off: unusable settings are exit 2 with the variable named.
    """
    from ..packet import PacketError, signer_from_env
    from .session import EXIT_INPUT

    try:
        return signer_from_env()
    except PacketError as exc:
        click.echo(f"Fehler: {exc}", err=True)
        raise SystemExit(EXIT_INPUT) from None


# --- in the worker ---------------------------------------------------------------------------------------------


def _read(url: str, at: datetime | None, action: Callable[[Any], Any]) -> Any:
    """Run a read use case in its own engine and unit of work; refusals and bad data become a PacketError."""
    from sqlalchemy.exc import SQLAlchemyError

    from ..db import UnitOfWork, make_engine
    from ..errors import InputError
    from ..lifecycle.machinery import Refused, utc_now
    from ..packet import PacketError

    engine = make_engine(url)
    try:
        with UnitOfWork(engine, clock=(lambda: at) if at is not None else utc_now) as uow:
            return action(uow)
    except Refused as exc:
        raise PacketError(f"Abgelehnt: {exc.message}") from None
    except InputError as exc:
        raise PacketError(f"Fehler ({exc.kind}): " + "; ".join(str(p) for p in exc.problems)) from None
    except SQLAlchemyError as exc:
        text = str(getattr(exc, "orig", None) or exc).strip()
        raise PacketError(f"Datenbankfehler: {text.splitlines()[0] if text else type(exc).__name__}") from None
    finally:
        engine.dispose()


def load_packet(url: str, actor_id: str, procedure_id: str, evidence: str, at: datetime | None = None) -> PacketData:
    """The audit packet's data of one procedure, read as ``actor_id`` (``at`` pins the clock, e.g. the demo's day)."""
    from ..evidence_store import EvidenceStore
    from ..services.documents import packet_data

    return _read(url, at, lambda uow: packet_data(uow, actor_id, procedure_id, evidence_store=EvidenceStore(
        Path(evidence))))


def load_certificate(url: str, actor_id: str, number: str, at: datetime | None = None) -> CertificateData:
    """The Urkunde's data of the newest term of the seal ``number``, read as ``actor_id``."""
    from ..services.documents import certificate_data

    return _read(url, at, lambda uow: certificate_data(uow, actor_id, number))


# --- in the parent ------------------------------------------------------------------------------------------------


def packet_job(url: str, actor_id: str, procedure_id: str, *, evidence: str, kind: str = "packet",
               job_id: str | None = None, at: datetime | None = None,
               templates_dir: str | None = None, signer: Any = None) -> BatchJob:
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


def echo_batch(report: BatchReport) -> None:
    """One line per document written (file, pages, SHA-256), then the summary with each failure."""
    for item in report.ok:
        click.echo(f"{item.path}: {item.pages} {'Seite' if item.pages == 1 else 'Seiten'}, SHA-256 {item.sha256}")
    click.echo(report.summary())
