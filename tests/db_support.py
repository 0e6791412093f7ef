"""Shared fixtures and sample data for the database tests (tests/test_db_*.py).

Import what a test module uses: ``from db_support import db_url, engine, ...``
(pytest picks up fixtures imported into a test module).

``db_url`` runs each test on SQLite (a file in tmp_path) and on PostgreSQL:
``$CERTFLOW_TEST_POSTGRES_URL`` or postgresql+psycopg://postgres@127.0.0.1:5432/test,
with a schema of its own per test (``search_path`` set through the URL's
``options``), dropped afterwards. PostgreSQL unreachable: the test is skipped,
or fails when ``CI=true``.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import Integer, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

from certflow.calendar import KindergartenYear
from certflow.catalogue.model import Form
from certflow.db import UnitOfWork, make_engine, reserve_place, upgrade
from certflow.lifecycle import (
    Contingent, Familienzentrum, Jugendamt, Kita, Role, Traeger, User, open_first_certification,
)

__all__ = [
    "KGJ", "POSTGRES_DEFAULT_URL", "TRANSACTION_CONTROL", "USERS", "FixedClock", "backend", "clock", "copy_rows",
    "db_url", "demo_url", "engine", "nominate_procedure", "pg_schema", "postgres_admin", "seed", "seeded",
    "sent_statements", "unguard",
]

POSTGRES_DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
KGJ = KindergartenYear(2025)


class FixedClock:
    """A clock for tests: starts at ``start`` and moves only when told (``advance``)."""

    def __init__(self, start: datetime = datetime(2025, 9, 1, 8, 0, tzinfo=timezone.utc)):
        self.at = start

    def __call__(self) -> datetime:
        return self.at

    def advance(self, **delta: float) -> datetime:
        self.at += timedelta(**delta)
        return self.at


@pytest.fixture(scope="session")
def postgres_admin():
    url = os.environ.get("CERTFLOW_TEST_POSTGRES_URL", POSTGRES_DEFAULT_URL)
    admin = make_engine(url, poolclass=NullPool)
    problem = None
    try:
        with admin.connect() as connection:
            connection.execute(text("SELECT 1"))
    except OperationalError as exc:
        problem = str(exc.orig).strip().splitlines()[0]
    if problem is not None:
        admin.dispose()
        shown = make_url(url).render_as_string(hide_password=True)
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL not reachable at {shown} and CI=true: {problem}", pytrace=False)
        pytest.skip(f"PostgreSQL not reachable at {shown}: {problem}")
    yield admin
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    """A URL to an empty database of its own (not migrated)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'certflow.sqlite'}"
        return
    with pg_schema(request.getfixturevalue("postgres_admin")) as url:
        yield url


@pytest.fixture
def backend(db_url) -> str:
    return make_url(db_url).get_backend_name()


@pytest.fixture
def engine(db_url):
    """A migrated database (head)."""
    engine = make_engine(db_url)
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


USERS = {
    "coordinator": User("u-coord", "Koordinatorin A", Role.COORDINATOR, jugendamt_id="ja-a"),
    "lead": User("u-lead", "Kita-Leitung Sonnenblume", Role.KITA_LEAD, familienzentrum_id="fz-1"),
    "lead2": User("u-lead2", "Kita-Leitung Regenbogen", Role.KITA_LEAD),
    "auditor": User("u-aud", "Auditor Beispiel", Role.AUDITOR),
    "certifier": User("u-cert", "Zertifiziererin Muster", Role.CERTIFIER),
    "admin": User("u-admin", "Administration", Role.ADMIN),
}


def seed(uow: UnitOfWork, *, granted: int = 3) -> None:
    """Fictional sample data: one Jugendamt, one Träger, three Kitas, an Einzel-FZ, users, a contingent."""
    by, why = "u-admin", "Testdaten"
    uow.jugendaemter.add(Jugendamt("ja-a", "Jugendamt Musterkreis"), actor_id=by, reason=why)
    uow.traeger.add(Traeger("tr-1", "Musterträger e. V."), actor_id=by, reason=why)
    for i, (lat, lon) in enumerate([(51.0, 7.0), (51.005, 7.005), (51.01, 7.01)], start=1):
        uow.kitas.add(Kita(f"k{i}", f"Kita Muster {i}", "tr-1", "ja-a", f"Musterweg {i}", "12345", "Musterstadt",
                           lat, lon), actor_id=by, reason=why)
    uow.familienzentren.add(Familienzentrum("fz-1", "Familienzentrum Muster", Form.EINZEL, ("k1",), "k1", "ja-a"),
                            actor_id=by, reason=why)
    for user in USERS.values():
        uow.users.add(user, actor_id=by, reason=why)
    uow.contingents.add(Contingent("ja-a", KGJ, granted=granted), actor_id=by, reason=why)


