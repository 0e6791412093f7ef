"""The administration's registers on an NRW-sized database: before (the committed code) and after, in one run.

The pages ``/verwaltung/benutzer`` (first page and a search), ``/verwaltung/kitas`` (first page and a search)
and one user's page, requested as the administrator with FastAPI's TestClient (server time, no network): median
and 95th percentile of the time and every SQL statement of one request (the session check and ``BEGIN``
included). The database is the NRW data set that ``bench_web_scale.py`` generates and caches (186 Jugendämter,
3,500 Familienzentren with their Kitas and users; ``--db``, default: its newest cache file under ``/tmp``),
copied twice: one copy at migration 0006 for the baseline, one migrated to the head for the current code.

The baseline is the code of ``git HEAD`` (``git archive`` into a temporary folder, nothing in the working tree
touched), run in a child process on its copy; the figures of both come from the same run on the same (loaded)
machine, so compare the ratio rather than the absolute times.

    python benchmarks/bench_admin_registers.py [--runs 15] [--quick] [--db NRW.sqlite] [--json out.json]
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "Bench-Verwaltung-Kennwort-2026!"
PAGES = [
    ("Benutzer und Rollen", "/verwaltung/benutzer"),
    ("Benutzer: Suche", "/verwaltung/benutzer?suche=leitung&rolle=kita_lead&seite=3"),
    ("Kitas", "/verwaltung/kitas"),
    ("Kitas: Suche", "/verwaltung/kitas?suche=kita&seite=5"),
    ("Ein Benutzer", "/verwaltung/benutzer/{lead}"),
]
GOAL_QUERIES = 5


def measure(db: Path, runs: int) -> list[dict]:
    """Every page of :data:`PAGES` on ``db`` with the certflow that is imported (current or baseline)."""
    from fastapi.testclient import TestClient
    from sqlalchemy import event, text

    from certflow import services
    from certflow.services.runner import Application
    from certflow.settings import Settings
    from certflow.web import WebConfig, create_app

    app = Application(Settings(database_url=f"sqlite:///{db}"), after_commit=[])
    with app.engine.connect() as connection:
        admin = connection.execute(text("SELECT id FROM app_user WHERE role = 'admin' ORDER BY id")).scalar()
        lead = connection.execute(text("SELECT id FROM app_user WHERE role = 'kita_lead' ORDER BY id")).scalar()
    app.run(lambda uow: services.set_password(uow, admin, admin, PASSWORD, reason="Benchmark"))
    client = TestClient(create_app(app, WebConfig(secret_key="bench-schluessel-0123456789")),
                        raise_server_exceptions=True, follow_redirects=False)
    login = client.get("/anmelden").text
    token = login.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    assert client.post("/anmelden", data={"login": admin, "password": PASSWORD, "csrf_token": token}).status_code == 303
    rows = []
    for label, path in PAGES:
        path = path.format(lead=lead)
        counted: list[int] = []

        def listener(*_args, counted=counted) -> None:
            counted.append(1)
        response = client.get(path)  # warm-up: templates compiled
        assert response.status_code == 200, (path, response.status_code)
        times = []
        event.listen(app.engine, "before_cursor_execute", listener)
        try:
            for _ in range(runs):
                counted.clear()
                started = time.perf_counter()
                response = client.get(path)
                times.append((time.perf_counter() - started) * 1000)
                assert response.status_code == 200
        finally:
            event.remove(app.engine, "before_cursor_execute", listener)
        times.sort()
        rows.append({"page": label, "path": path, "median_ms": round(statistics.median(times), 1),
                     "p95_ms": round(times[min(len(times) - 1, round(0.95 * (len(times) - 1)))], 1),
                     "queries": len(counted), "kb": round(len(response.content) / 1024, 1)})
    app.close()
    return rows


def _cache(given: str | None) -> Path:
    if given:
        return Path(given)
    found = sorted(glob.glob("/tmp/certflow-bench-web-nrw-3500-*.sqlite"), key=os.path.getmtime)
    if not found:
        sys.exit("Keine NRW-Datenbank gefunden: bitte zuerst `python benchmarks/bench_web_scale.py --no-pg` laufen "
                 "lassen (legt sie unter /tmp an) oder --db angeben.")
    return Path(found[-1])


def _baseline_tree(folder: Path) -> Path:
    """The committed code (git HEAD) in ``folder``: certflow, templates, criteria, examples, pyproject.toml."""
    tree = folder / "baseline"
    tree.mkdir()
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", "HEAD", "certflow", "templates", "criteria",
                              "examples", "pyproject.toml"], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
    return tree


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--quick", action="store_true", help="5 runs per page")
    parser.add_argument("--db", default=None, help="the NRW database (SQLite file) to copy")
    parser.add_argument("--json", default=None, help="write the rows (the benchmarks' format) to this file")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)  # measure this copy, print JSON
    args = parser.parse_args()
    runs = 5 if args.quick else args.runs
    if args.child:
        import certflow

        assert Path(certflow.__file__).resolve().is_relative_to(Path.cwd()), certflow.__file__  # the baseline
        print(json.dumps(measure(Path(args.child), runs)))
        return

    from certflow.db import current_revision, downgrade, make_engine, upgrade

    source = _cache(args.db)
    with tempfile.TemporaryDirectory(prefix="certflow-bench-admin-") as tmp:
        folder = Path(tmp)
        before_db, after_db = folder / "vorher.sqlite", folder / "nachher.sqlite"
        shutil.copyfile(source, before_db)
        shutil.copyfile(source, after_db)
        if current_revision(f"sqlite:///{before_db}") != "0006":
            engine = make_engine(f"sqlite:///{before_db}")
            upgrade(engine)
            downgrade(engine, "0006")
            engine.dispose()
        engine = make_engine(f"sqlite:///{after_db}")
        upgrade(engine)
        engine.dispose()
        tree = _baseline_tree(folder)
        child = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child", str(before_db),
                                "--runs", str(runs)],
                               env={**os.environ, "PYTHONPATH": str(tree)}, cwd=tree, capture_output=True,
                               text=True)
        if child.returncode:
            sys.exit(f"Die Vergleichsmessung (git HEAD) ist gescheitert:\n{child.stderr[-3000:]}")
        before = json.loads(child.stdout.strip().splitlines()[-1])
        after = measure(after_db, runs)

    rows = []
    print(f"{'Seite':<22} {'vorher ms':>10} {'nachher ms':>10} {'p95 nachher':>11} {'Faktor':>7} "
          f"{'SQL vorher':>10} {'SQL nachher':>11} {'KB nachher':>10}")
    for b, a in zip(before, after, strict=True):
        ratio = round(a["median_ms"] / b["median_ms"], 3) if b["median_ms"] else None
        print(f"{a['page']:<22} {b['median_ms']:>10.1f} {a['median_ms']:>10.1f} {a['p95_ms']:>11.1f} "
              f"{ratio if ratio is not None else '–':>7} {b['queries']:>10} {a['queries']:>11} {a['kb']:>10.1f}")
        label = f"{a['page']} ({a['path'].split('?')[0]}), SQLite NRW"
        rows.append({"measure": f"{label}: Serverzeit Median", "figure": a["median_ms"], "unit": "ms",
                     "baseline": b["median_ms"], "baseline_label": "git HEAD, gleicher Lauf, gleiche Daten",
                     "ratio": ratio, "goal": "schneller als vorher", "met": a["median_ms"] < b["median_ms"],
                     "p95": a["p95_ms"]})
        rows.append({"measure": f"{label}: SQL-Anweisungen je Anfrage (mit Sitzungsprüfung und BEGIN)",
                     "figure": a["queries"], "unit": "queries", "baseline": b["queries"],
                     "baseline_label": "git HEAD, gleicher Lauf, gleiche Daten",
                     "ratio": round(a["queries"] / b["queries"], 3) if b["queries"] else None,
                     "goal": f"≤ {GOAL_QUERIES} SQL-Abfragen (ohne BEGIN)",
                     "met": a["queries"] - 1 <= GOAL_QUERIES})
    if args.json:
        Path(args.json).write_text(json.dumps(rows, ensure_ascii=False, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
