"""The things a certification procedure is about: who, which Kitas, which procedure, which seal.

Plain dataclasses with slots. Facts that never change once recorded
(a Kita's address, a frozen submission, an audit visit, a decision, a user)
are frozen; the two objects that move through a state machine (``Procedure``
and ``Certificate``) are mutable, because the shared machines write their
``state`` attribute (see :mod:`.machinery`).

Identifiers are strings (the database layer may use UUIDs or slugs). Sources
of the domain facts: /work/shared/domain.md, sections 1-3.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

from ..calendar import KindergartenYear
from ..catalogue.model import Form, ProcedureKind

__all__ = [
    "CERTIFICATE_FINAL_STATES", "CERTIFICATE_STATE_LABELS", "DEFAULT_CATALOGUE_KEY", "PROCEDURE_FINAL_STATES",
    "PROCEDURE_STATE_LABELS", "ROLE_LABELS", "Actor", "AuditVisit", "Certificate", "CertificateState", "Decision",
    "Familienzentrum", "Jugendamt", "Kita", "Outcome", "Procedure", "ProcedureState", "Role", "SubmissionSnapshot",
    "Traeger", "User",
]

DEFAULT_CATALOGUE_KEY = "familienzentrum-nrw@2020"
"""The catalogue a new procedure is pinned to unless another one is named."""


class Role(StrEnum):
    COORDINATOR = "coordinator"  # Jugendamt: plans contingents, nominates Kitas [C1]
    KITA_LEAD = "kita_lead"      # leads a Kita / Familienzentrum, answers the self-assessment
    AUDITOR = "auditor"          # visits on site [P4]
    CERTIFIER = "certifier"      # Zertifizierungsstelle (pädquis): checks and decides [D13][Q1]
    ADMIN = "admin"              # operates the system (also the actor of scheduled jobs)

    @property
    def label(self) -> str:
        return ROLE_LABELS[self]


ROLE_LABELS = {
    Role.COORDINATOR: "Koordination im Jugendamt",
    Role.KITA_LEAD: "Kita-Leitung",
    Role.AUDITOR: "Auditor",
    Role.CERTIFIER: "Zertifizierungsstelle",
    Role.ADMIN: "Administration",
}


class ProcedureState(StrEnum):
    NOMINATED = "nominated"
    REGISTERED = "registered"
    IN_DEVELOPMENT = "in_development"
    SUBMITTED = "submitted"
    CHANGES_REQUESTED = "changes_requested"
    AUDIT_SCHEDULED = "audit_scheduled"
    AUDITED = "audited"
    CERTIFIED = "certified"
    NOT_CERTIFIED = "not_certified"
    WITHDRAWN = "withdrawn"


class CertificateState(StrEnum):
    VALID = "valid"
    RECERTIFICATION_DUE = "recertification_due"
    RENEWED = "renewed"      # superseded by the certificate of the next term
    EXPIRED = "expired"
    REVOKED = "revoked"


PROCEDURE_STATE_LABELS = {
    ProcedureState.NOMINATED: "nominiert",
    ProcedureState.REGISTERED: "registriert",
    ProcedureState.IN_DEVELOPMENT: "in Entwicklung",
    ProcedureState.SUBMITTED: "eingereicht",
    ProcedureState.CHANGES_REQUESTED: "Nachbesserung angefordert",
    ProcedureState.AUDIT_SCHEDULED: "Begehung geplant",
    ProcedureState.AUDITED: "begangen",
    ProcedureState.CERTIFIED: "zertifiziert",
    ProcedureState.NOT_CERTIFIED: "nicht zertifiziert",
    ProcedureState.WITHDRAWN: "zurückgezogen",
}
PROCEDURE_FINAL_STATES = frozenset({ProcedureState.CERTIFIED, ProcedureState.NOT_CERTIFIED, ProcedureState.WITHDRAWN})

CERTIFICATE_STATE_LABELS = {
    CertificateState.VALID: "gültig",
    CertificateState.RECERTIFICATION_DUE: "Re-Zertifizierung fällig",
    CertificateState.RENEWED: "erneuert",
    CertificateState.EXPIRED: "abgelaufen",
    CertificateState.REVOKED: "widerrufen",
}
CERTIFICATE_FINAL_STATES = frozenset({CertificateState.RENEWED, CertificateState.EXPIRED, CertificateState.REVOKED})


class Outcome(StrEnum):
    CERTIFIED = "certified"
    NOT_CERTIFIED = "not_certified"


@dataclass(frozen=True, slots=True)
class Jugendamt:
    id: str
    name: str


@dataclass(frozen=True, slots=True)
class Traeger:
    id: str
    name: str


@dataclass(frozen=True, slots=True)
class Kita:
    """A Kita (or another member Einrichtung of a Verbund) with its location."""

    id: str
    name: str
    traeger_id: str
    jugendamt_id: str
    street: str
    postcode: str
    city: str
    lat: float
    lon: float


@dataclass(frozen=True, slots=True)
class Familienzentrum:
    """The certified unit: one Kita (Einzel) or up to five (Verbund) [D10].

    ``certificate_number`` is the Zertifizierungsnummer of its current seal
    (``None`` before the first seal and after a restructuring [P1]).
    ``radius_exception_reason`` records why a Verbund may exceed the 3 km radius.
    """

    id: str
    name: str
    form: Form
    member_kita_ids: tuple[str, ...]
    zuschussempfaenger_id: str | None
    jugendamt_id: str
    certificate_number: str | None = None
    radius_exception_reason: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "member_kita_ids", tuple(self.member_kita_ids))
        if not self.member_kita_ids:
            raise ValueError(f"Familienzentrum {self.name}: mindestens eine Einrichtung ist nötig")
        if len(set(self.member_kita_ids)) != len(self.member_kita_ids):
            raise ValueError(f"Familienzentrum {self.name}: eine Einrichtung ist doppelt aufgeführt")


@dataclass(slots=True)
class Procedure:
    """One Erst- or Re-Zertifizierung of a Familienzentrum.

    ``state`` is written by the shared procedure machine; ``version`` counts
    the changes for optimistic locking (each accepted event adds one).
    ``submitted_revision`` is the revision of the last submitted snapshot;
    ``planned_audit_date`` the agreed day of the on-site visit (set by ``schedule_audit``).
    """

    id: str
    familienzentrum_id: str
    kind: ProcedureKind
    catalogue_key: str
    kgj: KindergartenYear
    period_start: date
    period_end: date
    state: ProcedureState = ProcedureState.NOMINATED
    auditor_id: str | None = None
    version: int = 0
    submitted_revision: int | None = None
    planned_audit_date: date | None = None


@dataclass(frozen=True, slots=True)
class SubmissionSnapshot:
    """A submitted self-assessment, frozen: its canonical JSON and that text's SHA-256."""

    procedure_id: str
    revision: int
    sha256: str
    canonical_json: str
    submitted_at: datetime
    submitted_by: str
    passed: bool


