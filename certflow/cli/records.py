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
from .session import as_option, reason_option, report, run, with_db

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
    """Benutzer anlegen und auflisten."""


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
