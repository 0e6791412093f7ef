"""What the lifecycle commands share: the database, the acting user (proven), the reason, one unit of work,
exit codes.

Every command that reads or changes certification data runs exactly one
service function in one :class:`~certflow.db.UnitOfWork` (:func:`run`).

Who acts is proven, never just typed (:func:`require_proof`, installed on the whole command
tree by :mod:`certflow.cli`): every command with ``--as`` first runs
:func:`certflow.services.identity.authenticate_cli` once, with an API token
(``CERTFLOW_TOKEN`` or ``--token-file DATEI``; never on the command line), else a password
typed at the terminal, else ``certflow --local-admin`` (the machine's administrator account,
``CERTFLOW_ADMIN_USER``). Without any of them the command is refused (exit 3) before it reads
or changes anything. A read-only token suffices for the commands in :data:`READING`; every
other command with ``--as`` changes something and needs a full token.

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
import sys
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any, TypeVar

import click

from ..calendar import KindergartenYear, date_range_problem

__all__ = [
    "EXIT_INPUT", "EXIT_REFUSED", "KGJ", "DATE", "READING", "app_for", "as_option", "db_option", "engine_for",
    "exit_code", "fail", "local_admin_option", "reason_option", "report", "require_proof", "resolve_url", "run",
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
            kgj = KindergartenYear.parse(str(value))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)
        # the whole Kindergartenjahr and the next (carry-over) must lie within the accepted dates
        problem = date_range_problem(kgj.start, "Kindergartenjahr") or date_range_problem(
            kgj.next().end, "Kindergartenjahr")
        if problem:
            self.fail(problem, param, ctx)
        return kgj


class _DateType(click.ParamType):
    """A day (JJJJ-MM-TT or TT.MM.JJJJ) inside the dates certflow accepts (:data:`certflow.calendar.EARLIEST_DATE`
    to :data:`~certflow.calendar.LATEST_DATE`); anything else is a usage error (exit 2)."""

    name = "DATUM"

    def convert(self, value: Any, param, ctx) -> date:
        from ..calendar import date_range_problem

        if isinstance(value, datetime):
            value = value.date()
        if not isinstance(value, date):
            text = str(value).strip()
            for fmt in ("%Y-%m-%d", "%d.%m.%Y"):
                try:
                    value = datetime.strptime(text, fmt).date()
                    break
                except ValueError:
                    continue
            else:
                self.fail(f"„{value}“ ist kein Datum (JJJJ-MM-TT oder TT.MM.JJJJ)", param, ctx)
        problem = date_range_problem(value)
        if problem:
            self.fail(problem, param, ctx)
        return value


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
    """``--as BENUTZER``: who acts; proven before the command runs (:func:`require_proof`)."""
    return click.option("--as", "actor", required=True, metavar="BENUTZER",
                        help="Wer handelt (Benutzer-ID, z. B. koord-wiesental), nachgewiesen durch einen "
                             "Zugangsschlüssel (dann auch ohne --as) oder das Passwort; siehe certflow --help")(func)


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
        factory = Application
        if ctx.meta.get(_LOCAL_ADMIN):  # its audit entries say that the administrator switch was used
            from ..services.identity import LocalAdminApplication as factory
        app = factory(settings.with_(database_url=url) if url else settings)
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
    return use(ctx, lambda app: app.run(action))


def use(ctx: click.Context, use_case: Callable[[Any], T]) -> T:
    """``use_case(app)`` with this command's :class:`~certflow.services.runner.Application`: for the use cases
    that run their own units of work (a document, the sign-off) and, through :func:`run`, for every other;
    failures become German messages and exit codes, notes of the after-commit handlers are printed."""
    from ..services.runner import UseCaseError

    app = app_for(ctx)
    try:
        result = use_case(app)
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


# --- who acts, proven ---------------------------------------------------------------------------------------------

_LOCAL_ADMIN = "certflow.local_admin"  # ctx.meta (shared by all contexts of one run): --local-admin given
_PROVEN = "_certflow_proves_actor"      # marks a callback that require_proof wrapped already
TOKEN_FILE_LIMIT = 4096                  # bytes: a token is 47 characters

READING: frozenset[tuple[str, ...]] = frozenset({
    ("overview",), ("history",), ("qualitaetsprofil",), ("packet", "render"), ("packet", "verify"),
    ("certificate", "render"), ("users", "list"), ("users", "tokens"), ("reminders", "plan"),
    ("reminders", "outbox"), ("reminders", "contact"), ("inbox",), ("calendar",),
})
"""The commands (below ``certflow``) that only read: a read-only token suffices. Every other command with
``--as`` changes something and needs a token of scope ``write`` (so a new command is a changing one until
it is listed here)."""

READING_UNLESS: dict[tuple[str, ...], tuple[str, ...]] = {
    ("inbox",): ("mark_read",),
    ("reminders", "contact"): ("email", "preference"),
}
"""Reading commands that change something when one of these parameters is given."""

_NOT_PROVEN = ("Abgelehnt: nicht angemeldet. Bitte ausweisen, wer handelt: mit einem Zugangsschlüssel "
               "(erstellt mit certflow users token; dann CERTFLOW_TOKEN in der Umgebung oder --token-file DATEI), "
               "im Terminal mit --as BENUTZER und dem Passwort, oder auf dem Server als Administration mit "
               "certflow --local-admin.")


def _store_local_admin(ctx: click.Context, _param, value: bool) -> bool:
    if value:
        ctx.meta[_LOCAL_ADMIN] = True
    return value


def local_admin_option(func: Callable) -> Callable:
    """``certflow --local-admin``: the command acts as the machine's administrator account (see the module)."""
    return click.option("--local-admin", is_flag=True, expose_value=False, callback=_store_local_admin,
                        help="Als Administrationskonto dieses Rechners handeln (CERTFLOW_ADMIN_USER, sonst admin), "
                             "ohne Anmeldung: für den Betrieb auf dem Server (cron, scheduler run). Jeder Eintrag "
                             "im Prüfprotokoll vermerkt es.")(func)


