"""certflow's SQLModel tables, by aggregate; :data:`metadata` is what Alembic compares against."""

from .accounts import ApiTokenRow, LoginAttemptRow, OneTimeLinkRow, PasswordCredentialRow  # noqa: F401
from .audit import GENESIS_HASH, AuditHeadRow, AuditLogRow
from .dialogue import CriterionCommentRow, QualitaetsprofilFeedbackRow  # noqa: F401
from .base import NAMING_CONVENTION, Base, metadata
from .parties import AppUserRow, FamilienzentrumMemberRow, FamilienzentrumRow, JugendamtRow, KitaRow, TraegerRow
from .procedures import (
    AssessmentRevisionRow, AuditVerdictRow, AuditVisitRow, CertificateRow, ContingentRow, DecisionRow, ProcedureRow,
)
from .reminders import InboxMessageRow, OutboxItemRow, ReminderRow, UserContactRow  # noqa: F401

__all__ = [
    "GENESIS_HASH", "NAMING_CONVENTION", "AppUserRow", "AssessmentRevisionRow", "AuditHeadRow", "AuditLogRow",
    "AuditVerdictRow", "AuditVisitRow", "Base", "CertificateRow", "ContingentRow", "DecisionRow",
    "FamilienzentrumMemberRow", "FamilienzentrumRow", "JugendamtRow", "KitaRow", "ProcedureRow", "TraegerRow",
    "metadata",
]
