"""What a coordinator takes out of certflow: the list of Familienzentren as XLSX or CSV, the Jugendamt's
calendar as a subscription (iCalendar feed behind a personal secret), and every audit packet as one ZIP.

* :func:`export_familienzentren`: the filtered list (:func:`certflow.services.dashboard.familienzentren`) as
  a spreadsheet. A text cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets an
  apostrophe in front (:func:`spreadsheet_text`), so no spreadsheet program runs it as a formula;
* calendar subscriptions: a calendar program cannot log in, so the feed's address carries a secret: a
  read-only API token of the coordinator (:func:`certflow.services.accounts.create_token`), made and revoked
  on the page (:func:`create_calendar_subscription`, :func:`revoke_calendar_subscription`), stored only as
  its hash and audited like every token. :func:`jugendamt_calendar` turns the secret into the feed of the
  token owner's Jugendamt (:func:`certflow.services.reminders.calendar_feed`, its scope applies);
* :func:`packet_archive`: the audit packets of the Jugendamt (:func:`certflow.services.packet_procedures`)
  rendered in worker processes (:func:`certflow.packet.render_batch`, time and memory bounded per packet)
  and streamed as a ZIP while they are made: each packet goes out as soon as it is ready, a packet that
  fails is named in ``FEHLER.txt`` inside the archive, and a client that goes away stops the batch.
"""

from __future__ import annotations

import csv
import io
import queue
import re
import shutil
import tempfile
import threading
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..calendar import format_date_de
from ..catalogue.model import Form, ProcedureKind
from ..db.tables.accounts import TokenScope
from ..errors import InputError, Problem
from ..lifecycle.entities import CERTIFICATE_STATE_LABELS, PROCEDURE_STATE_LABELS, ProcedureState, Role, User
from ..lifecycle.machinery import Refused
from .accounts import StoredToken, authenticate_token, create_token, list_tokens, revoke_token
from .actors import resolve
from .common import Result, today
from .dashboard import FamilienzentrumFilter, FamilienzentrumListing, familienzentren, jugendamt_in_view
from .queries import packet_procedures
from .reminders import CalendarFeed, calendar_feed

if TYPE_CHECKING:
    from ..db.repositories.dashboard import ListedFamilienzentrum
    from ..db.unit_of_work import UnitOfWork
    from ..packet import BatchJob
    from .runner import Application

