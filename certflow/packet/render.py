"""HTML templates -> PDF/A-3: the audit packet, the Urkunde and the Qualitätsprofil.

Templates are looked up in the caller's folder first, then in the shipped ``templates/``
(:func:`certflow.resources.templates_dir`), file by file: a certification body can replace
only ``packet/brand.css`` and ``packet/logo.svg``, or any template, without touching code.

Reproducible: the PDF's dates (info dictionary, XMP, attachments) come from the data
(:attr:`PacketData.document_date`), its identifier from the procedure, nothing from the clock,
and WeasyPrint's own output is deterministic for the same input, fonts and versions. So the
same data gives a byte-identical file. Resources are never fetched from outside: templates may
use ``data:`` URLs only (``asset()`` turns a template-folder file into one).

Per process (and thread) the renderer keeps what does not change between documents: the compiled
Jinja2 environment per template folder, one WeasyPrint ``FontConfiguration`` (the fonts are found and
loaded once) and the parsed packet stylesheet (a ``weasyprint.CSS`` per stylesheet text, so an edited
``brand.css`` is picked up). A worker of :mod:`.workers` thus pays for them on its first document only.

The functions here render in the calling process. Writing a PDF sets ``SOURCE_DATE_EPOCH``, which
is process-wide, under a lock: threads of one process would render one at a time. A server (or
anything with threads) renders through :class:`certflow.packet.workers.RenderPool` instead, whose
worker processes each render one document at a time. The template folder is passed in by the caller
(the deployment's :attr:`certflow.settings.Settings.templates`); nothing here reads the environment.
"""

from __future__ import annotations

import base64
import hashlib
import io
import mimetypes
import os
import threading
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
from markupsafe import Markup

from ..calendar import format_date_de
from ..resources import templates_dir as shipped_templates_dir
from .chart import score_chart
from .model import CertificateData, PacketData, PacketError
from .view import MANIFEST_NAME, manifest_bytes, packet_view

__all__ = ["DOCUMENT_KINDS", "PACKET_STYLESHEETS", "PDF_VARIANT", "RenderResult", "certificate_html", "certificate_pdf",
           "document_pdf", "environment", "html_to_pdf", "packet_css", "packet_html", "packet_pdf",
           "qualitaetsprofil_html", "qualitaetsprofil_pdf", "render_certificate", "render_packet",
           "render_qualitaetsprofil", "write_pdf"]

PDF_VARIANT = "pdf/a-3u"
BERLIN = ZoneInfo("Europe/Berlin")
DOCUMENT_KINDS = ("packet", "qualitaetsprofil", "urkunde")
PACKET_STYLESHEETS = ("packet/brand.css", "packet/packet.css")  # the packet's style, in this order


@dataclass(frozen=True, slots=True)
class RenderResult:
    """``sha256`` is of the packet as rendered, before any signature: the hash stored with the sign-off.

    ``file_sha256`` and ``bytes`` describe the file written to ``path`` (with a signature appended
    when ``signed``); without a signature ``file_sha256 == sha256``.
    """

    path: Path
    sha256: str
    pages: int
    bytes: int
    signed: bool = False
    file_sha256: str = ""


def _version() -> str:
    try:
        return metadata.version("certflow")
    except metadata.PackageNotFoundError:  # pragma: no cover - running from an uninstalled checkout
        return "0"


# --- Jinja2 --------------------------------------------------------------------------------------


