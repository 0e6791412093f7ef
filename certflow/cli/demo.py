"""``certflow demo``: a fresh SQLite database with a whole demo world, built through the services.

Two Jugendämter, a dozen Kitas, a Verbund of three and procedures in every
state (see :mod:`certflow.demo_data`); it prints what it made, the overview, the
users to pass to ``--as`` and commands to try: the administrator's with
``certflow --local-admin``, the other users' with a token file each, written first by
``certflow --local-admin users token USER > USER.token``. ``--today`` makes it
reproducible: the same day gives the same database, output and documents.

The documents (unless ``--no-documents``): the audit packet of every procedure with a
submitted self-assessment (``<procedure>.pdf``), the Qualitätsprofil of every decided
procedure (``<procedure>-qualitaetsprofil.pdf``) and the Urkunde of every seal, newest term
(``<number>-urkunde.pdf``). A packet signed off while the demo was built is written as the
sign-off rendered it (the bytes whose SHA-256 it stored, so it is not rendered twice); the
others are rendered by :func:`certflow.packet.render_batch` with two workers that read the
new database themselves (:mod:`certflow.services.rendering`). The folder (default
``certflow-demo-dokumente`` next to the database) is replaced on every run, carefully: a file
``.certflow-demo`` in it lists what the demo wrote; the next run deletes exactly those files
and leaves anything else alone. A folder that is not empty and has no such list is not the
demo's: the demo refuses it (exit 2) before changing anything.
"""

from __future__ import annotations

import shlex
import sys
from dataclasses import dataclass
from pathlib import Path

import click

from .console import make_console
from .session import DATE, EXIT_INPUT, app_for

DEFAULT_PATH = "certflow-demo.sqlite"
DOCUMENTS_DIR = "certflow-demo-dokumente"
WRITTEN_LIST = ".certflow-demo"  # in the documents folder: the files the demo wrote there, one a line


def _remove(path: Path) -> None:
    for suffix in ("", "-journal", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def _check_documents_dir(folder: Path) -> None:
    """Refuse (exit 2) a path that is a file, or a non-empty folder the demo did not write."""
    if folder.exists() and not folder.is_dir():
        raise click.BadParameter(f"{folder} ist eine Datei, kein Ordner", param_hint="'--documents'")
    if folder.is_dir() and any(folder.iterdir()) and not (folder / WRITTEN_LIST).is_file():
        click.echo(f"Der Ordner {folder} ist nicht leer und stammt nicht von certflow demo (keine Datei "
                   f"{WRITTEN_LIST}); bitte einen anderen Ordner mit --documents angeben oder ihn leeren.", err=True)
        raise SystemExit(EXIT_INPUT)


def _clear_documents_dir(folder: Path) -> None:
    """Delete the PDF files the previous run listed in ``.certflow-demo`` (and the list); nothing else."""
    listed = folder / WRITTEN_LIST
    if not listed.is_file():
        return
    for name in listed.read_text(encoding="utf-8").splitlines():
        path = folder / name
        if name.endswith(".pdf") and Path(name).name == name and path.is_file():  # a PDF in this folder only
            path.unlink()
    listed.unlink()


@dataclass
class _Documents:
    files: dict[str, Path]           # document (job id) -> file written
    failed: list[tuple[str, str]]    # document -> German message
    packets: list[str]               # procedure ids (written)
    skipped: list[str]               # procedure ids of packets not rendered (without --all-documents)
    profiles: list[str]              # procedure ids (decided)
    seals: list[str]                 # seal numbers


def _documents(db_path: Path, folder: Path, day, actor: str, signed: dict[str, bytes], settings,
               progress: bool, all_packets: bool = False) -> _Documents:
    """Write the demo's documents into ``folder``; ``signed`` are the packets the sign-offs rendered (written
    as they are). The packets of the other procedures are rendered only with ``all_packets`` (the slow part)."""
    from ..demo_data import DemoClock
    from ..packet import render_batch, write_pdf
    from ..services.rendering import document_jobs, documents_of
    from ..services.runner import Application

    app = Application(settings.with_(database_url=f"sqlite:///{db_path}"), clock=DemoClock.on(day), after_commit=())
    try:
        listing = app.run(lambda uow: documents_of(uow, actor))
        jobs = document_jobs(app, actor, listing, at=app.now(),
                             rendered=frozenset(p for p in listing.packets if signed.get(p) or not all_packets))
    finally:
        app.close()
    packets = [p for p in listing.packets if signed.get(p) or all_packets]
    _clear_documents_dir(folder)
    folder.mkdir(parents=True, exist_ok=True)
    names = [f"{p}.pdf" for p in packets if signed.get(p)] + [f"{j.id}.pdf" for j in jobs]
    (folder / WRITTEN_LIST).write_text("".join(f"{name}\n" for name in sorted(names)), encoding="utf-8")
    files = {}
    for p in packets:
        if signed.get(p):
            write_pdf(folder / f"{p}.pdf", signed[p])
            files[p] = folder / f"{p}.pdf"
    report = render_batch(jobs, folder, workers=2, progress=progress)
    files.update((item.job_id, item.path) for item in report.ok)
    skipped = sorted(p for p in listing.packets if p not in packets)
    return _Documents(files, report.failed, packets, skipped, list(listing.profiles), list(listing.seals))


class _BuildProgress:
    """A progress bar on stderr while the demo is built: on a terminal, or wherever ``--progress`` asks for it."""

    def __init__(self, enabled: bool | None, label: str = "Demo aufbauen"):
        self._bar = self._task = None
        self._label = label
        if enabled is None:
            enabled = sys.stdout.isatty()
        if enabled:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            forced = not sys.stderr.isatty()
            self._bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TimeElapsedColumn(), console=Console(stderr=True, force_terminal=forced or None),
                                 transient=not forced)

    def __enter__(self):
        if self._bar is not None:
            self._bar.start()
            self._task = self._bar.add_task(self._label, total=None)
        return self if self._bar is not None else None

    def __call__(self, done: int, total: int, label: str) -> None:
        self._bar.update(self._task, completed=done, total=total, description=f"{self._label}: {label}")

    def __exit__(self, *exc) -> None:
        if self._bar is not None:
            self._bar.stop()


