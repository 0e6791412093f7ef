"""Server time and SQL queries of each role's main pages: the demo against an NRW-sized database.

Two worlds, measured the same way in one run:

* **Demo**: ``certflow demo --no-documents --today 2026-03-10`` into a temporary folder (two Jugendämter,
  a dozen Kitas);
* **NRW**: the generated data set of :mod:`certflow.demo_land` (its :class:`Generator`: 186 Jugendämter,
  3,500 Familienzentren, four terms of the seal each with their procedures and audit trail, the users
  of every role), as of 2026-11-23. On SQLite it is generated once into a cache file
  (``--db``, default under ``/tmp``) and reused by later runs; each run works on a copy, so the cache
  stays as generated.

In both worlds the same rule picks whom to log in as (their password set through
:func:`certflow.services.set_password`, the login done through ``/anmelden``): the largest Jugendamt's
first coordinator, the first Kita lead there whose procedure is in development (for its
self-assessment), the auditor with the most assigned procedures, the first certifier, the administrator.
Each page is requested ``--runs`` times (after one warm-up) with FastAPI's TestClient (in this process:
the time is the server's, without a network); per page the median and 95th percentile of the time
and the SQL of one request (a ``before_cursor_execute`` listener on the application's engine): the
page's own queries (without the login's session check and without transaction control such as SQLite's
``BEGIN IMMEDIATE``) and every statement (with them). The table puts demo and NRW side by side with their
ratio and says, for the pages of issues 10 and 12 (each role's start page, the coordinator's dashboard,
list and exports, the certification body's desk, the auditor's assignments), whether the goal is met:
at most 5 queries of the page, median under 100 ms on the NRW database.

``--json PATH`` writes the rows of the issue's table (``measure``, ``figure``, ``unit``, ``baseline``: the
same page on the small world of the same run, ``ratio``, ``goal``, ``met``): per page and database the
median time, the page's queries, and the statements with the session check. ``--quick`` (under two
minutes): SQLite only, 3 requests a page, and a generated world of 60 Familienzentren instead of the
demo (building that takes about a minute).

With PostgreSQL (default ``postgresql+psycopg://postgres@127.0.0.1:5432/test``; ``--no-pg`` skips it)
both worlds are built again in two fresh databases (``CREATE DATABASE bench_web_…``; the demo through
:func:`certflow.demo_data.build_demo`, what ``certflow demo`` runs), which are dropped afterwards.

    python benchmarks/bench_web_scale.py [--runs 30] [--no-pg] [--db /tmp/nrw.sqlite] [--json out.json] [--quick]
    python benchmarks/bench_web_scale.py --no-pg --profile "Zertifizierung: Verfahren@nrw"  # cProfile of a page

``--profile LABEL[@demo|@nrw]`` (a label of the table, repeatable) builds only the world it needs and prints
the cProfile of three requests instead of measuring (a profiler in each thread the TestClient starts).
The NRW data lack what the generator does not write: audit visits, decisions, dialogue, evidence files,
full self-assessments; the pages that read those are measured on what there is.
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import io
import json
import os
import pstats
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from rich.console import Console
from rich.table import Table
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool
from web_timing import DAY, logged_in, measure

from certflow.cli.serve import running_from
from certflow.db import make_engine, upgrade
from certflow.demo_data import build_demo, set_demo_passwords
from certflow.services import exports, set_password
from certflow.services.runner import Application
from certflow.settings import Settings

from certflow import demo_land as _generator
from certflow.demo_land import TABLES, Generator, load  # the NRW data set of `certflow demo --scale nrw`

NRW_DAY = date(2026, 11, 23)
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
ROLES = ("kita_lead", "coordinator", "auditor", "certifier", "admin")
ROLE_LABELS = {"kita_lead": "Kita-Leitung", "coordinator": "Koordination", "auditor": "Auditor",
               "certifier": "Zertifizierung", "admin": "Verwaltung"}
GOAL_QUERIES, GOAL_MS = 5, 100.0
GOAL = f"≤ {GOAL_QUERIES} SQL-Abfragen, p50 < {GOAL_MS:.0f} ms"
"""The goal of issues 10 and 12 for the pages of :data:`GOAL_PAGES` on the NRW database: queries of the page
itself (without the login's session check and transaction control), server time median."""
GOAL_PAGES = frozenset({
    *(f"Startseite ({label})" for label in ROLE_LABELS.values()),
    "Koordination: Übersicht", "Koordination: Familienzentren", "Koordination: Export XLSX",
    "Koordination: Export CSV", "Zertifizierung: Verfahren", "Auditor: Meine Begehungen",
})
QUICK_FZ = 60
"""In ``--quick`` the small world is generated (as many Familienzentren as ``certflow demo --scale kreis``)
instead of built through the services as the demo is (about a minute)."""


@dataclass
class World:
    """One database behind an Application, whom to log in as, and what is in it."""

    name: str
    app: Application
    users: dict[str, str]                       # role -> user id
    passwords: dict[str, str]                   # user id -> password
    procedure: str                              # the Kita lead's procedure in development
    jugendamt: tuple[str, int]                  # the largest Jugendamt and its number of Familienzentren
    counts: dict[str, int] = field(default_factory=dict)
    secret: str = ""                            # the coordinator's calendar subscription


# -- choosing whom to log in as (the same rule in both worlds) ------------------------------------------------

def _one(connection, sql: str, **params):
    row = connection.execute(text(sql), params).first()
    if row is None:
        raise SystemExit(f"Nichts gefunden für: {sql} {params}")
    return row


def choose(engine) -> tuple[dict[str, str], str, tuple[str, int], dict[str, int]]:
    """Role -> user id, the lead's procedure, the largest Jugendamt and the table sizes."""
    with engine.connect() as c:
        ja, n_fz = _one(c, "SELECT jugendamt_id, count(*) FROM familienzentrum GROUP BY jugendamt_id "
                           "ORDER BY count(*) DESC, jugendamt_id LIMIT 1")
        users = {
            "coordinator": _one(c, "SELECT id FROM app_user WHERE role = 'coordinator' AND jugendamt_id = :ja "
                                   "ORDER BY id LIMIT 1", ja=ja)[0],
            "auditor": _one(c, "SELECT auditor_id FROM procedure WHERE auditor_id IS NOT NULL GROUP BY auditor_id "
                               "ORDER BY count(*) DESC, auditor_id LIMIT 1")[0],
            "certifier": _one(c, "SELECT id FROM app_user WHERE role = 'certifier' ORDER BY id LIMIT 1")[0],
            "admin": _one(c, "SELECT id FROM app_user WHERE role = 'admin' ORDER BY id LIMIT 1")[0],
        }
        lead = ("SELECT u.id, p.id FROM procedure p JOIN familienzentrum f ON f.id = p.familienzentrum_id "
                "JOIN app_user u ON u.familienzentrum_id = f.id AND u.role = 'kita_lead' "
                "WHERE p.state = 'in_development' ORDER BY f.jugendamt_id <> :ja, f.id, u.id LIMIT 1")
        users["kita_lead"], procedure = _one(c, lead, ja=ja)
        counts = {name: c.execute(text(f"SELECT count(*) FROM {name}")).scalar_one()
                  for name in ("jugendamt", "familienzentrum", "kita", "app_user", "procedure", "certificate",
                               "audit_log")}
    return users, procedure, (ja, n_fz), counts


def _password(user_id: str) -> str:
    return f"Bench-{hashlib.sha256(user_id.encode()).hexdigest()[:8]}-Kennwort!"


def open_world(name: str, app: Application, passwords: dict[str, str] | None) -> World:
    """The world on ``app``'s database: choose the users, give them passwords unless ``passwords`` are given
    (the demo's logins), and a calendar subscription for the coordinator."""
    users, procedure, jugendamt, counts = choose(app.engine)
    if passwords is None:
        admin = users["admin"]
        passwords = {uid: _password(uid) for uid in users.values()}

        def give(uow):
            for uid, password in passwords.items():
                set_password(uow, admin, uid, password, reason="Benchmark-Zugang")
        app.run(give)
    made = app.run(lambda uow: exports.create_calendar_subscription(uow, users["coordinator"], "Benchmark"))
    return World(name, app, users, passwords, procedure, jugendamt, counts, made.facts["secret"])


# -- the pages --------------------------------------------------------------------------------------------------

def pages(world: World) -> list[tuple[str, str, str]]:
    """(label, role, path) of the main pages; the same labels in every world."""
    rows = [(f"Startseite ({ROLE_LABELS[r]})", r, "/start") for r in ROLES]
    rows += [
        ("Koordination: Übersicht", "coordinator", "/koordination"),
        ("Koordination: Familienzentren", "coordinator", "/koordination/familienzentren"),
        ("Koordination: Export XLSX", "coordinator", "/koordination/familienzentren.xlsx"),
        ("Koordination: Export CSV", "coordinator", "/koordination/familienzentren.csv"),
        ("Koordination: Kalender-Feed", "coordinator", f"/kalender/{world.secret}/jugendamt.ics"),
        ("Zertifizierung: Verfahren", "certifier", "/zertifizierung"),
        ("Verwaltung: Benutzer", "admin", "/verwaltung/benutzer"),
        ("Verwaltung: Kitas", "admin", "/verwaltung/kitas"),
        ("Auditor: Meine Begehungen", "auditor", "/begehungen"),
        ("Kita: Meine Aufgaben", "kita_lead", "/aufgaben"),
        ("Kita: Selbstbewertung", "kita_lead", f"/selbstbewertung/{world.procedure}"),
    ]
    return rows


def measure_world(world: World, runs: int, console: Console) -> dict[str, dict]:
    clients = {role: logged_in(world.app, uid, world.passwords[uid]) for role, uid in world.users.items()}
    results = {}
    for label, role, path in pages(world):
        started = time.perf_counter()
        size = len(clients[role].get(path).content)
        results[label] = {"role": role, "kb": round(size / 1024, 1), **measure(world.app, clients[role], path, runs)}
        r = results[label]
        console.print(f"  {world.name}: {label}: {r['median_ms']:.1f} ms, {r['queries']} SQL, {r['kb']:.0f} KB "
                      f"({time.perf_counter() - started:.0f} s)")
    return results


def profile_page(world: World, label: str, console: Console, top: int = 30) -> None:
    """cProfile of three requests of ``label`` as its role; the functions with the most cumulative time.

    The TestClient serves each request in threads of its own (the event loop of a portal, the route in a
    worker thread), so a profiler is started in every thread that begins while the requests run and their
    statistics are added up."""
    role, path = next((r, p) for lbl, r, p in pages(world) if lbl == label)
    client = logged_in(world.app, world.users[role], world.passwords[world.users[role]])
    client.get(path)
    profilers: list[cProfile.Profile] = []

    def start(*_args) -> None:  # the first event of a new thread: from here on its own profiler records
        sys.setprofile(None)
        profiler = cProfile.Profile()
        profilers.append(profiler)
        profiler.enable()

    threading.setprofile(start)
    try:
        for _ in range(3):
            assert client.get(path).status_code == 200, path
    finally:
        threading.setprofile(None)
    out = io.StringIO()
    stats = pstats.Stats(*profilers, stream=out)
    stats.strip_dirs().sort_stats("cumulative").print_stats(top)
    console.print(f"[bold]cProfile {world.name}: {label} ({path}), 3 Abrufe, {len(profilers)} Threads[/bold]")
    console.print(out.getvalue(), markup=False, highlight=False)


# -- building the worlds ----------------------------------------------------------------------------------------

def demo_sqlite(folder: Path, console: Console) -> Application:
    """``certflow demo --no-documents`` into ``folder``; an Application on a copy of it."""
    source = folder / "demo-quelle"
    source.mkdir()
    started = time.perf_counter()
    env = {**os.environ, "CERTFLOW_EVIDENCE_DIR": str(source / "certflow-evidence")}
    subprocess.run([sys.executable, "-c", "from certflow.cli import main; main()", "demo", "--db",
                    str(source / "demo.sqlite"), "--no-documents", "--today", DAY.isoformat()],
                   check=True, env=env, cwd=source, stdout=subprocess.DEVNULL)
    console.print(f"Demo (certflow demo --no-documents) gebaut in {time.perf_counter() - started:.1f} s")
    target = folder / "demo.sqlite"
    shutil.copy(source / "demo.sqlite", target)
    return Application(Settings(database_url=f"sqlite:///{target}", evidence_dir=source / "certflow-evidence"),
                       clock=running_from(DAY))


def nrw_rows(n_fz: int, seed: int) -> dict[str, list[dict]]:
    return Generator(n_fz, NRW_DAY, seed).generate()


def generated_sqlite(folder: Path, name: str, n_fz: int, seed: int, console: Console) -> Application:
    """A world of ``n_fz`` generated Familienzentren (as the NRW one) in a new file under ``folder``."""
    started = time.perf_counter()
    target = folder / f"{name}.sqlite"
    engine = make_engine(f"sqlite:///{target}")
    try:
        upgrade(engine)
        load(engine, nrw_rows(n_fz, seed))
    finally:
        engine.dispose()
    console.print(f"{n_fz} Familienzentren erzeugt in {time.perf_counter() - started:.1f} s")
    return Application(Settings(database_url=f"sqlite:///{target}", evidence_dir=folder / f"{name}-belege"),
                       clock=running_from(NRW_DAY))


def cache_path(n_fz: int, seed: int) -> Path:
    """Where the NRW database is kept between runs: named by size, seed, day and the generator's source (a
    changed generator makes a new cache)."""
    source = hashlib.sha256(Path(_generator.__file__).read_bytes()).hexdigest()[:8]
    return Path(tempfile.gettempdir()) / f"certflow-bench-web-nrw-{n_fz}-{seed}-{NRW_DAY}-{source}.sqlite"


def nrw_sqlite(cache: Path, folder: Path, n_fz: int, seed: int, rebuild: bool, console: Console) -> Application:
    """The NRW world on a copy of ``cache`` (generated into it first if it does not exist)."""
    if rebuild or not cache.exists():
        started = time.perf_counter()
        partial = cache.with_name(cache.name + f".{os.getpid()}.part")
        engine = make_engine(f"sqlite:///{partial}")
        try:
            upgrade(engine)
            rows = nrw_rows(n_fz, seed)
            load(engine, rows, console)
        finally:
            engine.dispose()
        partial.replace(cache)
        console.print(f"NRW-Datenbank erzeugt in {time.perf_counter() - started:.1f} s: {cache}")
    else:
        console.print(f"NRW-Datenbank aus dem Zwischenspeicher: {cache}")
    target = folder / "nrw.sqlite"
    shutil.copy(cache, target)
    engine = make_engine(f"sqlite:///{target}")
    upgrade(engine)  # a cache from an older schema is brought to the head revision (on the copy)
    engine.dispose()
    return Application(Settings(database_url=f"sqlite:///{target}", evidence_dir=folder / "nrw-belege"),
                       clock=running_from(NRW_DAY))


class PgDatabases:
    """Fresh PostgreSQL databases for the run, dropped at the end."""

    def __init__(self, url: str):
        self.base = make_url(url)
        self.admin = make_engine(self.base, poolclass=NullPool, isolation_level="AUTOCOMMIT")
        self.made: list[str] = []

    def create(self, stem: str) -> str:
        name = f"bench_web_{stem}_{uuid.uuid4().hex[:8]}"
        with self.admin.connect() as c:
            c.execute(text(f'CREATE DATABASE "{name}"'))
        self.made.append(name)
        return self.base.set(database=name).render_as_string(hide_password=False)

    def drop_all(self) -> None:
        with self.admin.connect() as c:
            for name in self.made:
                c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self.admin.dispose()


def demo_pg(dbs: PgDatabases, folder: Path, console: Console) -> Application:
    url = dbs.create("demo")
    started = time.perf_counter()
    engine = make_engine(url)
    settings = Settings(database_url=url, evidence_dir=folder / "demo-pg-belege")
    try:
        upgrade(engine)
        build_demo(engine, DAY, settings=settings)
    finally:
        engine.dispose()
    console.print(f"Demo auf PostgreSQL (build_demo) gebaut in {time.perf_counter() - started:.1f} s")
    return Application(settings, clock=running_from(DAY))


def nrw_pg(dbs: PgDatabases, folder: Path, n_fz: int, seed: int, console: Console) -> Application:
    url = dbs.create("nrw")
    started = time.perf_counter()
    engine = make_engine(url)
    try:
        upgrade(engine)
        load(engine, nrw_rows(n_fz, seed), console)
        with engine.begin() as c:
            for name, _ in TABLES:
                c.execute(text(f"ANALYZE {name}"))
    finally:
        engine.dispose()
    console.print(f"NRW-Datenbank auf PostgreSQL erzeugt in {time.perf_counter() - started:.1f} s")
    return Application(Settings(database_url=url, evidence_dir=folder / "nrw-pg-belege"), clock=running_from(NRW_DAY))


# -- reporting --------------------------------------------------------------------------------------------------

def _ratio(a: float, b: float) -> str:
    return f"{a / b:.1f}×" if b else "–"


def _met(label: str, row: dict) -> bool | None:
    if label not in GOAL_PAGES:
        return None
    return row["page_queries"] <= GOAL_QUERIES and row["median_ms"] < GOAL_MS


def report(backend: str, demo: World, nrw: World, rows: list[tuple[str, dict, dict]], console: Console) -> None:
    title = (f"{backend}: Serverzeit (ms) und SQL je Seite, {demo.name} ({demo.counts['familienzentrum']} FZ) "
             f"gegen NRW ({nrw.counts['familienzentrum']} FZ); SQL: Abfragen der Seite / mit Sitzungsprüfung und "
             f"BEGIN; Ziel: {GOAL}")
    table = Table(title=title)
    for column in ("Seite", "Rolle", f"{demo.name} Median", f"{demo.name} SQL", "NRW Median", "NRW p95",
                   "NRW SQL", "NRW KB", f"NRW/{demo.name} Zeit", "Ziel"):
        table.add_column(column, justify="left" if column in ("Seite", "Rolle") else "right", no_wrap=True)
    for label, d, n in rows:
        met = _met(label, n)
        table.add_row(label, ROLE_LABELS[d["role"]], f"{d['median_ms']:.1f}", f"{d['page_queries']} / {d['queries']}",
                      f"{n['median_ms']:.1f}", f"{n['p95_ms']:.1f}", f"{n['page_queries']} / {n['queries']}",
                      f"{n['kb']:.0f}", _ratio(n["median_ms"], d["median_ms"]),
                      "–" if met is None else ("erfüllt" if met else "[red]verfehlt[/red]"))
    console.print(table)
    for world in (demo, nrw):
        console.print(f"{world.name}: " + ", ".join(f"{v} {k}" for k, v in world.counts.items())
                      + f"; größtes Jugendamt {world.jugendamt[0]} mit {world.jugendamt[1]} FZ; angemeldet als "
                      + ", ".join(f"{ROLE_LABELS[r]} {u}" for r, u in world.users.items())
                      + f"; Selbstbewertung {world.procedure}", soft_wrap=True)


def issue_rows(backend: str, demo: World, rows: list[tuple[str, dict, dict]]) -> list[dict]:
    """The rows of the issue's table (the ``--json`` format of the benchmarks): per page on the NRW database its
    median server time and its queries, each against the same page on the small world of the same run."""
    out = []
    baseline = f"{demo.name} ({demo.counts['familienzentrum']} FZ), gleicher Lauf"
    for label, d, n in rows:
        goal = label in GOAL_PAGES
        out.append({"measure": f"{label}, {backend} NRW: Serverzeit Median", "figure": n["median_ms"], "unit": "ms",
                    "baseline": d["median_ms"], "baseline_label": baseline,
                    "ratio": round(n["median_ms"] / d["median_ms"], 2) if d["median_ms"] else None,
                    "goal": f"p50 < {GOAL_MS:.0f} ms" if goal else "",
                    "met": n["median_ms"] < GOAL_MS if goal else None, "p95": n["p95_ms"]})
        out.append({"measure": f"{label}, {backend} NRW: SQL-Abfragen der Seite (ohne Sitzungsprüfung)",
                    "figure": n["page_queries"], "unit": "queries", "baseline": d["page_queries"],
                    "baseline_label": baseline,
                    "ratio": round(n["page_queries"] / d["page_queries"], 2) if d["page_queries"] else None,
                    "goal": f"≤ {GOAL_QUERIES} SQL-Abfragen" if goal else "",
                    "met": n["page_queries"] <= GOAL_QUERIES if goal else None})
        out.append({"measure": f"{label}, {backend} NRW: SQL-Anweisungen mit Sitzungsprüfung und BEGIN",
                    "figure": n["queries"], "unit": "queries", "baseline": d["queries"], "baseline_label": baseline,
                    "ratio": round(n["queries"] / d["queries"], 2) if d["queries"] else None,
                    "goal": f"Sitzungsprüfung: {n['session_queries']} Anweisungen" if goal else "", "met": None})
    return out


def run_backend(backend: str, make_demo: Callable[[], Application], make_nrw: Callable[[], Application], args,
                console: Console) -> list[dict]:
    """Build both worlds, measure every page in both and print the table; with ``--profile`` only the worlds
    the profiled pages need are built, and those pages are profiled instead of measured."""
    targets = [(label, which) for label, _, which in (t.partition("@") for t in args.profile or ())]
    apps: list[Application] = []
    try:
        demo = nrw = None
        if not targets or any(which != "nrw" for _, which in targets):
            apps.append(make_demo())
            if args.quick:
                demo = open_world("Klein", apps[-1], None)
            else:
                demo = open_world("Demo", apps[-1], apps[-1].run(lambda uow: set_demo_passwords(uow, DAY)))
        if not targets or any(which != "demo" for _, which in targets):
            apps.append(make_nrw())
            nrw = open_world("NRW", apps[-1], None)
        if targets:
            for label, which in targets:
                for world in {"demo": (demo,), "nrw": (nrw,)}.get(which, (demo, nrw)):
                    profile_page(world, label, console)
            return []
        console.print(f"[bold]{backend}[/bold]: Messung mit {args.runs} Abrufen je Seite")
        measured = {world.name: measure_world(world, args.runs, console) for world in (demo, nrw)}
        rows = [(label, measured[demo.name][label], measured[nrw.name][label]) for label, _, _ in pages(nrw)]
        report(backend, demo, nrw, rows, console)
        return issue_rows(backend, demo, rows)
    finally:
        for app in apps:
            app.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=30, help="Abrufe je Seite (30)")
    ap.add_argument("--fz", type=int, default=3500, help="Familienzentren der NRW-Datenbank (3500)")
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--db", type=Path, help="Zwischenspeicher der NRW-Datenbank (SQLite; sonst unter /tmp)")
    ap.add_argument("--rebuild", action="store_true", help="den Zwischenspeicher neu erzeugen")
    ap.add_argument("--pg", default=PG_URL, help=f"PostgreSQL-Server (Standard {PG_URL})")
    ap.add_argument("--no-pg", action="store_true", help="nur SQLite")
    ap.add_argument("--no-sqlite", action="store_true", help="nur PostgreSQL")
    ap.add_argument("--profile", action="append", metavar="SEITE[@demo|@nrw]",
                    help="statt der Messung: cProfile dieser Seite (Bezeichnung aus der Tabelle), mehrfach möglich")
    ap.add_argument("--json", type=Path, help="die Zeilen der Tabelle des Tickets als JSON (measure, figure, unit, "
                                              "baseline, baseline_label, ratio, goal, met)")
    ap.add_argument("--quick", action="store_true",
                    help=f"schnell (unter 2 Minuten): nur SQLite, 3 Abrufe je Seite, statt der Demo {QUICK_FZ} "
                         "erzeugte Familienzentren")
    args = ap.parse_args()
    if args.quick:
        args.no_pg, args.runs = True, min(args.runs, 3)
    console = Console(width=max(Console().width, 200))
    cache = args.db or cache_path(args.fz, args.seed)
    results: list[dict] = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="certflow-bench-web-") as tmp:
        folder = Path(tmp)
        if not args.no_sqlite:
            small = (lambda: generated_sqlite(folder, "klein", QUICK_FZ, args.seed, console)) if args.quick \
                else (lambda: demo_sqlite(folder, console))
            results += run_backend(
                "SQLite", small,
                lambda: nrw_sqlite(cache, folder, args.fz, args.seed, args.rebuild, console), args, console)
        if not args.no_pg:
            dbs = PgDatabases(args.pg)
            try:
                results += run_backend("PostgreSQL", lambda: demo_pg(dbs, folder, console),
                                       lambda: nrw_pg(dbs, folder, args.fz, args.seed, console), args, console)
            finally:
                dbs.drop_all()
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, ensure_ascii=False), encoding="utf-8")
    console.print(f"Gesamt: {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