__all__ = [
    "COLUMNS", "EXPORT_FORMATS", "Export", "PacketArchive", "calendar_subscriptions", "create_calendar_subscription",
    "export_familienzentren", "familienzentren_csv", "familienzentren_xlsx", "jugendamt_calendar", "packet_archive",
    "revoke_calendar_subscription", "spreadsheet_text",
]

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""What makes a spreadsheet program read a text cell as a formula (CSV/formula injection)."""
COLUMNS = ("Kennung", "Familienzentrum", "Form", "Einrichtungen", "Orte", "Verfahren", "Art", "Kindergartenjahr",
           "Zustand des Verfahrens", "Begehung geplant", "Gütesiegel", "Zustand des Gütesiegels", "Gültig bis")
EXPORT_FORMATS = {"csv": "text/csv; charset=utf-8",
                  "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")  # not allowed in XLSX (and of no use in CSV)
_FORM_LABELS = {Form.EINZEL: "Einzeleinrichtung", Form.VERBUND: "Verbund"}
_KIND_LABELS = {ProcedureKind.ERST: "Erst-Zertifizierung", ProcedureKind.RE: "Re-Zertifizierung"}


# -- the list as a spreadsheet --------------------------------------------------------------------------------


def spreadsheet_text(value: str) -> str:
    """``value`` as a spreadsheet shows it literally: an apostrophe before ``=``, ``+``, ``-``, ``@``, tab or CR
    at its start (so it is never run as a formula); control characters a spreadsheet cannot hold removed."""
    value = _CONTROL.sub("", value)
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def _cells(row: ListedFamilienzentrum) -> list[str | int | date | None]:
    return [row.id, row.name, _FORM_LABELS[row.form], row.members, ", ".join(row.towns), row.procedure_id,
            _KIND_LABELS[row.procedure_kind] if row.procedure_kind else None, str(row.kgj) if row.kgj else None,
            PROCEDURE_STATE_LABELS[row.state] if row.state else "ohne Verfahren",
            row.planned_audit_date if row.state is ProcedureState.AUDIT_SCHEDULED else None,
            row.certificate_number, CERTIFICATE_STATE_LABELS[row.certificate_state] if row.certificate_state else None,
            row.seal_valid_until]


def _about(listing: FamilienzentrumListing) -> list[tuple[str, str]]:
    filters = listing.filters
    shown = []
    if filters.state:
        shown.append("Zustand: " + ("ohne Verfahren" if filters.state == "ohne"
                                     else PROCEDURE_STATE_LABELS[filters.state]))  # type: ignore[index]
    if filters.town:
        shown.append(f"Ort: {filters.town}")
    if filters.seal_before:
        shown.append(f"Gütesiegel gültig bis vor dem {format_date_de(filters.seal_before)}")
    if filters.form:
        shown.append(f"Form: {_FORM_LABELS[filters.form]}")
    return [("Jugendamt", listing.jugendamt), ("Stand", format_date_de(listing.day)),
            ("Filter", "; ".join(shown) or "keiner"), ("Familienzentren", str(listing.total))]


def familienzentren_csv(listing: FamilienzentrumListing) -> bytes:
    """The list as CSV for German spreadsheet programs: UTF-8 with BOM, ``;`` between fields, dates as TT.MM.JJJJ."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for row in listing.rows:
        writer.writerow(["" if cell is None else format_date_de(cell) if isinstance(cell, date)
                         else spreadsheet_text(cell) if isinstance(cell, str) else cell for cell in _cells(row)])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def familienzentren_xlsx(listing: FamilienzentrumListing) -> bytes:
    """The list as an Excel workbook: the sheet "Familienzentren" (header row frozen, auto filter, dates as dates)
    and the sheet "Info" (Jugendamt, day, filter)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    book = Workbook()
    sheet = book.active
    sheet.title = "Familienzentren"
    sheet.append(list(COLUMNS))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in listing.rows:
        sheet.append([spreadsheet_text(cell) if isinstance(cell, str) else cell for cell in _cells(row)])
    for column, name in enumerate(COLUMNS, start=1):
        letter = get_column_letter(column)
        for cell in sheet[letter][1:]:
            if isinstance(cell.value, date):
                cell.number_format = "DD.MM.YYYY"
        sheet.column_dimensions[letter].width = max(12, min(45, len(name) + 4))
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(COLUMNS))}{max(1, sheet.max_row)}"
    info = book.create_sheet("Info")
    for label, value in _about(listing):
        info.append([label, spreadsheet_text(value)])
    info.column_dimensions["A"].width = 18
    info.column_dimensions["B"].width = 60
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@dataclass(frozen=True, slots=True)
class Export:
    """A file to hand out: its name, media type and bytes."""

    filename: str
    media_type: str
    body: bytes = field(repr=False)


def export_familienzentren(uow: UnitOfWork, actor_id: str, filters: FamilienzentrumFilter | None, fmt: str, *,
                           jugendamt_id: str | None = None) -> Export:
    """The Familienzentren of the Jugendamt the actor looks at that pass ``filters``, all of them, as ``fmt``
    (``"csv"`` or ``"xlsx"``); scope as :func:`~certflow.services.dashboard.familienzentren`."""
    if fmt not in EXPORT_FORMATS:
        raise InputError([Problem("Export", None, ("format",), "nur csv oder xlsx")])
    listing = familienzentren(uow, actor_id, filters, jugendamt_id=jugendamt_id)
    body = familienzentren_csv(listing) if fmt == "csv" else familienzentren_xlsx(listing)
    return Export(f"familienzentren-{listing.jugendamt_id}-{listing.day.isoformat()}.{fmt}", EXPORT_FORMATS[fmt],
                  body)


# -- the calendar subscription -----------------------------------------------------------------------------------


def _subscriber(uow: UnitOfWork, actor_id: str) -> User:
    actor = resolve(uow, actor_id)
    if actor.role is not Role.COORDINATOR or actor.jugendamt_id is None:
        raise Refused(f"Kalender-Abos gibt es für die {Role.COORDINATOR.label}, nicht für die Rolle "
                      f"'{actor.role.label}'")
    return actor


def _live(token: StoredToken, uow: UnitOfWork) -> bool:
    return token.revoked_at is None and (token.expires_at is None or token.expires_at > uow.now())


def calendar_subscriptions(uow: UnitOfWork, actor_id: str) -> list[StoredToken]:
    """The coordinator's calendar subscriptions that still work: their read-only tokens, oldest first."""
    actor = _subscriber(uow, actor_id)
    return [t for t in list_tokens(uow, actor.id, actor.id) if t.scope is TokenScope.READ and _live(t, uow)]


