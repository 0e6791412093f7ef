"""The database as files and back: every table's rows as JSON lines, read from one snapshot.

:func:`dump_database` writes ``<table>.jsonl`` per table (one JSON object per row, columns by
name, ordered by primary key) in one read transaction: REPEATABLE READ and READ ONLY on
PostgreSQL, so the tables agree with each other and with the audit trail even while others
write; on SQLite the transaction holds the database (``BEGIN IMMEDIATE``) until the dump ends.
Values are written by their column's type: times as ISO 8601 in UTC with microseconds, days as
ISO dates, enums by value, JSON columns as JSON. The format is the same for both databases, so a
dump of one loads into the other.

:func:`load_database` fills an empty database (:func:`emptiness` says whether it is one) in one
transaction: it migrates it to the dump's revision, inserts the rows table by table in
dependency order, migrates on to the newest revision and, on PostgreSQL, moves every id
sequence past the highest id. The guard triggers stay in place throughout: the audit log and
submitted revisions are only inserted (the triggers refuse updates and deletes); a signed-off
visit is inserted open and signed off after its verdicts (they cannot be added to a signed-off
one); ``audit_head`` (seeded by the migrations) is set to the dump's head.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, inspect, select, text, update
from sqlalchemy.types import TypeDecorator

from .migrate import alembic_config
from .tables import GENESIS_HASH, metadata

__all__ = ["DumpInfo", "dump_database", "emptiness", "load_database", "table_file"]

BATCH = 1000
_HEAD = "audit_head"
_SIGNED_LATER = {"audit_visit": ("signed_off_at", "signed_off_by", "packet_sha256")}
"""Columns that freeze a row (and its dependents): inserted empty, set after every table is loaded."""


@dataclass(frozen=True, slots=True)
class DumpInfo:
    """What a dump holds: the database it came from, its migration revision, rows per table, the audit head."""

    dialect: str
    revision: str | None
    rows: dict[str, int]
    head_seq: int
    head_hash: str


def table_file(name: str) -> str:
    return f"{name}.jsonl"


def _base(column: sa.Column) -> Any:
    kind = column.type
    return kind.impl if isinstance(kind, TypeDecorator) else kind


def _encode(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat(timespec="microseconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    return value


def _decoder(column: sa.Column):
    kind = _base(column)
    if isinstance(kind, sa.DateTime):
        return datetime.fromisoformat
    if isinstance(kind, sa.Date):
        return date.fromisoformat
    if isinstance(kind, sa.LargeBinary):
        return base64.b64decode
    return None


def _snapshot(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"))


def dump_database(engine: Engine, folder: Path) -> DumpInfo:
    """Write every certflow table of ``engine`` into ``folder`` (``<table>.jsonl``) from one snapshot."""
    folder.mkdir(parents=True, exist_ok=True)
    rows: dict[str, int] = {}
    with engine.connect() as connection, connection.begin():
        _snapshot(connection)
        revision = MigrationContext.configure(connection).get_current_revision()
        for table in metadata.sorted_tables:
            order = list(table.primary_key.columns) or list(table.columns)
            count = 0
            with (folder / table_file(table.name)).open("w", encoding="utf-8", newline="\n") as out:
                result = connection.execute(select(table).order_by(*order).execution_options(yield_per=BATCH))
                for row in result.mappings():
                    record = {name: _encode(value) for name, value in row.items()}
                    out.write(json.dumps(record, ensure_ascii=False, sort_keys=True, separators=(",", ":")) + "\n")
                    count += 1
            rows[table.name] = count
        head = connection.execute(text("SELECT last_seq, last_hash FROM audit_head WHERE id = 1")).one()
    return DumpInfo(engine.dialect.name, revision, rows, head.last_seq, head.last_hash)


def emptiness(engine: Engine) -> str | None:
    """``None`` if ``engine``'s database holds no certflow data (no tables, or migrated and empty);
    else why not (German)."""
    with engine.connect() as connection:
        present = set(inspect(connection).get_table_names())
        ours = [table for table in metadata.sorted_tables if table.name in present]
        for table in ours:
            if table.name == _HEAD:
                head = connection.execute(text("SELECT last_seq, last_hash FROM audit_head")).all()
                if any(row.last_seq != 0 or row.last_hash != GENESIS_HASH for row in head):
                    return "das Prüfprotokoll hat schon Einträge"
                continue
            if connection.execute(select(sa.func.count()).select_from(table)).scalar():
                return f"die Tabelle {table.name} enthält Daten"
    return None


def _lines(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8") as source:
        for line in source:
            if line.strip():
                yield json.loads(line)


def _revision_order(revision: str | None) -> list[str]:
    """The shipped revisions from the first up to ``revision`` (empty for ``None``)."""
    script = ScriptDirectory.from_config(alembic_config())
    if revision is None:
        return []
    return [r.revision for r in reversed(list(script.walk_revisions("base", revision)))]


def load_database(engine: Engine, folder: Path, revision: str | None) -> dict[str, int]:
    """Fill the empty database of ``engine`` from a dump in ``folder`` taken at ``revision``; one transaction.

    Returns the rows loaded per table. ``ValueError`` (German) for a revision this certflow does not
    ship or a database migrated past it; a row the database refuses raises the database's error and
    nothing is kept.
    """
    shipped = {r.revision for r in ScriptDirectory.from_config(alembic_config()).walk_revisions()}
    if revision is not None and revision not in shipped:
        raise ValueError(f"Die Sicherung stammt von Datenbank-Revision {revision}, die diese certflow-Version nicht "
                         "kennt: mit einer neueren certflow-Version zurückspielen")
    loaded: dict[str, int] = {}
    with engine.begin() as connection:
        current = MigrationContext.configure(connection).get_current_revision()
        if current is not None and current not in _revision_order(revision):
            raise ValueError(f"Die Datenbank ist schon auf Revision {current}, die Sicherung auf {revision}: "
                             "in eine leere, nicht eingerichtete Datenbank zurückspielen")
        if revision is not None:
            command.upgrade(alembic_config(connection), revision)
        later: dict[str, list[dict[str, Any]]] = {}
        for table in metadata.sorted_tables:
            path = folder / table_file(table.name)
            if not path.exists():
                loaded[table.name] = 0
                continue
            decoders = {column.name: _decoder(column) for column in table.columns}
            deferred = _SIGNED_LATER.get(table.name, ())
            batch: list[dict[str, Any]] = []
            count = 0
            for record in _lines(path):
                row = {name: (decoders[name](value) if value is not None and decoders.get(name) else value)
                       for name, value in record.items()}
                if table.name == _HEAD:
                    connection.execute(update(table).where(table.c.id == row["id"])
                                       .values(last_seq=row["last_seq"], last_hash=row["last_hash"]))
                    count += 1
                    continue
                if deferred and any(row.get(name) is not None for name in deferred):
                    later.setdefault(table.name, []).append(row)
                    row = {**row, **{name: None for name in deferred}}
                batch.append(row)
                count += 1
                if len(batch) >= BATCH:
                    connection.execute(sa.insert(table), batch)
                    batch.clear()
            if batch:
                connection.execute(sa.insert(table), batch)
            loaded[table.name] = count
        for name, rows in later.items():
            table = metadata.tables[name]
            key = list(table.primary_key.columns)
            for row in rows:
                connection.execute(update(table).where(*(column == row[column.name] for column in key))
                                   .values({column: row[column] for column in _SIGNED_LATER[name]}))
        command.upgrade(alembic_config(connection), "head")
        if connection.dialect.name == "postgresql":
            _advance_sequences(connection)
    return loaded


def _advance_sequences(connection: Connection) -> None:
    """Move each id sequence past the highest id loaded (explicit ids do not advance it)."""
    for table in metadata.sorted_tables:
        for column in table.primary_key.columns:
            if column.autoincrement is False or not isinstance(_base(column), sa.Integer):
                continue
            sequence = connection.execute(text("SELECT pg_get_serial_sequence(:table, :column)"),
                                          {"table": table.name, "column": column.name}).scalar()
            if sequence is None:
                continue
            connection.execute(text(f'SELECT setval(:sequence, COALESCE((SELECT max("{column.name}") FROM '
                                    f'"{table.name}"), 0) + 1, false)'), {"sequence": sequence})
