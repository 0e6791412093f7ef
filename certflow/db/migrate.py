"""Run the Alembic migrations shipped in :mod:`certflow.migrations`, configured from Python.

``upgrade(engine_or_url)`` brings a database (empty or older) to the newest
schema: ``certflow db upgrade`` calls it. The script location is the
``certflow/migrations`` folder of the installed package, so no alembic.ini is
needed at run time.

Developers write a new revision with ``python -m certflow.db.migrate revision
-m "..."``: it upgrades a scratch SQLite file to head, autogenerates the
difference to the tables' metadata and leaves the file in ``versions/`` for review.
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.resources import files
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine
from sqlalchemy.engine import URL

from .engine import make_engine

__all__ = ["MIGRATIONS_DIR", "alembic_config", "current_revision", "downgrade", "head_revision", "upgrade"]

MIGRATIONS_DIR = Path(str(files("certflow") / "migrations"))

EngineOrUrl = Engine | str | URL | None


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic config pointing at the shipped migrations; ``connection`` is handed to env.py."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    if connection is not None:
        config.attributes["connection"] = connection
    return config


@contextmanager
def _connection(engine_or_url: EngineOrUrl) -> Iterator[Connection]:
    engine = engine_or_url if isinstance(engine_or_url, Engine) else make_engine(engine_or_url)
    try:
        with engine.begin() as connection:
            yield connection
    finally:
        if engine is not engine_or_url:
            engine.dispose()


def upgrade(engine_or_url: EngineOrUrl = None, revision: str = "head") -> None:
    """Migrate the database up to ``revision`` (default: the newest) in one transaction."""
    with _connection(engine_or_url) as connection:
        command.upgrade(alembic_config(connection), revision)


def downgrade(engine_or_url: EngineOrUrl, revision: str) -> None:
    """Migrate the database down to ``revision`` (``"base"``: drop everything certflow created)."""
    with _connection(engine_or_url) as connection:
        command.downgrade(alembic_config(connection), revision)


def current_revision(engine_or_url: EngineOrUrl = None) -> str | None:
    """The revision the database is at, ``None`` for a database never migrated."""
    with _connection(engine_or_url) as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str:
    """The newest revision shipped with this certflow."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "no migrations shipped"
    return head


def _new_revision(message: str, rev_id: str | None = None) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        url = f"sqlite:///{Path(scratch) / 'scratch.sqlite'}"
        upgrade(url)
        with _connection(url) as connection:
            command.revision(alembic_config(connection), message=message, autogenerate=True, rev_id=rev_id)


if __name__ == "__main__":  # python -m certflow.db.migrate revision -m "message" [--rev-id 0002]
    import argparse

    parser = argparse.ArgumentParser(prog="python -m certflow.db.migrate")
    sub = parser.add_subparsers(dest="command", required=True)
    rev = sub.add_parser("revision", help="autogenerate a new revision for review")
    rev.add_argument("-m", "--message", required=True)
    rev.add_argument("--rev-id")
    args = parser.parse_args()
    _new_revision(args.message, args.rev_id)
    sys.exit(0)
