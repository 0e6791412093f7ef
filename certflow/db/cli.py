"""``certflow db ...`` and ``certflow audit ...``: click groups to register on the main command line.

certflow.cli adds them with ``cli.add_command(db)`` and ``cli.add_command(audit)``.
This module imports only click at load time; the database code is imported
when a command runs, so ``certflow --help`` stays fast.
"""

from __future__ import annotations

import click

__all__ = ["audit", "db"]

_URL_HELP = "Datenbank-URL oder SQLite-Datei (sonst certflow --db, CERTFLOW_DATABASE_URL, sqlite:///certflow.sqlite)"


def _engine(url: str | None):
    """``--url`` of the command, else ``certflow --db`` given before it, else the environment's database."""
    from .engine import make_engine

    ctx = click.get_current_context(silent=True)
    url = url or (ctx.meta.get("certflow.db") if ctx is not None else None)
    try:
        return make_engine(url)
    except Exception as exc:  # bad URL or missing driver: a usage error, not a traceback
        raise click.ClickException(f"Datenbank nicht nutzbar: {exc}") from exc


def _fail(exc: Exception, what: str):
    message = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
    click.echo(f"Fehler beim {what}: {message}", err=True)
    raise SystemExit(2)


@click.group("db")
def db() -> None:
    """Datenbank einrichten und migrieren."""


@db.command("upgrade")
@click.option("--url", default=None, help=_URL_HELP)
@click.option("--revision", default="head", show_default=True, help="Ziel-Revision der Migrationen")
def upgrade_command(url: str | None, revision: str) -> None:
    """Datenbank auf den neuesten Stand bringen (legt sie bei Bedarf an)."""
    from sqlalchemy.exc import SQLAlchemyError

    from .migrate import current_revision, upgrade

    engine = _engine(url)
    try:
        before = current_revision(engine)
        upgrade(engine, revision)
        after = current_revision(engine)
    except SQLAlchemyError as exc:
        _fail(exc, "Migrieren")
    finally:
        engine.dispose()
    if before == after:
        click.echo(f"Datenbank ist aktuell (Revision {after}).")
    else:
        click.echo(f"Datenbank migriert: {before or 'leer'} → {after}.")


@db.command("current")
@click.option("--url", default=None, help=_URL_HELP)
def current_command(url: str | None) -> None:
    """Zeigt die Revision der Datenbank und die neueste mitgelieferte."""
    from .migrate import current_revision, head_revision

    engine = _engine(url)
    try:
        current = current_revision(engine)
    finally:
        engine.dispose()
    head = head_revision()
    state = "aktuell" if current == head else "veraltet: certflow db upgrade ausführen"
    click.echo(f"Datenbank: {current or 'nicht eingerichtet'}; neueste: {head} ({state})")


@click.group("audit")
def audit() -> None:
    """Prüfprotokoll (Audit-Trail) prüfen."""


@audit.command("verify")
@click.option("--url", default=None, help=_URL_HELP)
def verify_command(url: str | None) -> None:
    """Rechnet die Hash-Kette nach; Exit-Code 1 und der erste fehlerhafte Eintrag, wenn sie gebrochen ist."""
    from sqlalchemy.exc import SQLAlchemyError
    from sqlalchemy.orm import Session

    from .audit_log import verify

    engine = _engine(url)
    try:
        with Session(engine) as session:
            result = verify(session)
    except SQLAlchemyError as exc:
        _fail(exc, "Prüfen")
    finally:
        engine.dispose()
    if result.ok:
        click.echo(f"Prüfprotokoll in Ordnung: {result.checked} Einträge geprüft.")
        return
    click.echo(f"Prüfprotokoll beschädigt ab Eintrag {result.first_broken}: {result.problem}", err=True)
    click.echo(f"({result.checked} Einträge davor sind in Ordnung.)", err=True)
    raise SystemExit(1)