def _date(value: date | datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.astimezone(BERLIN).date()
    return format_date_de(value)


def _datetime(value: datetime) -> str:
    local = value.astimezone(BERLIN)
    return f"{format_date_de(local.date())}, {local:%H:%M} Uhr"


def _time(value: datetime) -> str:
    return f"{value.astimezone(BERLIN):%H:%M} Uhr"


def _size(n: int) -> str:
    if n < 1024:
        return f"{n} Byte"
    size = float(n)
    for unit in ("KB", "MB", "GB"):
        size /= 1024
        if size < 1024 or unit == "GB":
            return f"{size:.1f} {unit}".replace(".", ",")
    raise AssertionError  # pragma: no cover


def _search_path(user_dir: str | None) -> list[str]:
    dirs = [str(Path(user_dir).resolve())] if user_dir else []
    return [*dirs, str(shipped_templates_dir())]


@lru_cache(maxsize=8)
def environment(templates_dir: str | None = None) -> jinja2.Environment:
    """The Jinja2 environment for a template folder (``None``: the shipped templates only)."""
    if templates_dir is not None and not Path(templates_dir).is_dir():
        raise PacketError(f"Vorlagenordner {templates_dir} gibt es nicht")
    search = _search_path(templates_dir)
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(search),
        autoescape=jinja2.select_autoescape(["html", "xml", "svg"]),
        undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
    )
    env.filters.update(datum=_date, datumzeit=_datetime, uhrzeit=_time, groesse=_size)

    def asset(name: str) -> str:
        """A file of the template folders as a ``data:`` URL (first folder that has it wins)."""
        for folder in search:
            path = Path(folder, name)
            if path.is_file():
                mime = mimetypes.guess_type(name)[0] or "application/octet-stream"
                return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"
        raise PacketError(f"Vorlagendatei {name} fehlt (gesucht in: {', '.join(search)})")

    env.globals.update(asset=asset, score_chart=lambda report, **kw: Markup(score_chart(report, **kw)),
                       certflow_version=_version())
    return env


def _template(templates_dir: str | Path | None, name: str) -> jinja2.Template:
    env = environment(None if templates_dir is None else str(templates_dir))
    try:
        return env.get_template(name)
    except jinja2.TemplateNotFound as exc:
        raise PacketError(f"Vorlage {name} fehlt") from exc


def packet_html(data: PacketData, templates_dir: str | Path | None = None) -> str:
    """The final HTML of the audit packet (what WeasyPrint lays out)."""
    areas, evidence = packet_view(data)
    return _template(templates_dir, "packet/packet.html").render(
        d=data, areas=areas, evidence=evidence, manifest_name=MANIFEST_NAME)


def packet_css(templates_dir: str | Path | None = None) -> str:
    """The packet's stylesheet (:data:`PACKET_STYLESHEETS` of the template folders, joined): given to WeasyPrint
    beside :func:`packet_html`, parsed once per process and reused for the next packet."""
    return "\n".join(_template(templates_dir, name).render() for name in PACKET_STYLESHEETS)


def qualitaetsprofil_html(data: PacketData, templates_dir: str | Path | None = None) -> str:
    areas, _ = packet_view(data)
    return _template(templates_dir, "certificate/qualitaetsprofil.html").render(d=data, areas=areas)


def certificate_html(data: CertificateData, templates_dir: str | Path | None = None) -> str:
    return _template(templates_dir, "certificate/urkunde.html").render(c=data)


# --- WeasyPrint ----------------------------------------------------------------------------------


def _moment(day: date) -> datetime:
    """Midnight UTC of ``day``: the fixed time stamp of everything in the PDF (naive, as WeasyPrint wants)."""
    return datetime.combine(day, time(0, 0))


class _Reused(threading.local):
    """What a thread of this process reuses from one document to the next: the font configuration and the
    parsed stylesheets. Per thread (Pango's font map is not shared between threads) and per process (a
    forked worker makes its own)."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.fonts: Any = None
        self.sheets: dict[str, Any] = {}


_REUSED = _Reused()
_MAX_SHEETS = 16


def _reused() -> _Reused:
    import weasyprint.text.fonts

    reused = _REUSED
    if reused.pid != os.getpid():  # forked after it was filled: start afresh
        reused.__init__()  # type: ignore[misc]
    if reused.fonts is None:
        reused.fonts = weasyprint.text.fonts.FontConfiguration()
    return reused


def _fetcher():
    import weasyprint

    return weasyprint.URLFetcher(allowed_protocols={"data"})


def _stylesheet(css: str) -> Any:
    """``css`` parsed once per thread (keyed by its text), with this thread's font configuration (``@font-face``)."""
    import weasyprint

    reused = _reused()
    sheet = reused.sheets.get(css)
    if sheet is None:
        if len(reused.sheets) >= _MAX_SHEETS:
            reused.sheets.clear()
        sheet = reused.sheets[css] = weasyprint.CSS(string=css, url_fetcher=_fetcher(), font_config=reused.fonts)
    return sheet


