"""The in-memory twin of :class:`~certflow.db.UnitOfWork`: the same repositories, no database.

For tests of the rules (roles, scopes, guards, refusals) that need no database, so they run in
milliseconds; the seam is the unit of work, as ``httpx.MockTransport`` is httpx's::

    database = MemoryDatabase()                       # what an engine's database would hold
    with MemoryUnitOfWork(database, clock=clock) as uow:
        services.add_user(uow, "root", User("root", "Rita Root", Role.ADMIN), "Einrichtung")
    with MemoryUnitOfWork(database, clock=clock) as uow:
        assert [u.id for u in uow.users.all()] == ["root"]

:class:`MemoryUnitOfWork` is a :class:`~certflow.db.UnitOfWork` (it inherits ``now``, ``record``
and ``record_change``) whose repositories keep the domain's entities in dictionaries instead of
rows. Each twin subclasses its real repository (so it types as one, and shares its audit payload
helpers) and overrides every public method with the same signature, return type and refusals:
:class:`~.errors.NotFoundError` for an unknown id, optimistic versions
(:class:`~.errors.ConflictError` when a row changed since it was read, or an explicit
``expected_version`` is stale), :class:`~.errors.FrozenError` for a submitted revision and a
signed-off visit, a refused reservation when the contingent has no free place, ``next_id`` and
``next_number`` sequences, and the audit trail (queued by ``record``, hash-chained at commit,
dropped on rollback). Leaving the ``with`` block commits; an exception rolls back every change
the unit of work made. tests/test_db_memory.py runs the same scenarios against this twin and the
real unit of work (SQLite and PostgreSQL) and compares the outcomes, and checks that each twin
has its real repository's public methods and signatures, so the two cannot drift apart silently.

What it does not do (use the real database for these):

* isolation and races: writes are visible to other units of work on the same
  :class:`MemoryDatabase` at once (no transactions, no locks); run one unit of work at a time;
* constraints the repositories do not check themselves: foreign keys, CHECK constraints, the
  freeze triggers, unique keys (an insert with an existing key raises ``KeyError``);
* SQL itself: there is no ``session`` and no ``engine`` (code that reaches past the repositories
  fails loudly with ``AttributeError``), no migrations;
* the repositories listed in :data:`NOT_MIRRORED` (reminders, outbox, inbox, contacts, accounts, dialogue,
  registers: no rule test needs them yet) and the methods in :data:`NOT_MIRRORED_METHODS`.

The module imports no SQLAlchemy itself; it reuses the real repositories' pure helpers (value
mapping, refusal texts, the audit hash), so what they compute cannot differ.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, UTC
from types import TracebackType
from typing import Any

from ..assessment.model import Assessment
from ..calendar import KindergartenYear, format_date_de
from ..lifecycle.access import may_see_familienzentrum, may_see_procedure
from ..lifecycle.contingents import Contingent, free_place_refusal
from ..lifecycle.entities import (
    PROCEDURE_FINAL_STATES, AuditVisit, Certificate, CertificateState, Decision, Familienzentrum, Kita, Procedure,
    ProcedureState, SubmissionSnapshot, User,
)
from ..lifecycle.machinery import BERLIN, Clock, Refused, StateChange, local_date, utc_now
from ..lifecycle.snapshot import canonical_json, sha256_hex
from .audit_log import AuditEntry, canonical_payload, entry_hash
from .errors import ConflictError, FrozenError, NotFoundError
from .repositories import (
    AuditRepository, CertificateRepository, ContingentRepository, DecisionRepository, FamilienzentrumRepository,
    JugendamtRepository, KitaRepository, ProcedureRepository, SubmissionRepository, TraegerRepository,
    UserRepository,
)
from .repositories.audit_trail import AuditTrailRepository
from .repositories.audits import Verdict
from .repositories.base import Repository
from .repositories.procedures import CurrentProcedure, ListedProcedure, ListGroup
from .repositories.contingents import _counts, _key
from .repositories.parties import _fz_values, _values
from .repositories.procedures import _certificate_values, _procedure_values
from .repositories.submissions import Draft, _frozen
from .tables import GENESIS_HASH
from .unit_of_work import UnitOfWork
from .versioning import diff

__all__ = ["NOT_MIRRORED", "NOT_MIRRORED_METHODS", "MemoryDatabase", "MemoryUnitOfWork"]

NOT_MIRRORED: frozenset[str] = frozenset({
    "accounts", "reminders", "outbox", "inbox", "contacts", "dialogue", "dashboard", "registers", "public",
    "reports"})
"""Repositories of the real unit of work that the twin leaves out (by attribute name); each one
a rule test needs gets a twin here first. tests/test_db_memory.py fails on one in neither list."""

NOT_MIRRORED_METHODS: frozenset[str] = frozenset({"audit_log.verify"})
"""Methods of mirrored repositories the twins leave out: checking the hash chain for tampering is
the database's matter (nothing can tamper with a :class:`MemoryDatabase` but the test itself)."""


@dataclass(frozen=True, slots=True)
class _Row:
    """One stored record: the value (an entity or a record of this module), its version, its serial id."""

    value: Any
    version: int = 1
    id: int = 0


@dataclass(frozen=True, slots=True)
class _Member:
    familienzentrum_id: str
    kita_id: str
    joined_on: date
    left_on: date | None = None


@dataclass(frozen=True, slots=True)
class _Revision:
    """A revision as opened (a draft: its text, when and by whom) and, once submitted, frozen as ``snapshot``."""

    opened: Draft
    snapshot: SubmissionSnapshot | None = None

    @property
    def submitted(self) -> bool:
        return self.snapshot is not None