def nominate_procedure(uow: UnitOfWork, clock: FixedClock, procedure_id: str = "P-17"):
    """The coordinator nominates fz-1 for a place of KGJ 2025/26: domain checks, atomic place, new procedure."""
    coordinator = USERS["coordinator"]
    fz = uow.familienzentren.get("fz-1")
    opening = open_first_certification(fz, uow.contingents.get("ja-a", KGJ), procedure_id=procedure_id, kgj=KGJ,
                                       actor=coordinator, reason="Beschluss des JHA", clock=clock,
                                       procedures=uow.procedures.of_familienzentrum("fz-1"))
    taken = reserve_place(uow, "ja-a", KGJ, actor_id=coordinator.id, reason="Beschluss des JHA")
    uow.procedures.add(opening.procedure, opening.change, contingent=taken)
    return opening.procedure


@pytest.fixture
def seeded(engine, clock):
    with UnitOfWork(engine, clock=clock) as uow:
        seed(uow)
    return engine


def unguard(connection, table: str) -> None:
    """Drop the guard triggers of ``table`` (to simulate tampering in a test)."""
    if connection.dialect.name == "postgresql":
        connection.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))
        return
    names = connection.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = :t"),
                               {"t": table}).scalars().all()
    for name in names:
        connection.execute(text(f"DROP TRIGGER {name}"))


@contextlib.contextmanager
def pg_schema(admin) -> Iterator[str]:
    """A schema of its own on the PostgreSQL server of ``admin`` (see :func:`postgres_admin`): yields a URL whose
    ``search_path`` is that schema; the schema is dropped afterwards."""
    schema = f"t_{uuid.uuid4().hex[:16]}"
    with admin.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        # no flush to disk per commit: a test database needs no durability, and the suite spends its time waiting
        options = f"-csearch_path={schema} -csynchronous_commit=off"
        yield admin.url.update_query_dict({"options": options}).render_as_string(hide_password=False)
    finally:
        with admin.begin() as connection:
            connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))


def copy_rows(source, target) -> None:
    """Every row of ``source`` (e.g. the demo on SQLite) into the migrated PostgreSQL schema ``target``: guards off
    while copying, on again after; the serial ids' sequences moved past the copied rows (new rows get fresh ids)."""
    from certflow.db.tables import metadata

    present = set(inspect(source).get_table_names())
    tables = [t for t in metadata.sorted_tables if t.name in present]
    with source.connect() as src, target.begin() as dst:
        for table in reversed(tables):
            unguard(dst, table.name)
            dst.execute(table.delete())
        for table in tables:
            rows = [dict(row._mapping) for row in src.execute(table.select())]
            if rows:
                dst.execute(table.insert(), rows)
        for table in tables:
            dst.execute(text(f"ALTER TABLE {table.name} ENABLE TRIGGER USER"))
            if "id" in table.c and isinstance(table.c.id.type, Integer):
                dst.execute(text(f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                                 f"(SELECT COALESCE(MAX(id), 0) + 1 FROM {table.name}), false)"))


TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")
"""Statements that control a transaction rather than read or write (left out of query counts)."""


@contextlib.contextmanager
def sent_statements(engine, *, queries_only: bool = False) -> Iterator[list[str]]:
    """The SQL statements ``engine`` sends while the block runs (a ``before_cursor_execute`` listener), in order;
    ``queries_only``: without transaction control (``BEGIN``, ``SAVEPOINT``, …)."""
    from sqlalchemy import event

    sent: list[str] = []

    def note(conn, cursor, statement, parameters, context, executemany):
        if not (queries_only and statement.lstrip().upper().startswith(TRANSACTION_CONTROL)):
            sent.append(statement)

    event.listen(engine, "before_cursor_execute", note)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", note)


@contextlib.contextmanager
def demo_url(request, demo_db, folder) -> Iterator[str]:
    """A database with the demo's rows (``demo_db``, the session's demo build): a private SQLite copy in ``folder``,
    or (``request.param == "postgresql"``) a PostgreSQL schema of its own with the rows copied in (dropped
    afterwards)."""
    if request.param == "sqlite":
        yield f"sqlite:///{demo_db.copy(folder / 'demo.sqlite')}"
        return
    with pg_schema(request.getfixturevalue("postgres_admin")) as url:
        target, source = make_engine(url, poolclass=NullPool), make_engine(f"sqlite:///{demo_db.db}")
        try:
            upgrade(target)
            copy_rows(source, target)
        finally:
            target.dispose()
            source.dispose()
        yield url