def require_proof(group: click.Group) -> None:
    """Make every command below ``group`` that takes ``--as`` prove who acts before it runs.

    Installed once on the whole tree (:mod:`certflow.cli`), so no command with ``--as`` can leave
    it out: ``--as`` becomes optional (a token names its user), ``--token-file`` is added, and the
    command first authenticates (:func:`_authenticate`). A command whose ``--as`` is optional
    (``packet verify``: without it no database is read) authenticates only when ``--as``,
    ``--token-file`` or ``--local-admin`` is given.
    """
    for path, command in _commands(group, ()):
        actor = next((p for p in command.params if p.name == "actor"), None)
        if actor is None or command.callback is None or getattr(command.callback, _PROVEN, False):
            continue
        needed = actor.required
        actor.required = False
        command.params.insert(command.params.index(actor) + 1, click.Option(
            ["--token-file", "token_file"], type=click.Path(exists=True, dir_okay=False, path_type=Path),
            default=None, metavar="DATEI",
            help="Datei mit dem Zugangsschlüssel (statt CERTFLOW_TOKEN; der Schlüssel nie als Argument)"))
        command.callback = _proving(command.callback, path, needed)


def _commands(group: click.Group, path: tuple[str, ...]):
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            yield from _commands(command, (*path, name))
        else:
            yield (*path, name), command


def _proving(callback: Callable, path: tuple[str, ...], needed: bool) -> Callable:
    @functools.wraps(callback)
    def command(*args, **kwargs):
        ctx = click.get_current_context()
        token_file = kwargs.pop("token_file", None)
        claimed = kwargs.get("actor")
        if needed or claimed or token_file is not None or ctx.meta.get(_LOCAL_ADMIN):
            kwargs["actor"] = _authenticate(ctx, claimed, token_file, writes=_writes(path, kwargs))
        return callback(*args, **kwargs)

    setattr(command, _PROVEN, True)
    return command


