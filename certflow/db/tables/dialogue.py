"""What people write to each other about a procedure, outside the frozen records.

* ``criterion_comment``: the thread per criterion between the Kita and the auditor (and the
  certification body): the dialogue that "changes requested" needs. Append-only: a comment
  is never edited or deleted (a correction is a new comment); each is also in the audit trail.
* ``qualitaetsprofil_feedback``: the certification body's own feedback text for the
  Qualitätsprofil, written beside the deficits the scoring engine generates; one per
  procedure, versioned (optimistic locking), frozen once the decision is recorded.
"""

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field

from ..types import ID, UTCDateTime
from .base import Base

__all__ = ["CriterionCommentRow", "QualitaetsprofilFeedbackRow"]


class CriterionCommentRow(Base, table=True):
    __tablename__ = "criterion_comment"

    id: int | None = Field(default=None, primary_key=True, sa_type=sa.Integer)
    procedure_id: str = Field(foreign_key="procedure.id", index=True, sa_type=ID)
    criterion_id: str = Field(sa_type=sa.String(32))
    author_id: str = Field(foreign_key="app_user.id", sa_type=ID)
    body: str = Field(sa_type=sa.Text)
    created_at: datetime = Field(sa_type=UTCDateTime)


class QualitaetsprofilFeedbackRow(Base, table=True):
    __tablename__ = "qualitaetsprofil_feedback"

    procedure_id: str = Field(primary_key=True, foreign_key="procedure.id", sa_type=ID)
    text: str = Field(sa_type=sa.Text)
    author_id: str = Field(foreign_key="app_user.id", sa_type=ID)
    updated_at: datetime = Field(sa_type=UTCDateTime)
    version: int = Field(default=1, sa_type=sa.Integer)
