"""The API's JSON shapes (pydantic): ``…Public`` what the API answers, ``…Create``/``…Update`` what it takes.

Field names are English (like the code), values and messages German where they are text for people.
The self-assessment travels in its documented exchange format (docs/assessment-format.md) as a JSON
object; it is checked by the services, not here.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "ID_PATTERN", "AssessmentCheckPublic", "AssessmentPublic", "AuditPlanCreate", "AuditRecordCreate",
    "CertificatePublic", "ContingentPublic", "DecisionCreate", "FamilienzentrumPublic", "FamilienzentrumSummary",
    "HistoryEntryPublic",
    "KitaPublic", "NominationCreate", "Page", "ProcedurePublic", "ReasonBody", "ReminderPublic", "ResultPublic",
    "SubmissionCreate", "VerdictIn", "VerdictPublic", "VerdictsUpdate",
]

T = TypeVar("T")
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
"""What an id in a path looks like (certflow.lifecycle.ids)."""
Reason = Field(min_length=1, max_length=2000, description="Grund der Änderung (steht im Prüfprotokoll)")
Id = Field(min_length=1, max_length=64)


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int = Field(description="Anzahl aller passenden Einträge")
    page: int
    per_page: int


class FamilienzentrumSummary(BaseModel):
    id: str
    name: str
    jugendamt: str
    form: str
    members: int
    procedure_id: str | None
    procedure_state: str | None
    procedure_state_label: str
    next_deadline: str | None = Field(description="Nächste Frist, z. B. „Einreichen bis 31.05.2026“")
    certificate_number: str | None
    certificate_state: str | None
    seal_valid_until: date | None


class FamilienzentrumPublic(BaseModel):
    id: str
    name: str
    form: str
    jugendamt_id: str
    jugendamt: str
    member_kita_ids: list[str]
    zuschussempfaenger_id: str | None
    certificate_number: str | None
    procedure_ids: list[str]
    certificate_numbers: list[str]


class KitaPublic(BaseModel):
    id: str
    name: str
    traeger_id: str
    jugendamt_id: str
    street: str
    postcode: str
    city: str
    lat: float
    lon: float


class ProcedurePublic(BaseModel):
    id: str
    familienzentrum_id: str
    familienzentrum: str | None = None
    kind: str
    catalogue_key: str
    kgj: str = Field(description="Kindergartenjahr, z. B. 2025/26")
    period_start: date
    period_end: date
    state: str
    state_label: str
    auditor_id: str | None
    planned_audit_date: date | None
    submitted_revision: int | None
    version: int = Field(description="Fassung (ETag); Änderungen senden sie als If-Match")


class HistoryEntryPublic(BaseModel):
    seq: int
    at: datetime
    actor_id: str
    actor_name: str
    actor_role: str
    action: str
    what: str
    from_state: str | None
    to_state: str | None
    reason: str


class VerdictPublic(BaseModel):
    criterion_id: str
    verdict: str
    remark: str | None
    recorded_by: str
    recorded_at: datetime | None


class CertificatePublic(BaseModel):
    number: str
    familienzentrum_id: str
    issued: date
    valid_until: date
    state: str
    state_label: str


class ContingentPublic(BaseModel):
    jugendamt_id: str
    kgj: str
    granted: int
    carried_in: int
    nominated: int
    returned: int
    carried_out: int
    free: int


class ReminderPublic(BaseModel):
    id: int
    created_at: datetime
    kind: str
    subject: str
    body: str
    read_at: datetime | None


class AssessmentPublic(BaseModel):
    procedure_id: str
    revision: int
    sha256: str
    submitted_at: datetime
    submitted_by: str
    passed: bool
    assessment: dict[str, Any] = Field(description="Die Selbstbewertung im dokumentierten Austauschformat")


class AssessmentCheckPublic(BaseModel):
    valid: bool
    errors: list[dict[str, str]] = Field(description="Je Problem: field (wo) und detail (was)")


class ResultPublic(BaseModel):
    event: str
    message: str = Field(description="Was geschah, auf Deutsch")
    warnings: list[str]
    procedure: ProcedurePublic | None = None
    certificate_number: str | None = None


class ReasonBody(_In):
    reason: str = Reason


class NominationCreate(_In):
    familienzentrum_id: str = Id
    kgj: str = Field(min_length=1, max_length=20, description="Kindergartenjahr, z. B. 2025/26")
    reason: str = Reason


class SubmissionCreate(_In):
    reason: str = Reason
    assessment: dict[str, Any] = Field(description="Die Selbstbewertung im dokumentierten Austauschformat")


class AuditPlanCreate(_In):
    auditor_id: str = Id
    audit_date: date = Field(description="Termin der Begehung (heute oder später)")
    reason: str = Reason


class VerdictIn(_In):
    verdict: Literal["erfuellt", "nicht_erfuellt"]
    remark: str | None = Field(default=None, max_length=2000)


class AuditRecordCreate(_In):
    visit_date: date = Field(description="Tag der Begehung")
    reason: str = Reason
    sites: list[str] | None = Field(default=None, max_length=10, description="Besuchte Kitas (Verbund: zwei)")
    verdicts: dict[str, VerdictIn] = Field(default_factory=dict, description="Bewertung je Kriterium (z. B. 1.1)")


class VerdictsUpdate(_In):
    reason: str = Reason
    verdicts: dict[str, VerdictIn]


class DecisionCreate(_In):
    outcome: Literal["certified", "not_certified"]
    reason: str = Reason
