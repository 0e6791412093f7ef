"""The audit packet, the Urkunde and the Qualitätsprofil as PDF/A-3 (an adapter: Jinja2 + WeasyPrint).

Build a :class:`PacketData` (a plain view-model, see :mod:`.model`; :mod:`.sample` makes
realistic ones), then :func:`render_packet`; :func:`verify_packet` tells whether a file is the
packet that was signed off; :func:`render_batch` renders many in worker processes, a
:class:`RenderPool` one at a time for threads that must not render in their own process
(:mod:`.workers`). Nothing here reads the environment: the template folder and the signature
come from the caller (:class:`certflow.settings.Settings`). See docs/packet.md.
"""

from .batch import BatchItem, BatchJob, BatchReport, render_batch
from .model import (
    CONFIRMED,
    NOT_CONFIRMED,
    AuditorVerdict,
    CertificateData,
    EvidenceFile,
    FamilienzentrumInfo,
    Member,
    PacketData,
    PacketError,
    ProcedureInfo,
    SignOff,
    TimelineEntry,
)
from .render import (
    DOCUMENT_KINDS,
    PDF_VARIANT,
    RenderResult,
    certificate_html,
    certificate_pdf,
    document_pdf,
    packet_html,
    packet_pdf,
    qualitaetsprofil_html,
    qualitaetsprofil_pdf,
    render_certificate,
    render_packet,
    render_qualitaetsprofil,
    write_pdf,
)
from .sign import SignerConfig, sign_pdf, signer_from_settings
from .verify import VerifyResult, packet_sha256, read_attachments, read_manifest, verify_packet
from .view import manifest
from .workers import RenderPool, shared_pool

__all__ = [
    "CONFIRMED", "DOCUMENT_KINDS", "NOT_CONFIRMED", "PDF_VARIANT",
    "AuditorVerdict", "BatchItem", "BatchJob", "BatchReport", "CertificateData", "EvidenceFile",
    "FamilienzentrumInfo", "Member", "PacketData", "PacketError", "ProcedureInfo", "RenderPool", "RenderResult",
    "SignOff", "SignerConfig", "TimelineEntry", "VerifyResult",
    "certificate_html", "certificate_pdf", "document_pdf", "manifest", "packet_html", "packet_pdf", "packet_sha256",
    "qualitaetsprofil_html", "qualitaetsprofil_pdf", "read_attachments", "read_manifest", "render_batch",
    "render_certificate", "render_packet", "render_qualitaetsprofil", "shared_pool", "sign_pdf",
    "signer_from_settings", "verify_packet", "write_pdf",
]
