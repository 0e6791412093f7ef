"""What the lifecycle commands share: the database, the acting user, the reason, one unit of work, exit codes.

Every command that reads or changes certification data runs exactly one
service function in one :class:`~certflow.db.UnitOfWork` (:func:`run`).

Exit codes (also in ``certflow --help`` and the README):

* ``0`` done;
* ``2`` bad input or usage: a missing or malformed option, an unreadable or
  invalid file (``file:line: field: message``), a database that cannot be
  reached or is not set up;
* ``3`` refused by the rules: a role, scope or state that does not allow it,
  an unknown user or record, someone else changed the record meanwhile, or the
  data is frozen. The German reason goes to stderr, never a traceback.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import date, datetime
from typing import Any, TypeVar

import click

from ..calendar import KindergartenYear
from ..errors import InputError

__all__ = [
    "EXIT_INPUT", "EXIT_REFUSED", "KGJ", "DATE", "as_option", "db_option", "engine_for", "reason_option", "report",
    "resolve_url", "run",
]

EXIT_INPUT = 2
EXIT_REFUSED = 3

T = TypeVar("T")


class _KgjType(click.ParamType):
    name = "KGJ"

    def convert(self, value: Any, param, ctx) -> KindergartenYear:
        if isinstance(value, KindergartenYear):
            return value
        try:
            return KindergartenYear.parse(str(value))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


class _DateType(click.ParamType):
    name = "DATUM"

    def convert(self, value: Any, param, ctx) -> date:
        if isinstance(value, date):
            return value
        text = str(value).strip()
        for fmt in ("%Y-%m-%d", "%d.%m.%Y"):
            try:
                return datetime.strptime(text, fmt).date()
            except ValueError:
                continue
        self.fail(f"„{value}“ ist kein Datum (JJJJ-MM-TT oder TT.MM.JJJJ)", param, ctx)


KGJ = _KgjType()
DATE = _DateType()

_DB_HELP = ("Datenbank: URL oder Pfad einer SQLite-Datei (sonst CERTFLOW_DATABASE_URL, "
            "sonst sqlite:///certflow.sqlite)")


def resolve_url(value: str | None) -> str | None:
    """A URL as given, a plain path as a SQLite file, ``None`` for the default."""
    if not value:
        return None
    return value if "://" in value else f"sqlite:///{value}"


def _store_db(ctx: click.Context, _param, value: str | None) -> str | None:
    if value:
        ctx.meta["certflow.db"] = value
    return value


def db_option(func: Callable) -> Callable:
    """``--db`` on a command (it overrides the one given before the command)."""
    return click.option("--db", "db", default=None, expose_value=False, callback=_store_db, is_eager=True,
                        metavar="URL|DATEI", help=_DB_HELP)(func)


def as_option(func: Callable) -> Callable:
    return click.option("--as", "actor", required=True, metavar="BENUTZER",
                        help="Wer handelt (Benutzer-ID, z. B. koord-wiesental)")(func)


def reason_option(func: Callable) -> Callable:
    return click.option("--reason", required=True, metavar="TEXT",
                        help="Warum (steht im Prüfprotokoll)")(func)


def engine_for(ctx: click.Context):
    """The engine of the database chosen with ``--db`` (command, then group), env or default; migrated."""
    from sqlalchemy.exc import SQLAlchemyError

    from ..db import current_revision, head_revision, make_engine

    url = resolve_url(ctx.meta.get("certflow.db"))
    try:
        engine = make_engine(url)
    except Exception as exc:  # bad URL or missing driver
        _fail(EXIT_INPUT, f"Datenbank nicht nutzbar: {exc}")
    try:
        current = current_revision(engine)
    except SQLAlchemyError as exc:
        engine.dispose()
        _fail(EXIT_INPUT, f"Datenbank nicht erreichbar: {_first_line(exc)}")
    if current != head_revision():
        engine.dispose()
        shown = engine.url.render_as_string(hide_password=True)
        state = "nicht eingerichtet" if current is None else f"veraltet (Revision {current})"
        _fail(EXIT_INPUT, f"Datenbank {shown} ist {state}: zuerst certflow db upgrade --url {shown}")
    return engine


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _fail(code: int, message: str):
    click.echo(message, err=True)
    raise SystemExit(code)


def run(ctx: click.Context, action: Callable[[Any], T]) -> T:
    """Run ``action(uow)`` in one unit of work; turn refusals and bad input into messages and exit codes."""
    from sqlalchemy.exc import SQLAlchemyError

    from ..db import UnitOfWork
    from ..lifecycle.machinery import Refused

    engine = engine_for(ctx)
    try:
        with UnitOfWork(engine) as uow:
            result = action(uow)
        _replan_after(engine, result)
        return result
    except Refused as exc:
        _fail(EXIT_REFUSED, f"Abgelehnt: {exc.message}")
    except InputError as exc:
        lines = [f"Fehler ({exc.kind}): {len(exc.problems)} Problem(e)", *(f"  {p}" for p in exc.problems)]
        _fail(EXIT_INPUT, "\n".join(lines))
    except SQLAlchemyError as exc:
        _fail(EXIT_INPUT, f"Datenbankfehler: {_first_line(exc)}")
    finally:
        engine.dispose()


def _replan_after(engine, result: Any) -> None:
    """Recompute the reminders of what a committed change touched (dates and states may have moved).

    The change is committed already; if replanning fails, the next scheduler scan does it, so a
    failure here is only a note.
    """
    from ..lifecycle.machinery import utc_now
    from ..scheduler import replan
    from ..services.common import Result

    if not isinstance(result, Result):  # a read (overview, history, documents): nothing moved
        return
    subject = None
    for attr in ("procedure", "certificate", "familienzentrum"):
        obj = getattr(result, attr, None)
        if obj is not None:
            subject = {"familienzentrum_id": getattr(obj, "familienzentrum_id", None) or obj.id}
            break
    if subject is None and getattr(result, "contingent", None) is not None:
        subject = {"jugendamt_id": result.contingent.jugendamt_id}
    if subject is None:
        return
    try:
        replan(engine, utc_now(), **subject)
    except Exception as exc:  # noqa: BLE001 - the change itself is safe; say why the reminders lag
        click.echo(f"Hinweis: Erinnerungen werden beim nächsten Lauf des Planers aktualisiert ({_first_line(exc)})",
                   err=True)


def report(result) -> None:
    """Print a service result: its message, then each warning."""
    click.echo(result.message)
    for warning in result.warnings:
        click.echo(f"Hinweis: {warning}")


def with_db(func: Callable) -> Callable:
    """Decorator: ``--db`` plus the click context as first argument."""
    @db_option
    @click.pass_context
    @functools.wraps(func)
    def wrapper(ctx: click.Context, *args, **kwargs):
        return func(ctx, *args, **kwargs)

    return wrapper
