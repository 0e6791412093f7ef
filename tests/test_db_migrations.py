"""The shipped Alembic migrations: empty -> head -> base on both databases; schema == SQLModel metadata."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from click.testing import CliRunner
from sqlalchemy import Column, Integer, MetaData, inspect, text
from sqlalchemy.exc import IntegrityError

from certflow.db import current_revision, downgrade, head_revision, make_engine, upgrade
from certflow.cli.database import db
from certflow.db.migrate import MIGRATIONS_DIR
from certflow.db.tables import metadata
from db_support import backend, db_url, engine, postgres_admin  # noqa: F401

TABLES = {
    "jugendamt", "traeger", "kita", "familienzentrum", "familienzentrum_member", "app_user", "contingent",
    "procedure", "assessment_revision", "audit_visit", "audit_verdict", "decision", "certificate", "audit_log",
    "audit_head", "id_counter",
}


def _diffs(engine, target=metadata):
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, target)


def test_empty_database_migrates_to_head_and_back(db_url):
    engine = make_engine(db_url)
    try:
        assert current_revision(engine) is None
        upgrade(engine)
        assert current_revision(engine) == head_revision() == "0007"
        assert TABLES <= set(inspect(engine).get_table_names())
        upgrade(engine)  # idempotent
        downgrade(engine, "base")
        assert current_revision(engine) is None
        assert not TABLES & set(inspect(engine).get_table_names())
        upgrade(engine)
        assert current_revision(engine) == "0007"
    finally:
        engine.dispose()


def test_migrated_schema_matches_the_sqlmodel_tables(engine):
    assert _diffs(engine) == []


def test_comparison_would_notice_a_difference(engine):
    """Guard against a comparison that never finds anything."""
    changed = MetaData(naming_convention=metadata.naming_convention)
    for table in metadata.sorted_tables:
        table.to_metadata(changed)
    changed.tables["kita"].append_column(Column("capacity", Integer))
    assert [d[0] for d in _diffs(engine, changed)] == ["add_column"]


def test_audit_head_is_seeded_and_guards_exist(engine, backend):
    with engine.connect() as connection:
        assert connection.execute(text("SELECT id, last_seq, last_hash FROM audit_head")).one() == (1, 0, "0" * 64)
        if backend == "sqlite":
            names = set(connection.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger'")).scalars())
            assert {"audit_log_no_update", "audit_log_no_delete", "assessment_revision_frozen_update"} <= names
        else:
            names = set(connection.execute(text(
                "SELECT tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                "WHERE c.relnamespace = current_schema()::regnamespace AND NOT tgisinternal")).scalars())
            assert {"audit_log_append_only", "audit_log_no_truncate", "assessment_revision_frozen"} <= names


def test_foreign_keys_are_enforced(engine):
    with pytest.raises(IntegrityError):
        with engine.begin() as connection:
            connection.execute(text(
                "INSERT INTO kita (id, name, traeger_id, jugendamt_id, street, postcode, city, lat, lon, version) "
                "VALUES ('k', 'K', 'missing', 'missing', 's', '1', 'c', 0, 0, 1)"))


def test_cli_db_upgrade(db_url):
    runner = CliRunner()
    first = runner.invoke(db, ["upgrade", "--url", db_url])
    assert first.exit_code == 0, first.output
    assert "leer → 0007" in first.output
    again = runner.invoke(db, ["upgrade", "--url", db_url])
    assert "Datenbank ist aktuell (Revision 0007)" in again.output
    current = runner.invoke(db, ["current", "--url", db_url])
    assert "0007" in current.output and "aktuell" in current.output


def test_cli_db_upgrade_reads_the_environment(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'env.sqlite'}"
    monkeypatch.setenv("CERTFLOW_DATABASE_URL", url)
    result = CliRunner().invoke(db, ["upgrade"])
    assert result.exit_code == 0, result.output
    assert current_revision(url) == "0007"


def test_cli_reports_an_unreachable_database_without_a_traceback():
    result = CliRunner().invoke(db, ["upgrade", "--url", "postgresql+psycopg://nobody@127.0.0.1:1/none"])
    assert result.exit_code == 2
    assert "Fehler beim Migrieren" in result.output


def test_migrations_ship_inside_the_package():
    """The migrations (and the template for new ones) are package data: setup.py must list script.py.mako."""
    assert (MIGRATIONS_DIR / "env.py").is_file()
    assert (MIGRATIONS_DIR / "script.py.mako").is_file()
    assert (MIGRATIONS_DIR / "versions" / "0001_initial.py").is_file()
    assert (MIGRATIONS_DIR / "__init__.py").is_file() and (MIGRATIONS_DIR / "versions" / "__init__.py").is_file()
