"""``certflow kitas|familienzentrum|users|jugendamt|traeger``: the master data.

``certflow kitas import FILE.csv`` reads a whole list of Kitas: every bad row
is reported with its line and nothing of a bad file is imported (exit 2).
The first user of an empty database may create itself as admin:
``certflow users add admin --name "…" --role admin --as admin --reason "Einrichtung"``.
"""

from __future__ import annotations

from pathlib import Path

import click

from ..lifecycle.entities import Role
from .console import make_console
from .session import DATE, as_option, reason_option, report, run, with_db

__all__ = ["familienzentrum", "jugendamt", "kitas", "traeger", "users"]


def _services():
    from .. import services

    return services


@click.group("kitas")
def kitas() -> None:
    """Kitas einlesen."""


@kitas.command("import")
@click.argument("csv_file", metavar="DATEI.csv", type=click.Path(dir_okay=False, path_type=Path))
@as_option
@click.option("--reason", default=None, metavar="TEXT", help="Warum (sonst: Kita-Liste <Datei> eingelesen)")
@with_db
def import_(ctx, csv_file, actor, reason) -> None:
    """Kitas aus einer CSV-Datei einlesen: alle oder keine (jede fehlerhafte Zeile wird gemeldet)."""
    why = reason or f"Kita-Liste {csv_file.name} eingelesen"
    report(run(ctx, lambda uow: _services().import_kitas(uow, actor, csv_file, why)))


@click.group("familienzentrum")
def familienzentrum() -> None:
    """Familienzentren anlegen."""


@familienzentrum.command("create")
@click.argument("familienzentrum_id", metavar="ID")
@click.option("--name", required=True, help="Name des Familienzentrums")
@click.option("--kita", "kita_ids", multiple=True, required=True, metavar="KITA",
              help="Einrichtung (einmal: Einzeleinrichtung; mehrmals: Verbund)")
@click.option("--zuschussempfaenger", default=None, metavar="KITA", help="Zuschussempfänger eines Verbunds")
@click.option("--radius-exception", default=None, metavar="TEXT",
              help="Begründung, wenn der Verbund den Radius von 3 km überschreitet")
@as_option
@reason_option
@with_db
def create(ctx, familienzentrum_id, name, kita_ids, zuschussempfaenger, radius_exception, actor, reason) -> None:
    """Ein Familienzentrum aus einer Kita (Einzel) oder mehreren (Verbund) bilden."""
    report(run(ctx, lambda uow: _services().create_familienzentrum(
        uow, actor, familienzentrum_id, name, kita_ids, reason, zuschussempfaenger_id=zuschussempfaenger,
        radius_exception_reason=radius_exception)))


@click.group("users")
def users() -> None:
    """Benutzer anlegen, ändern und auflisten."""


@users.command("list")
@as_option
@with_db
def list_(ctx, actor) -> None:
    """Die Benutzer, die BENUTZER sehen darf (für --as)."""
    from .views import users_table

    found = run(ctx, lambda uow: _services().list_users(uow, actor))
    make_console().print(users_table(found, title=f"Benutzer ({len(found)})"))


@users.command("add")
@click.argument("user_id", metavar="ID")
@click.option("--name", required=True)
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
@click.option("--jugendamt", default=None, help="Jugendamt (Koordination; bei Auditoren: Arbeitgeber)")
@click.option("--familienzentrum", "fz", default=None, help="Familienzentrum (Kita-Leitung)")
@click.option("--traeger", default=None, help="Träger als Arbeitgeber (macht Auditoren dort befangen)")
@as_option
@reason_option
@with_db
def add_user(ctx, user_id, name, role, jugendamt, fz, traeger, actor, reason) -> None:
    """Einen Benutzer anlegen (Administration)."""
    from ..lifecycle.entities import User

    user = User(user_id, name, Role(role), jugendamt_id=jugendamt, familienzentrum_id=fz, traeger_id=traeger)
    report(run(ctx, lambda uow: _services().add_user(uow, actor, user, reason)))


_KEEP = "Ohne Angabe bleibt es, wie es ist (passt es nicht zur neuen Rolle: leer); \"\" leert es."