@dataclass(frozen=True, slots=True)
class _Visit:
    visit: AuditVisit
    recorded_at: datetime
    signed_off_at: datetime | None = None
    signed_off_by: str | None = None
    packet_sha256: str | None = None


def _utc(at: datetime) -> datetime:
    """As a ``UTCDateTime`` column returns it: aware, in UTC."""
    return at.astimezone(UTC)


class MemoryDatabase:
    """What a database holds, in dictionaries: the tables (by key) and the audit chain.

    Share one between the units of work of a test, as they would share an engine.
    """

    def __init__(self) -> None:
        self.tables: dict[str, dict[Any, _Row]] = {}
        self.log: list[AuditEntry] = []
        self._serials: dict[str, int] = {}

    def table(self, name: str) -> dict[Any, _Row]:
        return self.tables.setdefault(name, {})

    def serial(self, name: str) -> int:
        """The next id of ``name`` (as a database sequence: never given twice, not reset by a rollback)."""
        self._serials[name] = self._serials.get(name, 0) + 1
        return self._serials[name]

    def append(self, items: Iterable[AuditEntry]) -> list[AuditEntry]:
        """Chain ``items`` onto the log as :func:`certflow.db.audit_log.append` does; return them as written."""
        written = []
        for item in items:
            prev = (self.log[-1].hash if self.log else None) or GENESIS_HASH
            seq = len(self.log) + 1
            fields: dict[str, Any] = dict(
                at=_utc(item.at), actor_id=item.actor_id, action=item.action, subject_kind=item.subject_kind,
                subject_id=str(item.subject_id), from_state=item.from_state, to_state=item.to_state, reason=item.reason)
            payload = canonical_payload(item.payload)
            digest = entry_hash(seq=seq, prev_hash=prev, payload=payload, **fields)
            self.log.append(AuditEntry(**fields, payload=json.loads(payload), seq=seq, prev_hash=prev, hash=digest))
            written.append(AuditEntry(**fields, payload=item.payload, seq=seq, prev_hash=prev, hash=digest))
        return written

    def entries(self, subject_kind: str | None = None, subject_id: str | None = None) -> list[AuditEntry]:
        """The committed log (or one subject's part of it) in order, payloads decoded
        (the twin of :func:`certflow.db.audit_log.entries`)."""
        return [e for e in self.log if (subject_kind is None or e.subject_kind == subject_kind)
                and (subject_id is None or e.subject_id == subject_id)]


class MemoryUnitOfWork(UnitOfWork):
    """A unit of work on a :class:`MemoryDatabase`: commit on success, roll back every change on an exception."""

    def __init__(self, database: MemoryDatabase | None = None, *, clock: Clock = utc_now):
        super().__init__(None, clock=clock)  # type: ignore[arg-type]  # no engine: nothing is stored in SQL
        self.database = database if database is not None else MemoryDatabase()
        self._undo: list[tuple[str, Any, _Row | None]] = []

    def __enter__(self) -> MemoryUnitOfWork:
        self.jugendaemter = MemoryJugendamtRepository(self)
        self.traeger = MemoryTraegerRepository(self)
        self.users = MemoryUserRepository(self)
        self.kitas = MemoryKitaRepository(self)
        self.familienzentren = MemoryFamilienzentrumRepository(self)
        self.contingents = MemoryContingentRepository(self)
        self.procedures = MemoryProcedureRepository(self)
        self.submissions = MemorySubmissionRepository(self)
        self.audits = MemoryAuditRepository(self)
        self.decisions = MemoryDecisionRepository(self)
        self.certificates = MemoryCertificateRepository(self)
        self.audit_log = MemoryAuditTrailRepository(self)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.rollback()

    def commit(self) -> None:
        """Chain the queued audit entries onto the log; the changes stay. The unit of work may go on."""
        written = self.database.append(self._pending)
        self._pending.clear()
        self._undo.clear()
        self.written.extend(written)

    def rollback(self) -> None:
        """Drop the queued audit entries and undo every change since the last commit, newest first."""
        self._pending.clear()
        for table, key, old in reversed(self._undo):
            rows = self.database.table(table)
            if old is None:
                rows.pop(key, None)
            else:
                rows[key] = old
        self._undo.clear()

    # --- storage for the repositories ----------------------------------------------------------------------------

    def rows(self, table: str) -> dict[Any, _Row]:
        return self.database.table(table)

    def put(self, table: str, key: Any, row: _Row) -> _Row:
        """Store ``row`` under ``key``, remembering what was there for a rollback."""
        rows = self.database.table(table)
        self._undo.append((table, key, rows.get(key)))
        rows[key] = row
        return row

    def insert(self, table: str, key: Any, value: Any, version: int = 1) -> _Row:
        if key in self.database.table(table):
            raise KeyError(f"{table} {key!r} exists already (a unique key in the database)")
        return self.put(table, key, _Row(value, version, self.database.serial(table)))


