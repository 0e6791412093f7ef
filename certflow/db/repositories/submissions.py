"""Revisions of a procedure's self-assessment: an editable draft, then frozen submissions.

Each revision holds the assessment's canonical JSON and its SHA-256
(:mod:`certflow.lifecycle.snapshot`). The newest revision may be a draft;
saving a draft again overwrites it. Submitting freezes it (``submitted``);
from then on it never changes (the repository refuses, a trigger backs that
up) and the next edit starts a new revision with the next number. Revision
numbers therefore match :func:`certflow.lifecycle.snapshot.next_revision`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from ...assessment.model import Assessment
from ...lifecycle.entities import SubmissionSnapshot
from ...lifecycle.snapshot import canonical_json, sha256_hex
from ..errors import FrozenError
from ..tables import AssessmentRevisionRow
from .base import Repository

__all__ = ["Draft", "SubmissionRepository"]

_R = AssessmentRevisionRow


@dataclass(frozen=True, slots=True)
class Draft:
    procedure_id: str
    revision: int
    canonical_json: str
    sha256: str
    created_at: datetime
    created_by: str


def _snapshot(row: AssessmentRevisionRow) -> SubmissionSnapshot:
    return SubmissionSnapshot(row.procedure_id, row.revision, row.sha256, row.canonical_json, row.submitted_at,
                              row.submitted_by, row.passed)


def _frozen(procedure_id: str, revision: int) -> FrozenError:
    return FrozenError(f"Revision {revision} der Selbstbewertung im Verfahren {procedure_id} ist eingereicht und "
                       "eingefroren; eine Änderung wird als neue Revision gespeichert")


class SubmissionRepository(Repository):
    kind = "assessment_revision"

    def _latest(self, procedure_id: str) -> AssessmentRevisionRow | None:
        return self._first(select(_R).where(_R.procedure_id == procedure_id).order_by(_R.revision.desc()))

    def _row(self, procedure_id: str, revision: int) -> AssessmentRevisionRow | None:
        return self._first(select(_R).where(_R.procedure_id == procedure_id, _R.revision == revision))

    def save_draft(self, procedure_id: str, assessment: Assessment | Mapping[str, Any], *, by: str,
                   reason: str = "Entwurf gespeichert") -> Draft:
        """Store the working copy: overwrite the open draft, or open the next revision after a submission."""
        text = canonical_json(assessment)
        digest, now = sha256_hex(text), self._now()
        latest = self._latest(procedure_id)
        if latest is not None and not latest.submitted:
            if latest.sha256 != digest:
                old = latest.sha256
                latest.canonical_json, latest.sha256, latest.created_at, latest.created_by = text, digest, now, by
                self._session.flush()
                self._log("update", f"{procedure_id}#{latest.revision}", actor_id=by, reason=reason,
                          payload={"revision": latest.revision, "sha256": [old, digest]})
            return self.draft(procedure_id)
        revision = 1 if latest is None else latest.revision + 1
        self._insert(_R(procedure_id=procedure_id, revision=revision, canonical_json=text, sha256=digest,
                        created_at=now, created_by=by))
        self._log("create", f"{procedure_id}#{revision}", actor_id=by, reason=reason,
                  payload={"revision": revision, "sha256": digest})
        return self.draft(procedure_id)

    def draft(self, procedure_id: str) -> Draft | None:
        """The open (unsubmitted) revision, if there is one."""
        row = self._latest(procedure_id)
        if row is None or row.submitted:
            return None
        return Draft(row.procedure_id, row.revision, row.canonical_json, row.sha256, row.created_at, row.created_by)

    def add_snapshot(self, snapshot: SubmissionSnapshot, *, reason: str = "Selbstbewertung eingereicht") -> None:
        """Freeze ``snapshot`` (from :func:`certflow.lifecycle.snapshot.freeze`) as its revision.

        An open draft with the same number becomes the submission; a submitted
        revision with that number is refused (:class:`FrozenError`).
        """
        if sha256_hex(snapshot.canonical_json) != snapshot.sha256:
            raise ValueError(f"snapshot {snapshot.procedure_id}#{snapshot.revision}: sha256 does not match its text")
        row = self._row(snapshot.procedure_id, snapshot.revision)
        if row is not None and row.submitted:
            raise _frozen(snapshot.procedure_id, snapshot.revision)
        frozen = dict(canonical_json=snapshot.canonical_json, sha256=snapshot.sha256, submitted=True,
                      submitted_at=snapshot.submitted_at, submitted_by=snapshot.submitted_by, passed=snapshot.passed)
        if row is None:
            self._insert(_R(procedure_id=snapshot.procedure_id, revision=snapshot.revision,
                            created_at=snapshot.submitted_at, created_by=snapshot.submitted_by, **frozen))
        else:
            for name, value in frozen.items():
                setattr(row, name, value)
            self._session.flush()
        self._log("submit", f"{snapshot.procedure_id}#{snapshot.revision}", actor_id=snapshot.submitted_by,
                  reason=reason, at=snapshot.submitted_at,
                  payload={"revision": snapshot.revision, "sha256": snapshot.sha256, "passed": snapshot.passed})

    def snapshot(self, procedure_id: str, revision: int) -> SubmissionSnapshot | None:
        row = self._row(procedure_id, revision)
        return _snapshot(row) if row is not None and row.submitted else None

    def latest_submitted(self, procedure_id: str) -> SubmissionSnapshot | None:
        row = self._first(select(_R).where(_R.procedure_id == procedure_id, _R.submitted.is_(True))
                          .order_by(_R.revision.desc()))
        return _snapshot(row) if row is not None else None

    def submitted(self, procedure_id: str) -> list[SubmissionSnapshot]:
        rows = self._all(select(_R).where(_R.procedure_id == procedure_id, _R.submitted.is_(True))
                         .order_by(_R.revision))
        return [_snapshot(row) for row in rows]