def html_to_pdf(html: str, *, day: date, identifier: str, attachments: Sequence[tuple[str, bytes, str, str]] = (),
                variant: str | None = PDF_VARIANT, stylesheets: Sequence[str] = ()) -> tuple[bytes, int]:
    """Lay ``html`` out and write the PDF; returns ``(pdf bytes, page count)``.

    ``attachments`` are ``(name, content, description, relationship)``; ``day`` fixes every date in
    the file, ``identifier`` the first part of the PDF's /ID (the second is a hash of the content).
    ``stylesheets`` (CSS texts) apply beside the document's own ``<style>``; each is parsed once per
    process, and the fonts are loaded once per process.
    """
    import weasyprint

    moment = _moment(day)
    reused = _reused()
    sheets = [_stylesheet(css) for css in stylesheets]
    document = weasyprint.HTML(string=html, url_fetcher=_fetcher()).render(stylesheets=sheets,
                                                                          font_config=reused.fonts)
    files = [weasyprint.Attachment(file_obj=io.BytesIO(content), name=name, description=desc, created=moment,
                                   modified=moment, relationship=rel)
             for name, content, desc, rel in attachments]
    with _source_date_epoch(moment):
        pdf = document.write_pdf(attachments=files, pdf_variant=variant,
                                 pdf_identifier=hashlib.sha256(identifier.encode()).hexdigest()[:32].encode())
    return pdf, len(document.pages)


_EPOCH_LOCK = threading.Lock()


@contextmanager
def _source_date_epoch(moment: datetime):
    """Set SOURCE_DATE_EPOCH while the PDF is written.

    WeasyPrint subsets the fonts with fontTools, which stamps each subset's ``head.modified``
    with the current time unless SOURCE_DATE_EPOCH is set; without this the bytes differ
    from run to run. The variable is process-wide, hence the lock: threads of one process wait
    for each other here, so anything that renders from threads goes through
    :class:`~.workers.RenderPool` (one render per worker process, where the lock is never contended).
    """
    with _EPOCH_LOCK:
        old = os.environ.get("SOURCE_DATE_EPOCH")
        os.environ["SOURCE_DATE_EPOCH"] = str(int(moment.replace(tzinfo=UTC).timestamp()))
        try:
            yield
        finally:
            if old is None:
                del os.environ["SOURCE_DATE_EPOCH"]
            else:
                os.environ["SOURCE_DATE_EPOCH"] = old