class _MemoryRepository(Repository):
    """Base of the twins: the real base's version tracking, audit entries and NotFoundError, on dictionaries.

    A twin is ``class MemoryXRepository(_MemoryRepository, XRepository)``: this class comes first, so
    its helpers serve the twin's methods; every public method of ``XRepository`` is overridden (checked
    by tests/test_db_memory.py), so none of the real, SQL-backed ones runs on a twin.
    """

    _uow: MemoryUnitOfWork
    table = ""

    @property
    def _rows(self) -> dict[Any, _Row]:
        return self._uow.rows(self.table)

    def _stored(self, key: Any) -> _Row | None:
        return self._rows.get(key)

    def _load(self, key: Any, subject_id: str, expected_version: int | None) -> _Row:
        """The row of a versioned subject; remember its version; ConflictError if it is not the expected one
        (the twin of ``Repository._load_versioned``)."""
        row = self._require(self._stored(key), subject_id)
        self._versions.seen(self.kind, subject_id, row.version)
        if expected_version is not None and expected_version != row.version:
            raise ConflictError(self.kind, subject_id, expected_version, row.version)
        return row

    def _update(self, key: Any, subject_id: str, expected: int, value: Callable[[Any], Any],
                new_version: int | None = None) -> int:
        """Write ``value(old value)`` if the version is ``expected``; the new version (the twin of
        :func:`certflow.db.versioning.update_versioned`)."""
        new = expected + 1 if new_version is None else new_version
        if new <= expected:
            raise ValueError(f"{self.kind} {subject_id}: new version {new} must be above {expected}")
        row = self._stored(key)
        if row is None or row.version != expected:
            raise ConflictError(self.kind, subject_id, expected, None if row is None else row.version)
        self._uow.put(self.table, key, replace(row, value=value(row.value), version=new))
        return new

    def _seen(self, rows: Iterable[tuple[str, _Row]]) -> list[Any]:
        """The values of ``rows`` (subject id, row), each version remembered."""
        out = []
        for subject_id, row in rows:
            self._versions.seen(self.kind, subject_id, row.version)
            out.append(row.value)
        return out


# --- parties -------------------------------------------------------------------------------------------------------


class _MemorySimple(_MemoryRepository):
    """Jugendämter, Träger, users: added and read (frozen entities, stored as they are)."""

    def add(self, entity: Any, *, actor_id: str, reason: str) -> None:
        values = _values(entity)
        self._uow.insert(self.table, entity.id, entity)
        self._log("create", entity.id, actor_id=actor_id, reason=reason, payload=values)

    def find(self, entity_id: str) -> Any | None:
        row = self._stored(entity_id)
        return None if row is None else row.value

    def get(self, entity_id: str) -> Any:
        return self._require(self.find(entity_id), entity_id)

    def all(self) -> list[Any]:
        return [self._rows[key].value for key in sorted(self._rows)]

    def many(self, ids: Collection[str]) -> list[Any]:
        return [self._rows[key].value for key in sorted(set(ids) & set(self._rows))]


class MemoryJugendamtRepository(_MemorySimple, JugendamtRepository):
    kind = table = "jugendamt"


class MemoryTraegerRepository(_MemorySimple, TraegerRepository):
    kind = table = "traeger"


class MemoryUserRepository(_MemorySimple, UserRepository):
    kind, table = "user", "app_user"


class MemoryKitaRepository(_MemoryRepository, KitaRepository):
    kind = table = "kita"

    def add(self, kita: Kita, *, actor_id: str, reason: str) -> None:
        self._uow.insert(self.table, kita.id, kita)
        self._versions.seen(self.kind, kita.id, 1)
        self._log("create", kita.id, actor_id=actor_id, reason=reason, payload=_values(kita))

    def get(self, kita_id: str, *, expected_version: int | None = None) -> Kita:
        return self._load(kita_id, kita_id, expected_version).value

    def find(self, kita_id: str) -> Kita | None:
        row = self._stored(kita_id)
        return None if row is None else self._seen([(kita_id, row)])[0]

    def in_jugendamt(self, jugendamt_id: str) -> list[Kita]:
        return self._seen((k, r) for k, r in sorted(self._rows.items()) if r.value.jugendamt_id == jugendamt_id)

    def all(self) -> list[Kita]:
        return self._seen(sorted(self._rows.items()))

    def save(self, kita: Kita, *, actor_id: str, reason: str, expected_version: int | None = None) -> int:
        expected = self._versions.expected(self.kind, kita.id, expected_version)
        old = self._require(self._stored(kita.id), kita.id)
        changes = diff(_values(old.value), _values(kita))
        new = self._update(kita.id, kita.id, expected, lambda _old: kita)
        self._versions.seen(self.kind, kita.id, new)
        self._log("update", kita.id, actor_id=actor_id, reason=reason, payload=changes)
        return new


