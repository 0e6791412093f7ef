"""``certflow db ...`` and ``certflow audit ...``: the operator's commands on the database.

They call :mod:`certflow.services.maintenance`; only click is imported at load time, so
``certflow --help`` stays fast.
"""

from __future__ import annotations

from pathlib import Path

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
    """Prüfprotokoll (Audit-Trail) prüfen und außerhalb der Datenbank verankern."""


_KEY_FILE_HELP = ("HMAC-Schlüsseldatei des Ankers (sonst der Schlüssel der Zertifizierungsstelle aus CERTFLOW_SIGN_*, "
                  "sonst CERTFLOW_SIGN_ANCHOR_KEY); audit anchor legt sie an, wenn es sie nicht gibt")


@audit.command("verify")
@click.option("--url", default=None, help=_URL_HELP)
@click.option("--anchor", "anchor_file", default=None, metavar="DATEI",
              type=click.Path(dir_okay=False, path_type=Path), help="Anker (von audit anchor) zum Abgleich")
@click.option("--key-file", default=None, metavar="DATEI", type=click.Path(dir_okay=False, path_type=Path),
              help=_KEY_FILE_HELP)
def verify_command(url: str | None, anchor_file: Path | None, key_file: Path | None) -> None:
    """Prüft das Prüfprotokoll: rechnet die Hash-Kette nach, gleicht sie mit einem Anker ab (--anchor) und
    spielt die Zustandswechsel nach, um sie mit den Verfahren und Urkunden zu vergleichen.

    Exit-Code 1 und jede fehlgeschlagene Prüfung, wenn etwas nicht stimmt; 2 bei einem unlesbaren Anker
    oder fehlendem Schlüssel.
    """
    from ..calendar import format_date_de
    from ..lifecycle.machinery import BERLIN
    from ..services.audit_trail import check_audit_trail, failures
    from ..services.runner import UseCaseError

    try:
        check = check_audit_trail(_app(url), anchor_file=anchor_file, key_file=key_file)
    except UseCaseError as exc:
        fail(exc)
    result = check.result
    if not result.ok:
        for line in failures(result):
            click.echo(line, err=True)
        raise SystemExit(1)
    click.echo(f"Prüfprotokoll in Ordnung: {result.checked} Einträge geprüft.")
    if check.anchor is not None:
        at = check.anchor.written_at.astimezone(BERLIN)
        click.echo(f"Anker vom {format_date_de(at.date())} {at:%H:%M}: Eintrag {check.anchor.seq} stimmt überein.")
    if result.replayed is not None:
        procedures, certificates = result.replayed
        click.echo(f"Zustände: {procedures} Verfahren und {certificates} Urkunden stimmen mit dem Prüfprotokoll "
                   "überein.")


@audit.command("anchor")
@click.option("--url", default=None, help=_URL_HELP)
@click.option("-o", "--output", required=True, metavar="DATEI", type=click.Path(dir_okay=False, path_type=Path),
              help="Wohin der Anker geschrieben wird (außerhalb der Datenbank aufbewahren)")
@click.option("--key-file", default=None, metavar="DATEI", type=click.Path(dir_okay=False, path_type=Path),
              help=_KEY_FILE_HELP)
def anchor_command(url: str | None, output: Path, key_file: Path | None) -> None:
    """Schreibt einen signierten Anker: Nummer und Prüfsumme des letzten Eintrags der Kette.

    Vorher wird das Prüfprotokoll wie bei audit verify geprüft; ist es beschädigt, wird kein Anker
    geschrieben (Exit-Code 3). Später prüft audit verify --anchor DATEI, ob die Kette bis dahin
    umgeschrieben oder gekürzt wurde.
    """
    from ..services.audit_trail import anchor_audit_trail
    from ..services.runner import UseCaseError

    try:
        written = anchor_audit_trail(_app(url), output, key_file=key_file)
    except UseCaseError as exc:
        fail(exc)
    if written.new_key is not None:
        click.echo(f"Neue Schlüsseldatei {written.new_key} angelegt: getrennt von der Datenbank aufbewahren.")
    click.echo(f"Anker {written.path} geschrieben: Eintrag {written.anchor.seq}, Prüfsumme {written.anchor.hash} "
               f"(signiert mit dem {written.key}).")
