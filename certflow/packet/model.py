"""The packet's view-model: plain, frozen data that the templates read.

Nothing here knows a database, a session or a file format. Whoever renders a
packet (the CLI, a job, the tests) fills :class:`PacketData` from wherever the
facts live; :mod:`.render` turns it into a PDF. The scoring
:class:`~certflow.scoring.Report`, the :class:`~certflow.catalogue.Catalogue`
and the :class:`~certflow.assessment.Assessment` are reused as they are.

All texts are German, as they appear in the PDF; labels (roles, states,
decisions, evidence kinds) arrive resolved, so the templates never translate.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from ..assessment.model import Assessment
from ..catalogue.model import Catalogue
from ..scoring.report import Report

__all__ = [
    "ATTACHED",
    "CONFIRMED",
    "EVIDENCE_STATUSES",
    "MISSING",
    "NOT_CONFIRMED",
    "NO_FILE",
    "VERDICTS",
    "AuditorVerdict",
    "CertificateData",
    "EvidenceFile",
    "FamilienzentrumInfo",
    "Member",
    "PacketData",
    "PacketError",
    "ProcedureInfo",
    "SignOff",
    "TimelineEntry",
]

class PacketError(Exception):
    """A packet cannot be made from the data; the message is German and names what is wrong."""


CONFIRMED = "bestätigt"
NOT_CONFIRMED = "nicht bestätigt"
VERDICTS = (CONFIRMED, NOT_CONFIRMED)
ATTACHED, MISSING, NO_FILE = "attached", "missing", "no_file"
EVIDENCE_STATUSES = (ATTACHED, MISSING, NO_FILE)

FORM_LABELS = {"einzel": "Einzelzertifizierung", "verbund": "Verbundzertifizierung"}
KIND_LABELS = {"erst": "Erst-Zertifizierung", "re": "Re-Zertifizierung"}


@dataclass(frozen=True, slots=True)
class Member:
    """One Einrichtung: the Kita of an Einzel-Familienzentrum or a member of a Verbund."""

    name: str
    address: str = ""


@dataclass(frozen=True, slots=True)
class FamilienzentrumInfo:
    """``form`` is ``"einzel"`` or ``"verbund"``; ``zuschussempfaenger`` names the member that receives the grant."""

    name: str
    form: str
    members: tuple[Member, ...]
    zuschussempfaenger: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "members", tuple(self.members))
        if self.form not in FORM_LABELS:
            raise ValueError(f"form must be one of {sorted(FORM_LABELS)}, not {self.form!r}")
        if not self.members:
            raise ValueError("a Familienzentrum needs at least one member")

    @property
    def form_label(self) -> str:
        return FORM_LABELS[self.form]

    @property
    def is_verbund(self) -> bool:
        return self.form == "verbund"


@dataclass(frozen=True, slots=True)
class ProcedureInfo:
    """``kind`` is ``"erst"`` or ``"re"``; ``number`` is what people quote (e.g. the Zertifizierungsnummer's
    procedure)."""

    id: str
    number: str
    kind: str
    catalogue_key: str
    catalogue_version: str
    period_start: date
    period_end: date

    def __post_init__(self) -> None:
        if self.kind not in KIND_LABELS:
            raise ValueError(f"kind must be one of {sorted(KIND_LABELS)}, not {self.kind!r}")

    @property
    def kind_label(self) -> str:
        return KIND_LABELS[self.kind]


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    """One audit-trail entry: who did what, when (``at`` must be timezone-aware)."""

    at: datetime
    actor: str
    role: str
    action: str
    from_state: str | None = None
    to_state: str | None = None
    reason: str = ""

    def __post_init__(self) -> None:
        if self.at.tzinfo is None or self.at.utcoffset() is None:
            raise ValueError("TimelineEntry.at must be timezone-aware")


@dataclass(frozen=True, slots=True)
class AuditorVerdict:
    """The auditor's verdict on one criterion after the visit: ``bestätigt`` or ``nicht bestätigt``."""

    verdict: str
    remark: str = ""

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {VERDICTS}, not {self.verdict!r}")

    @property
    def confirmed(self) -> bool:
        return self.verdict == CONFIRMED


