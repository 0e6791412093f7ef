"""What every repository shares: the unit of work's session, clock, version tracker and audit buffer."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import ColumnElement, Select
from sqlalchemy.orm import Session

from ...lifecycle.machinery import StateChange
from ..errors import ConflictError, NotFoundError
from ..versioning import VersionTracker

__all__ = ["Repository", "Transaction"]


class Transaction(Protocol):
    """What a repository needs of its unit of work: the session, the version tracker, the clock and the
    audit buffer. :class:`~certflow.db.UnitOfWork` provides it (and so does the in-memory twin); the
    repositories depend on this, not on the unit of work, which builds them."""

    session: Session
    versions: VersionTracker

    def now(self) -> datetime: ...

    def record(self, *, actor_id: str, action: str, subject_kind: str, subject_id: str, reason: str,
               payload: Mapping[str, Any] | None = None, at: datetime | None = None,
               from_state: str | None = None, to_state: str | None = None) -> None: ...

    def record_change(self, change: StateChange, payload: Mapping[str, Any] | None = None) -> None: ...


class Repository:
    """Base of the repositories; ``kind`` names the subject in the audit log and in messages."""

    kind: str = ""

    def __init__(self, uow: Transaction):
        self._uow = uow

    @property
    def _session(self) -> Session:
        return self._uow.session

    @property
    def _versions(self) -> VersionTracker:
        return self._uow.versions

    def _now(self) -> datetime:
        return self._uow.now()

    def _first(self, statement: Select) -> Any:
        """The first row object of ``statement``, fresh from the database (no stale identity-map copy)."""
        return self._session.execute(statement.execution_options(populate_existing=True)).scalars().first()

    def _all(self, statement: Select) -> list[Any]:
        return list(self._session.execute(statement.execution_options(populate_existing=True)).scalars())

    @staticmethod
    def _page(statement: Select, limit: int | None, offset: int) -> Select:
        """One page of an ordered ``statement``: ``limit`` rows (``None``: all) after the first ``offset``."""
        if offset:
            statement = statement.offset(offset)
        return statement if limit is None else statement.limit(limit)

    def _byte_order(self, column: Any) -> ColumnElement[Any]:
        """``column`` to order by as Python sorts strings (by code point) on every database: PostgreSQL
        would otherwise use the database's collation (``de_DE``: hyphens ignored, case folded)."""
        return column.collate("C") if self._session.get_bind().dialect.name == "postgresql" else column

    def _require(self, row: Any, subject_id: str) -> Any:
        if row is None:
            raise NotFoundError(self.kind, subject_id)
        return row

    def _load_versioned(self, statement: Select, subject_id: str, expected_version: int | None) -> Any:
        """The row of a versioned subject; remember its version; ConflictError if it is not the expected one."""
        row = self._require(self._first(statement), subject_id)
        self._versions.seen(self.kind, subject_id, row.version)
        if expected_version is not None and expected_version != row.version:
            raise ConflictError(self.kind, subject_id, expected_version, row.version)
        return row

    def version(self, subject_id: str) -> int:
        """The version of a subject as read or written in this unit of work (for forms: send it along)."""
        return self._versions.expected(self.kind, subject_id)

    def _insert(self, row: Any) -> Any:
        self._session.add(row)
        self._session.flush()
        return row

    def _log(self, action: str, subject_id: str, *, actor_id: str, reason: str,
             payload: Mapping[str, Any] | None = None, at: datetime | None = None,
             from_state: str | None = None, to_state: str | None = None) -> None:
        self._uow.record(actor_id=actor_id, action=f"{self.kind}.{action}", subject_kind=self.kind,
                         subject_id=subject_id, reason=reason, payload=payload, at=at,
                         from_state=from_state, to_state=to_state)