@dataclass(frozen=True, slots=True)
class AuditVisit:
    """The on-site visit: agreed beforehand, 3-4 h; a Verbund is visited at two sites [P4]."""

    procedure_id: str
    date: date
    auditor_id: str
    sites: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        object.__setattr__(self, "sites", tuple(self.sites))


@dataclass(frozen=True, slots=True)
class Decision:
    procedure_id: str
    decided_by: str
    decided_at: datetime
    outcome: Outcome
    reason: str


@dataclass(slots=True)
class Certificate:
    """One term of the seal: issued on ``issued``, valid until ``valid_until`` (a 31 July).

    A regular re-certification keeps the Zertifizierungsnummer and issues a
    new term; the old term's state becomes ``renewed``. ``key`` tells terms apart.
    """

    number: str
    familienzentrum_id: str
    issued: date
    valid_until: date
    state: CertificateState = CertificateState.VALID

    @property
    def key(self) -> str:
        return f"{self.number}/{self.issued.isoformat()}"


@dataclass(frozen=True, slots=True)
class User:
    """A person using the system; the actor of every event.

    The scope fields tie a role to what it may act on: a coordinator to a
    Jugendamt, a Kita lead to a Familienzentrum; an auditor's ``traeger_id``
    and ``jugendamt_id`` name employers that make them partial.
    """

    id: str
    name: str
    role: Role
    jugendamt_id: str | None = None
    familienzentrum_id: str | None = None
    traeger_id: str | None = None


Actor = User
"""Whoever fires an event is a :class:`User`."""
