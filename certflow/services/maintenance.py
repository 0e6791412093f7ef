"""Operating the database: migrate it, tell its revision, verify the audit trail.

These are the operator's use cases behind ``certflow db`` and ``certflow audit``; they work on a
database that may not be set up yet, so they take the :class:`~.runner.Application` and use its
engine without the schema check.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .runner import ErrorKind, UseCaseError, first_line

if TYPE_CHECKING:
    from ..db.audit_log import VerifyResult
    from .runner import Application

__all__ = ["Revisions", "database_revisions", "upgrade_database", "verify_audit_trail"]


@dataclass(frozen=True, slots=True)
class Revisions:
    """The database's migration revision (``None``: not set up) before and after, and the newest shipped."""

    before: str | None
    after: str | None
    head: str

    @property
    def current(self) -> bool:
        return self.after == self.head


def _database_error(exc: Exception, what: str) -> UseCaseError:
    return UseCaseError(ErrorKind.DATABASE, f"Fehler beim {what}: {first_line(exc)}")


def upgrade_database(app: Application, revision: str = "head") -> Revisions:
    """Migrate the database to ``revision`` (creating it when empty)."""
    from sqlalchemy.exc import SQLAlchemyError

    from ..db import current_revision, head_revision, upgrade

    engine = app.unchecked_engine
    try:
        before = current_revision(engine)
        upgrade(engine, revision)
        return Revisions(before, current_revision(engine), head_revision())
    except SQLAlchemyError as exc:
        raise _database_error(exc, "Migrieren") from None


def database_revisions(app: Application) -> Revisions:
    """The database's revision and the newest shipped one (nothing changes)."""
    from sqlalchemy.exc import SQLAlchemyError

    from ..db import current_revision, head_revision

    try:
        current = current_revision(app.unchecked_engine)
    except SQLAlchemyError as exc:
        raise _database_error(exc, "Lesen der Revision") from None
    return Revisions(current, current, head_revision())


def verify_audit_trail(app: Application) -> VerifyResult:
    """Recompute the audit trail's hash chain (read only)."""
    from sqlalchemy.exc import SQLAlchemyError

    try:
        with app.unit_of_work() as uow:
            return uow.audit_log.verify()
    except SQLAlchemyError as exc:
        raise _database_error(exc, "Prüfen") from None
