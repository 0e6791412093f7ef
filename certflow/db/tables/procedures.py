"""The certification itself: contingents, procedures, self-assessment revisions, audits, decisions, seals.

Frozen data (enforced by the repositories and, as a backstop, by triggers
created in the migrations):

* an ``assessment_revision`` with ``submitted`` true is never updated or deleted;
* an ``audit_visit`` signed off by its auditor (``signed_off_at``) and its
  ``audit_verdict`` rows are never changed, added to or deleted.

``kgj`` columns hold the Kindergartenjahr's start year (2025 = KGJ 2025/26).

At most one procedure of a Familienzentrum is open (not certified, not
certified-refused, not withdrawn): the partial unique index
``uq_procedure_open_familienzentrum`` holds it against concurrent openings
(the domain's guard alone cannot: two transactions both see none open).
Generated ids (``V-2025-004``, ``FZ-2026-003``) are counted up while the
transaction holds the lock of the prefix's ``id_counter`` row.
"""

from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Field

from ...assessment.model import Status
from ...catalogue.model import ProcedureKind
from ...lifecycle.entities import PROCEDURE_FINAL_STATES, CertificateState, Outcome, ProcedureState
from ..types import ID, UTCDateTime, enum_by_value
from .base import Base

__all__ = [
    "OPEN_PROCEDURE_INDEX", "AssessmentRevisionRow", "AuditVerdictRow", "AuditVisitRow", "CertificateRow",
    "ContingentRow", "DecisionRow", "IdCounterRow", "ProcedureRow",
]

OPEN_PROCEDURE_INDEX = "uq_procedure_open_familienzentrum"
_OPEN = sa.text("state NOT IN ({})".format(", ".join(f"'{value}'" for value in sorted(
    state.value for state in PROCEDURE_FINAL_STATES))))


class ContingentRow(Base, table=True):
    """The places of one Jugendamt for one Kindergartenjahr; free = granted + carried_in - nominated - returned."""

    __tablename__ = "contingent"
    __table_args__ = (
        sa.UniqueConstraint("jugendamt_id", "kgj"),
        sa.CheckConstraint(
            "granted >= 0 AND nominated >= 0 AND returned >= 0 AND carried_in >= 0 AND carried_out >= 0",
            name="counts_not_negative"),
        sa.CheckConstraint("granted + carried_in - nominated - returned >= 0", name="not_overbooked"),
        sa.CheckConstraint("carried_out <= returned", name="carried_out_returned"),
        sa.CheckConstraint("version >= 1", name="version_positive"),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=sa.Integer)
    jugendamt_id: str = Field(foreign_key="jugendamt.id", sa_type=ID)
    kgj: int = Field(sa_type=sa.Integer)
    granted: int = Field(default=0, sa_type=sa.Integer)
    nominated: int = Field(default=0, sa_type=sa.Integer)
    returned: int = Field(default=0, sa_type=sa.Integer)
    carried_in: int = Field(default=0, sa_type=sa.Integer)
    carried_out: int = Field(default=0, sa_type=sa.Integer)
    version: int = Field(default=1, sa_type=sa.Integer)


class ProcedureRow(Base, table=True):
    __tablename__ = "procedure"
    __table_args__ = (
        sa.CheckConstraint("period_start <= period_end", name="period_ordered"),
        sa.CheckConstraint("version >= 0", name="version_not_negative"),
        sa.Index(OPEN_PROCEDURE_INDEX, "familienzentrum_id", unique=True, sqlite_where=_OPEN, postgresql_where=_OPEN),
    )

    id: str = Field(primary_key=True, sa_type=ID)
    familienzentrum_id: str = Field(foreign_key="familienzentrum.id", index=True, sa_type=ID)
    kind: ProcedureKind = Field(sa_type=enum_by_value(ProcedureKind, "procedure_kind"))
    catalogue_key: str = Field(sa_type=sa.String(100))
    kgj: int = Field(sa_type=sa.Integer)
    period_start: date = Field(sa_type=sa.Date)
    period_end: date = Field(sa_type=sa.Date)
    state: ProcedureState = Field(sa_type=enum_by_value(ProcedureState, "procedure_state"))
    auditor_id: str | None = Field(default=None, foreign_key="app_user.id", sa_type=ID)
    version: int = Field(default=0, sa_type=sa.Integer)
    submitted_revision: int | None = Field(default=None, sa_type=sa.Integer)
    planned_audit_date: date | None = Field(default=None, sa_type=sa.Date)
    contingent_id: int | None = Field(default=None, foreign_key="contingent.id", sa_type=sa.Integer)