@dataclass(frozen=True, slots=True)
class EvidenceFile:
    """A piece of evidence relied on, with its bytes (``content``) or where they are (``path``).

    ``items`` are the criterion and sub-item ids it supports (as in the self-assessment).
    ``sha256`` is the hash recorded when the file was stored; the renderer checks the bytes against it.
    ``status`` says whether it is attached to the packet (:data:`ATTACHED`, the bytes are at hand),
    named with a file the evidence store does not hold (:data:`MISSING`), or recorded without a
    file at all (:data:`NO_FILE`, e.g. shown on paper at the visit). The index lists all three;
    only attached files are embedded.
    """

    file_name: str
    kind: str
    title: str
    sha256: str
    size: int
    items: tuple[str, ...] = ()
    path: Path | None = None
    content: bytes | None = field(default=None, repr=False)
    status: str = ATTACHED

    def __post_init__(self) -> None:
        object.__setattr__(self, "items", tuple(self.items))
        if self.status not in EVIDENCE_STATUSES:
            raise ValueError(f"status must be one of {EVIDENCE_STATUSES}, not {self.status!r}")
        if self.status != ATTACHED:
            if self.path is not None or self.content is not None:
                raise ValueError(f"{self.file_name}: evidence that is {self.status} has no path and no content")
        elif (self.path is None) == (self.content is None):
            raise ValueError(f"{self.file_name}: give exactly one of path and content")

    @property
    def attached(self) -> bool:
        return self.status == ATTACHED

    @classmethod
    def from_bytes(cls, file_name: str, kind: str, title: str, content: bytes,
                   items: tuple[str, ...] = ()) -> EvidenceFile:
        return cls(file_name=file_name, kind=kind, title=title, sha256=hashlib.sha256(content).hexdigest(),
                   size=len(content), items=tuple(items), content=content)

    @classmethod
    def not_at_hand(cls, file_name: str, kind: str, title: str, sha256: str | None,
                    items: tuple[str, ...] = (), *, has_file: bool = True) -> EvidenceFile:
        """A record whose bytes are not at hand: :data:`MISSING` if it names a file, else :data:`NO_FILE`."""
        return cls(file_name=file_name, kind=kind, title=title, sha256=sha256 or "", size=0, items=tuple(items),
                   status=MISSING if has_file else NO_FILE)

    def read(self) -> bytes:
        return self.content if self.content is not None else Path(self.path).read_bytes()


@dataclass(frozen=True, slots=True)
class SignOff:
    """What the auditor signs off: the decision over one frozen self-assessment at one state of the audit trail."""

    auditor: str
    date: date
    decision: str
    snapshot_sha256: str
    chain_head: str
    certification_body: str = ""
    place: str = ""


@dataclass(frozen=True, slots=True)
class PacketData:
    """Everything one audit packet shows. ``verdicts`` maps criterion ids to the auditor's verdicts."""

    familienzentrum: FamilienzentrumInfo
    jugendamt: str
    procedure: ProcedureInfo
    catalogue: Catalogue
    assessment: Assessment
    report: Report
    timeline: tuple[TimelineEntry, ...]
    verdicts: dict[str, AuditorVerdict]
    evidence: tuple[EvidenceFile, ...]
    signoff: SignOff
    recommendations: tuple[str, ...]
    generated_on: date
    certification_body: str = "Zertifizierungsstelle Gütesiegel Familienzentrum NRW"
    seal_name: str = "Gütesiegel Familienzentrum NRW"
    feedback: str = ""
    """The certification body's own feedback text, shown by the stand-alone Qualitätsprofil beside the
    generated deficits ("" when none is written). The audit packet does not show it: the packet is frozen
    at the sign-off, the feedback is written until the decision."""

    def __post_init__(self) -> None:
        for name in ("timeline", "evidence", "recommendations"):
            object.__setattr__(self, name, tuple(getattr(self, name)))

    @property
    def document_date(self) -> date:
        """The date the PDF carries in its metadata: the sign-off's (so a re-render is byte-identical)."""
        return self.signoff.date


@dataclass(frozen=True, slots=True)
class CertificateData:
    """The Urkunde: one page naming the Familienzentrum, its Kitas, the number and the validity."""

    familienzentrum: FamilienzentrumInfo
    certificate_number: str
    issued_on: date
    valid_until: date
    seal_name: str = "Gütesiegel Familienzentrum NRW"
    certification_body: str = "Zertifizierungsstelle Gütesiegel Familienzentrum NRW"
    jugendamt: str = ""
    catalogue_version: str = ""
    place: str = ""
