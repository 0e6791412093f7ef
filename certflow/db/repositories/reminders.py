"""Data access of reminders, the mail outbox, the in-app inbox, the contact choices and the planner's input.

These repositories work on a plain :class:`~sqlalchemy.orm.Session`: the unit of work's
(``uow.reminders``, ``uow.outbox``, ``uow.inbox``, ``uow.contacts``, for the services), or
one of the scan's own short transactions. Nothing here writes the domain's audited
aggregates; a service that changes something here records it through the unit of work. Bulk
statements throughout: the scan reads and writes tens of thousands of reminder rows,
never one query per row on the planning path.

Writes that two scans could race on are idempotent: inserts ignore a conflicting
unique key (``ON CONFLICT DO NOTHING`` on both databases) and every status change is
a conditional ``UPDATE`` whose row count tells who won (see docs/reminders.md).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache
from typing import Any

from sqlalchemy import Table, and_, bindparam, func, or_, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ...calendar import KindergartenYear
from ...catalogue.checks import applies
from ...catalogue.loader import load_catalogue
from ...catalogue.model import EvidenceRule, Form, ProcedureKind, Variant
from ...lifecycle.contingents import Contingent
from ...lifecycle.entities import PROCEDURE_FINAL_STATES, Certificate, Familienzentrum, Jugendamt, Procedure, Role, User
from ...lifecycle.machinery import local_date
from ...reminders import EvidenceInfo, PlanningInput, ProcedureInfo
from ...reminders.model import Reminder
from ...resources import shipped_catalogues
from ..tables import (
    AppUserRow, AssessmentRevisionRow, AuditLogRow, CertificateRow, ContingentRow, FamilienzentrumMemberRow,
    FamilienzentrumRow, JugendamtRow, ProcedureRow,
)
from ..tables.reminders import (
    DeliveryMode, DeliveryStatus, InboxKind, InboxMessageRow, OutboxItemRow, ReminderRow, ReminderStatus,
    UserContactRow,
)

__all__ = [
    "CHUNK", "WRITE_COLUMNS", "Contact", "ContactRepository", "InboxRepository", "OutboxRepository",
    "ReminderRepository", "ReplanScope", "StoredReminder", "calendar_years", "chunked", "insert_ignoring_conflicts",
    "load_planning_input",
]

R = ReminderRow.__table__
O = OutboxItemRow.__table__  # noqa: E741
I = InboxMessageRow.__table__  # noqa: E741
C = UserContactRow.__table__

CHUNK = 500
"""Keys per ``IN (...)`` list and rows per executemany batch."""

WRITE_COLUMNS = ("key", "subject", "kind", "due", "event_date", "send_until", "familienzentrum_id", "jugendamt_id",
                 "level", "payload", "fingerprint", "status", "updated_at")
"""The columns a replan writes (the rest, ``id`` and ``queued_at``, belong to the table and the hand-over)."""
_KEY_COLUMNS = ("key", "subject", "kind", "due")  # the key and its parts: what a refresh never changes
_KEYS_PER_STATEMENT = 5000  # below SQLite's 32,766 variables per statement
_STAGE = "reminder_incoming"
_JSON = json.JSONEncoder(check_circular=False)  # json.dumps' output, without its per-call set-up


def chunked(items: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def insert_ignoring_conflicts(session: Session, table: Table, rows: Sequence[Mapping[str, Any]],
                              index_elements: Sequence[str]) -> None:
    """``INSERT ... ON CONFLICT (index_elements) DO NOTHING`` for many rows (PostgreSQL and SQLite)."""
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    module = postgresql if dialect == "postgresql" else sqlite
    statement = module.insert(table).on_conflict_do_nothing(index_elements=list(index_elements))
    for batch in chunked(list(rows)):
        session.execute(statement, list(batch))


# -- reminders -------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StoredReminder:
    status: ReminderStatus
    fingerprint: str

    @property
    def handed_over(self) -> bool:
        return self.status is ReminderStatus.QUEUED


@dataclass
class ReplanScope:
    """What a change touched, for the replan after it: Familienzentren, Jugendämter, or everything."""

    familienzentren: set[str] = field(default_factory=set)
    jugendaemter: set[str] = field(default_factory=set)
    everything: bool = False

    def __bool__(self) -> bool:
        return self.everything or bool(self.familienzentren or self.jugendaemter)


def _scope_filter(familienzentrum_id: str | None, jugendamt_id: str | None) -> list[Any]:
    where = []
    if familienzentrum_id is not None:
        where.append(R.c.familienzentrum_id == familienzentrum_id)
    if jugendamt_id is not None:
        where.append(R.c.jugendamt_id == jugendamt_id)
    return where


class ReminderRepository:
    def __init__(self, session: Session):
        self.session = session

    def stored(self, *, familienzentrum_id: str | None = None,
               jugendamt_id: str | None = None) -> dict[str, StoredReminder]:
        """Every stored key of the scope with its status and payload fingerprint (one query)."""
        query = select(R.c.key, R.c.status, R.c.fingerprint).where(*_scope_filter(familienzentrum_id, jugendamt_id))
        return {key: StoredReminder(ReminderStatus(status), fp) for key, status, fp in self.session.execute(query)}

    def insert(self, rows: Sequence[Mapping[str, Any]]) -> None:
        insert_ignoring_conflicts(self.session, R, rows, ["key"])

    def add(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Insert new reminders in bulk, ignoring keys stored meanwhile (a concurrent replan).

        ``rows`` carry every column of :data:`WRITE_COLUMNS` (``payload`` a dict). PostgreSQL:
        ``COPY`` into a temporary table, then one ``INSERT ... SELECT ... ON CONFLICT (key) DO
        NOTHING``; SQLite: the driver's ``executemany`` of ``INSERT ... ON CONFLICT DO NOTHING``.
        Either way the values are encoded once here, not per row by SQLAlchemy.
        """
        if not rows:
            return
        names = ", ".join(WRITE_COLUMNS)
        if self._postgresql:
            self._stage(rows, WRITE_COLUMNS)
            self.session.connection().exec_driver_sql(
                f"INSERT INTO reminder ({names}) SELECT {names} FROM {_STAGE} ON CONFLICT (key) DO NOTHING")
            return
        marks = ", ".join("?" for _ in WRITE_COLUMNS)
        self.session.connection().exec_driver_sql(
            f"INSERT INTO reminder ({names}) VALUES ({marks}) ON CONFLICT (key) DO NOTHING",
            self._encoded(rows, WRITE_COLUMNS))

    def refresh(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Rewrite stored reminders by key (payload, fingerprint, status, ...) in bulk; a row handed over
        meanwhile (``queued``) is left alone. ``rows`` as for :meth:`add`."""
        if not rows:
            return
        changing = [name for name in WRITE_COLUMNS if name not in _KEY_COLUMNS]
        if self._postgresql:
            self._stage(rows, ("key", *changing))
            assignments = ", ".join(f"{name} = i.{name}" for name in changing)
            self.session.connection().exec_driver_sql(
                f"UPDATE reminder AS r SET {assignments} FROM {_STAGE} AS i "
                f"WHERE r.key = i.key AND r.status <> '{ReminderStatus.QUEUED.value}'")
            return
        assignments = ", ".join(f"{name} = ?" for name in changing)
        self.session.connection().exec_driver_sql(
            f"UPDATE reminder SET {assignments} WHERE key = ? AND status <> '{ReminderStatus.QUEUED.value}'",
            self._encoded(rows, (*changing, "key")))

    def set_status(self, keys: Sequence[str], status: ReminderStatus, now: datetime) -> int:
        """Set ``status`` on the stored reminders ``keys`` (not on those handed over): a few set-based UPDATEs."""
        total = 0
        for batch in chunked(list(keys), _KEYS_PER_STATEMENT):
            total += self.session.execute(update(R).where(
                R.c.key.in_(batch), R.c.status != ReminderStatus.QUEUED.value,
            ).values(status=status.value, updated_at=now)).rowcount
        return total

    @property
    def _postgresql(self) -> bool:
        return self.session.get_bind().dialect.name == "postgresql"

    def _encoded(self, rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> list[tuple[Any, ...]]:
        """The rows as the driver takes them: each column through its type's bind processor, once."""
        dialect = self.session.get_bind().dialect
        serialize = getattr(dialect, "_json_serializer", None) or _JSON.encode  # what the JSON type would do
        encoded = []
        for name in columns:
            values = [row[name] for row in rows]
            if name == "payload":
                encoded.append([serialize(v) for v in values])
                continue
            encode = None if dialect.name == "postgresql" else R.c[name].type._cached_bind_processor(dialect)
            if encode is None:  # psycopg adapts dates, datetimes and strings itself
                encoded.append(values)
                continue
            seen: dict[Any, Any] = {}  # dates, statuses and the moment repeat: encode each once
            column = []
            for v in values:
                if v not in seen:
                    seen[v] = None if v is None else encode(v)
                column.append(seen[v])
            encoded.append(column)
        return list(zip(*encoded, strict=True))

    def _stage(self, rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> None:
        """PostgreSQL: ``rows`` into the transaction's temporary table :data:`_STAGE` by ``COPY``."""
        connection = self.session.connection()
        names = ", ".join(columns)
        connection.exec_driver_sql(
            f"CREATE TEMPORARY TABLE IF NOT EXISTS {_STAGE} ON COMMIT DROP AS "
            f"SELECT {', '.join(WRITE_COLUMNS)} FROM reminder WITH NO DATA")
        connection.exec_driver_sql(f"TRUNCATE {_STAGE}")
        driver = connection.connection.driver_connection
        with driver.cursor() as cursor, cursor.copy(f"COPY {_STAGE} ({names}) FROM STDIN") as copy:
            for values in self._encoded(rows, columns):
                copy.write_row(values)

    def update(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Refresh unsent rows by key (payload, status, ...); a row queued meanwhile is left alone."""
        if not rows:
            return
        columns = [name for name in rows[0] if name != "key"]
        statement = (update(R).where(R.c.key == bindparam("b_key"), R.c.status != ReminderStatus.QUEUED.value)
                     .values(**{name: bindparam(f"b_{name}") for name in columns}))
        params = [{f"b_{name}": row[name] for name in ("key", *columns)} for row in rows]
        connection = self.session.connection()
        for batch in chunked(params):
            connection.execute(statement, list(batch))

    def mark_queued(self, key: str, now: datetime) -> bool:
        """Hand one reminder over (planned -> queued); False if someone else did so first, or if a replan
        meanwhile dropped it or found it stale (only a ``planned`` row is handed over)."""
        result = self.session.execute(update(R).where(R.c.key == key, R.c.status == ReminderStatus.PLANNED.value)
                                      .values(status=ReminderStatus.QUEUED.value, queued_at=now, updated_at=now))
        return result.rowcount == 1

    def lock_for_writing(self) -> None:
        """Serialise the transactions that write the reminder table (replans and hand-overs).

        PostgreSQL: a transaction-level advisory lock per schema, so two replans (or a replan and
        a hand-over) never update the same rows in opposite orders (no deadlock) and the later
        one compares against what the earlier one committed. SQLite: ``BEGIN IMMEDIATE`` already
        serialises writers; nothing to do.
        """
        if self._postgresql:
            self.session.execute(text(
                "SELECT pg_advisory_xact_lock(hashtextextended('certflow.reminders:' || current_schema(), 0))"))

    def scopes_of(self, *, procedure_ids: Iterable[str] = (), user_ids: Iterable[str] = ()) -> ReplanScope:
        """Where the reminders of these procedures and people live: Familienzentren, Jugendämter, or everywhere
        (the certification body and auditors appear in reminders all over the Land)."""
        scope = ReplanScope()
        procedure_ids, user_ids = sorted(set(procedure_ids)), sorted(set(user_ids))
        if procedure_ids:
            query = select(_P.c.familienzentrum_id).where(_P.c.id.in_(procedure_ids))
            scope.familienzentren.update(self.session.execute(query).scalars())
        if user_ids:
            query = select(_U.c.role, _U.c.jugendamt_id, _U.c.familienzentrum_id).where(_U.c.id.in_(user_ids))
            for role, ja, fz in self.session.execute(query):
                if role == Role.KITA_LEAD.value and fz:
                    scope.familienzentren.add(fz)
                elif role == Role.COORDINATOR.value and ja:
                    scope.jugendaemter.add(ja)
                elif role in (Role.CERTIFIER.value, Role.AUDITOR.value):
                    scope.everything = True
        return scope

    def reminders(self, keys: Iterable[str]) -> dict[str, Reminder]:
        """The stored reminders (from their payload) for ``keys``."""
        out: dict[str, Reminder] = {}
        for batch in chunked(sorted(set(keys))):
            for key, payload in self.session.execute(select(R.c.key, R.c.payload).where(R.c.key.in_(batch))):
                out[key] = Reminder.from_dict(payload)
        return out

    def rows(self, keys: Iterable[str]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for batch in chunked(sorted(set(keys))):
            for row in self.session.execute(select(R).where(R.c.key.in_(batch))):
                out[row.key] = row
        return out

    def due(self, as_of: date) -> list[Any]:
        """The plain indexed query for due rows: planned, due on or before ``as_of`` (index (due, status))."""
        query = select(R.c.key, R.c.due, R.c.payload).where(
            R.c.due <= as_of, R.c.status == ReminderStatus.PLANNED.value).order_by(R.c.due, R.c.key)
        return list(self.session.execute(query))

    def count_by_status(self) -> dict[str, int]:
        query = select(R.c.status, func.count()).group_by(R.c.status)
        return {status: n for status, n in self.session.execute(query)}

    def planning_input(self, today: date, *, familienzentrum_id: str | None = None, jugendamt_id: str | None = None,
                       evidence: bool = True) -> PlanningInput:
        """What the planner reads as of ``today``, for all of NRW or one Familienzentrum / Jugendamt."""
        return load_planning_input(self.session, today, familienzentrum_id=familienzentrum_id,
                                   jugendamt_id=jugendamt_id, evidence=evidence)

    def last_change(self) -> datetime | None:
        """When the latest audit entry was written (a feed's ``DTSTAMP``: it changes when the data do)."""
        return self.session.execute(select(func.max(AuditLogRow.__table__.c.at))).scalar()


# -- inbox ------------------------------------------------------------------------------------------------


class InboxRepository:
    def __init__(self, session: Session):
        self.session = session

    def add(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """New messages; one per person and reminder (a second one for the same pair is ignored)."""
        insert_ignoring_conflicts(self.session, I, rows, ["user_id", "reminder_key"])

    def of_user(self, user_id: str, *, unread_only: bool = False, limit: int | None = None) -> list[Any]:
        query = select(I).where(I.c.user_id == user_id)
        if unread_only:
            query = query.where(I.c.read_at.is_(None))
        query = query.order_by(I.c.created_at.desc(), I.c.id.desc())
        if limit:
            query = query.limit(limit)
        return list(self.session.execute(query))

    def mark_read(self, ids: Sequence[int], now: datetime, *, user_id: str) -> int:
        """Mark ``user_id``'s unread messages among ``ids`` as read (others' messages are left alone)."""
        if not ids:
            return 0
        result = self.session.execute(update(I).where(I.c.id.in_(list(ids)), I.c.user_id == user_id,
                                                      I.c.read_at.is_(None)).values(read_at=now))
        return result.rowcount

    def owned(self, ids: Iterable[int], user_id: str) -> set[int]:
        """Which of ``ids`` are messages of ``user_id``."""
        found: set[int] = set()
        for batch in chunked(sorted(set(ids))):
            found |= set(self.session.execute(select(I.c.id).where(I.c.id.in_(batch), I.c.user_id == user_id))
                         .scalars())
        return found

    def awaiting_mail(self) -> list[Any]:
        """Reminder messages not yet assigned to a mail, of people with an e-mail address."""
        query = (select(I.c.user_id, I.c.reminder_key, I.c.created_at)
                 .join(C, C.c.user_id == I.c.user_id)
                 .where(I.c.delivery_key.is_(None), I.c.kind == InboxKind.REMINDER.value,
                        C.c.email.is_not(None), C.c.email != "")
                 .order_by(I.c.user_id, I.c.created_at, I.c.reminder_key))
        return list(self.session.execute(query))

    def assign(self, user_id: str, reminder_keys: Sequence[str], delivery_key: str) -> int:
        """Tie messages to the mail that carries them (only those not tied yet)."""
        total = 0
        for batch in chunked(list(reminder_keys)):
            total += self.session.execute(update(I).where(
                I.c.user_id == user_id, I.c.reminder_key.in_(batch), I.c.delivery_key.is_(None),
            ).values(delivery_key=delivery_key)).rowcount
        return total

    def prepared(self, user_id: str, delivery_key: str) -> Any | None:
        """The prepared message (subject, body) that the outbox item ``delivery_key`` carries to ``user_id``:
        a mail the application wrote itself (a one-time login link), not one planned from a reminder."""
        query = (select(I.c.subject, I.c.body).where(I.c.user_id == user_id, I.c.delivery_key == delivery_key)
                 .order_by(I.c.id).limit(1))
        return self.session.execute(query).first()

    def for_reminders(self, keys: Iterable[str]) -> list[Any]:
        """Messages of ``keys`` with the status of the mail that carries them (for ``reminders plan``)."""
        out: list[Any] = []
        for batch in chunked(sorted(set(keys))):
            query = (select(I.c.reminder_key, I.c.user_id, I.c.kind, I.c.delivery_key, O.c.status)
                     .select_from(I.outerjoin(O, O.c.key == I.c.delivery_key))
                     .where(I.c.reminder_key.in_(batch)))
            out += list(self.session.execute(query))
        return out

    def count(self) -> int:
        return self.session.execute(select(func.count()).select_from(I)).scalar_one()


# -- outbox -----------------------------------------------------------------------------------------------


class OutboxRepository:
    def __init__(self, session: Session):
        self.session = session

    def existing_keys(self, keys: Iterable[str]) -> set[str]:
        found: set[str] = set()
        for batch in chunked(sorted(set(keys))):
            found |= set(self.session.execute(select(O.c.key).where(O.c.key.in_(batch))).scalars())
        return found

    def add(self, rows: Sequence[Mapping[str, Any]]) -> None:
        insert_ignoring_conflicts(self.session, O, rows, ["key"])

    def note_pending(self, note: str) -> int:
        """Write ``note`` on every pending item that does not carry it yet (e.g. no mail server configured)."""
        return self.session.execute(update(O).where(
            O.c.status == DeliveryStatus.PENDING.value, or_(O.c.last_error.is_(None), O.c.last_error != note),
        ).values(last_error=note)).rowcount

    def recover(self, now: datetime, note_clean: str, note_uncertain: str) -> tuple[int, int]:
        """Items left ``sending`` by a scan that died (lease expired) go back to ``pending``, due at once.

        Those whose end of data had been handed to the server (``handed_over_at``) may have
        been delivered: they become ``uncertain`` (sent again with the same Message-ID).
        Returns (recovered, of which uncertain).
        """
        expired = and_(O.c.status == DeliveryStatus.SENDING.value, O.c.lease_until < now)
        uncertain = self.session.execute(update(O).where(expired, O.c.handed_over_at.is_not(None)).values(
            status=DeliveryStatus.PENDING.value, uncertain=True, last_error=note_uncertain, next_attempt_at=now,
            lease_until=None, claim_token=None, handed_over_at=None)).rowcount
        clean = self.session.execute(update(O).where(expired).values(
            status=DeliveryStatus.PENDING.value, last_error=note_clean, next_attempt_at=now, lease_until=None,
            claim_token=None)).rowcount
        return clean + uncertain, uncertain

    def due_ids(self, now: datetime, limit: int) -> list[int]:
        """Pending items whose (next) attempt is due, oldest first (index (status, next_attempt_at))."""
        query = (select(O.c.id).where(O.c.status == DeliveryStatus.PENDING.value, O.c.next_attempt_at <= now)
                 .order_by(O.c.next_attempt_at, O.c.id).limit(limit))
        return list(self.session.execute(query).scalars())

    def claim(self, item_id: int, now: datetime, lease_until: datetime, token: str) -> bool:
        """pending -> sending with a lease; True for the one scan whose UPDATE matched."""
        result = self.session.execute(update(O).where(
            O.c.id == item_id, O.c.status == DeliveryStatus.PENDING.value, O.c.next_attempt_at <= now,
        ).values(status=DeliveryStatus.SENDING.value, lease_until=lease_until, claim_token=token,
                 handed_over_at=None))
        return result.rowcount == 1

    def handed_over(self, item_id: int, token: str, at: datetime) -> bool:
        """Record that the end of data is about to go to the server (still holding the claim?)."""
        result = self.session.execute(update(O).where(
            O.c.id == item_id, O.c.claim_token == token, O.c.status == DeliveryStatus.SENDING.value,
        ).values(handed_over_at=at))
        return result.rowcount == 1

    def mark_sent(self, item_id: int, token: str, at: datetime, message_id: str) -> bool:
        result = self.session.execute(update(O).where(
            O.c.id == item_id, O.c.claim_token == token, O.c.status == DeliveryStatus.SENDING.value,
        ).values(status=DeliveryStatus.SENT.value, sent_at=at, message_id=message_id, lease_until=None,
                 claim_token=None, attempts=O.c.attempts + 1))
        return result.rowcount == 1

    def mark_failed_attempt(self, item_id: int, token: str, *, attempts: int, next_at: datetime | None,
                            error: str, uncertain: bool = False) -> bool:
        """After a failed attempt: back to ``pending`` at ``next_at``, or ``failed`` when ``next_at`` is None.

        ``uncertain``: the connection broke after the end of data, the server may have the mail.
        """
        values: dict[str, Any] = dict(attempts=attempts, last_error=error, lease_until=None, claim_token=None,
                                      handed_over_at=None)
        if uncertain:
            values["uncertain"] = True
        if next_at is None:
            values["status"] = DeliveryStatus.FAILED.value
        else:
            values.update(status=DeliveryStatus.PENDING.value, next_attempt_at=next_at)
        result = self.session.execute(update(O).where(
            O.c.id == item_id, O.c.claim_token == token, O.c.status == DeliveryStatus.SENDING.value,
        ).values(**values))
        return result.rowcount == 1

    def get(self, item_id: int) -> Any:
        return self.session.execute(select(O).where(O.c.id == item_id)).one()

    def find(self, key: str) -> Any | None:
        return self.session.execute(select(O).where(O.c.key == key)).one_or_none()

    def listing(self, *, status: str | None = None, user_id: str | None = None, limit: int | None = None) -> list[Any]:
        query = select(O)
        if status is not None:
            query = query.where(O.c.status == status)
        if user_id is not None:
            query = query.where(O.c.user_id == user_id)
        query = query.order_by(O.c.created_at.desc(), O.c.id.desc())
        if limit:
            query = query.limit(limit)
        return list(self.session.execute(query))

    def retry(self, key: str, now: datetime) -> bool:
        """By hand: a failed item goes back to ``pending``, due at once, with a fresh count of attempts."""
        result = self.session.execute(update(O).where(O.c.key == key, O.c.status == DeliveryStatus.FAILED.value)
                                      .values(status=DeliveryStatus.PENDING.value, next_attempt_at=now, attempts=0))
        return result.rowcount == 1

    def count_by_status(self) -> dict[str, int]:
        query = select(O.c.status, func.count()).group_by(O.c.status)
        return {status: n for status, n in self.session.execute(query)}


# -- contacts ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Contact:
    user_id: str
    email: str | None
    preference: DeliveryMode


class ContactRepository:
    def __init__(self, session: Session):
        self.session = session

    def set(self, user_id: str, *, now: datetime, email: str | None = None,
            preference: DeliveryMode | str | None = None) -> Contact:
        """Create or change a person's address and/or choice (unchanged when passed ``None``)."""
        current = self.get(user_id)
        new_email = email if email is not None else (current.email if current else None)
        new_pref = DeliveryMode(preference) if preference is not None else (
            current.preference if current else DeliveryMode.IMMEDIATE)
        values = dict(email=new_email or None, preference=new_pref.value, updated_at=now)
        if current is None:
            self.session.execute(C.insert().values(user_id=user_id, **values))
        else:
            self.session.execute(update(C).where(C.c.user_id == user_id).values(**values))
        return Contact(user_id, new_email or None, new_pref)

    def get(self, user_id: str) -> Contact | None:
        row = self.session.execute(select(C).where(C.c.user_id == user_id)).one_or_none()
        return None if row is None else Contact(row.user_id, row.email, DeliveryMode(row.preference))

    def all(self) -> dict[str, Contact]:
        return {row.user_id: Contact(row.user_id, row.email, DeliveryMode(row.preference))
                for row in self.session.execute(select(C))}


# -- the planner's input ----------------------------------------------------------------------------------
#
# What :func:`certflow.reminders.plan_reminders` reads, in one pass and a handful of bulk queries, no
# query per row: Jugendämter, Familienzentren and their current members, users, certificate terms,
# procedures, the procedures' state-change days from the audit trail (one GROUP BY), the days of their
# latest self-assessment revisions (one GROUP BY), the latest revision of every running procedure (for
# the evidence with a maximum age) and the contingents of the current and the next Kindergartenjahr.
# Optionally limited to one Familienzentrum or one Jugendamt. The dates per procedure are described in
# :mod:`certflow.scheduler.snapshot`.

_J = JugendamtRow.__table__
_F = FamilienzentrumRow.__table__
_M = FamilienzentrumMemberRow.__table__
_U = AppUserRow.__table__
_C = CertificateRow.__table__
_P = ProcedureRow.__table__
_A = AuditLogRow.__table__
_REV = AssessmentRevisionRow.__table__
_K = ContingentRow.__table__

_PROCEDURE_FIELDS = tuple(name for name in Procedure.__slots__ if name not in ("kgj", "version"))
_FINAL = tuple(state.value for state in PROCEDURE_FINAL_STATES)


def calendar_years(today: date) -> tuple[KindergartenYear, KindergartenYear]:
    """The Kindergartenjahre of the coordinators' calendar: the current and the next one."""
    current = KindergartenYear.of(today)
    return current, current.next()


def _procedure(row) -> Procedure:
    return Procedure(**{name: getattr(row, name) for name in _PROCEDURE_FIELDS}, kgj=KindergartenYear(row.kgj),
                     version=row.version)


@cache
def _shipped() -> dict[str, object]:
    return {cat.key: cat for cat in (load_catalogue(path) for path in shipped_catalogues())}


@cache
def _aged_rules(catalogue_key: str) -> dict[str, tuple[EvidenceRule, ...]]:
    """item id -> its evidence rules with a maximum age, for a shipped catalogue (empty if unknown)."""
    cat = _shipped().get(catalogue_key)
    if cat is None:
        return {}
    out: dict[str, tuple[EvidenceRule, ...]] = {}
    for _, _, criterion in cat.all_criteria():
        for item in criterion.all_items():
            aged = tuple(rule for rule in item.evidence
                         if any(option.max_age_years is not None for option in rule.options()))
            if aged:
                out[item.id] = aged
    return out


def _evidence_of(procedure: Procedure, form: Form, canonical_json: str) -> list[EvidenceInfo]:
    rules = _aged_rules(procedure.catalogue_key)
    if not rules:
        return []
    try:
        records = json.loads(canonical_json).get("evidence") or []
    except (ValueError, AttributeError):
        return []
    variant = Variant(ProcedureKind(procedure.kind), Form(form))
    out: list[EvidenceInfo] = []
    for ev in records:
        try:
            kind, title, day = ev["kind"], ev["title"], date.fromisoformat(ev["date"])
            items = ev.get("items") or ()
        except (KeyError, TypeError, ValueError):
            continue
        ages = [option.max_age_years for item in items for rule in rules.get(item, ())
                if applies(rule.applies_to, variant)
                for option in rule.options() if option.kind == kind and option.max_age_years is not None]
        if ages:
            out.append(EvidenceInfo(procedure.id, procedure.familienzentrum_id, title, day, min(ages),
                                    procedure.period_end, kind=kind, sha256=ev.get("sha256")))
    return out


def _users(session: Session, fz_ids: Sequence[str] | None, ja_ids: Sequence[str] | None) -> tuple[User, ...]:
    """Every user (``fz_ids`` None), or those a scope's reminders can reach: the Kita leads of ``fz_ids``,
    the coordinators of ``ja_ids``, the certification body and the auditors (one query either way)."""
    query = select(_U.c.id, _U.c.name, _U.c.role, _U.c.jugendamt_id, _U.c.familienzentrum_id, _U.c.traeger_id)
    if fz_ids is not None:
        query = query.where(or_(
            _U.c.role.in_([Role.CERTIFIER.value, Role.AUDITOR.value]),
            and_(_U.c.role == Role.KITA_LEAD.value, _U.c.familienzentrum_id.in_(list(fz_ids))),
            and_(_U.c.role == Role.COORDINATOR.value, _U.c.jugendamt_id.in_(list(ja_ids or ()))),
        ))
    return tuple(User(uid, name, Role(role), ja, fz, traeger)
                 for uid, name, role, ja, fz, traeger in session.execute(query.order_by(_U.c.id)))


def load_planning_input(session: Session, today: date, *, familienzentrum_id: str | None = None,
                        jugendamt_id: str | None = None, evidence: bool = True) -> PlanningInput:
    """Everything the planner reads, for all of NRW or for one Familienzentrum / one Jugendamt."""
    fz_query = select(_F)
    if familienzentrum_id is not None:
        fz_query = fz_query.where(_F.c.id == familienzentrum_id)
    if jugendamt_id is not None:
        fz_query = fz_query.where(_F.c.jugendamt_id == jugendamt_id)
    fz_rows = list(session.execute(fz_query.order_by(_F.c.id)))
    scoped = familienzentrum_id is not None or jugendamt_id is not None
    fz_ids = [row.id for row in fz_rows]
    ja_ids = {row.jugendamt_id for row in fz_rows} | ({jugendamt_id} if jugendamt_id else set())

    def in_scope(column):
        return [column.in_(fz_ids)] if scoped else []

    ja_query = select(_J.c.id, _J.c.name)
    if scoped:
        ja_query = ja_query.where(_J.c.id.in_(sorted(ja_ids)))
    jugendaemter = tuple(Jugendamt(row.id, row.name) for row in session.execute(ja_query.order_by(_J.c.id)))

    members: dict[str, list[str]] = defaultdict(list)
    for fz_id, kita_id in session.execute(select(_M.c.familienzentrum_id, _M.c.kita_id)
                                          .where(_M.c.left_on.is_(None), *in_scope(_M.c.familienzentrum_id))
                                          .order_by(_M.c.id)):
        members[fz_id].append(kita_id)
    forms: dict[str, Form] = {}
    familienzentren = []
    for row in fz_rows:
        # A Familienzentrum whose members all left still has its seal's dates; the planner does
        # not read the members, the entity only insists on one.
        kitas = tuple(members.get(row.id) or (row.zuschussempfaenger_id or row.id,))
        familienzentren.append(Familienzentrum(row.id, row.name, row.form, kitas, row.zuschussempfaenger_id,
                                               row.jugendamt_id, row.certificate_number,
                                               row.radius_exception_reason))
        forms[row.id] = row.form

    users = _users(session, fz_ids if scoped else None, sorted(ja_ids) if scoped else None)

    certificates = tuple(
        Certificate(row.number, row.familienzentrum_id, row.issued, row.valid_until, row.state)
        for row in session.execute(select(_C).where(*in_scope(_C.c.familienzentrum_id)).order_by(_C.c.id)))

    procedures = [_procedure(row) for row in session.execute(
        select(_P).where(*in_scope(_P.c.familienzentrum_id)).order_by(_P.c.id))]
    procedure_ids = [p.id for p in procedures]

    audit_query = (select(_A.c.subject_id, func.max(_A.c.at).label("state_at"))
                   .where(_A.c.subject_kind == "procedure", _A.c.to_state.is_not(None)).group_by(_A.c.subject_id))
    revision_query = select(_REV.c.procedure_id, func.max(_REV.c.created_at).label("saved_at")).group_by(
        _REV.c.procedure_id)
    if scoped:
        audit_query = audit_query.where(_A.c.subject_id.in_(procedure_ids))
        revision_query = revision_query.where(_REV.c.procedure_id.in_(procedure_ids))
    changed = {pid: at for pid, at in session.execute(audit_query) if at is not None}
    saved = {pid: at for pid, at in session.execute(revision_query) if at is not None}

    infos = []
    for p in procedures:
        since = local_date(changed[p.id]) if p.id in changed else p.period_start
        activity = local_date(saved[p.id]) if p.id in saved else None
        infos.append(ProcedureInfo(p, since, activity, getattr(p, "planned_audit_date", None)))

    evidence_infos: list[EvidenceInfo] = []
    if evidence:
        by_id = {p.id: p for p in procedures}
        newer = _REV.alias("newer")
        latest = (select(func.max(newer.c.revision)).where(newer.c.procedure_id == _REV.c.procedure_id)
                  .scalar_subquery())
        query = (select(_REV.c.procedure_id, _REV.c.canonical_json)
                 .join(_P, _P.c.id == _REV.c.procedure_id)
                 .where(_P.c.state.not_in(_FINAL), _REV.c.revision == latest, *in_scope(_P.c.familienzentrum_id)))
        for pid, text in session.execute(query):
            p = by_id.get(pid)
            if p is not None and p.familienzentrum_id in forms:
                evidence_infos += _evidence_of(p, forms[p.familienzentrum_id], text)

    years = calendar_years(today)
    contingent_query = select(_K).where(_K.c.kgj.in_([kgj.start_year for kgj in years]))
    if scoped:
        contingent_query = contingent_query.where(_K.c.jugendamt_id.in_(sorted(ja_ids)))
    contingents = tuple(
        Contingent(row.jugendamt_id, KindergartenYear(row.kgj), granted=row.granted, nominated=row.nominated,
                   returned=row.returned, carried_in=row.carried_in, carried_out=row.carried_out)
        for row in session.execute(contingent_query))

    return PlanningInput(jugendaemter=jugendaemter, familienzentren=tuple(familienzentren), users=users,
                         certificates=certificates, procedures=tuple(infos), contingents=contingents,
                         calendar_years=years, evidence=tuple(evidence_infos))
