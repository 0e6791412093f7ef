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

It reports the medians and their ratio::

    python benchmarks/bench_reminders.py                           # SQLite in a temporary file
    python benchmarks/bench_reminders.py --db postgresql+psycopg://postgres@127.0.0.1/test
    python benchmarks/bench_reminders.py --runs 9 --fz 3500 --as-of 2026-11-23 --whole

With PostgreSQL the data go into a fresh schema that is dropped afterwards (``--keep``
keeps it). ``--whole`` also times the unpartitioned planner once (about half a minute).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, time as dtime, timedelta
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import insert, text, update
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from certflow.calendar import KindergartenYear, first_certification_period, recertification_period  # noqa: E402
from certflow.calendar import validity_end  # noqa: E402
from certflow.db import make_engine, upgrade  # noqa: E402
from certflow.db.repositories.reminders import ReminderRepository  # noqa: E402
from certflow.db.tables import (  # noqa: E402
    AppUserRow, AssessmentRevisionRow, AuditHeadRow, AuditLogRow, CertificateRow, ContingentRow,
    FamilienzentrumMemberRow, FamilienzentrumRow, JugendamtRow, KitaRow, ProcedureRow, TraegerRow, UserContactRow,
)
from certflow.lifecycle.machinery import BERLIN  # noqa: E402
from certflow.reminders import plan_reminders  # noqa: E402
from certflow.scheduler import replan  # noqa: E402
from certflow.scheduler.snapshot import load_snapshot  # noqa: E402

JUGENDAEMTER = 186  # NRW
TRAEGER = 400
AUDITORS = 60
CERTIFIERS = 8
CHAIN = ["nominated", "registered", "in_development", "submitted", "audit_scheduled", "audited", "certified"]
RUNNING = [("registered", 0.3), ("in_development", 0.4), ("submitted", 0.1), ("changes_requested", 0.05),
           ("audit_scheduled", 0.1), ("audited", 0.05)]
BATCH = 5000


def _pick(rnd: random.Random, weighted):
    x, acc = rnd.random(), 0.0
    for value, weight in weighted:
        acc += weight
        if x < acc:
            return value
    return weighted[-1][0]


