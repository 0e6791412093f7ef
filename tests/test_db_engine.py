"""make_engine: URL resolution, SQLite pragmas and transactions; column types: UTC datetimes, enums by value."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError, OperationalError, StatementError

from certflow.calendar import KindergartenYear
from certflow.catalogue.model import ProcedureKind
from certflow.db import UnitOfWork, database_url, entries, make_engine
from certflow.db.tables import AuditVisitRow
from certflow.lifecycle import Procedure, ProcedureState, StateChange
from db_support import backend, clock, db_url, engine, postgres_admin, seeded  # noqa: F401


def test_url_from_argument_settings_or_default(monkeypatch):
    from certflow.settings import Settings

    monkeypatch.setenv("CERTFLOW_DATABASE_URL", "sqlite:///ignored.sqlite")
    assert database_url().render_as_string() == "sqlite:///certflow.sqlite"  # the engine reads no environment
    assert Settings.from_env({}).database_url == "sqlite:///certflow.sqlite"
    settings = Settings.from_env({"CERTFLOW_DATABASE_URL": "postgresql://app@db:5432/certflow"})
    assert database_url(settings.database_url).render_as_string() == "postgresql+psycopg://app@db:5432/certflow"
    assert database_url("sqlite:///x.sqlite").render_as_string() == "sqlite:///x.sqlite"
    assert database_url("postgres://a@h/d").drivername == "postgresql+psycopg"


def test_unsupported_database_is_refused_in_german():
    with pytest.raises(ValueError, match="Nicht unterstützte Datenbank"):
        make_engine("mysql://u@h/d")


def test_sqlite_connections_enforce_foreign_keys_and_wait_when_busy(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'a.sqlite'}")
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert connection.execute(text("PRAGMA busy_timeout")).scalar() == 30000
    engine.dispose()


def test_sqlite_transactions_take_the_write_lock_at_begin(tmp_path):
    """BEGIN IMMEDIATE: a second writer cannot even start while the first transaction is open."""
    url = f"sqlite:///{tmp_path / 'b.sqlite'}"
    first = make_engine(url)
    second = make_engine(url, connect_args={"timeout": 0.05})
    with first.begin() as c1:
        c1.execute(text("CREATE TABLE t (x INTEGER)"))
        with pytest.raises(OperationalError, match="locked"):
            with second.begin() as c2:
                c2.execute(text("SELECT 1"))
    first.dispose()
    second.dispose()


def _procedure(**fields) -> Procedure:
    values = dict(id="P-1", familienzentrum_id="fz-1", kind=ProcedureKind.ERST,
                  catalogue_key="familienzentrum-nrw@2020", kgj=KindergartenYear(2025),
                  period_start=date(2025, 8, 1), period_end=date(2026, 7, 31))
    return Procedure(**{**values, **fields})


def _change(at: datetime) -> StateChange:
    return StateChange("procedure", "P-1", None, "nominated", "nominate", "u-coord", at, "Nominierung")


def test_enums_are_stored_by_value(seeded):
    with UnitOfWork(seeded) as uow:
        uow.procedures.add(_procedure(state=ProcedureState.IN_DEVELOPMENT),
                           _change(datetime(2025, 9, 1, tzinfo=timezone.utc)))
    with seeded.connect() as connection:
        assert connection.execute(text("SELECT state, kind FROM procedure")).one() == ("in_development", "erst")
        assert connection.execute(text("SELECT role FROM app_user WHERE id = 'u-lead'")).scalar() == "kita_lead"
        assert connection.execute(text("SELECT form FROM familienzentrum")).scalar() == "einzel"


def test_a_value_outside_the_enum_is_refused_by_the_database(seeded):
    with pytest.raises(IntegrityError):
        with seeded.begin() as connection:
            connection.execute(text("UPDATE familienzentrum SET form = 'EINZEL'"))


def test_datetimes_round_trip_as_aware_utc(seeded, backend):
    berlin = datetime(2026, 3, 29, 3, 30, 15, 123456, tzinfo=ZoneInfo("Europe/Berlin"))  # just after the DST switch
    with UnitOfWork(seeded) as uow:
        uow.record(actor_id="u-admin", action="test.time", subject_kind="test", subject_id="1", reason="Zeit",
                   at=berlin)
    with UnitOfWork(seeded) as uow:
        at = entries(uow.session, "test")[0].at
    assert at == berlin and at.tzinfo is not None and at.utcoffset() == timedelta(0)
    assert at.isoformat() == "2026-03-29T01:30:15.123456+00:00"
    with seeded.connect() as connection:
        stored = connection.execute(text("SELECT at FROM audit_log WHERE action = 'test.time'")).scalar()
    if backend == "sqlite":
        assert str(stored).startswith("2026-03-29 01:30:15.123456")  # UTC wall clock in the file


def test_naive_datetimes_are_refused(seeded):
    with pytest.raises(StatementError, match="timezone"):
        with UnitOfWork(seeded) as uow:
            uow.procedures.add(_procedure(), _change(datetime(2025, 9, 1, tzinfo=timezone.utc)))
            uow.session.add(AuditVisitRow(procedure_id="P-1", visited_on=date(2026, 2, 1), auditor_id="u-aud",
                                          sites=["k1"], recorded_at=datetime(2026, 2, 1, 12, 0)))
            uow.session.flush()
