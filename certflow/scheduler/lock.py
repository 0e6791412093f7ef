"""Exactly one scheduler per database: a PostgreSQL advisory lock, or a lock file beside a SQLite database.

* **PostgreSQL**: ``pg_try_advisory_lock(key)`` on a connection of its own (autocommit,
  taken from the engine and held for the scheduler's lifetime). The key is derived from
  the database's current schema (``certflow.scheduler:<schema>``), because advisory
  locks belong to the whole database while certflow may live in one schema of several.
  A second process polls the lock (so it can still be stopped with SIGTERM) and takes
  over when the first one ends: the lock goes with its session, also when the process
  is killed or its connection breaks. :meth:`SchedulerLock.still_held` lets the runner
  notice a lost connection (and with it the lock) before each scan.
* **SQLite**: ``fcntl.flock`` on ``<database file>.scheduler.lock``. The kernel releases
  it when the process ends, however it ends. It works between processes on one host
  (the only way SQLite is shared anyway); not on network file systems without
  working ``flock``, not on Windows. An in-memory database needs no lock.

The lock keeps a second scheduler idle; it is not what makes delivery exactly-once:
the outbox's conditional claims are (a scan without the lock still sends nothing twice,
see docs/reminders.md).
"""

from __future__ import annotations

import contextlib

import hashlib
import os
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine, text

__all__ = ["SchedulerLock", "lock_key"]


def lock_key(schema: str) -> int:
    """A signed 64-bit advisory lock key for ``schema``."""
    digest = hashlib.sha256(f"certflow.scheduler:{schema}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class SchedulerLock:
    """``acquire(wait=...)`` / ``release()``; a context manager that waits."""

    def __init__(self, engine: Engine, *, poll_seconds: float = 1.0):
        self.engine = engine
        self.poll_seconds = poll_seconds
        self.backend = engine.dialect.name
        self._connection: Any = None
        self._file: Any = None
        self.key: int | None = None
        self.held = False

    @property
    def description(self) -> str:
        if self.backend == "postgresql":
            return f"PostgreSQL-Advisory-Lock {self.key}" if self.key is not None else "PostgreSQL-Advisory-Lock"
        path = self._lock_path()
        return f"Sperrdatei {path}" if path else "keine Sperre (SQLite im Speicher)"

    def _lock_path(self) -> str | None:
        database = self.engine.url.database
        if self.backend != "sqlite" or not database or database == ":memory:" or database.startswith("file:"):
            return None
        return os.path.abspath(database) + ".scheduler.lock"

    # -- one attempt ---------------------------------------------------------------------------------

    def try_acquire(self) -> bool:
        if self.held:
            return True
        if self.backend == "postgresql":
            if self._connection is None:
                self._connection = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
                schema = self._connection.execute(text("SELECT current_schema()")).scalar_one()
                self.key = lock_key(schema)
            got = self._connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": self.key}).scalar_one()
            self.held = bool(got)
            return self.held
        path = self._lock_path()
        if path is None:
            self.held = True
            return True
        import fcntl

        if self._file is None:
            self._file = open(path, "a+")  # noqa: SIM115 - held open for the lock's lifetime
        try:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        self._file.seek(0)
        self._file.truncate()
        self._file.write(f"{os.getpid()}\n")
        self._file.flush()
        self.held = True
        return True

    def acquire(self, *, wait: bool = True, should_stop: Callable[[], bool] | None = None,
                on_wait: Callable[[], None] | None = None, timeout: float | None = None) -> bool:
        """Take the lock; with ``wait``, poll until it is free (``on_wait`` is called once), stopped or timed out."""
        if self.try_acquire():
            return True
        if not wait:
            return False
        if on_wait is not None:
            on_wait()
        deadline = None if timeout is None else time.monotonic() + timeout
        while not (should_stop is not None and should_stop()):
            if deadline is not None and time.monotonic() >= deadline:
                return False
            time.sleep(self.poll_seconds)
            if self.try_acquire():
                return True
        return False

    def still_held(self) -> bool:
        """Whether the lock is still ours (PostgreSQL: the lock's connection is alive and holds it)."""
        if not self.held:
            return False
        if self.backend != "postgresql":
            return True
        try:
            count = self._connection.execute(text(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND pid = pg_backend_pid()"
            )).scalar_one()
        except Exception:  # the connection broke: the server released the lock with the session
            self._drop_connection()
            self.held = False
            return False
        self.held = count > 0
        return self.held

    def _drop_connection(self) -> None:
        if self._connection is not None:
            try:
                self._connection.invalidate()
                self._connection.close()
            except Exception:
                pass
            self._connection = None

    def release(self) -> None:
        if self.backend == "postgresql":
            if self._connection is not None:
                if self.held:
                    with contextlib.suppress(Exception):
                        self._connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": self.key})
                with contextlib.suppress(Exception):
                    self._connection.close()
                self._connection = None
        elif self._file is not None:
            import fcntl

            try:
                fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
            finally:
                self._file.close()
                self._file = None
        self.held = False

    def __enter__(self) -> SchedulerLock:
        self.acquire(wait=True)
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
