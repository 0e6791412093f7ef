"""The use-case runner: one place where every entrypoint (command line, web) runs a use case.

::

    app = Application(Settings.from_env())
    result = app.run(lambda uow: services.register(uow, "u-lead", "V-2025-001", "angemeldet"))

:meth:`Application.run` opens the database (checking that its schema is current), runs the
action in one :class:`~certflow.db.UnitOfWork`, commits, then calls the after-commit handlers
(replanning the reminders of what the change touched). Every failure leaves as one
:class:`UseCaseError` with a :class:`ErrorKind`; the command line maps the kinds to exit
codes, the web to HTTP statuses. Nothing here prints or knows click.
"""

from __future__ import annotations

import enum
import threading
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from ..errors import InputError, Problem
from ..lifecycle.machinery import Clock, Refused, utc_now
from ..settings import Settings

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from ..db.unit_of_work import UnitOfWork
    from ..evidence_store import EvidenceStore

__all__ = ["AfterCommit", "Application", "ErrorKind", "UseCaseError", "replan_after", "replan_targets"]

T = TypeVar("T")


class ErrorKind(enum.Enum):
    """Why a use case did not happen; each entrypoint maps it to its own code."""

    INPUT = "input"          #: a bad file or value (exit 2, HTTP 422)
    #: the rules, a role or scope, an unknown record, a conflict, frozen data (exit 3, 403/404/409)
    REFUSED = "refused"
    CONFLICT = "conflict"    #: someone else changed the record meanwhile (exit 3, HTTP 409)
    NOT_FOUND = "not_found"  #: no such record, or one the actor may not see (exit 3, HTTP 404)
    DATABASE = "database"    #: the database is unreachable, not set up, outdated, or failed (exit 2, HTTP 503)


class UseCaseError(Exception):
    """A use case that did not happen: its kind, a German message and, for bad input, the problems."""

    def __init__(self, kind: ErrorKind, message: str, problems: Sequence[Problem] = (), input_kind: str = ""):
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.problems = tuple(problems)
        self.input_kind = input_kind  # e.g. "Selbstbewertung" for an InputError

    def lines(self) -> list[str]:
        """The message and each problem on its own line (what a person reads)."""
        if self.kind is ErrorKind.INPUT and self.problems:
            return [f"Fehler ({self.input_kind}): {len(self.problems)} Problem(e)", *(f"  {p}" for p in self.problems)]
        return [self.message]


AfterCommit = Callable[["Application", Any], None]


def first_line(exc: BaseException) -> str:
    """The first line of a database error's own message (without SQLAlchemy's background link)."""
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def classify(exc: BaseException) -> UseCaseError:
    """The :class:`UseCaseError` for what a use case raised (refusal, bad input, database failure)."""
    from sqlalchemy.exc import SQLAlchemyError

    from ..db.errors import ConflictError, NotFoundError

    if isinstance(exc, UseCaseError):
        return exc
    if isinstance(exc, ConflictError):
        return UseCaseError(ErrorKind.CONFLICT, exc.message)
    if isinstance(exc, NotFoundError):
        return UseCaseError(ErrorKind.NOT_FOUND, exc.message)
    if isinstance(exc, Refused):
        return UseCaseError(ErrorKind.REFUSED, exc.message)
    if isinstance(exc, InputError):
        return UseCaseError(ErrorKind.INPUT, str(exc), exc.problems, exc.kind)
    if isinstance(exc, SQLAlchemyError):
        return UseCaseError(ErrorKind.DATABASE, f"Datenbankfehler: {first_line(exc)}")
    raise TypeError(f"not a use-case failure: {exc!r}") from exc