def _stamp_meta(html: str, day: date) -> str:
    """Fix the PDF's creation and modification dates by <meta> (WeasyPrint ignores SOURCE_DATE_EPOCH)."""
    stamp = _moment(day).replace(tzinfo=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    meta = (f'<meta name="dcterms.created" content="{stamp}">'
            f'<meta name="dcterms.modified" content="{stamp}">')
    return html.replace("<head>", "<head>" + meta, 1)


def write_pdf(out_path: str | Path, pdf: bytes, pages: int = 0, signer=None) -> RenderResult:
    """Write ``pdf`` to ``out_path`` all at once (:func:`certflow.output.write_atomically`), with a PAdES
    signature if ``signer``.

    ``RenderResult.sha256`` is the hash of ``pdf`` itself (what the sign-off stores), ``file_sha256`` the file's.
    A file that cannot be written (a missing folder, no permission, a full disk ...) is a German
    :class:`PacketError` naming it; nothing is left behind.
    """
    from ..output import OutputError, write_atomically

    out = Path(out_path)
    digest = hashlib.sha256(pdf).hexdigest()
    final = pdf
    if signer is not None:
        from .sign import sign_pdf

        final = sign_pdf(pdf, signer)
    try:
        write_atomically(out, final)
    except OutputError as exc:
        raise PacketError(str(exc)) from None
    return RenderResult(path=out, sha256=digest, pages=pages, bytes=len(final), signed=signer is not None,
                        file_sha256=hashlib.sha256(final).hexdigest())


def _evidence_attachments(data: PacketData) -> list[tuple[str, bytes, str, str]]:
    _, evidence = packet_view(data)
    out = []
    for e in evidence:
        f = e.file
        if not f.attached:
            continue  # listed in the index as missing / without a file; nothing to embed
        try:
            content = f.read()
        except OSError as exc:
            raise PacketError(f"Nachweis {e.number} „{f.title}“: Datei {f.path} nicht lesbar "
                              f"({exc.strerror or exc})") from exc
        if hashlib.sha256(content).hexdigest() != f.sha256:
            raise PacketError(f"Nachweis {e.number} „{f.title}“: SHA-256 der Datei {f.file_name} stimmt nicht "
                              f"mit dem gespeicherten Wert überein")
        out.append((e.attachment, content, f"{e.number} {f.title} ({f.kind})", "Supplement"))
    return out


def packet_pdf(data: PacketData, templates_dir: str | Path | None = None,
               variant: str = PDF_VARIANT) -> tuple[bytes, int]:
    """The audit packet's bytes and page count, without writing a file (what the sign-off hashes)."""
    attachments = _evidence_attachments(data)
    attachments.append((MANIFEST_NAME, manifest_bytes(data), "Maschinenlesbares Verzeichnis des Pakets", "Data"))
    html = _stamp_meta(packet_html(data, templates_dir), data.document_date)
    return html_to_pdf(html, day=data.document_date, identifier=f"packet/{data.procedure.id}",
                       attachments=attachments, variant=variant, stylesheets=(packet_css(templates_dir),))


def qualitaetsprofil_pdf(data: PacketData, templates_dir: str | Path | None = None,
                         variant: str = PDF_VARIANT) -> tuple[bytes, int]:
    """The Qualitätsprofil's bytes and page count, without writing a file."""
    html = _stamp_meta(qualitaetsprofil_html(data, templates_dir), data.document_date)
    return html_to_pdf(html, day=data.document_date, identifier=f"qualitaetsprofil/{data.procedure.id}",
                       variant=variant)


def certificate_pdf(data: CertificateData, templates_dir: str | Path | None = None,
                    variant: str = PDF_VARIANT) -> tuple[bytes, int]:
    """The Urkunde's bytes and page count, without writing a file."""
    html = _stamp_meta(certificate_html(data, templates_dir), data.issued_on)
    return html_to_pdf(html, day=data.issued_on, identifier=f"urkunde/{data.certificate_number}", variant=variant)


_PDF: dict[str, Callable[..., tuple[bytes, int]]] = {
    "packet": packet_pdf, "qualitaetsprofil": qualitaetsprofil_pdf, "urkunde": certificate_pdf}


def document_pdf(kind: str, data: PacketData | CertificateData,
                 templates_dir: str | Path | None = None) -> tuple[bytes, int]:
    """The bytes and page count of one of the :data:`DOCUMENT_KINDS` (``urkunde`` takes a CertificateData)."""
    try:
        make = _PDF[kind]
    except KeyError:
        raise ValueError(f"kind must be one of {DOCUMENT_KINDS}, not {kind!r}") from None
    return make(data, templates_dir)


def render_packet(data: PacketData, out_path: str | Path, templates_dir: str | Path | None = None,
                  signer=None, variant: str = PDF_VARIANT) -> RenderResult:
    """Render the audit packet to ``out_path``; ``signer`` (a :class:`~.sign.SignerConfig`) adds a PAdES signature."""
    pdf, pages = packet_pdf(data, templates_dir, variant)
    return write_pdf(out_path, pdf, pages, signer)


def render_qualitaetsprofil(data: PacketData, out_path: str | Path, templates_dir: str | Path | None = None,
                            variant: str = PDF_VARIANT) -> RenderResult:
    """The Qualitätsprofil (the written feedback the Familienzentrum receives) as its own short PDF."""
    return write_pdf(out_path, *qualitaetsprofil_pdf(data, templates_dir, variant))


def render_certificate(data: CertificateData, out_path: str | Path, templates_dir: str | Path | None = None,
                       variant: str = PDF_VARIANT) -> RenderResult:
    """The Urkunde: one page."""
    return write_pdf(out_path, *certificate_pdf(data, templates_dir, variant))
