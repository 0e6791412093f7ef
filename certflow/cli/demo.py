"""``certflow demo``: a fresh SQLite database with a whole demo world, built through the services.

Two Jugendämter, a dozen Kitas, a Verbund of three and procedures in every
state (see :mod:`certflow.demo_data`); it prints what it made, the overview, the
users to pass to ``--as`` and commands to try. ``--today`` makes it
reproducible: the same day gives the same database and output.
"""

from __future__ import annotations

import shlex
from pathlib import Path

import click

from .console import make_console
from .session import DATE

DEFAULT_PATH = "certflow-demo.sqlite"


def _remove(path: Path) -> None:
    for suffix in ("", "-journal", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


@click.command()
@click.option("--db", "db_path", type=click.Path(dir_okay=False, path_type=Path), default=DEFAULT_PATH,
              show_default=True, help="SQLite-Datei der Demo (wird ersetzt, wenn es sie gibt)")
@click.option("--today", type=DATE, default=None, help="Stichtag der Demo (JJJJ-MM-TT; sonst heute)")
def demo(db_path: Path, today) -> None:
    """Legt eine Demo-Datenbank an: zwei Jugendämter, zwölf Kitas, Verfahren in jedem Zustand."""
    from ..catalogue.model import Form
    from ..db import UnitOfWork, make_engine, upgrade
    from ..demo_data import ADMIN, DemoClock, build_demo
    from ..lifecycle.machinery import local_date, utc_now
    from ..scheduler import replan
    from ..services import overview
    from .views import overview_table, users_table

    day = today or local_date(utc_now())
    if db_path.parent and not db_path.parent.is_dir():
        raise click.BadParameter(f"Ordner {db_path.parent} gibt es nicht", param_hint="--db")
    _remove(db_path)
    engine = make_engine(f"sqlite:///{db_path}")
    try:
        upgrade(engine)
        summary = build_demo(engine, day)
        with UnitOfWork(engine, clock=DemoClock.on(day)) as uow:
            rows = overview(uow, ADMIN, day)
        planned = replan(engine, DemoClock.on(day)()).planned  # fill the reminder table as of that day
    finally:
        engine.dispose()

    console = make_console()
    console.print(f"Demo-Datenbank {db_path} angelegt, Stand {day:%d.%m.%Y}.", soft_wrap=True)
    console.print("Angelegt: " + ", ".join(f"{n} {what}" for what, n in summary.counts.items()))
    from ..lifecycle.entities import CERTIFICATE_STATE_LABELS, PROCEDURE_STATE_LABELS

    console.print("Verfahren: " + ", ".join(f"{n} {PROCEDURE_STATE_LABELS[s]}" for s, n in _ordered(
        summary.states, PROCEDURE_STATE_LABELS)))
    console.print("Urkunden: " + ", ".join(f"{n} {CERTIFICATE_STATE_LABELS[s]}" for s, n in _ordered(
        summary.certificates, CERTIFICATE_STATE_LABELS)))
    console.print()
    console.print(overview_table(rows, day, title=f"Übersicht (als {ADMIN})"))
    console.print(users_table(summary.users, title="Benutzer für --as"))
    console.print(f"Erinnerungen geplant: {planned}; was am {day:%d.%m.%Y} fällig ist, zeigt:")
    console.print(f"  certflow --db {shlex.quote(str(db_path))} reminders plan --as-of {day.isoformat()}",
                  soft_wrap=True)

    by_fz = {row.familienzentrum_id: row for row in rows}
    db = shlex.quote(str(db_path))
    audited = by_fz["fz-kunterbunt"].procedure_id
    nominated = by_fz["fz-sonnenblume"].procedure_id
    verbund = next(r.familienzentrum_id for r in rows if r.form is Form.VERBUND)
    examples = [
        ("Übersicht, wie das Jugendamt Wiesental sie sieht", f"certflow --db {db} overview --as koord-wiesental"),
        ("Verlauf eines Verfahrens", f"certflow --db {db} history {audited} --as zert-1"),
        ("Zertifizieren (Vier-Augen-Prinzip)",
         f"certflow --db {db} procedure decide {audited} --outcome certify --as zert-2 "
         "--reason 'Alle Bereiche erfüllt'"),
        ("Abgelehnt (Exit-Code 3): ein Auditor entscheidet nicht",
         f"certflow --db {db} procedure decide {audited} --outcome certify --as auditor-1 --reason 'x'"),
        ("Anmelden", f"certflow --db {db} procedure register {nominated} --as leitung-sonnenblume --reason "
                     "'Einladung angenommen'"),
        ("Re-Zertifizierung eröffnen", f"certflow --db {db} certificate recertify fz-senfkorn --as zert-1 "
                                      "--reason 'Unterlagen versandt'"),
        ("Nach Ablauf des Siegels: neue Erst-Zertifizierung",
         f"certflow --db {db} procedure nominate fz-zechenhaus --kgj {summary.nomination_kgj} --as koord-hellbach "
         "--reason 'Beschluss des JHA'"),
        ("Austritt aus dem Verbund (kostet das Gütesiegel nicht)",
         f"certflow --db {db} verbund leave {verbund} k03 --as zert-1 --reason 'Trägerwechsel'"),
        ("Prüfprotokoll nachrechnen", f"certflow audit verify --url sqlite:///{db_path}"),
    ]
    console.print("Zum Ausprobieren:")
    for what, command in examples:
        console.print(f"  # {what}")
        console.print(f"  {command}", soft_wrap=True)


def _ordered(counts, labels):
    return [(state, counts[state]) for state in labels if counts.get(state)]
