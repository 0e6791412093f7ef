"""The audit packet, the Urkunde and the Qualitätsprofil as PDF/A-3 (an adapter: Jinja2 + WeasyPrint).

Build a :class:`PacketData` (a plain view-model, see :mod:`.model`; :mod:`.sample` makes
realistic ones), then :func:`render_packet`; :func:`verify_packet` tells whether a file is the
packet that was signed off; :func:`render_batch` renders many in worker processes.
See docs/packet.md.
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
    PDF_VARIANT,
    RenderResult,
    certificate_html,
    configured_templates_dir,
    packet_html,
    packet_pdf,
    qualitaetsprofil_html,
    render_certificate,
    render_packet,
    render_qualitaetsprofil,
    write_pdf,
)
from .sign import SignerConfig, sign_pdf, signer_from_env
from .verify import VerifyResult, packet_sha256, read_attachments, read_manifest, verify_packet
from .view import manifest

__all__ = [
    "CONFIRMED", "NOT_CONFIRMED", "PDF_VARIANT",
    "AuditorVerdict", "BatchItem", "BatchJob", "BatchReport", "CertificateData", "EvidenceFile",
    "FamilienzentrumInfo", "Member", "PacketData", "PacketError", "ProcedureInfo", "RenderResult", "SignOff",
    "SignerConfig", "TimelineEntry", "VerifyResult",
    "certificate_html", "configured_templates_dir", "manifest", "packet_html", "packet_pdf", "packet_sha256", "qualitaetsprofil_html", "read_attachments",
    "read_manifest", "render_batch", "render_certificate", "render_packet", "render_qualitaetsprofil",
    "sign_pdf", "signer_from_env", "verify_packet", "write_pdf",
]
