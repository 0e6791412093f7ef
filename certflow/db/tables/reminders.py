"""Reminders, their delivery by mail (the outbox), the in-app inbox, and each person's contact choice.

* ``reminder``: one row per planned reminder, key ``subject|kind|due`` (unique). The
  scan reconciles it with a fresh plan: new keys are inserted, unsent rows refreshed
  (``fingerprint`` tells whether the payload changed), keys no longer planned become
  ``dropped``, stale ones ``skipped``. ``queued``: handed to inbox and outbox; such a
  row is history and never changes again.
* ``inbox_message``: the same message in a person's in-app inbox, one per person and
  reminder (unique). It is also the queue of the mail delivery: ``delivery_key`` names
  the ``outbox_item`` that carries it by mail (``NULL``: not yet batched). ``notice``
  rows tell the administration about reminders nobody could receive.
* ``outbox_item``: one mail to one person, key ``<reminder key>#<user id>`` or a
  digest key (``digest:daily:<user>:<date>``); unique, so a mail is built once. Its
  status moves pending -> sending (claimed, with a lease) -> sent | pending (retry
  with back-off) | failed. See docs/reminders.md ("The outbox as built").
* ``user_contact``: e-mail address and immediate/daily/weekly choice per user; a table
  of its own so that ``app_user`` needs no change. No row or no address: inbox only.
"""

from datetime import date, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field

from ..types import ID, UTCDateTime, enum_by_value
from .base import Base

__all__ = [
    "ContactPreference", "DeliveryMode", "DeliveryStatus", "InboxKind", "InboxMessageRow", "OutboxItemRow",
    "ReminderRow", "ReminderStatus", "UserContactRow",
]


class ReminderStatus(StrEnum):
    PLANNED = "planned"   # in the plan, not (yet) handed over
    QUEUED = "queued"     # handed to inbox and outbox: history, never changed again
    SKIPPED = "skipped"   # stale: not sent in time, a later step took over (visible, not sent)
    DROPPED = "dropped"   # no longer in the plan (something moved, a date changed)


class DeliveryStatus(StrEnum):
    PENDING = "pending"   # waiting for its (next) attempt at next_attempt_at
    SENDING = "sending"   # claimed by a scan until lease_until
    SENT = "sent"
    FAILED = "failed"     # permanent error or too many attempts: retried only by hand


class DeliveryMode(StrEnum):
    IMMEDIATE = "immediate"
    DAILY = "daily"
    WEEKLY = "weekly"


ContactPreference = DeliveryMode
"""A person's choice: the same three values as :class:`certflow.notify.Preference`."""


class InboxKind(StrEnum):
    REMINDER = "reminder"  # a reminder for this person (also mailed, if they have an address)
    NOTICE = "notice"      # to the administration: a reminder whose role nobody fills (inbox only)


class ReminderRow(Base, table=True):
    __tablename__ = "reminder"
    __table_args__ = (sa.Index(None, "due", "status"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=sa.Integer)
    key: str = Field(unique=True, sa_type=sa.Text)
    subject: str = Field(sa_type=sa.Text)
    kind: str = Field(sa_type=sa.String(64))
    due: date = Field(sa_type=sa.Date)
    event_date: date = Field(sa_type=sa.Date)
    send_until: date | None = Field(default=None, sa_type=sa.Date)
    familienzentrum_id: str | None = Field(default=None, index=True, sa_type=ID)
    jugendamt_id: str | None = Field(default=None, index=True, sa_type=ID)
    level: int = Field(default=0, sa_type=sa.Integer)
    payload: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    fingerprint: str = Field(sa_type=sa.String(64))
    status: ReminderStatus = Field(sa_type=enum_by_value(ReminderStatus, "status"))
    queued_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class OutboxItemRow(Base, table=True):
    __tablename__ = "outbox_item"
    __table_args__ = (
        sa.Index(None, "status", "next_attempt_at"),
        sa.CheckConstraint("attempts >= 0", name="attempts_not_negative"),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=sa.Integer)
    key: str = Field(unique=True, sa_type=sa.Text)
    user_id: str = Field(foreign_key="app_user.id", index=True, sa_type=ID)
    mode: DeliveryMode = Field(sa_type=enum_by_value(DeliveryMode, "mode"))
    reminder_keys: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    label: str = Field(default="", sa_type=sa.String(100))
    status: DeliveryStatus = Field(sa_type=enum_by_value(DeliveryStatus, "status"))
    attempts: int = Field(default=0, sa_type=sa.Integer)
    next_attempt_at: datetime = Field(sa_type=UTCDateTime)
    lease_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    claim_token: str | None = Field(default=None, sa_type=sa.String(32))
    handed_over_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    uncertain: bool = Field(default=False, sa_type=sa.Boolean)
    message_id: str | None = Field(default=None, sa_type=sa.String(255))
    last_error: str | None = Field(default=None, sa_type=sa.Text)
    created_at: datetime = Field(sa_type=UTCDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class InboxMessageRow(Base, table=True):
    __tablename__ = "inbox_message"
    __table_args__ = (sa.UniqueConstraint("user_id", "reminder_key"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=sa.Integer)
    user_id: str = Field(foreign_key="app_user.id", sa_type=ID)
    reminder_key: str = Field(sa_type=sa.Text)
    kind: InboxKind = Field(default=InboxKind.REMINDER, sa_type=enum_by_value(InboxKind, "kind"))
    subject: str = Field(sa_type=sa.Text)
    body: str = Field(sa_type=sa.Text)
    created_at: datetime = Field(sa_type=UTCDateTime)
    read_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    delivery_key: str | None = Field(default=None, index=True, sa_type=sa.Text)


class UserContactRow(Base, table=True):
    __tablename__ = "user_contact"

    user_id: str = Field(primary_key=True, foreign_key="app_user.id", sa_type=ID)
    email: str | None = Field(default=None, sa_type=sa.String(320))
    preference: DeliveryMode = Field(default=DeliveryMode.IMMEDIATE,
                                     sa_type=enum_by_value(DeliveryMode, "preference"))
    updated_at: datetime = Field(sa_type=UTCDateTime)