def _scale(ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    """``--scale``: one of the sizes of :data:`certflow.demo_land.SCALES`, else a German error and exit 2."""
    if value is None:
        return None
    from ..demo_land import SCALES

    if value.strip().lower() not in SCALES:
        click.echo(f"Fehler: --scale „{value}“ gibt es nicht; erlaubt sind: {', '.join(SCALES)}.", err=True)
        ctx.exit(EXIT_INPUT)
    return value.strip().lower()


@click.command()
@click.option("--db", "db_path", type=click.Path(dir_okay=False, path_type=Path), default=DEFAULT_PATH,
              show_default=True, help="SQLite-Datei der Demo (wird ersetzt, wenn es sie gibt)")
@click.option("--today", type=DATE, default=None, help="Stichtag der Demo (JJJJ-MM-TT; sonst heute)")
@click.option("--documents", "documents_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              metavar="ORDNER",
              help=f"Ordner für Auditpakete, Qualitätsprofile und Urkunden (sonst {DOCUMENTS_DIR} neben der "
                   "Datenbank; wird ersetzt)")
@click.option("--no-documents", is_flag=True, help="Keine PDF-Dokumente erzeugen (schneller)")
@click.option("--all-documents", is_flag=True,
              help="Auch die Auditpakete der Verfahren, die nicht abgezeichnet sind (langsamer)")
@click.option("--serve", is_flag=True,
              help="Danach die Webanwendung starten (127.0.0.1:8000) und die Demo-Zugänge ausgeben")
@click.option("--scale", default=None, metavar="[kreis|nrw]", callback=_scale, expose_value=True,
              help="Statt der kleinen Demo ein ganzes Land in Masse erzeugen: kreis (drei Jugendämter, 60 "
                   "Familienzentren) oder nrw (186 Jugendämter, 3.500 Familienzentren); ohne Dokumente")
@click.option("--seed", type=int, default=2026, show_default=True, help="Startwert des Zufalls für --scale")
@click.option("--progress/--no-progress", "show_progress", default=None,
              help="Fortschrittsbalken auf stderr (sonst nur im Terminal)")
def demo(db_path: Path, today, documents_dir: Path | None, no_documents: bool, all_documents: bool = False,
         serve: bool = False, scale: str | None = None, seed: int = 2026, show_progress: bool | None = None) -> None:
    """Legt eine Demo-Datenbank an: zwei Jugendämter, zwölf Kitas, Verfahren in jedem Zustand.

    Dazu die abgezeichneten Auditpakete, die Qualitätsprofile und die Urkunden der Demo als PDF in
    einem Ordner (--all-documents: auch die übrigen Auditpakete). Er wird bei jedem Lauf ersetzt:
    gelöscht werden nur die PDF-Dateien, die die Demo zuvor dort geschrieben hat (Liste in
    .certflow-demo); ein anderer, nicht leerer Ordner wird abgelehnt (Exit 2). Exit 1, wenn ein
    Dokument nicht erstellt werden konnte.

    Mit --scale kreis oder --scale nrw entsteht stattdessen ein ganzes, erfundenes Land (Träger,
    Kitas mit Koordinaten, Einzel- und Verbund-Familienzentren, vier Laufzeiten des Gütesiegels mit
    ihren Verfahren, Kontingente, Benutzer jeder Rolle, das Prüfprotokoll), gleich für gleiches
    --seed und --today, und je Rolle ein Demo-Zugang mit Passwort.
    """
    if scale is not None:
        if serve or documents_dir is not None or all_documents:
            click.echo("Fehler: --scale erzeugt keine Dokumente und startet keinen Server; --documents, "
                       "--all-documents und --serve gehen nur mit der kleinen Demo.", err=True)
            raise SystemExit(EXIT_INPUT)
        _land(db_path, today, scale, seed, show_progress)
        return
    from ..catalogue.model import Form
    from ..demo_data import ADMIN, make_demo
    from ..lifecycle.machinery import local_date, utc_now
    from .views import overview_table, users_table

    day = today or local_date(utc_now())
    settings = app_for(click.get_current_context()).settings  # evidence store and templates of the deployment
    if db_path.parent and not db_path.parent.is_dir():
        raise click.BadParameter(f"Ordner {db_path.parent} gibt es nicht", param_hint="--db")
    folder = None if no_documents else (documents_dir or db_path.parent / DOCUMENTS_DIR)
    if folder is not None:
        if folder.resolve() == db_path.resolve():
            raise click.BadParameter("der Ordner der Dokumente kann nicht die Datenbank sein", param_hint="--documents")
        _check_documents_dir(folder)
    _remove(db_path)
    with _BuildProgress(show_progress) as progress:
        summary, rows, planned = make_demo(db_path, day, progress, settings=settings)

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
    db = shlex.quote(str(db_path))
    # the demo's administrator is the machine's administrator account unless CERTFLOW_ADMIN_USER names another
    local = f"certflow --db {db} --local-admin" if settings.admin_user == ADMIN else \
        f"CERTFLOW_ADMIN_USER={ADMIN} certflow --db {db} --local-admin"
    console.print(f"Erinnerungen geplant: {planned}; was am {day:%d.%m.%Y} fällig ist, zeigt:")
    console.print(f"  {local} reminders plan --as-of {day.isoformat()}", soft_wrap=True)

    by_fz = {row.familienzentrum_id: row for row in rows}
    audited = by_fz["fz-kunterbunt"].procedure_id
    documents = None
    if folder is not None:
        documents = _documents(db_path, folder, day, ADMIN, summary.packets, settings,
                               progress=sys.stdout.isatty() if show_progress is None else show_progress,
                               all_packets=all_documents)
        console.print(f"Dokumente: {len(documents.files)} PDF in {folder} ({len(documents.packets)} Auditpakete, "
                      f"{len(documents.profiles)} Qualitätsprofile, {len(documents.seals)} Urkunden)", soft_wrap=True)
        if documents.skipped:
            console.print(f"  Nicht abgezeichnet, daher ohne PDF (--all-documents): {', '.join(documents.skipped)}",
                          soft_wrap=True)
        for job_id, message in documents.failed:
            console.print(f"  Fehler {job_id}: {message}", soft_wrap=True)
    nominated = by_fz["fz-sonnenblume"].procedure_id
    verbund = next(r.familienzentrum_id for r in rows if r.form is Form.VERBUND)
    with_token: set[str] = set()

    def example(what: str, command: str, user: str | None = None) -> tuple[str, list[str]]:
        """A command to try; with ``user``, ``{as}`` becomes ``--as USER --token-file USER.token``, and before
        the user's first command comes the line that writes their token into that file."""
        if user is None:
            return what, [command]
        make = [] if user in with_token else [f"{local} users token {user} --label Demo > {user}.token"]
        with_token.add(user)
        return what, [*make, command.replace("{as}", f"--as {user} --token-file {user}.token")]

    examples = [
        example("Übersicht, wie das Jugendamt Wiesental sie sieht",
                f"certflow --db {db} overview {{as}}", "koord-wiesental"),
        example("Verlauf eines Verfahrens (als Administration dieses Rechners)", f"{local} history {audited}"),
        example("Zertifizieren (Vier-Augen-Prinzip)",
                f"certflow --db {db} procedure decide {audited} --outcome certify {{as}} "
                "--reason 'Alle Bereiche erfüllt'", "zert-2"),
        example("Abgelehnt (Exit-Code 3): ein Auditor entscheidet nicht",
                f"certflow --db {db} procedure decide {audited} --outcome certify {{as}} --reason 'x'", "auditor-1"),
        example("Anmelden", f"certflow --db {db} procedure register {nominated} {{as}} --reason "
                            "'Einladung angenommen'", "leitung-sonnenblume"),
        example("Re-Zertifizierung eröffnen", f"certflow --db {db} certificate recertify fz-senfkorn {{as}} "
                                              "--reason 'Unterlagen versandt'", "zert-1"),
        example("Nach Ablauf des Siegels: neue Erst-Zertifizierung",
                f"certflow --db {db} procedure nominate fz-zechenhaus --kgj {summary.nomination_kgj} {{as}} "
                "--reason 'Beschluss des JHA'", "koord-hellbach"),
        example("Austritt aus dem Verbund (kostet das Gütesiegel nicht)",
                f"certflow --db {db} verbund leave {verbund} k03 {{as}} --reason 'Trägerwechsel'", "zert-1"),
        example("Prüfprotokoll nachrechnen", f"certflow audit verify --url sqlite:///{db_path}"),
        example("Alle Auditpakete eines Jugendamts als PDF, parallel (Exit 1, wenn eines scheitert)",
                f"certflow --db {db} packet --all --jugendamt ja-wiesental -o pakete {{as}}", "koord-wiesental"),
    ]
    written = documents.files if documents is not None else {}
    if audited in written:  # signed off by its auditor in the demo: the file is the packet signed off
        examples.append(example("Ein Auditpaket der Demo mit der bei der Abzeichnung gespeicherten SHA-256 "
                                "vergleichen", f"{local} packet verify {shlex.quote(str(written[audited]))}"))
    console.print("Zum Ausprobieren. Wer handelt, weist sich aus: die Administration dieses Rechners mit "
                  "--local-admin, alle anderen mit einem Zugangsschlüssel, den certflow users token einmal "
                  "ausgibt (hier in eine Datei je Benutzer; sonst in CERTFLOW_TOKEN). Im Terminal geht auch das "
                  "Passwort (certflow users password).")
    for what, commands in examples:
        console.print(f"  # {what}")
        for command in commands:
            console.print(f"  {command}", soft_wrap=True)
    if documents is not None and documents.failed:
        raise SystemExit(1)
    if serve:  # the web application on the demo database, logins printed (certflow.cli.serve)
        from .serve import serve_demo

        serve_demo(db_path, day)


def _ordered(counts, labels):
    return [(state, counts[state]) for state in labels if counts.get(state)]


def _land(db_path: Path, today, scale: str, seed: int, show_progress: bool | None) -> None:
    """``certflow demo --scale``: the Land of :mod:`certflow.demo_land`, what it made, how long it took, the logins."""
    import time

    from rich.table import Table

    from ..demo_land import make_land
    from ..lifecycle.entities import Role
    from ..lifecycle.machinery import local_date, utc_now

    day = today or local_date(utc_now())
    settings = app_for(click.get_current_context()).settings
    if db_path.parent and not db_path.parent.is_dir():
        raise click.BadParameter(f"Ordner {db_path.parent} gibt es nicht", param_hint="--db")
    started = time.perf_counter()
    _remove(db_path)
    with _BuildProgress(show_progress, label="Land erzeugen") as progress:
        land = make_land(db_path, scale, day, seed, progress, settings=settings)
    seconds = time.perf_counter() - started
    console = make_console()
    took = f"{seconds:.1f}".replace(".", ",")
    console.print(f"Demo-Datenbank {db_path} angelegt ({land.scale.label}, Startwert {seed}), Stand {day:%d.%m.%Y}, "
                  f"in {took} s.", soft_wrap=True)
    console.print("Angelegt: " + ", ".join(f"{_n(n)} {what}" for what, n in land.counts.items()), soft_wrap=True)
    table = Table(title="Demo-Zugänge (Passwort nur für die Demo)")
    for column in ("Benutzer", "Name", "Rolle", "Passwort"):
        table.add_column(column, no_wrap=True)
    for user_id, name, role, password in land.logins:
        table.add_row(user_id, name, Role(role).label, password)
    console.print(table)
    db = shlex.quote(str(db_path))
    console.print("Prüfprotokoll nachrechnen:")
    console.print(f"  certflow audit verify --url sqlite:///{db_path}", soft_wrap=True)
    console.print("Webanwendung (Anmelden mit einem der Demo-Zugänge):")
    console.print(f"  certflow --db {db} serve", soft_wrap=True)


def _n(value: int) -> str:
    """German thousands: 3.500."""
    return f"{value:,}".replace(",", ".")
