"""The audit trail: an append-only, hash-chained log and its one-row head.

``audit_log.seq`` is assigned by :func:`certflow.db.audit_log.append` while it
holds the lock on ``audit_head`` (not by a database sequence, which leaves gaps
on rollback): so the numbers have no gaps and every missing number is a
removed entry. ``audit_head`` holds the last seq and hash; it is the lock two
writers serialise on, and it lets ``verify`` notice a removed tail.
"""

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field

from ..types import UTCDateTime
from .base import Base

__all__ = ["GENESIS_HASH", "AuditHeadRow", "AuditLogRow"]

GENESIS_HASH = "0" * 64
"""The ``prev_hash`` of the first entry."""


class AuditLogRow(Base, table=True):
    __tablename__ = "audit_log"
    __table_args__ = (sa.Index(None, "subject_kind", "subject_id"),)

    seq: int = Field(primary_key=True, sa_type=sa.BigInteger, sa_column_kwargs={"autoincrement": False})
    at: datetime = Field(sa_type=UTCDateTime)
    actor_id: str = Field(sa_type=sa.String(64))
    action: str = Field(sa_type=sa.String(64))
    subject_kind: str = Field(sa_type=sa.String(32))
    subject_id: str = Field(sa_type=sa.String(128))
    from_state: str | None = Field(default=None, sa_type=sa.String(32))
    to_state: str | None = Field(default=None, sa_type=sa.String(32))
    reason: str = Field(sa_type=sa.Text)
    payload: str = Field(sa_type=sa.Text)
    prev_hash: str = Field(sa_type=sa.String(64))
    hash: str = Field(unique=True, sa_type=sa.String(64))


class AuditHeadRow(Base, table=True):
    __tablename__ = "audit_head"
    __table_args__ = (sa.CheckConstraint("id = 1", name="single_row"),)

    id: int = Field(default=1, primary_key=True, sa_type=sa.Integer, sa_column_kwargs={"autoincrement": False})
    last_seq: int = Field(default=0, sa_type=sa.BigInteger)
    last_hash: str = Field(default=GENESIS_HASH, sa_type=sa.String(64))
