"""``certflow db ...`` and ``certflow audit ...``: the operator's commands on the database.

They call :mod:`certflow.services.maintenance`; only click is imported at load time, so
``certflow --help`` stays fast.
"""

from __future__ import annotations

import click

from .session import app_for, fail

__all__ = ["audit", "db"]

_URL_HELP = "Datenbank-URL oder SQLite-Datei (sonst certflow --db, CERTFLOW_DATABASE_URL, sqlite:///certflow.sqlite)"


def _app(url: str | None):
    """The application of ``--url`` (else ``certflow --db``, else the environment's database)."""
    ctx = click.get_current_context()
    if url:
        ctx.meta["certflow.db"] = url
    return app_for(ctx)


@click.group("db")
def db() -> None:
    """Datenbank einrichten und migrieren."""


@db.command("upgrade")
@click.option("--url", default=None, help=_URL_HELP)
@click.option("--revision", default="head", show_default=True, help="Ziel-Revision der Migrationen")
def upgrade_command(url: str | None, revision: str) -> None:
    """Datenbank auf den neuesten Stand bringen (legt sie bei Bedarf an)."""
    from ..services.maintenance import upgrade_database
    from ..services.runner import UseCaseError

    try:
        revisions = upgrade_database(_app(url), revision)
    except UseCaseError as exc:
        fail(exc)
    if revisions.before == revisions.after:
        click.echo(f"Datenbank ist aktuell (Revision {revisions.after}).")
    else:
        click.echo(f"Datenbank migriert: {revisions.before or 'leer'} → {revisions.after}.")


@db.command("current")
@click.option("--url", default=None, help=_URL_HELP)
def current_command(url: str | None) -> None:
    """Zeigt die Revision der Datenbank und die neueste mitgelieferte."""
    from ..services.maintenance import database_revisions
    from ..services.runner import UseCaseError

    try:
        revisions = database_revisions(_app(url))
    except UseCaseError as exc:
        fail(exc)
    state = "aktuell" if revisions.current else "veraltet: certflow db upgrade ausführen"
    click.echo(f"Datenbank: {revisions.after or 'nicht eingerichtet'}; neueste: {revisions.head} ({state})")


@click.group("audit")
def audit() -> None:
    """Prüfprotokoll (Audit-Trail) prüfen."""


@audit.command("verify")
@click.option("--url", default=None, help=_URL_HELP)
def verify_command(url: str | None) -> None:
    """Rechnet die Hash-Kette nach; Exit-Code 1 und der erste fehlerhafte Eintrag, wenn sie gebrochen ist."""
    from ..services.maintenance import verify_audit_trail
    from ..services.runner import UseCaseError

    try:
        result = verify_audit_trail(_app(url))
    except UseCaseError as exc:
        fail(exc)
    if result.ok:
        click.echo(f"Prüfprotokoll in Ordnung: {result.checked} Einträge geprüft.")
        return
    click.echo(f"Prüfprotokoll beschädigt ab Eintrag {result.first_broken}: {result.problem}", err=True)
    click.echo(f"({result.checked} Einträge davor sind in Ordnung.)", err=True)
    raise SystemExit(1)