def create_calendar_subscription(uow: UnitOfWork, actor_id: str, label: str) -> Result:
    """A new calendar subscription of the coordinator: a read-only token named ``label`` (1 to 100 characters).

    The secret is in ``facts["secret"]`` of the result only (shown once, stored as its hash); bad labels
    raise :class:`~certflow.errors.InputError` (path ``label``).
    """
    actor = _subscriber(uow, actor_id)
    new = create_token(uow, actor.id, actor.id, label=label, scope=TokenScope.READ,
                       reason=f"Kalender-Abo „{(label or '').strip()[:100]}“ angelegt")
    return Result("calendar_subscription.created", {"label": new.label, "secret": new.token, "id": new.id})


def revoke_calendar_subscription(uow: UnitOfWork, actor_id: str, token_id: int) -> Result:
    """End one of the coordinator's own calendar subscriptions (a read-only token of theirs; nobody else's)."""
    actor = _subscriber(uow, actor_id)
    token = uow.accounts.token(token_id)
    if token is None or token.user_id != actor.id or token.scope is not TokenScope.READ or not _live(token, uow):
        raise Refused(f"Ein Kalender-Abo Nr. {token_id} gibt es unter Ihren Abos nicht (mehr)")
    revoke_token(uow, actor.id, token.id, reason=f"Kalender-Abo „{token.label}“ beendet")
    return Result("calendar_subscription.revoked", {"label": token.label, "id": token.id})


def jugendamt_calendar(uow: UnitOfWork, secret: str) -> CalendarFeed:
    """The calendar of the Jugendamt of the coordinator whose token ``secret`` is (read scope), as of today.

    Refused for an unknown, revoked or expired secret and for a token of anyone but a coordinator.
    """
    owner = authenticate_token(uow, secret, scope=TokenScope.READ)
    if owner.role is not Role.COORDINATOR or owner.jugendamt_id is None:
        raise Refused("Dieser Kalender-Link gehört zu keinem Jugendamt")
    return calendar_feed(uow, owner.id, jugendamt_id=owner.jugendamt_id, day=today(uow))


# -- the audit packets as one ZIP ------------------------------------------------------------------------------


class _Sink(io.RawIOBase):
    """A write-only, non-seekable file collecting what :class:`zipfile.ZipFile` writes until it is taken."""

    def __init__(self) -> None:
        super().__init__()
        self._parts: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self._parts.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        out, self._parts = b"".join(self._parts), []
        return out


class _Gone(Exception):
    """The client went away: stop rendering."""


_DONE = object()