class Generator:
    """Rows per table, deterministic for a seed; ``as_of`` is the day the scan pretends it is."""

    def __init__(self, n_fz: int, as_of: date, seed: int):
        self.n_fz, self.as_of, self.rnd = n_fz, as_of, random.Random(seed)
        self.rows: dict[str, list[dict]] = {name: [] for name in (
            "jugendamt", "traeger", "kita", "familienzentrum", "familienzentrum_member", "app_user", "user_contact",
            "certificate", "procedure", "audit_log", "assessment_revision", "contingent")}
        self.stamp = datetime(as_of.year - 20, 1, 1, tzinfo=UTC)
        self.seq = 0

    def _audit(self, at: datetime, subject_id: str, event: str, from_state: str | None, to_state: str) -> None:
        self.seq += 1
        digest = hashlib.sha256(f"bench-{self.seq}".encode()).hexdigest()
        self.rows["audit_log"].append(dict(
            seq=self.seq, at=at, actor_id="u-admin-1", action=f"procedure.{event}", subject_kind="procedure",
            subject_id=subject_id, from_state=from_state, to_state=to_state, reason="Benchmark", payload="{}",
            prev_hash="0" * 64, hash=digest))

    def _user(self, uid: str, name: str, role: str, *, ja=None, fz=None) -> None:
        rnd = self.rnd
        self.rows["app_user"].append(dict(id=uid, name=name, role=role, jugendamt_id=ja, familienzentrum_id=fz,
                                          traeger_id=None))
        if rnd.random() < 0.9:
            self.rows["user_contact"].append(dict(
                user_id=uid, email=f"{uid}@example.org", updated_at=self.stamp,
                preference=_pick(rnd, [("immediate", 0.7), ("daily", 0.2), ("weekly", 0.1)])))

    def generate(self) -> dict[str, list[dict]]:
        rnd, as_of, rows = self.rnd, self.as_of, self.rows
        current = KindergartenYear.of(as_of)
        for j in range(JUGENDAEMTER):
            ja = f"ja-{j:03d}"
            rows["jugendamt"].append(dict(id=ja, name=f"Jugendamt NRW {j + 1:03d}"))
            for k in range(rnd.choice((1, 1, 2))):
                self._user(f"u-coord-{j:03d}-{k}", f"Koordination {j + 1}/{k + 1}", "coordinator", ja=ja)
            for kgj in (current, current.next()):
                granted = rnd.randint(0, 2)
                rows["contingent"].append(dict(jugendamt_id=ja, kgj=kgj.start_year, granted=granted,
                                               nominated=rnd.randint(0, granted), returned=0, carried_in=0,
                                               carried_out=0, version=1))
        for t in range(TRAEGER):
            rows["traeger"].append(dict(id=f"tr-{t:03d}", name=f"Träger {t + 1}"))
        for a in range(AUDITORS):
            self._user(f"u-aud-{a:02d}", f"Auditor {a + 1}", "auditor")
        for c in range(CERTIFIERS):
            self._user(f"u-cert-{c}", f"Zertifizierungsstelle {c + 1}", "certifier")
        rows["app_user"].append(dict(id="u-admin-1", name="Administration", role="admin", jugendamt_id=None,
                                     familienzentrum_id=None, traeger_id=None))
        kita_no = 0
        new_erst = min(150, self.n_fz // 20)
        for i in range(self.n_fz):
            ja = f"ja-{rnd.randrange(JUGENDAEMTER):03d}"
            fz = f"fz-{i:04d}"
            verbund = rnd.random() < 0.22
            members = []
            for _ in range(rnd.choice((2, 2, 3)) if verbund else 1):
                kita = f"k-{kita_no:05d}"
                kita_no += 1
                members.append(kita)
                rows["kita"].append(dict(id=kita, name=f"Kita {kita_no}", traeger_id=f"tr-{rnd.randrange(TRAEGER):03d}",
                                         jugendamt_id=ja, street=f"Weg {kita_no}", postcode="40000", city="NRW",
                                         lat=51.0 + rnd.random(), lon=7.0 + rnd.random(), version=1))
                rows["familienzentrum_member"].append(dict(familienzentrum_id=fz, kita_id=kita,
                                                           joined_on=date(2008, 8, 1), left_on=None))
            rows["familienzentrum"].append(dict(id=fz, name=f"Familienzentrum {i + 1}",
                                                form="verbund" if verbund else "einzel", jugendamt_id=ja,
                                                zuschussempfaenger_id=members[0], certificate_number=None,
                                                radius_exception_reason=None, version=1))
            self._user(f"u-lead-{i:04d}", f"Leitung {i + 1}", "kita_lead", fz=fz)
            if rnd.random() < 0.4:
                self._user(f"u-lead-{i:04d}b", f"Leitung {i + 1}b", "kita_lead", fz=fz)
            if i >= self.n_fz - new_erst:
                self._erst(fz, i, current)
            else:
                self._terms(fz, i)
        return rows

    def _procedure(self, pid: str, fz: str, kind: str, kgj: KindergartenYear, period, state: str,
                   first_day: date, *, auditor=None, audit_date=None) -> None:
        rnd = self.rnd
        self.rows["procedure"].append(dict(
            id=pid, familienzentrum_id=fz, kind=kind, catalogue_key="familienzentrum-nrw@2020", kgj=kgj.start_year,
            period_start=period[0], period_end=period[1], state=state, auditor_id=auditor, version=CHAIN.index(state)
            if state in CHAIN else 3, submitted_revision=None, planned_audit_date=audit_date, contingent_id=None))
        steps = CHAIN[: CHAIN.index(state) + 1] if state in CHAIN else CHAIN[:4] + [state]
        day = first_day
        previous = None
        for step in steps:
            at = datetime.combine(min(day, self.as_of), dtime(9, 0), tzinfo=BERLIN)
            self._audit(at, pid, "open" if previous is None else step, previous, step)
            previous = step
            day += timedelta(days=rnd.randint(10, 60))

    def _revision(self, pid: str, saved: date) -> None:
        rnd = self.rnd
        evidence = [{"items": ["1.2"], "kind": "fortbildung", "title": "Fortbildung Interkulturelle Öffnung",
                     "date": date(rnd.choice((2017, 2019, 2022, 2024)), rnd.randint(1, 12), 1).isoformat(), "hours": 8},
                    {"items": ["1.4"], "kind": "konzept", "title": "Verweiskonzept", "date": "2025-03-01"}]
        text_ = json.dumps({"catalogue": "familienzentrum-nrw", "catalogue_version": "2020", "procedure": "re",
                            "form": "einzel", "evidence": evidence}, sort_keys=True, separators=(",", ":"))
        self.rows["assessment_revision"].append(dict(
            procedure_id=pid, revision=1, canonical_json=text_, sha256=hashlib.sha256(text_.encode()).hexdigest(),
            created_at=datetime.combine(saved, dtime(10, 0), tzinfo=BERLIN), created_by="u-admin-1",
            submitted=False, submitted_at=None, submitted_by=None, passed=None))

    def _erst(self, fz: str, i: int, kgj: KindergartenYear) -> None:
        state = _pick(self.rnd, [("nominated", 0.3), ("registered", 0.4), ("in_development", 0.3)])
        pid = f"P-{i:04d}-E"
        self._procedure(pid, fz, "erst", kgj, first_certification_period(kgj), state, kgj.start)
        self._revision(pid, min(self.as_of, kgj.start + timedelta(days=60)))

    def _terms(self, fz: str, i: int) -> None:
        rnd, as_of = self.rnd, self.as_of
        phase = i % 4
        last_issue = date(as_of.year - phase, 6, 1)
        if last_issue > as_of:
            last_issue = date(last_issue.year - 4, 6, 1)
        number = f"FZ-{last_issue.year - 12}-{i:04d}"
        lapsed = rnd.random() < 0.03
        for cycle in range(4):
            issued = date(last_issue.year - 4 * (3 - cycle), 6, 1)
            until = validity_end(issued)
            latest = cycle == 3
            if not latest:
                state = "renewed"
            elif lapsed and until < as_of:
                state = "expired"
            elif until < as_of:
                state = "renewed"  # the next term exists in reality; keep the history consistent
            else:
                state = "recertification_due" if KindergartenYear.of(as_of) == KindergartenYear.of(until) else "valid"
            self.rows["certificate"].append(dict(number=number, familienzentrum_id=fz, issued=issued,
                                                 valid_until=until, state=state, version=1))
            kgj = KindergartenYear.of(issued) if cycle == 0 else KindergartenYear.of(issued)
            if cycle == 0:
                self._procedure(f"P-{i:04d}-{cycle}", fz, "erst", kgj, first_certification_period(kgj), "certified",
                                kgj.start)
            else:
                previous_until = validity_end(date(issued.year - 4, 6, 1))
                start, end = recertification_period(previous_until)
                self._procedure(f"P-{i:04d}-{cycle}", fz, "re", KindergartenYear.of(previous_until), (start, end),
                                "certified", start)
            if latest and state == "recertification_due":  # this year's re-certification is running
                start, end = recertification_period(until)
                state_ = _pick(rnd, RUNNING)
                auditor = f"u-aud-{rnd.randrange(AUDITORS):02d}" if state_ in ("audit_scheduled", "audited") else None
                audit_day = as_of + timedelta(days=rnd.randint(1, 40)) if state_ == "audit_scheduled" else None
                pid = f"P-{i:04d}-R"
                self._procedure(pid, fz, "re", KindergartenYear.of(until), (start, end), state_,
                                start - timedelta(days=rnd.randint(20, 90)), auditor=auditor, audit_date=audit_day)
                self._revision(pid, as_of - timedelta(days=rnd.randint(0, 120)))


TABLES = [
    ("jugendamt", JugendamtRow), ("traeger", TraegerRow), ("kita", KitaRow), ("familienzentrum", FamilienzentrumRow),
    ("familienzentrum_member", FamilienzentrumMemberRow), ("app_user", AppUserRow),
    ("user_contact", UserContactRow), ("contingent", ContingentRow), ("certificate", CertificateRow),
    ("procedure", ProcedureRow), ("assessment_revision", AssessmentRevisionRow), ("audit_log", AuditLogRow),
]


def load(engine, rows: dict[str, list[dict]], console: Console) -> None:
    total = sum(len(rows[name]) for name, _ in TABLES)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console) as progress, Session(engine) as session, session.begin():
        overall = progress.add_task("Datensatz schreiben", total=total)
        for name, row_cls in TABLES:
            data = rows[name]
            task = progress.add_task(f"  {name}", total=len(data))
            for start in range(0, len(data), BATCH):
                chunk = data[start:start + BATCH]
                session.execute(insert(row_cls.__table__), chunk)
                progress.advance(task, len(chunk))
                progress.advance(overall, len(chunk))
        head = AuditHeadRow.__table__
        last = rows["audit_log"][-1]
        session.execute(update(head).where(head.c.id == 1).values(last_seq=last["seq"], last_hash=last["hash"]))


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", help="Datenbank-URL (sonst SQLite in einer temporären Datei)")
    parser.add_argument("--fz", type=int, default=3500, help="Familienzentren (3500)")
    parser.add_argument("--runs", type=int, default=7, help="gemessene volle Läufe (7)")
    parser.add_argument("--query-runs", type=int, default=51, help="gemessene Abfragen (51)")
    parser.add_argument("--as-of", default="2026-11-23", help="Stichtag der Läufe (2026-11-23)")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--keep", action="store_true", help="Daten behalten (PostgreSQL-Schema / SQLite-Datei)")
    parser.add_argument("--whole", action="store_true", help="auch den Planer ungeteilt einmal messen (langsam)")
    args = parser.parse_args(argv)
    console = Console(highlight=False)
    as_of = date.fromisoformat(args.as_of)
    now = datetime.combine(as_of, dtime(8, 0), tzinfo=BERLIN).astimezone(UTC)

    admin = schema = None
    scratch = None
    if args.db and make_engine(args.db).dialect.name == "postgresql":
        from sqlalchemy.pool import NullPool

        admin = make_engine(args.db, poolclass=NullPool)
        schema = f"bench_{uuid.uuid4().hex[:10]}"
        with admin.begin() as connection:
            connection.execute(text(f"CREATE SCHEMA {schema}"))
        url = admin.url.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(False)
    elif args.db:
        url = args.db
    else:
        scratch = Path(tempfile.mkdtemp(prefix="certflow-bench-")) / "bench.sqlite"
        url = f"sqlite:///{scratch}"
    engine = make_engine(url)
    try:
        upgrade(engine)
        started = time.perf_counter()
        rows = Generator(args.fz, as_of, args.seed).generate()
        load(engine, rows, console)
        console.print(f"Erzeugt und geschrieben in {_n(time.perf_counter() - started, 1)} s: "
                      + ", ".join(f"{_n(len(rows[n]))} {n}" for n, _ in TABLES))

        first = replan(engine, now)
        console.print(f"Erster Lauf (füllt die Tabelle reminder): {_n(sum(first.seconds.values()), 2)} s, "
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

        table = Table(title=f"Erinnerungen planen: {_n(args.fz)} Familienzentren, {engine.dialect.name}")
        table.add_column("Messung")
        table.add_column("Median", justify="right")
        table.add_column("Läufe", justify="right")
        table.add_row("voller Lauf (Snapshot + Planung + Abgleich)", f"{_n(scan_median * 1000)} ms", str(args.runs))
        for phase in ("snapshot", "plan", "reconcile"):
            value = statistics.median(p[phase] for p in phases)
            table.add_row(f"  davon {phase}", f"{_n(value * 1000)} ms", "")
        table.add_row(f"indizierte Abfrage fälliger Zeilen mit payload ({_n(due_rows)} Zeilen)",
                      f"{_n(query_median * 1000, 2)} ms", str(args.query_runs))
        table.add_row("  nur key, due", f"{_n(keys_median * 1000, 2)} ms", str(args.query_runs))
        table.add_row("Verhältnis voller Lauf / Abfrage mit payload", f"{_n(scan_median / query_median)} ×", "")
        table.add_row("Verhältnis voller Lauf / Abfrage nur key, due", f"{_n(scan_median / keys_median)} ×", "")
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
    return 0


if __name__ == "__main__":
    sys.exit(main())
