"""Where the data lives: :func:`make_engine` for SQLite (default) or PostgreSQL.

The URL is the argument, or ``sqlite:///certflow.sqlite`` (one file in the
current directory); the environment's ``CERTFLOW_DATABASE_URL`` is read once, by
:class:`certflow.settings.Settings`, and passed in. PostgreSQL runs through psycopg 3: ``postgresql+psycopg://
user:password@host:5432/dbname``; a bare ``postgresql://`` or ``postgres://``
URL is read as psycopg 3 too.

SQLite gets, on every connection: ``PRAGMA foreign_keys=ON`` (off by default in
SQLite), a busy timeout (sqlite3's ``timeout``: 30 s unless ``connect_args``
say otherwise), and ``BEGIN IMMEDIATE`` for every transaction, so a
transaction holds the write lock from its start. Writers therefore queue up one
after the other instead of failing with "database is locked" when two read-then-
write transactions meet; this serialises the audit chain and the contingent
counters on SQLite (PostgreSQL uses row locks for both).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url

from ..settings import DATABASE_ENV as ENV_VAR
from ..settings import DEFAULT_DATABASE_URL as DEFAULT_URL

__all__ = ["DEFAULT_URL", "ENV_VAR", "SQLITE_BUSY_TIMEOUT_S", "database_url", "make_engine"]

SQLITE_BUSY_TIMEOUT_S = 30.0


def database_url(url: str | URL | None = None) -> URL:
    """The URL to use (the argument, else the default), with psycopg 3 for PostgreSQL.

    A plain path without ``://`` names a SQLite file.
    """
    chosen = url if url is not None else DEFAULT_URL
    if isinstance(chosen, str) and "://" not in chosen:
        chosen = f"sqlite:///{chosen}"
    parsed = make_url(chosen)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def make_engine(url: str | URL | None = None, **engine_kwargs: Any) -> Engine:
    """An engine for ``url`` (see the module docstring); ``engine_kwargs`` go to ``create_engine``."""
    parsed = database_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        connect_args = {"timeout": SQLITE_BUSY_TIMEOUT_S, **engine_kwargs.pop("connect_args", {})}
        engine = create_engine(parsed, connect_args=connect_args, **engine_kwargs)
        _sqlite_setup(engine)
        return engine
    if backend == "postgresql":
        engine_kwargs.setdefault("pool_pre_ping", True)
        return create_engine(parsed, **engine_kwargs)
    raise ValueError(f"Nicht unterstützte Datenbank „{parsed.drivername}“: erwartet wird sqlite oder postgresql")


def _sqlite_setup(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        # Take transaction control away from the sqlite3 module (it would issue
        # a deferred BEGIN itself); SQLAlchemy's "begin" event issues ours.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA foreign_keys=ON")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")