@users.command("change")
@click.argument("user_id", metavar="BENUTZER")
@click.option("--role", type=click.Choice([r.value for r in Role]), default=None, help="Neue Rolle")
@click.option("--jugendamt", default=None, help=f"Jugendamt (Koordination; bei Auditoren: Arbeitgeber). {_KEEP}")
@click.option("--familienzentrum", "fz", default=None, help=f"Familienzentrum (Kita-Leitung). {_KEEP}")
@click.option("--traeger", default=None, help=f"Träger als Arbeitgeber eines Auditors. {_KEEP}")
@click.option("--active/--inactive", "active", default=None, help="Zugang aktivieren oder deaktivieren")
@click.option("--expected-version", type=int, default=None, metavar="N",
              help="Nur ändern, wenn der Benutzer noch diese Fassung hat (sonst Konflikt, Exit 3)")
@as_option
@reason_option
@with_db
def change_user(ctx, user_id, role, jugendamt, fz, traeger, active, expected_version, actor, reason) -> None:
    """Rolle, Zuordnung oder Status von BENUTZER ändern (Administration); seine Anmeldungen und
    Zugangsschlüssel enden."""
    from ..services import administration

    report(run(ctx, lambda uow: administration.change_user(
        uow, actor, user_id, role=role, jugendamt_id=jugendamt, familienzentrum_id=fz, traeger_id=traeger,
        active=active, reason=reason, expected_version=expected_version)))


@click.group("jugendamt")
def jugendamt() -> None:
    """Jugendämter anlegen."""


@jugendamt.command("add")
@click.argument("jugendamt_id", metavar="ID")
@click.option("--name", required=True)
@as_option
@reason_option
@with_db
def add_jugendamt(ctx, jugendamt_id, name, actor, reason) -> None:
    """Ein Jugendamt anlegen (Administration)."""
    from ..lifecycle.entities import Jugendamt

    report(run(ctx, lambda uow: _services().add_jugendamt(uow, actor, Jugendamt(jugendamt_id, name), reason)))


@click.group("traeger")
def traeger() -> None:
    """Träger anlegen."""


@traeger.command("add")
@click.argument("traeger_id", metavar="ID")
@click.option("--name", required=True)
@as_option
@reason_option
@with_db
def add_traeger(ctx, traeger_id, name, actor, reason) -> None:
    """Einen Träger anlegen (Administration)."""
    from ..lifecycle.entities import Traeger

    report(run(ctx, lambda uow: _services().add_traeger(uow, actor, Traeger(traeger_id, name), reason)))


# -- accounts: passwords, API tokens, one-time links (certflow.services.accounts) -----------------------------


def _secret_prompt(text: str) -> str:
    """A hidden prompt; no input (no terminal, end of input) is bad input (exit 2), not a traceback."""
    try:
        return click.prompt(text, hide_input=True, default="", show_default=False)
    except click.Abort:
        click.echo("\nAbgebrochen: kein Passwort eingegeben.", err=True)
        raise SystemExit(2) from None


@users.command("password")
@click.argument("user_id", metavar="BENUTZER")
@as_option
@click.option("--reason", default=None, metavar="TEXT", help="Warum (sonst: Passwort gesetzt durch …)")
@with_db
def password(ctx, user_id, actor, reason) -> None:
    """Das Passwort von BENUTZER setzen (verdeckte Eingabe): für sich selbst mit dem bisherigen, sonst
    durch die Administration."""
    current = _secret_prompt("Bisheriges Passwort (leer, wenn noch keines gesetzt ist)") if actor == user_id else None
    new = _secret_prompt("Neues Passwort")
    if _secret_prompt("Neues Passwort wiederholen") != new:
        click.echo("Fehler: die beiden Eingaben stimmen nicht überein; nichts geändert.", err=True)
        raise SystemExit(2)
    run(ctx, lambda uow: _services().set_password(uow, actor, user_id, new, reason=reason, current_password=current))
    click.echo(f"Passwort für {user_id} gesetzt.")