class Application:
    """The application layer's handle: settings, the database engine, the clock, after-commit handlers.

    One per process (or per test). The engine is created on first use and its schema checked once;
    :meth:`close` disposes of it. Thread-safe for :meth:`run` (each call has its own unit of work).
    """

    def __init__(self, settings: Settings | None = None, *, clock: Clock = utc_now, engine: Engine | None = None,
                 after_commit: Iterable[AfterCommit] | None = None, check_schema: bool = True):
        self.settings = settings or Settings()
        self.clock = clock
        self._engine = engine
        self._owns_engine = engine is None
        self._checked = not check_schema
        self._lock = threading.Lock()
        self.after_commit: list[AfterCommit] = list((replan_after,) if after_commit is None else after_commit)
        self.notes: list[str] = []  # what an after-commit handler could not do (the change itself stands)

    # --- resources -------------------------------------------------------------------------------------------------

    @property
    def engine(self) -> Engine:
        """The database engine, created and checked (schema at the head revision) on first use."""
        with self._lock:
            if self._engine is None:
                self._engine = self._make_engine(create=False)
            if not self._checked:
                self._check_schema(self._engine)
                self._checked = True
            return self._engine

    @property
    def unchecked_engine(self) -> Engine:
        """The engine without the schema check (for migrating a database that is not set up yet)."""
        with self._lock:
            if self._engine is None:
                self._engine = self._make_engine(create=True)
            return self._engine

    def _make_engine(self, *, create: bool) -> Engine:
        """The engine; a SQLite file that does not exist is refused unless ``create`` (only ``db upgrade``
        creates a database: a mistyped ``--db`` must not leave an empty one behind)."""
        from ..db import database_url, make_engine

        try:
            url = database_url(self.settings.database_url)
            if not create and url.get_backend_name() == "sqlite" and url.database \
                    and url.database != ":memory:" and not url.database.startswith("file:") \
                    and not Path(url.database).exists():
                raise UseCaseError(ErrorKind.DATABASE,
                                   f"Datenbankdatei {url.database} gibt es nicht; eine neue Datenbank legt "
                                   f"certflow db upgrade --url {url.database} an")
            return make_engine(url)
        except UseCaseError:
            raise
        except Exception as exc:  # noqa: BLE001 - a bad URL or a missing driver, in the library's words
            raise UseCaseError(ErrorKind.DATABASE, f"Datenbank nicht nutzbar: {exc}") from None

    def _check_schema(self, engine: Engine) -> None:
        from sqlalchemy.exc import SQLAlchemyError

        from ..db import current_revision, head_revision

        try:
            current = current_revision(engine)
        except SQLAlchemyError as exc:
            raise UseCaseError(ErrorKind.DATABASE, f"Datenbank nicht erreichbar: {first_line(exc)}") from None
        if current != head_revision():
            shown = engine.url.render_as_string(hide_password=True)
            state = "nicht eingerichtet" if current is None else f"veraltet (Revision {current})"
            raise UseCaseError(ErrorKind.DATABASE,
                               f"Datenbank {shown} ist {state}: zuerst certflow db upgrade --url {shown}")

    def evidence_store(self) -> EvidenceStore:
        """The evidence store the settings name (``CERTFLOW_EVIDENCE_STORE``, else the folder ``evidence_dir``)."""
        from ..evidence_store import open_evidence_store

        try:
            return open_evidence_store(self.settings.evidence_location)
        except ValueError as exc:
            raise UseCaseError(ErrorKind.INPUT, str(exc)) from None

    def now(self) -> datetime:
        return self.clock()

    def close(self) -> None:
        with self._lock:
            if self._engine is not None and self._owns_engine:
                self._engine.dispose()
            self._engine = None if self._owns_engine else self._engine

    def __enter__(self) -> Application:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- running ---------------------------------------------------------------------------------------------------

    def unit_of_work(self) -> UnitOfWork:
        from ..db import UnitOfWork

        return UnitOfWork(self.engine, clock=self.clock)

    def run(self, action: Callable[[UnitOfWork], T]) -> T:
        """``action(uow)`` in one unit of work, committed; then the after-commit handlers. Failures: UseCaseError."""
        from sqlalchemy.exc import SQLAlchemyError

        try:
            with self.unit_of_work() as uow:
                result = action(uow)
        except (Refused, InputError, SQLAlchemyError) as exc:
            raise classify(exc) from None
        for handler in self.after_commit:
            handler(self, result)
        return result


def replan_after(app: Application, result: Any) -> None:
    """After-commit handler: recompute the reminders of what a committed change touched, and only those.

    Only a use case's :class:`~.common.Result` counts (reads return other things). What it touched
    (:func:`replan_targets`): the Familienzentrum of its procedure, seal or Familienzentrum; the
    Jugendamt of its contingent; the procedure of a saved self-assessment (its activity and evidence
    dates); the scope of a person created or changed (a Kita lead's Familienzentrum, a coordinator's
    Jugendamt; the certification body and auditors: everything); a batch of state changes without one
    subject (the daily advance of the seals): everything. Each scope is replanned on its own
    (:func:`certflow.scheduler.replan_scope`), as of the application's clock. The change is committed
    already; if replanning fails, the next scheduler scan does it, so a failure is only a note in
    ``app.notes``.
    """
    targets = replan_targets(result)
    if targets is None:
        return
    from ..scheduler import replan_scope

    scope, procedure_ids, user_ids = targets
    try:
        replan_scope(app.engine, app.now(), scope, procedure_ids=procedure_ids, user_ids=user_ids)
    except Exception as exc:  # noqa: BLE001 - the change itself is safe; say why the reminders lag
        app.notes.append(f"Erinnerungen werden beim nächsten Lauf des Planers aktualisiert ({first_line(exc)})")


_PLANNED_SUBJECTS = ("procedure", "certificate")
"""Subject kinds of state changes that the reminder planner reads."""


def replan_targets(result: Any) -> tuple[Any, tuple[str, ...], tuple[str, ...]] | None:
    """What a use case's result touched, for the replan: (scope, procedure ids, user ids), or None."""
    from ..scheduler import ReplanScope
    from .common import Result

    if not isinstance(result, Result):
        return None
    scope = ReplanScope()
    procedure_ids: list[str] = []
    user_ids: list[str] = []
    for subject in (result.procedure, result.certificate):
        if subject is not None:
            scope.familienzentren.add(subject.familienzentrum_id)
    if result.familienzentrum is not None:
        scope.familienzentren.add(result.familienzentrum.id)
    if result.contingent is not None:
        scope.jugendaemter.add(result.contingent.jugendamt_id)
    if not scope and any(c.subject_kind in _PLANNED_SUBJECTS for c in result.changes):
        scope.everything = True  # state changes of several subjects at once (e.g. the seals advanced)
    facts = result.facts or {}
    if result.event.startswith("self_assessment.") and isinstance(facts.get("procedure"), str):
        procedure_ids.append(facts["procedure"])
    if result.event.startswith("user.") and isinstance(facts.get("id"), str):
        user_ids.append(facts["id"])
    if not (scope or procedure_ids or user_ids):
        return None
    return scope, tuple(procedure_ids), tuple(user_ids)