def _writes(path: tuple[str, ...], params: dict[str, Any]) -> bool:
    """Whether the command changes something (needs a ``write`` token) with these parameters."""
    if path not in READING:
        return True
    return any(params.get(name) not in (None, False) for name in READING_UNLESS.get(path, ()))


def stdin_is_terminal() -> bool:
    """Whether a person can type a password (stdin is a terminal); tests replace this."""
    return sys.stdin is not None and sys.stdin.isatty()


def _authenticate(ctx: click.Context, claimed: str | None, token_file: Path | None, *, writes: bool) -> str:
    """The id of the user who acts, proven once for this command (:mod:`certflow.services.identity`).

    The proof, first match: ``--local-admin``; ``--token-file``; ``CERTFLOW_TOKEN``; a password typed
    at the terminal for ``--as``. None of them: exit 3. A database that cannot be used is exit 2 first.
    """
    from ..services.accounts import TokenScope
    from ..services.identity import Credentials, authenticate_cli

    app = app_for(ctx)
    engine_for(ctx)
    settings = app.settings
    claimed = (claimed or "").strip() or None
    if ctx.meta.get(_LOCAL_ADMIN):
        if token_file is not None:
            _fail(EXIT_INPUT, "--local-admin und --token-file schließen einander aus: entweder als Administration "
                              "dieses Rechners oder mit einem Zugangsschlüssel.")
        if claimed is not None and claimed != settings.admin_user:
            _fail(EXIT_INPUT, f"--local-admin handelt als {settings.admin_user} (CERTFLOW_ADMIN_USER); "
                              f"--as {claimed} passt nicht dazu.")
        credentials = Credentials(local_admin=True)
    elif token_file is not None:
        credentials = Credentials(token=_read_token(token_file))
    elif settings.token:
        credentials = Credentials(token=settings.token)
    elif claimed is not None and stdin_is_terminal():
        credentials = Credentials(password=_prompt_password(claimed))
    else:
        _fail(EXIT_REFUSED, _NOT_PROVEN)
    scope = TokenScope.WRITE if writes else TokenScope.READ
    auth = run(ctx, lambda uow: authenticate_cli(uow, claimed, credentials, scope=scope,
                                                 admin_user=settings.admin_user, address=_address()))
    if not auth.ok:  # a wrong or throttled password: the attempt is committed (the throttle counts it)
        _fail(EXIT_REFUSED, f"Abgelehnt: {auth.refusal}")
    return auth.user.id


def _read_token(path: Path) -> str:
    """The token in ``path`` (surrounding white space ignored); exit 2 if there is none."""
    try:
        with path.open("rb") as handle:
            data = handle.read(TOKEN_FILE_LIMIT + 1)
        text = data.decode("utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        _fail(EXIT_INPUT, f"{path}: Zugangsschlüssel nicht lesbar ({exc})")
    if len(data) > TOKEN_FILE_LIMIT:
        _fail(EXIT_INPUT, f"{path}: zu groß für einen Zugangsschlüssel (mehr als {TOKEN_FILE_LIMIT} Bytes)")
    if not text:
        _fail(EXIT_INPUT, f"{path}: enthält keinen Zugangsschlüssel")
    return text


def _prompt_password(user_id: str) -> str:
    try:
        return click.prompt(f"Passwort für {user_id}", hide_input=True, err=True)
    except click.Abort:
        _fail(EXIT_INPUT, "\nAbgebrochen: kein Passwort eingegeben.")


def _address() -> str:
    """Where a password attempt comes from, for the throttle: this machine's user and host name."""
    import getpass
    import socket

    try:
        who = getpass.getuser()
    except (OSError, KeyError, ImportError):
        who = "?"
    return f"kommandozeile:{who}@{socket.gethostname()}"