@users.command("token")
@click.argument("user_id", metavar="BENUTZER")
@click.option("--label", required=True, metavar="TEXT", help="Wofür (z. B. der Rechner), steht in der Liste")
@click.option("--expires", type=DATE, default=None, metavar="DATUM", help="Gültig bis einschließlich (JJJJ-MM-TT)")
@click.option("--scope", type=click.Choice(["write", "read"]), default="write", show_default=True,
              help="write: alles, was BENUTZER darf; read: nur lesen")
@as_option
@with_db
def token(ctx, user_id, label, expires, scope, actor) -> None:
    """Einen Zugangsschlüssel für die Kommandozeile erstellen; er wird nur dieses eine Mal angezeigt."""
    from datetime import datetime, time, timedelta

    from ..lifecycle.machinery import BERLIN

    until = datetime.combine(expires + timedelta(days=1), time(0), BERLIN) if expires else None
    new = run(ctx, lambda uow: _services().create_token(uow, actor, user_id, label=label, scope=scope,
                                                        expires_at=until))
    valid = f"gültig bis {expires:%d.%m.%Y}" if expires else "ohne Ablaufdatum"
    click.echo(f"Zugangsschlüssel {new.id} „{new.label}“ für {new.user_id} ({new.scope.value}, {valid}); "
               "er wird nur jetzt angezeigt:", err=True)
    click.echo(new.token)


@users.command("tokens")
@click.argument("user_id", metavar="BENUTZER")
@as_option
@with_db
def tokens(ctx, user_id, actor) -> None:
    """Die Zugangsschlüssel von BENUTZER (ohne die Schlüssel selbst)."""
    from rich.table import Table

    from ..lifecycle.machinery import BERLIN

    found = run(ctx, lambda uow: _services().list_tokens(uow, actor, user_id))

    def when(at):
        return at.astimezone(BERLIN).strftime("%d.%m.%Y %H:%M") if at else "–"

    table = Table(title=f"Zugangsschlüssel von {user_id} ({len(found)})")
    for column in ("Nr.", "Bezeichnung", "Umfang", "erstellt", "gültig bis", "zuletzt benutzt", "widerrufen"):
        table.add_column(column)
    for t in found:
        table.add_row(str(t.id), t.label, t.scope.value, when(t.created_at), when(t.expires_at),
                      when(t.last_used_at), when(t.revoked_at))
    make_console().print(table)


@users.command("token-revoke")
@click.argument("token_id", metavar="NR", type=int)
@as_option
@click.option("--reason", default=None, metavar="TEXT", help="Warum (steht im Prüfprotokoll)")
@with_db
def token_revoke(ctx, token_id, actor, reason) -> None:
    """Einen Zugangsschlüssel widerrufen (sein Inhaber oder die Administration)."""
    revoked = run(ctx, lambda uow: _services().revoke_token(uow, actor, token_id, reason=reason))
    click.echo(f"Zugangsschlüssel {revoked.id} „{revoked.label}“ von {revoked.user_id} widerrufen.")


@users.command("invite")
@click.argument("user_id", metavar="BENUTZER")
@click.option("--reset", is_flag=True, help="Einen Link zum Zurücksetzen statt zur Erstanmeldung senden")
@click.option("--url", "base_url", default="http://127.0.0.1:8000", show_default=True,
              help="Adresse der Webanwendung (für den Link in der E-Mail)")
@as_option
@with_db
def invite(ctx, user_id, reset, base_url, actor) -> None:
    """Einen Einmal-Link zum Festlegen des Passworts per E-Mail senden (über den Postausgang)."""
    from ..lifecycle.machinery import BERLIN

    purpose = "reset" if reset else "first_login"
    issued = run(ctx, lambda uow: _services().issue_one_time_link(uow, actor, user_id, purpose, base_url=base_url))
    until = issued.expires_at.astimezone(BERLIN)
    click.echo(f"Link für {issued.user_id} an {issued.email} in den Postausgang gelegt (gültig bis "
               f"{until:%d.%m.%Y %H:%M} Uhr); versandt wird er mit dem nächsten Lauf des Planers.")
