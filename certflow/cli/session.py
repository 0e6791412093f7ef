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
    "EXIT_INPUT", "EXIT_REFUSED", "KGJ", "DATE", "app_for", "as_option", "db_option", "engine_for", "exit_code", "fail",
    "reason_option", "report",
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


def app_for(ctx: click.Context):
    """The :class:`~certflow.services.runner.Application` of this command: settings from the environment,
    the database chosen with ``--db`` (command, then group) applied; one per command, closed when it ends."""
    from ..services.runner import Application
    from ..settings import Settings

    root = ctx.find_root()
    app = root.meta.get("certflow.app")
    if app is None:
        settings = root.meta.get("certflow.settings") or Settings.from_env()
        url = resolve_url(ctx.meta.get("certflow.db"))
        app = Application(settings.with_(database_url=url) if url else settings)
        root.meta["certflow.app"] = app
        root.call_on_close(app.close)
    return app


def engine_for(ctx: click.Context):
    """The engine of the command's database, migrated (exit 2 with the reason otherwise)."""
    from ..services.runner import UseCaseError

    try:
        return app_for(ctx).engine
    except UseCaseError as exc:
        fail(exc)


def _fail(code: int, message: str):
    click.echo(message, err=True)
    raise SystemExit(code)


def exit_code(error) -> int:
    """The exit code of a :class:`~certflow.services.runner.UseCaseError`: 2 bad input or database, 3 refused."""
    from ..services.runner import ErrorKind

    return EXIT_INPUT if error.kind in (ErrorKind.INPUT, ErrorKind.DATABASE) else EXIT_REFUSED


def fail(error):
    """Print a :class:`~certflow.services.runner.UseCaseError` in German and exit with its code."""
    from ..services.runner import ErrorKind

    lines = error.lines()
    if error.kind in (ErrorKind.REFUSED, ErrorKind.CONFLICT, ErrorKind.NOT_FOUND):
        lines = [f"Abgelehnt: {error.message}"]
    _fail(exit_code(error), "\n".join(lines))


def run(ctx: click.Context, action: Callable[[Any], T]) -> T:
    """Run ``action(uow)`` as one use case of the application layer; failures become messages and exit codes."""
    from ..services.runner import UseCaseError

    app = app_for(ctx)
    try:
        result = app.run(action)
    except UseCaseError as exc:
        fail(exc)
    for note in app.notes:
        click.echo(f"Hinweis: {note}", err=True)
    app.notes.clear()
    return result


def report(result) -> None:
    """Print a service result in German (:func:`certflow.messages.describe`), then each warning."""
    from ..messages import describe

    click.echo(describe(result))
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
