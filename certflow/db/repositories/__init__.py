"""The repositories: rows in, domain entities out (and back); the seam the service layer uses."""

from .audit_trail import AuditTrailRepository
from .accounts import AccountRepository
from .audits import AuditRepository, Verdict
from .dialogue import DialogueRepository
from .contingents import ContingentRepository, release_place, reserve_place
from .parties import FamilienzentrumRepository, JugendamtRepository, KitaRepository, TraegerRepository, UserRepository
from .procedures import CertificateRepository, DecisionRepository, ProcedureRepository
from .reminders import ContactRepository, InboxRepository, OutboxRepository, ReminderRepository
from .submissions import Draft, SubmissionRepository

__all__ = [
    "AccountRepository",
    "AuditRepository", "AuditTrailRepository", "CertificateRepository", "ContingentRepository", "DecisionRepository",
    "DialogueRepository", "Draft",
    "FamilienzentrumRepository", "JugendamtRepository", "KitaRepository", "ProcedureRepository",
    "SubmissionRepository", "TraegerRepository", "UserRepository", "Verdict", "release_place", "reserve_place",
    "ContactRepository", "InboxRepository", "OutboxRepository", "ReminderRepository",
]