class MemoryFamilienzentrumRepository(_MemoryRepository, FamilienzentrumRepository):
    """Familienzentren (stored without members) and their memberships (table ``familienzentrum_member``)."""

    kind = table = "familienzentrum"
    members_table = "familienzentrum_member"

    def _memberships(self) -> list[tuple[int, _Member]]:
        """Every membership, current or past, in joining order (by serial id)."""
        return sorted((row.id, row.value) for row in self._uow.rows(self.members_table).values())

    def _members(self, fz_id: str) -> list[str]:
        return [m.kita_id for _id, m in self._memberships() if m.familienzentrum_id == fz_id and m.left_on is None]

    def _join(self, fz_id: str, kita_id: str, on: date) -> None:
        serial = self._uow.database.serial(self.members_table)
        self._uow.put(self.members_table, serial, _Row(_Member(fz_id, kita_id, on), 1, serial))

    def _entity(self, row: _Row) -> Familienzentrum:
        return replace(row.value, member_kita_ids=tuple(self._members(row.value.id)))

    def add(self, fz: Familienzentrum, *, actor_id: str, reason: str, joined_on: date | None = None) -> None:
        self._uow.insert(self.table, fz.id, fz)
        on = joined_on or local_date(self._now())
        for kita_id in fz.member_kita_ids:
            self._join(fz.id, kita_id, on)
        self._versions.seen(self.kind, fz.id, 1)
        payload = {**_fz_values(fz), "member_kita_ids": list(fz.member_kita_ids), "joined_on": on}
        self._log("create", fz.id, actor_id=actor_id, reason=reason, payload=payload)

    def get(self, fz_id: str, *, expected_version: int | None = None) -> Familienzentrum:
        return self._entity(self._load(fz_id, fz_id, expected_version))

    def find(self, fz_id: str) -> Familienzentrum | None:
        return None if self._stored(fz_id) is None else self.get(fz_id)

    def all(self, jugendamt_id: str | None = None) -> list[Familienzentrum]:
        rows = [r for _k, r in sorted(self._rows.items()) if jugendamt_id in (None, r.value.jugendamt_id)]
        return self._centres(rows)

    def visible_to(self, user: User, *, limit: int | None = None, offset: int = 0) -> list[Familienzentrum]:
        visible = _visible_centres(self._uow, user)
        rows = [r for k, r in sorted(self._rows.items()) if k in visible]
        return self._centres(_page(rows, limit, offset))

    def _centres(self, rows: list[_Row]) -> list[Familienzentrum]:
        for row in rows:
            self._versions.seen(self.kind, row.value.id, row.version)
        return [self._entity(row) for row in rows]

    def jugendamt_of(self, fz_id: str | None) -> str | None:
        row = None if fz_id is None else self._stored(fz_id)
        return None if row is None else row.value.jugendamt_id

    def of_kita(self, kita_id: str) -> str | None:
        return next((m.familienzentrum_id for _id, m in self._memberships()
                     if m.kita_id == kita_id and m.left_on is None), None)

    def members_on(self, fz_id: str, day: date) -> list[str]:
        return [m.kita_id for _id, m in self._memberships() if m.familienzentrum_id == fz_id and m.joined_on <= day
                and (m.left_on is None or m.left_on > day)]

    def save(self, fz: Familienzentrum, *, actor_id: str, reason: str, expected_version: int | None = None,
             on: date | None = None) -> int:
        expected = self._versions.expected(self.kind, fz.id, expected_version)
        old = self._require(self._stored(fz.id), fz.id)
        old_members = self._members(fz.id)
        changes: dict[str, Any] = diff({**_fz_values(old.value), "member_kita_ids": old_members},
                       {**_fz_values(fz), "member_kita_ids": list(fz.member_kita_ids)})
        new = self._update(fz.id, fz.id, expected, lambda _old: fz)
        on = on or local_date(self._now())
        left = [k for k in old_members if k not in fz.member_kita_ids]
        joined = [k for k in fz.member_kita_ids if k not in old_members]
        members = self._uow.rows(self.members_table)
        for serial, row in list(members.items()):
            m = row.value
            if m.familienzentrum_id == fz.id and m.kita_id in left and m.left_on is None:
                self._uow.put(self.members_table, serial, replace(row, value=replace(m, left_on=on)))
        for kita_id in joined:
            self._join(fz.id, kita_id, on)
        if left or joined:
            changes["members_changed_on"] = on
        self._versions.seen(self.kind, fz.id, new)
        self._log("update", fz.id, actor_id=actor_id, reason=reason, payload=changes)
        return new


def _page(rows: list[Any], limit: int | None, offset: int) -> list[Any]:
    return rows[offset:] if limit is None else rows[offset:offset + limit]


def _visible_centres(uow: MemoryUnitOfWork, user: User) -> set[str]:
    """The ids of the Familienzentren ``user`` may see (``may_see_familienzentrum``, the predicate the SQL
    of :mod:`certflow.db.repositories.scope` is the twin of)."""
    procedures = [r.value.procedure for r in uow.rows("procedure").values()]
    return {fz_id for fz_id, row in uow.rows("familienzentrum").items()
            if may_see_familienzentrum(user, row.value, [p for p in procedures if p.familienzentrum_id == fz_id])}


# --- contingents ---------------------------------------------------------------------------------------------------


class MemoryContingentRepository(_MemoryRepository, ContingentRepository):
    """Contingents by (Jugendamt, start year); reserving a place refuses when none is free (never overbooks)."""

    kind = table = "contingent"

    def find(self, jugendamt_id: str, kgj: KindergartenYear) -> Contingent | None:
        row = self._stored((jugendamt_id, kgj.start_year))
        return None if row is None else self._seen([(_key(row.value), row)])[0]

    def all(self, jugendamt_id: str | None = None) -> list[Contingent]:
        return self._seen((_key(r.value), r) for k, r in sorted(self._rows.items()) if jugendamt_id in (None, k[0]))

    def get(self, jugendamt_id: str, kgj: KindergartenYear) -> Contingent:
        return self.find(jugendamt_id, kgj) or Contingent(jugendamt_id, kgj)

    def add(self, contingent: Contingent, *, actor_id: str, reason: str) -> None:
        self._uow.insert(self.table, (contingent.jugendamt_id, contingent.kgj.start_year), contingent)
        self._versions.seen(self.kind, _key(contingent), 1)
        self._log("create", _key(contingent), actor_id=actor_id, reason=reason, payload=_counts(contingent))

    def save(self, contingent: Contingent, *, actor_id: str, reason: str, expected_version: int | None = None) -> int:
        key = _key(contingent)
        expected = self._versions.expected(self.kind, key, expected_version)
        old = self._stored((contingent.jugendamt_id, contingent.kgj.start_year))
        changes = diff(_counts(old.value), _counts(contingent)) if old is not None else _counts(contingent)
        new = self._update((contingent.jugendamt_id, contingent.kgj.start_year), key, expected,
                           lambda _old: contingent)
        self._versions.seen(self.kind, key, new)
        self._log("update", key, actor_id=actor_id, reason=reason, payload=changes)
        return new

    def _stepped(self, jugendamt_id: str, kgj: KindergartenYear, delta: int,
              condition: Callable[[Contingent], bool]) -> Contingent | None:
        """``nominated += delta`` where ``condition`` holds (the twin of the one conditional UPDATE)."""
        row = self._stored((jugendamt_id, kgj.start_year))
        if row is None or not condition(row.value):
            return None
        stepped = replace(row.value, nominated=row.value.nominated + delta)
        self._uow.put(self.table, (jugendamt_id, kgj.start_year), replace(row, value=stepped, version=row.version + 1))
        return self.find(jugendamt_id, kgj)

    def _name(self, jugendamt_id: str) -> str | None:
        row = self._uow.rows("jugendamt").get(jugendamt_id)
        return None if row is None else row.value.name

    def reserve_place(self, jugendamt_id: str, kgj: KindergartenYear, *, actor_id: str, reason: str) -> Contingent:
        taken = self._stepped(jugendamt_id, kgj, +1, lambda c: c.free > 0)
        if taken is None:
            current = self.get(jugendamt_id, kgj)
            raise Refused(free_place_refusal(current, self._name(jugendamt_id))
                          or f"Kein freier Platz im Kontingent des Jugendamts {jugendamt_id} für {kgj}")
        self._log("reserve", _key(taken), actor_id=actor_id, reason=reason,
                  payload={"nominated": [taken.nominated - 1, taken.nominated]})
        return taken

    def release_place(self, jugendamt_id: str, kgj: KindergartenYear, *, actor_id: str, reason: str) -> Contingent:
        released = self._stepped(jugendamt_id, kgj, -1, lambda c: c.nominated > 0)
        if released is None:
            raise Refused(f"Im Kontingent des Jugendamts {self._name(jugendamt_id) or jugendamt_id} für {kgj} "
                          "ist kein Platz vergeben, der frei werden könnte")
        self._log("release", _key(released), actor_id=actor_id, reason=reason,
                  payload={"nominated": [released.nominated + 1, released.nominated]})
        return released


