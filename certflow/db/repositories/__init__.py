"""The repositories: rows in, domain entities out (and back); the seam the service layer uses."""

from .audits import AuditRepository, Verdict
from .contingents import ContingentRepository, release_place, reserve_place
from .parties import FamilienzentrumRepository, JugendamtRepository, KitaRepository, TraegerRepository, UserRepository
from .procedures import CertificateRepository, DecisionRepository, ProcedureRepository
from .submissions import Draft, SubmissionRepository

__all__ = [
    "AuditRepository", "CertificateRepository", "ContingentRepository", "DecisionRepository", "Draft",
    "FamilienzentrumRepository", "JugendamtRepository", "KitaRepository", "ProcedureRepository",
    "SubmissionRepository", "TraegerRepository", "UserRepository", "Verdict", "release_place", "reserve_place",
]
