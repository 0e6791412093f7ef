"""Planning reminders for all of NRW: the full scan against a plain indexed query for due rows.

Generates an NRW-sized data set straight into a database (bulk inserts, fictional data):
186 Jugendämter, 3,500 Familienzentren (a quarter of them Verbünde, about 1.4 Kitas each),
their Kita leads, coordinators, auditors and the certification body with e-mail choices,
four terms of the seal per Familienzentrum (three renewed, the current one live or
lapsed), the procedure of every term with its state changes in the audit trail, the
running re-certifications of the year with a self-assessment revision (evidence with a
maximum age included), new Erst-Zertifizierungen and the contingents.

Then it measures, on the same database:

* **full scan** (planning + reconcile, no sending): ``certflow.scheduler.replan`` for
  everything: snapshot (bulk reads), the pure planner per Jugendamt, and the comparison
  with the ``reminder`` table (the first run fills it; the measured runs are the
  steady state of a scheduler that scans every few minutes);
* **indexed query**: ``SELECT key, due, payload FROM reminder WHERE due <= :d AND
  status = 'planned'`` (index ``ix_reminder_due_status``), what a design that only reads
  due rows would pay per scan.

* **incremental replan after one change**: one committed change at a time (a visit
  rescheduled, a seal term issued) through the unit of work, then the application's
  after-commit handler (``certflow.services.runner.replan_after``), which replans only the
  Familienzentrum touched; median and p95 against the indexed query (goal: at most twice it).

It reports the medians, their ratios and the goals (whole Land ≤ 5 s, incremental ≤ 2× the
query); ``--json PATH`` writes them as rows for the all-in-one runner::

    python benchmarks/bench_reminders.py                           # SQLite in a temporary file
    python benchmarks/bench_reminders.py --postgres                # and PostgreSQL (127.0.0.1, db test)
    python benchmarks/bench_reminders.py --db postgresql+psycopg://postgres@127.0.0.1/test
    python benchmarks/bench_reminders.py --quick --postgres --json reminders.json   # 500 FZ, under 2 minutes
    python benchmarks/bench_reminders.py --runs 9 --fz 3500 --as-of 2026-11-23 --whole

With PostgreSQL the data go into a fresh schema that is dropped afterwards (``--keep``
keeps it). ``--whole`` also times the unpartitioned planner once. The machine's load moves
the absolute figures; the ratios against the query of the same run move less.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, time as dtime, timedelta
from pathlib import Path

from rich.console import Console
from rich.table import Table
from sqlalchemy import text
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from certflow.calendar import validity_end  # noqa: E402
from certflow.db import make_engine, upgrade  # noqa: E402
from certflow.db.repositories.reminders import ReminderRepository  # noqa: E402
from certflow.lifecycle.machinery import BERLIN  # noqa: E402
from certflow.reminders import plan_reminders  # noqa: E402
from certflow.scheduler import replan  # noqa: E402
from certflow.scheduler.snapshot import load_snapshot  # noqa: E402

# The NRW data set: certflow.demo_land (what `certflow demo --scale nrw` builds), generated straight into the
# tables with its audit trail.
from certflow.demo_land import TABLES, Generator, load  # noqa: E402


def _n(value: float, digits: int = 0) -> str:
    """German number format: 36.999 and 4.871,5."""
    return f"{value:,.{digits}f}".replace(",", "_").replace(".", ",").replace("_", ".")


def median_seconds(fn, runs: int) -> tuple[float, list[float]]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), times


POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
GOAL_WHOLE_S = 5.0
GOAL_INCREMENTAL_X = 2.0


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]


def _row(measure: str, figure: float, unit: str, goal: str, met: bool | None, baseline: float | None = None,
         baseline_label: str = "") -> dict:
    return {"measure": measure, "figure": round(figure, 4), "unit": unit,
            "baseline": None if baseline is None else round(baseline, 4), "baseline_label": baseline_label,
            "ratio": None if baseline is None else round(figure / baseline, 3), "goal": goal, "met": met}


class Changes:
    """One committed change per call, alternating: a visit rescheduled (one procedure's dates change) and a
    seal term issued (one certificate): what the after-commit handler then replans, as the services' Result."""

    def __init__(self, engine, now: datetime, rows: dict[str, list[dict]]):
        from certflow.lifecycle.entities import Certificate

        self.engine, self.now, self.n = engine, now, 0
        self.procedures = [r["id"] for r in rows["procedure"] if r["state"] == "audit_scheduled"]
        self.terms = [r for r in rows["certificate"] if r["state"] == "recertification_due"]
        self.Certificate = Certificate

    def __call__(self):
        from certflow.db import UnitOfWork
        from certflow.services.common import Result

        self.n += 1
        with UnitOfWork(self.engine, clock=lambda: self.now) as uow:
            if self.n % 2 and self.procedures:
                procedure = uow.procedures.get(self.procedures[self.n % len(self.procedures)])
                procedure.planned_audit_date = self.now.date() + timedelta(days=10 + self.n % 30)
                uow.procedures.save(procedure, actor_id="u-admin-1", reason="Begehung verschoben (Benchmark)")
                return Result("procedure.changed", procedure=procedure)
            term = self.terms[self.n % len(self.terms)]
            issued = date(term["valid_until"].year, 6, 1) + timedelta(days=self.n)  # a later term: the old one ends
            cert = self.Certificate(term["number"], term["familienzentrum_id"], issued,
                                    validity_end(issued))
            uow.certificates.add(cert, actor_id="u-admin-1", reason="Urkunde ausgestellt (Benchmark)")
            return Result("certificate.issued", certificate=cert)


def measure(db: str | None, args, console: Console) -> list[dict]:
    """Generate the data into ``db`` (None: a temporary SQLite file), measure, return the JSON rows."""
    from certflow.services.runner import Application, replan_after

    as_of = date.fromisoformat(args.as_of)
    now = datetime.combine(as_of, dtime(8, 0), tzinfo=BERLIN).astimezone(UTC)
    admin = schema = None
    scratch = None
    if db and make_engine(db).dialect.name == "postgresql":
        from sqlalchemy.pool import NullPool

        admin = make_engine(db, poolclass=NullPool)
        schema = f"bench_{uuid.uuid4().hex[:10]}"
        with admin.begin() as connection:
            connection.execute(text(f"CREATE SCHEMA {schema}"))
        url = admin.url.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(False)
    elif db:
        url = db
    else:
        scratch = Path(tempfile.mkdtemp(prefix="certflow-bench-")) / "bench.sqlite"
        url = f"sqlite:///{scratch}"
    engine = make_engine(url)
    out: list[dict] = []
    try:
        upgrade(engine)
        started = time.perf_counter()
        rows = Generator(args.fz, as_of, args.seed).generate()
        load(engine, rows, console)
        console.print(f"Erzeugt und geschrieben in {_n(time.perf_counter() - started, 1)} s: "
                      + ", ".join(f"{_n(len(rows[n]))} {n}" for n, _ in TABLES))
        name = engine.dialect.name
        label = "SQLite" if name == "sqlite" else "PostgreSQL"

        started = time.perf_counter()
        first = replan(engine, now)
        first_seconds = time.perf_counter() - started
        console.print(f"Erster Lauf (füllt die Tabelle reminder): {_n(first_seconds, 2)} s, "
                      f"{_n(first.planned)} Erinnerungen")
        phases: list[dict[str, float]] = []
        scan_median, scan_times = median_seconds(lambda: phases.append(replan(engine, now).seconds), args.runs)

        def query():
            with Session(engine) as session:
                return ReminderRepository(session).due(as_of)

        def keys_only():
            with engine.connect() as connection:
                return connection.execute(text("SELECT key, due FROM reminder WHERE due <= :d AND status = 'planned'"),
                                          {"d": as_of}).all()

        due_rows = len(query())
        query_median, _ = median_seconds(query, args.query_runs)
        keys_median, _ = median_seconds(keys_only, args.query_runs)

        # the incremental replan: one committed change, then the application's after-commit handler
        app = Application(engine=engine, clock=lambda: now, check_schema=False)
        change = Changes(engine, now, rows)
        incremental: list[float] = []
        for _ in range(args.incremental_runs):
            result = change()
            started = time.perf_counter()
            replan_after(app, result)
            incremental.append(time.perf_counter() - started)
        if app.notes:
            raise SystemExit(f"Nachplanen fehlgeschlagen: {app.notes[-1]}")
        incremental_median = statistics.median(incremental)
        check = replan(engine, now)  # the whole Land after the changes: the incremental replans left nothing
        console.print(f"Ganzer Lauf nach {len(incremental)} Änderungen: +{check.added} neu, {check.refreshed} "
                      f"aktualisiert, {check.dropped} entfallen (0 erwartet)")

        table = Table(title=f"Erinnerungen planen: {_n(args.fz)} Familienzentren, {name}")
        table.add_column("Messung")
        table.add_column("Median", justify="right")
        table.add_column("Läufe", justify="right")
        table.add_row("erster voller Lauf (füllt die Tabelle)", f"{_n(first_seconds * 1000)} ms", "1")
        table.add_row("voller Lauf (Snapshot + Planung + Abgleich)", f"{_n(scan_median * 1000)} ms", str(args.runs))
        for phase in ("snapshot", "plan", "reconcile"):
            value = statistics.median(p[phase] for p in phases)
            table.add_row(f"  davon {phase}", f"{_n(value * 1000)} ms", "")
        table.add_row(f"indizierte Abfrage fälliger Zeilen mit payload ({_n(due_rows)} Zeilen)",
                      f"{_n(query_median * 1000, 2)} ms", str(args.query_runs))
        table.add_row("  nur key, due", f"{_n(keys_median * 1000, 2)} ms", str(args.query_runs))
        table.add_row("Nachplanen nach einer Änderung (replan_after)", f"{_n(incremental_median * 1000, 2)} ms",
                      str(len(incremental)))
        table.add_row("  p95", f"{_n(_p95(incremental) * 1000, 2)} ms", "")
        table.add_row("Verhältnis voller Lauf / Abfrage mit payload", f"{_n(scan_median / query_median)} ×", "")
        table.add_row("Verhältnis Nachplanen / Abfrage mit payload",
                      f"{_n(incremental_median / query_median, 2)} ×", "")
        console.print(table)
        console.print(f"Erinnerungen: {_n(first.planned)}; Läufe: "
                      + ", ".join(f"{_n(t * 1000)}" for t in scan_times) + " ms")
        with engine.connect() as connection:
            if engine.dialect.name == "sqlite":
                plan_rows = connection.exec_driver_sql(
                    "EXPLAIN QUERY PLAN SELECT key, due, payload FROM reminder WHERE due <= ? AND status = 'planned'",
                    (as_of.isoformat(),)).all()
                console.print("Abfrageplan: " + "; ".join(str(r[-1]) for r in plan_rows))
            else:
                plan_rows = connection.execute(text(
                    "EXPLAIN SELECT key, due, payload FROM reminder WHERE due <= :d AND status = 'planned'"),
                    {"d": as_of}).all()
                console.print("Abfrageplan: " + " | ".join(r[0].strip() for r in plan_rows))
        if args.whole:
            with Session(engine) as session:
                snapshot = load_snapshot(session, as_of)
            started = time.perf_counter()
            whole = plan_reminders(snapshot)
            console.print(f"Planer ungeteilt (plan_reminders auf dem ganzen Snapshot): "
                          f"{_n(time.perf_counter() - started, 1)} s für {_n(len(whole))} Erinnerungen")

        land = f"{_n(args.fz)} FZ, {_n(first.planned)} Erinnerungen, {label}"
        baseline_label = f"indizierte Abfrage der fälligen Zeilen ({_n(due_rows)} Zeilen mit payload), {label}"
        out += [
            _row(f"reminder replan (whole Land), first run filling the table ({land})", first_seconds, "s",
                 f"≤ {GOAL_WHOLE_S:g} s", first_seconds <= GOAL_WHOLE_S),
            _row(f"reminder replan (whole Land) ({land})", scan_median, "s", f"≤ {GOAL_WHOLE_S:g} s",
                 scan_median <= GOAL_WHOLE_S),
            _row(f"incremental replan after one change ({label}, median of {len(incremental)})",
                 incremental_median * 1000, "ms", f"≤ {GOAL_INCREMENTAL_X:g}×",
                 incremental_median <= GOAL_INCREMENTAL_X * query_median, query_median * 1000, baseline_label),
            _row(f"incremental replan after one change ({label}, p95)", _p95(incremental) * 1000, "ms",
                 f"≤ {GOAL_INCREMENTAL_X:g}×", _p95(incremental) <= GOAL_INCREMENTAL_X * query_median,
                 query_median * 1000, baseline_label),
        ]
    finally:
        engine.dispose()
        if admin is not None:
            if not args.keep:
                with admin.begin() as connection:
                    connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
            else:
                console.print(f"Schema behalten: {schema}")
            admin.dispose()
        if scratch is not None:
            if args.keep:
                console.print(f"Datei behalten: {scratch}")
            else:
                scratch.unlink(missing_ok=True)
                scratch.parent.rmdir()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", action="append", default=[],
                        help="Datenbank-URL, mehrfach möglich (sonst SQLite in einer temporären Datei)")
    parser.add_argument("--postgres", action="store_true",
                        help=f"zusätzlich PostgreSQL unter {POSTGRES_URL} messen (Env CERTFLOW_TEST_POSTGRES_URL)")
    parser.add_argument("--fz", type=int, default=None, help="Familienzentren (3500; --quick: 500)")
    parser.add_argument("--runs", type=int, default=None, help="gemessene volle Läufe (7; --quick: 3)")
    parser.add_argument("--query-runs", type=int, default=None, help="gemessene Abfragen (51; --quick: 21)")
    parser.add_argument("--incremental-runs", type=int, default=None,
                        help="gemessene Änderungen mit Nachplanen (41; --quick: 21)")
    parser.add_argument("--as-of", default="2026-11-23", help="Stichtag der Läufe (2026-11-23)")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--keep", action="store_true", help="Daten behalten (PostgreSQL-Schema / SQLite-Datei)")
    parser.add_argument("--whole", action="store_true", help="auch den Planer ungeteilt einmal messen")
    parser.add_argument("--quick", action="store_true", help="kurz: 500 Familienzentren, weniger Läufe")
    parser.add_argument("--json", metavar="PATH", help="Ergebniszeilen als JSON-Liste schreiben")
    args = parser.parse_args(argv)
    quick = args.quick
    args.fz = args.fz or (500 if quick else 3500)
    args.runs = args.runs or (3 if quick else 7)
    args.query_runs = args.query_runs or (21 if quick else 51)
    args.incremental_runs = args.incremental_runs or (21 if quick else 41)
    console = Console(highlight=False)
    databases: list[str | None] = list(args.db) or [None]
    if args.postgres:
        import os

        databases.append(os.environ.get("CERTFLOW_TEST_POSTGRES_URL", POSTGRES_URL))
    rows: list[dict] = []
    for db in databases:
        rows += measure(db, args, console)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    for row in rows:
        console.print(f"{'erfüllt' if row['met'] else 'VERFEHLT'}: {row['measure']}: {row['figure']} {row['unit']}"
                      + (f" ({row['ratio']} × {row['baseline']} {row['unit']})" if row["ratio"] is not None else "")
                      + f", Ziel {row['goal']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