# --- procedures, certificates, decisions ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _ProcedureRecord:
    procedure: Procedure
    contingent_id: int | None = None


class MemoryProcedureRepository(_MemoryRepository, ProcedureRepository):
    kind = table = "procedure"

    @staticmethod
    def _copy(row: _Row) -> Procedure:
        """A fresh entity (procedures are mutable: a caller's changes reach the store only through ``save``)."""
        return replace(row.value.procedure, version=row.version)

    def add(self, procedure: Procedure, change: StateChange, *, contingent: Contingent | None = None) -> None:
        contingent_id = None
        if contingent is not None:
            contingent_id = self._uow.rows("contingent")[(contingent.jugendamt_id, contingent.kgj.start_year)].id
        self._uow.insert(self.table, procedure.id, _ProcedureRecord(replace(procedure), contingent_id),
                         version=procedure.version)
        self._versions.seen(self.kind, procedure.id, procedure.version)
        self._log_change(change, {**_procedure_values(procedure), "contingent_id": contingent_id})

    def get(self, procedure_id: str, *, expected_version: int | None = None) -> Procedure:
        return self._copy(self._load(procedure_id, procedure_id, expected_version))

    def _listed(self, keep: Callable[[Procedure], bool]) -> list[Procedure]:
        """The procedures ``keep`` selects, ordered by Kindergartenjahr and id, versions remembered."""
        rows = sorted((r for r in self._rows.values() if keep(r.value.procedure)),
                      key=lambda r: (r.value.procedure.kgj.start_year, r.value.procedure.id))
        for row in rows:
            self._versions.seen(self.kind, row.value.procedure.id, row.version)
        return [self._copy(row) for row in rows]

    def of_familienzentrum(self, fz_id: str) -> list[Procedure]:
        return self._listed(lambda p: p.familienzentrum_id == fz_id)

    def all(self, state: ProcedureState | None = None) -> list[Procedure]:
        return self._listed(lambda p: state is None or p.state == ProcedureState(state))

    def visible_to(self, user: User, *, familienzentrum_ids: Collection[str] | None = None,
                   jugendamt_id: str | None = None, states: Collection[ProcedureState] = (),
                   submitted: bool = False) -> list[Procedure]:
        centres = {k: r.value for k, r in self._uow.rows("familienzentrum").items()}
        wanted = {ProcedureState(s) for s in states}
        revisions = self._uow.rows("assessment_revision")
        with_submission = {k[0] for k, r in revisions.items() if r.value.submitted}

        def keep(p: Procedure) -> bool:
            fz = centres[p.familienzentrum_id]
            return (may_see_procedure(user, p, fz) and (familienzentrum_ids is None or fz.id in familienzentrum_ids)
                    and jugendamt_id in (None, fz.jugendamt_id) and (not wanted or p.state in wanted)
                    and (not submitted or p.id in with_submission))
        return self._listed(keep)

    def _current_of_visible(self, user: User) -> list[tuple[Familienzentrum, Procedure | None]]:
        """Each Familienzentrum ``user`` may see (by id) with its current procedure of those ``user`` may see."""
        visible = _visible_centres(self._uow, user)
        centres = [row.value for fz_id, row in sorted(self._uow.rows("familienzentrum").items()) if fz_id in visible]
        procedures = self.visible_to(user)  # by Kindergartenjahr and id: the newest last
        out = []
        for fz in centres:
            own = [p for p in procedures if p.familienzentrum_id == fz.id]
            open_ = [p for p in own if p.state not in PROCEDURE_FINAL_STATES]
            out.append((fz, (open_ or own or [None])[-1]))
        return out

    def current_visible_to(self, user: User, *, state: ProcedureState | None = None, limit: int | None = None,
                           offset: int = 0) -> list[CurrentProcedure]:
        jugendaemter = self._uow.rows("jugendamt")
        members = self._uow.rows("familienzentrum_member").values()
        rows = _page([(fz, p) for fz, p in self._current_of_visible(user)
                      if state is None or (p is not None and p.state == ProcedureState(state))], limit, offset)
        since = self._uow.audit_log.state_since([p.id for _fz, p in rows if p is not None])
        out = []
        for fz, p in rows:
            named = jugendaemter.get(fz.jugendamt_id)
            count = sum(1 for m in members if m.value.familienzentrum_id == fz.id and m.value.left_on is None)
            out.append(CurrentProcedure(fz.id, fz.name, fz.form, fz.jugendamt_id,
                                        named.value.name if named is not None else fz.jugendamt_id, count, p,
                                        since.get(p.id) if p is not None else None))
        return out

    def current_states(self, user: User) -> Mapping[ProcedureState | None, int]:
        counts: dict[ProcedureState | None, int] = {}
        for _fz, p in self._current_of_visible(user):
            key = p.state if p is not None else None
            counts[key] = counts.get(key, 0) + 1
        return counts

    def listed_visible_to(self, user: User, *, states: Collection[ProcedureState] = (), newest_first: bool = False,
                          limit: int | None = None, offset: int = 0) -> list[ListedProcedure]:
        wanted = {ProcedureState(s) for s in states}
        procedures = self.visible_to(user, states=wanted)
        if newest_first:
            procedures.reverse()
        centres = {k: r.value for k, r in self._uow.rows("familienzentrum").items()}
        jugendaemter, users = self._uow.rows("jugendamt"), self._uow.rows("app_user")
        visits = self._uow.rows("audit_visit")
        out = []
        for p in _page(procedures, limit, offset):
            fz = centres[p.familienzentrum_id]
            named, auditor, visit = jugendaemter.get(fz.jugendamt_id), users.get(p.auditor_id or ""), visits.get(p.id)
            out.append(ListedProcedure(
                p, fz.name, fz.form, named.value.name if named is not None else fz.jugendamt_id, fz.certificate_number,
                auditor.value.name if auditor is not None else None,
                visit.value.visit.date if visit is not None else None,
                visit.value.signed_off_at if visit is not None else None))
        return out

    def listed_in_groups(self, user: User, groups: Sequence[ListGroup]) -> dict[str, list[ListedProcedure]]:
        out: dict[str, list[ListedProcedure]] = {}
        taken: set[ProcedureState] = set()
        for group in groups:
            states = {ProcedureState(s) for s in group.states} - taken
            taken |= states
            out[group.key] = self.listed_visible_to(user, states=states, newest_first=group.newest_first,
                                                    limit=group.limit, offset=group.offset) if states else []
        return out

    def count_visible(self, user: User) -> Mapping[ProcedureState, int]:
        counts: dict[ProcedureState, int] = {}
        for p in self.visible_to(user):
            counts[p.state] = counts.get(p.state, 0) + 1
        return counts

    def next_id(self, prefix: str, width: int = 3) -> str:
        return _next(prefix, width, self._rows)

    def history(self, procedure_id: str) -> list[AuditEntry]:
        return self._uow.audit_log.procedure_history(procedure_id)

    def save(self, procedure: Procedure, change: StateChange | None = None, *, actor_id: str | None = None,
             reason: str | None = None, expected_version: int | None = None) -> int:
        if change is None and (actor_id is None or not reason):
            raise ValueError("save a procedure with its StateChange, or with actor_id and reason")
        expected = self._versions.expected(self.kind, procedure.id, expected_version)
        old = self._require(self._stored(procedure.id), procedure.id)
        changes = diff(_procedure_values(old.value.procedure), _procedure_values(procedure))
        new = self._update(procedure.id, procedure.id, expected,
                           lambda record: replace(record, procedure=replace(procedure)),
                           new_version=max(procedure.version, expected + 1))
        procedure.version = new
        self._versions.seen(self.kind, procedure.id, new)
        if change is not None:
            self._log_change(change, changes)
        else:
            assert actor_id is not None and reason is not None  # checked above
            self._log("update", procedure.id, actor_id=actor_id, reason=reason, payload=changes)
        return new  # (``_log_change``, the audit entry of a state change, is the real repository's)