class AssessmentRevisionRow(Base, table=True):
    """One revision of a procedure's self-assessment as canonical JSON with its SHA-256.

    The latest revision may be an unsubmitted draft (editable); a submitted
    revision is frozen: a later edit becomes the next revision.
    """

    __tablename__ = "assessment_revision"
    __table_args__ = (
        sa.UniqueConstraint("procedure_id", "revision"),
        sa.CheckConstraint("revision >= 1", name="revision_positive"),
        sa.CheckConstraint(
            "NOT submitted OR (submitted_at IS NOT NULL AND submitted_by IS NOT NULL AND passed IS NOT NULL)",
            name="submission_complete"),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=sa.Integer)
    procedure_id: str = Field(foreign_key="procedure.id", sa_type=ID)
    revision: int = Field(sa_type=sa.Integer)
    canonical_json: str = Field(sa_type=sa.Text)
    sha256: str = Field(sa_type=sa.String(64))
    created_at: datetime = Field(sa_type=UTCDateTime)
    created_by: str = Field(foreign_key="app_user.id", sa_type=ID)
    submitted: bool = Field(default=False, sa_type=sa.Boolean)
    submitted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    submitted_by: str | None = Field(default=None, foreign_key="app_user.id", sa_type=ID)
    passed: bool | None = Field(default=None, sa_type=sa.Boolean)


class AuditVisitRow(Base, table=True):
    """The on-site visit of a procedure (one per procedure); ``sites`` is a JSON list of Kita ids."""

    __tablename__ = "audit_visit"

    id: int | None = Field(default=None, primary_key=True, sa_type=sa.Integer)
    procedure_id: str = Field(foreign_key="procedure.id", unique=True, sa_type=ID)
    visited_on: date = Field(sa_type=sa.Date)
    auditor_id: str = Field(foreign_key="app_user.id", sa_type=ID)
    sites: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    recorded_at: datetime = Field(sa_type=UTCDateTime)
    signed_off_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    signed_off_by: str | None = Field(default=None, foreign_key="app_user.id", sa_type=ID)
    packet_sha256: str | None = Field(default=None, sa_type=sa.String(64))  # the packet signed off


class AuditVerdictRow(Base, table=True):
    """The auditor's verdict and remark on one criterion; frozen once the visit is signed off."""

    __tablename__ = "audit_verdict"
    __table_args__ = (sa.UniqueConstraint("visit_id", "criterion_id"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=sa.Integer)
    visit_id: int = Field(foreign_key="audit_visit.id", sa_type=sa.Integer)
    criterion_id: str = Field(sa_type=sa.String(32))
    verdict: Status = Field(sa_type=enum_by_value(Status, "verdict"))
    remark: str | None = Field(default=None, sa_type=sa.Text)
    recorded_at: datetime = Field(sa_type=UTCDateTime)
    recorded_by: str = Field(foreign_key="app_user.id", sa_type=ID)


class DecisionRow(Base, table=True):
    __tablename__ = "decision"

    id: int | None = Field(default=None, primary_key=True, sa_type=sa.Integer)
    procedure_id: str = Field(foreign_key="procedure.id", unique=True, sa_type=ID)
    decided_by: str = Field(foreign_key="app_user.id", sa_type=ID)
    decided_at: datetime = Field(sa_type=UTCDateTime)
    outcome: Outcome = Field(sa_type=enum_by_value(Outcome, "outcome"))
    reason: str = Field(sa_type=sa.Text)


class CertificateRow(Base, table=True):
    """One term of the seal. A regular re-certification keeps the number, so (number, issued) is unique."""

    __tablename__ = "certificate"
    __table_args__ = (
        sa.UniqueConstraint("number", "issued"),
        sa.CheckConstraint("issued < valid_until", name="valid_after_issued"),
        sa.CheckConstraint("version >= 1", name="version_positive"),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=sa.Integer)
    number: str = Field(sa_type=sa.String(64))
    familienzentrum_id: str = Field(foreign_key="familienzentrum.id", index=True, sa_type=ID)
    issued: date = Field(sa_type=sa.Date)
    valid_until: date = Field(sa_type=sa.Date)
    state: CertificateState = Field(sa_type=enum_by_value(CertificateState, "certificate_state"))
    version: int = Field(default=1, sa_type=sa.Integer)


class IdCounterRow(Base, table=True):
    """One row per id prefix (``V-2025-``, ``FZ-2026-``): the lock a transaction takes before it counts up the
    next id from the highest in the table, held until it ends; ``last_number`` is the last one handed out.
    """

    __tablename__ = "id_counter"
    __table_args__ = (sa.CheckConstraint("last_number >= 0", name="last_number_not_negative"),)

    prefix: str = Field(primary_key=True, sa_type=sa.String(64))
    last_number: int = Field(default=0, sa_type=sa.Integer)
