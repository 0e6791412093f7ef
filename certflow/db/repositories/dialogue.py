"""Comments per criterion and the Qualitätsprofil's feedback text (tables in ``tables/dialogue.py``).

Comments are append-only; the feedback is one versioned row per procedure (optimistic locking).
Every write is in the audit trail: a comment with its criterion and the SHA-256 of its text, the
feedback with its version.
"""

from __future__ import annotations

import hashlib

from sqlalchemy import select

from ...lifecycle.dialogue import Comment, Feedback
from ...lifecycle.entities import Role
from ..errors import ConflictError
from ..tables import AppUserRow
from ..tables.dialogue import CriterionCommentRow, QualitaetsprofilFeedbackRow
from .base import Repository

__all__ = ["DialogueRepository"]


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class DialogueRepository(Repository):
    kind = "criterion_comment"

    def comments(self, procedure_id: str) -> list[Comment]:
        """The procedure's comments, oldest first, with their authors' names and roles (one query)."""
        query = (select(CriterionCommentRow, AppUserRow.name, AppUserRow.role)
                 .join(AppUserRow, AppUserRow.id == CriterionCommentRow.author_id)
                 .where(CriterionCommentRow.procedure_id == procedure_id)
                 .order_by(CriterionCommentRow.created_at, CriterionCommentRow.id))
        return [Comment(row.id, row.procedure_id, row.criterion_id, row.author_id, name, Role(role), row.body,
                        row.created_at) for row, name, role in self._session.execute(query)]

    def add_comment(self, procedure_id: str, criterion_id: str, author_id: str, body: str, *,
                    reason: str = "Kommentar geschrieben") -> int:
        row = CriterionCommentRow(procedure_id=procedure_id, criterion_id=criterion_id, author_id=author_id,
                                  body=body, created_at=self._now())
        self._session.add(row)
        self._session.flush()
        self._uow.record(actor_id=author_id, action="criterion_comment.added", subject_kind="procedure",
                         subject_id=procedure_id, reason=reason,
                         payload={"criterion": criterion_id, "comment": row.id, "sha256": _digest(body)})
        return int(row.id)

    def feedback(self, procedure_id: str) -> Feedback | None:
        query = (select(QualitaetsprofilFeedbackRow, AppUserRow.name)
                 .join(AppUserRow, AppUserRow.id == QualitaetsprofilFeedbackRow.author_id)
                 .where(QualitaetsprofilFeedbackRow.procedure_id == procedure_id))
        found = self._session.execute(query.execution_options(populate_existing=True)).first()
        if found is None:
            return None
        row, name = found
        return Feedback(row.procedure_id, row.text, row.author_id, name, row.updated_at, row.version)

    def save_feedback(self, procedure_id: str, text: str, author_id: str, *, version: int | None,
                      reason: str = "Rückmeldung zum Qualitätsprofil geschrieben") -> int:
        """Write the feedback; ``version`` is the one the author read (``None``: there was none yet).
        Someone else's save in between is a :class:`ConflictError`. Returns the new version."""
        row = self._session.get(QualitaetsprofilFeedbackRow, procedure_id, populate_existing=True,
                                with_for_update=True)
        current = row.version if row is not None else None
        if current != version:
            raise ConflictError("qualitaetsprofil_feedback", procedure_id, version or 0, current)
        if row is None:
            row = QualitaetsprofilFeedbackRow(procedure_id=procedure_id, text=text, author_id=author_id,
                                              updated_at=self._now(), version=1)
            self._session.add(row)
        else:
            row.text, row.author_id, row.updated_at, row.version = text, author_id, self._now(), row.version + 1
        self._session.flush()
        self._uow.record(actor_id=author_id, action="qualitaetsprofil_feedback.saved", subject_kind="procedure",
                         subject_id=procedure_id, reason=reason,
                         payload={"version": row.version, "sha256": _digest(text)})
        return int(row.version)