def _next(prefix: str, width: int, keys: Iterable[Any]) -> str:
    """The next free ``<prefix><n>`` after the highest number among ``keys`` (strings or (string, ...) pairs)."""
    names = (key[0] if isinstance(key, tuple) else key for key in keys)
    numbers = [int(rest) for rest in (n[len(prefix):] for n in names if n.startswith(prefix)) if rest.isdigit()]
    return f"{prefix}{max(numbers, default=0) + 1:0{width}d}"


class MemoryCertificateRepository(_MemoryRepository, CertificateRepository):
    """Seal terms by (number, issued)."""

    kind = table = "certificate"

    def add(self, cert: Certificate, *, actor_id: str, reason: str) -> None:
        self._uow.insert(self.table, (cert.number, cert.issued), replace(cert))
        self._versions.seen(self.kind, cert.key, 1)
        self._log("issue", cert.key, actor_id=actor_id, reason=reason, payload=_certificate_values(cert),
                  to_state=cert.state.value)

    def get(self, number: str, issued: date, *, expected_version: int | None = None) -> Certificate:
        return replace(self._load((number, issued), f"{number}/{issued.isoformat()}", expected_version).value)

    def latest(self, number: str) -> Certificate | None:
        terms = [r for (n, _issued), r in self._rows.items() if n == number]
        if not terms:
            return None
        return self._listed([max(terms, key=lambda r: r.value.issued)])[0]

    def of_familienzentrum(self, fz_id: str) -> list[Certificate]:
        return self._listed(r for r in self._rows.values() if r.value.familienzentrum_id == fz_id)

    def of_familienzentren(self, fz_ids: Collection[str]) -> list[Certificate]:
        return self._listed(r for r in self._rows.values() if r.value.familienzentrum_id in fz_ids)

    def numbers_visible_to(self, user: User, *, limit: int | None = None, offset: int = 0) -> list[str]:
        visible = _visible_centres(self._uow, user)
        numbers = sorted({r.value.number for r in self._rows.values() if r.value.familienzentrum_id in visible})
        return _page(numbers, limit, offset)

    def all(self, *states: CertificateState) -> list[Certificate]:
        wanted = {CertificateState(s) for s in states}
        return self._listed(r for r in self._rows.values() if not wanted or r.value.state in wanted)

    def _listed(self, rows: Iterable[_Row]) -> list[Certificate]:
        ordered = sorted(rows, key=lambda r: (r.value.issued, r.value.number))
        return [replace(c) for c in self._seen((r.value.key, r) for r in ordered)]

    def next_number(self, prefix: str, width: int = 3) -> str:
        return _next(prefix, width, self._rows)

    def save(self, cert: Certificate, change: StateChange, *, expected_version: int | None = None) -> int:
        expected = self._versions.expected(self.kind, cert.key, expected_version)
        new = self._update((cert.number, cert.issued), cert.key, expected,
                           lambda old: replace(old, state=cert.state, valid_until=cert.valid_until))
        self._versions.seen(self.kind, cert.key, new)
        self._uow.record_change(change, {"state": [change.from_state, change.to_state]})
        return new