@dataclass
class PacketArchive:
    """The audit packets of one Jugendamt, to be streamed as a ZIP (:meth:`chunks`): ``<procedure>.pdf`` each."""

    jugendamt_id: str
    procedure_ids: tuple[str, ...]
    filename: str
    jobs: Sequence[BatchJob] = field(repr=False, default=())
    workers: int = 2
    timeout_s: float = 120
    memory_mb: int | None = 1024
    failed: list[tuple[str, str]] = field(default_factory=list)

    def chunks(self) -> Iterator[bytes]:
        """The ZIP's bytes, a packet at a time as the workers finish them (nothing held but the packet in hand)."""
        from ..packet import render_batch

        folder = Path(tempfile.mkdtemp(prefix="certflow-pakete-"))
        events: queue.Queue[Any] = queue.Queue()
        stop = threading.Event()
        names = {job.id: procedure for job, procedure in zip(self.jobs, self.procedure_ids, strict=True)}
        holders = [2]  # the batch's thread and this generator: the last one to end removes the folder
        lock = threading.Lock()

        def release() -> None:
            with lock:
                holders[0] -= 1
                last = holders[0] == 0
            if last:
                shutil.rmtree(folder, ignore_errors=True)

        def on_done(job_id: str, ok: bool, message: str) -> None:
            events.put((job_id, ok, message))
            if stop.is_set():
                raise _Gone()

        def work() -> None:
            try:
                render_batch(self.jobs, folder, workers=self.workers, timeout_s=self.timeout_s,
                             memory_mb=self.memory_mb, progress=False, on_done=on_done)
                events.put(_DONE)
            except _Gone:
                events.put(_DONE)
            except Exception as exc:  # noqa: BLE001 - told inside the archive, the stream ends cleanly
                events.put(exc)
            finally:
                release()

        sink = _Sink()
        archive = zipfile.ZipFile(sink, "w", zipfile.ZIP_DEFLATED)
        thread = threading.Thread(target=work, name="certflow-pakete", daemon=True)
        try:
            if self.jobs:
                thread.start()
                while (event := events.get()) is not _DONE:
                    if isinstance(event, Exception):
                        self.failed.append(("alle übrigen", f"Die Erstellung brach ab: {event}"))
                        break
                    job_id, ok, message = event
                    if ok:
                        pdf = folder / f"{job_id}.pdf"
                        archive.write(pdf, f"{names[job_id]}.pdf")
                        pdf.unlink(missing_ok=True)
                    else:
                        self.failed.append((names[job_id], message))
                    if ready := sink.take():
                        yield ready
            else:
                archive.writestr("LIESMICH.txt", "Im Jugendamt gibt es noch kein Auditpaket (keine eingereichte "
                                                 "Selbstbewertung).\r\n")
            if self.failed:
                archive.writestr("FEHLER.txt", "Diese Auditpakete konnten nicht erstellt werden:\r\n" + "".join(
                    f"{procedure}: {message}\r\n" for procedure, message in self.failed))
            archive.close()
            yield sink.take()
        finally:
            stop.set()  # a client that went away stops the batch after the packet in hand (never waited for here)
            if not self.jobs:
                release()
            release()


def packet_archive(app: Application, actor_id: str, *, jugendamt_id: str | None = None, workers: int = 2,
                   timeout_s: float = 120, memory_mb: int | None = 1024) -> PacketArchive:
    """The audit packets of the Jugendamt the actor looks at (every procedure with a submitted self-assessment),
    ready to be streamed (:meth:`PacketArchive.chunks`); signed when the certification body configured a key.

    Scope and bad input are checked here, before anything renders (:class:`~.runner.UseCaseError`).
    """
    from .rendering import configured_signer, packet_job, worker_url

    def read(uow: UnitOfWork) -> tuple[str, list[str], date]:
        jugendamt = jugendamt_in_view(uow, resolve(uow, actor_id), jugendamt_id)
        return jugendamt.id, packet_procedures(uow, actor_id, jugendamt.id), today(uow)

    ja, ids, day = app.run(read)
    signer = configured_signer(app.settings)
    url, evidence = worker_url(app.engine), app.evidence_store().location
    templates = str(Path(app.settings.templates).absolute()) if app.settings.templates else None
    at = app.now()  # the packets are dated by the application's clock, as the pages are
    jobs = [packet_job(url, actor_id, procedure_id, evidence=evidence, templates_dir=templates, signer=signer,
                       at=at, job_id=f"paket-{n:04d}") for n, procedure_id in enumerate(ids, start=1)]
    return PacketArchive(ja, tuple(ids), f"auditpakete-{ja}-{day.isoformat()}.zip", jobs, workers, timeout_s,
                         memory_mb)
