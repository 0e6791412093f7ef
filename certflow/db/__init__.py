"""Persistence of certflow: SQLModel tables, Alembic migrations, repositories, the audit trail.

SQLite by default (one file), PostgreSQL through ``CERTFLOW_DATABASE_URL``
(see :mod:`.engine`). The domain (:mod:`certflow.lifecycle`) knows nothing of
this package; the repositories map between rows and its entities.
"""

from .audit_log import AuditEntry, VerifyResult, append, entries, verify
from .engine import DEFAULT_URL, ENV_VAR, database_url, make_engine
from .errors import ConflictError, FrozenError, NotFoundError
from .migrate import current_revision, downgrade, head_revision, upgrade
from .repositories import Draft, Verdict, release_place, reserve_place
from .unit_of_work import UnitOfWork

__all__ = [
    "DEFAULT_URL", "ENV_VAR", "AuditEntry", "ConflictError", "Draft", "FrozenError", "NotFoundError",
    "UnitOfWork", "Verdict", "VerifyResult", "append", "current_revision", "database_url", "downgrade", "entries",
    "head_revision", "make_engine", "release_place", "reserve_place", "upgrade", "verify",
]