class MemoryDecisionRepository(_MemoryRepository, DecisionRepository):
    kind = table = "decision"

    def add(self, decision: Decision) -> None:
        values = _values(decision)
        self._uow.insert(self.table, decision.procedure_id, replace(decision, decided_at=_utc(decision.decided_at)))
        self._log("record", decision.procedure_id, actor_id=decision.decided_by, reason=decision.reason,
                  payload=values, at=decision.decided_at)

    def find(self, procedure_id: str) -> Decision | None:
        row = self._stored(procedure_id)
        return None if row is None else row.value


# --- self-assessment revisions -------------------------------------------------------------------------------------


class MemorySubmissionRepository(_MemoryRepository, SubmissionRepository):
    """Revisions by (procedure, revision): the newest may be a draft; a submitted one is frozen."""

    kind, table = "assessment_revision", "assessment_revision"

    def _revisions(self, procedure_id: str) -> list[_Revision]:
        return [self._rows[key].value for key in sorted(k for k in self._rows if k[0] == procedure_id)]

    def _submissions(self, procedure_id: str) -> list[SubmissionSnapshot]:
        return [r.snapshot for r in self._revisions(procedure_id) if r.snapshot is not None]

    def _newest(self, procedure_id: str) -> _Revision | None:
        revisions = self._revisions(procedure_id)
        return revisions[-1] if revisions else None

    def _put(self, revision: _Revision) -> None:
        key = (revision.opened.procedure_id, revision.opened.revision)
        row = self._stored(key)
        if row is None:
            self._uow.insert(self.table, key, revision)
        else:
            self._uow.put(self.table, key, replace(row, value=revision))

    def save_draft(self, procedure_id: str, assessment: Assessment | Mapping[str, Any], *, by: str,
                   reason: str = "Entwurf gespeichert") -> Draft:
        text = canonical_json(assessment)
        digest, now = sha256_hex(text), _utc(self._now())
        latest = self._newest(procedure_id)
        if latest is not None and not latest.submitted:
            old = latest.opened
            if old.sha256 == digest:
                return old
            edited = replace(old, canonical_json=text, sha256=digest, created_at=now, created_by=by)
            self._put(_Revision(edited))
            self._log("update", f"{procedure_id}#{old.revision}", actor_id=by, reason=reason,
                      payload={"revision": old.revision, "sha256": [old.sha256, digest]})
            return edited
        opened = Draft(procedure_id, 1 if latest is None else latest.opened.revision + 1, text, digest, now, by)
        self._put(_Revision(opened))
        self._log("create", f"{procedure_id}#{opened.revision}", actor_id=by, reason=reason,
                  payload={"revision": opened.revision, "sha256": digest})
        return opened

    def draft(self, procedure_id: str) -> Draft | None:
        r = self._newest(procedure_id)
        return None if r is None or r.submitted else r.opened

    def add_snapshot(self, snapshot: SubmissionSnapshot, *, reason: str = "Selbstbewertung eingereicht") -> None:
        if sha256_hex(snapshot.canonical_json) != snapshot.sha256:
            raise ValueError(f"snapshot {snapshot.procedure_id}#{snapshot.revision}: sha256 does not match its text")
        row = self._stored((snapshot.procedure_id, snapshot.revision))
        if row is not None and row.value.submitted:
            raise _frozen(snapshot.procedure_id, snapshot.revision)
        frozen = replace(snapshot, submitted_at=_utc(snapshot.submitted_at))
        opened = row.value.opened if row is not None else Draft(
            snapshot.procedure_id, snapshot.revision, snapshot.canonical_json, snapshot.sha256, frozen.submitted_at,
            snapshot.submitted_by)
        self._put(_Revision(replace(opened, canonical_json=snapshot.canonical_json, sha256=snapshot.sha256), frozen))
        self._log("submit", f"{snapshot.procedure_id}#{snapshot.revision}", actor_id=snapshot.submitted_by,
                  reason=reason, at=snapshot.submitted_at,
                  payload={"revision": snapshot.revision, "sha256": snapshot.sha256, "passed": snapshot.passed})

    def snapshot(self, procedure_id: str, revision: int) -> SubmissionSnapshot | None:
        row = self._stored((procedure_id, revision))
        return None if row is None else row.value.snapshot

    def latest_submitted(self, procedure_id: str) -> SubmissionSnapshot | None:
        submitted = self._submissions(procedure_id)
        return submitted[-1] if submitted else None

    def submitted(self, procedure_id: str) -> list[SubmissionSnapshot]:
        return self._submissions(procedure_id)


