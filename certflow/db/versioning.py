"""Optimistic locking: write a row only if nobody else wrote it since it was read.

Rows that two people can edit (procedure, certificate, contingent,
familienzentrum, kita) carry a ``version``. :func:`update_versioned` runs
``UPDATE ... SET ..., version = :new WHERE <key> AND version = :expected``; when
no row matched it reads the current version and raises
:class:`~.errors.ConflictError` ("... wurde inzwischen von jemand anderem
geändert (Version 4 statt 3). Bitte neu laden."). The check and the write are
one statement, so it holds on both databases without extra locks.

The expected version is the one the repository read in this unit of work
(:class:`VersionTracker`), or the one the caller passes (e.g. from a web form
that was filled in while someone else saved).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import and_, select, update
from sqlalchemy.orm import Session

from .errors import ConflictError

__all__ = ["VersionTracker", "diff", "update_versioned"]


class VersionTracker:
    """The versions this unit of work has read or written, by (subject kind, subject id)."""

    def __init__(self) -> None:
        self._versions: dict[tuple[str, str], int] = {}

    def seen(self, kind: str, subject_id: str, version: int) -> None:
        self._versions[(kind, subject_id)] = version

    def expected(self, kind: str, subject_id: str, given: int | None = None) -> int:
        if given is not None:
            return given
        try:
            return self._versions[(kind, subject_id)]
        except KeyError:
            raise ValueError(f"{kind} {subject_id}: load it in this unit of work or pass expected_version") from None


def update_versioned(session: Session, row_cls: Any, key: Mapping[str, Any], *, kind: str, subject_id: str,
                     expected: int, values: Mapping[str, Any], new_version: int | None = None) -> int:
    """Update the row of ``row_cls`` with ``key`` if its version is ``expected``; return the new version."""
    table = row_cls.__table__
    where = and_(*(table.c[name] == value for name, value in key.items()))
    new = expected + 1 if new_version is None else new_version
    if new <= expected:
        raise ValueError(f"{kind} {subject_id}: new version {new} must be above {expected}")
    result = session.execute(update(table).where(where, table.c.version == expected).values(**values, version=new))
    if result.rowcount != 1:
        actual = session.execute(select(table.c.version).where(where)).scalar_one_or_none()
        raise ConflictError(kind, subject_id, expected, actual)
    return new


def diff(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, list[Any]]:
    """``{field: [old, new]}`` for the fields that differ (the audit payload of an edit)."""
    return {name: [old.get(name), value] for name, value in new.items() if old.get(name) != value}