# --- the visit and its verdicts ------------------------------------------------------------------------------------


class MemoryAuditRepository(_MemoryRepository, AuditRepository):
    """Visits by procedure and verdicts by (procedure, criterion); frozen once the auditor signed off."""

    kind, table = "audit_visit", "audit_visit"
    verdicts_table = "audit_verdict"

    def _open(self, procedure_id: str, by: str) -> _Visit:
        row = self._stored(procedure_id)
        if row is None:
            raise NotFoundError(self.kind, procedure_id)
        visit: _Visit = row.value
        if visit.signed_off_at is not None:
            when = format_date_de(visit.signed_off_at.astimezone(BERLIN).date())
            raise FrozenError(f"Die Begehung im Verfahren {procedure_id} wurde am {when} vom Auditor abgezeichnet; "
                              "ihre Bewertungen können nicht mehr geändert werden")
        if by != visit.visit.auditor_id:
            raise Refused(f"Nur der Auditor der Begehung ({visit.visit.auditor_id}) kann ihre Bewertungen erfassen "
                          "und abzeichnen")
        return visit

    def add_visit(self, visit: AuditVisit, *, reason: str = "Begehung erfasst") -> None:
        self._uow.insert(self.table, visit.procedure_id, _Visit(visit, _utc(self._now())))
        self._log("record", visit.procedure_id, actor_id=visit.auditor_id, reason=reason,
                  payload={"date": visit.date, "sites": list(visit.sites)})

    def visit(self, procedure_id: str) -> AuditVisit | None:
        row = self._stored(procedure_id)
        return None if row is None else row.value.visit

    def signed_off(self, procedure_id: str) -> datetime | None:
        row = self._stored(procedure_id)
        return None if row is None else row.value.signed_off_at

    def record_verdict(self, verdict: Verdict, *, reason: str = "Bewertung erfasst") -> None:
        self._open(verdict.procedure_id, verdict.recorded_by)
        key = (verdict.procedure_id, verdict.criterion_id)
        old = self._uow.rows(self.verdicts_table).get(key)
        now = _utc(self._now())
        payload: dict[str, Any]
        if old is None:
            self._uow.insert(self.verdicts_table, key, replace(verdict, recorded_at=now))
            payload = {"verdict": verdict.verdict, "remark": verdict.remark}
        else:  # as the UPDATE: verdict, remark and time change; who recorded it first stays
            payload = {"verdict": [old.value.verdict, verdict.verdict], "remark": [old.value.remark, verdict.remark]}
            corrected = replace(old.value, verdict=verdict.verdict, remark=verdict.remark, recorded_at=now)
            self._uow.put(self.verdicts_table, key, replace(old, value=corrected))
        self._uow.record(actor_id=verdict.recorded_by, action="audit_verdict.record", subject_kind="audit_verdict",
                         subject_id=f"{verdict.procedure_id}/{verdict.criterion_id}", reason=reason, payload=payload)

    def verdicts(self, procedure_id: str) -> list[Verdict]:
        rows = self._uow.rows(self.verdicts_table)
        return [rows[key].value for key in sorted(k for k in rows if k[0] == procedure_id)]

    def sign_off(self, procedure_id: str, *, by: str, reason: str = "Begehung abgezeichnet",
                 at: datetime | None = None, packet_sha256: str | None = None) -> datetime:
        visit = self._open(procedure_id, by)
        signed = at or self._now()
        row = self._rows[procedure_id]
        self._uow.put(self.table, procedure_id, replace(row, value=replace(
            visit, signed_off_at=_utc(signed), signed_off_by=by, packet_sha256=packet_sha256)))
        payload: dict[str, Any] = {"verdicts": len(self.verdicts(procedure_id))}
        if packet_sha256:
            payload["packet_sha256"] = packet_sha256
        self._log("sign_off", procedure_id, actor_id=by, reason=reason, at=signed, payload=payload)
        return signed

    def packet_sha256(self, procedure_id: str) -> str | None:
        row = self._stored(procedure_id)
        return None if row is None else row.value.packet_sha256

    def check_open(self, procedure_id: str, by: str) -> None:
        self._open(procedure_id, by)


# --- the audit trail (read) ----------------------------------------------------------------------------------------


class MemoryAuditTrailRepository(_MemoryRepository, AuditTrailRepository):
    """The committed audit trail (entries queued in the running unit of work are not in it yet)."""

    kind = "audit_log"

    @property
    def _log_entries(self) -> list[AuditEntry]:
        return self._uow.database.log

    def entries_for(self, subject_kind: str, subject_id: str | None = None) -> list[AuditEntry]:
        return self._uow.database.entries(subject_kind, subject_id)

    def procedure_history(self, procedure_id: str) -> list[AuditEntry]:
        def about(e: AuditEntry) -> bool:
            if e.subject_kind in ("procedure", "audit_visit", "decision"):
                return e.subject_id == procedure_id
            return (e.subject_kind == "assessment_revision" and e.subject_id.startswith(f"{procedure_id}#")
                    or e.subject_kind == "audit_verdict" and e.subject_id.startswith(f"{procedure_id}/"))
        return [e for e in self._log_entries if about(e)]

    def state_since(self, procedure_ids: Collection[str]) -> dict[str, datetime]:
        since: dict[str, datetime] = {}
        for e in self._log_entries:  # in order: the last state change of each wins
            if (e.subject_kind == "procedure" and e.subject_id in procedure_ids and e.to_state is not None
                    and e.from_state != e.to_state):
                since[e.subject_id] = e.at
        return since
