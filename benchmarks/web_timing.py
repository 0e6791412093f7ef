"""What the web benchmarks share: the demo behind the web app, logins, and the server time and SQL queries per page.

* :func:`demo_application`: an application on a private copy of the demo (built, or ``--db`` copied) and its logins;
* :func:`logged_in`: FastAPI's TestClient logged in as one user (in this process: the time is the server's);
* :func:`timed` / :func:`measure`: a request ``runs`` times: median and 95th percentile of the time, and the SQL
  statements one request runs (a ``before_cursor_execute`` listener on the application's engine), split into
  the login's session check (:func:`certflow.services.session_user`) and the page's own, and the page's
  queries without transaction control (SQLite's ``BEGIN IMMEDIATE`` is a statement, not a query);
* :func:`demo_session`, :func:`report`: the command line (``--runs``, ``--db``, ``--json``) and the printed table;
* :func:`run_bench`: all of that for a role whose pages are plain GETs.

The benchmarks are run as ``python benchmarks/bench_web_x.py``, so they import this as a sibling module.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

from fastapi.testclient import TestClient
from rich.console import Console
from rich.table import Table
from sqlalchemy import event

from certflow import services
from certflow.cli.serve import running_from
from certflow.db import make_engine, upgrade
from certflow.demo_data import build_demo, set_demo_passwords
from certflow.services.runner import Application
from certflow.settings import Settings
from certflow.web import WebConfig, create_app

DAY = date(2026, 3, 10)
CSRF = 'name="csrf_token" value="'

Request = Callable[[], tuple[str, object]]
"""One request of a benchmark: returns (the path shown, the response)."""


def demo_application(folder: Path, db: Path | None, console: Console) -> tuple[Application, dict[str, str]]:
    """An application on a private copy of the demo (built here unless ``db`` is given) and the demo logins."""
    target = folder / "demo.sqlite"
    evidence = folder / "belege"
    if db is not None:
        shutil.copy(db, target)
        evidence = db.parent / "certflow-evidence"
    else:
        started = time.perf_counter()
        engine = make_engine(f"sqlite:///{target}")
        upgrade(engine)
        build_demo(engine, DAY, settings=Settings(database_url=f"sqlite:///{target}", evidence_dir=evidence))
        engine.dispose()
        console.print(f"Demo gebaut in {time.perf_counter() - started:.1f} s")
    app = Application(Settings(database_url=f"sqlite:///{target}", evidence_dir=evidence), clock=running_from(DAY))
    return app, app.run(lambda uow: set_demo_passwords(uow, DAY))


def logged_in(app: Application, user_id: str, password: str) -> TestClient:
    client = TestClient(create_app(app, WebConfig(secret_key="bench-schluessel-0123456789")),
                        raise_server_exceptions=True, follow_redirects=False)
    page = client.get("/anmelden").text
    token = page.split(CSRF, 1)[1].split('"', 1)[0]
    response = client.post("/anmelden", data={"login": user_id, "password": password, "csrf_token": token})
    assert response.status_code == 303, response.text[:200]
    return client


TRANSACTION = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")
_checking = threading.local()


@contextlib.contextmanager
def session_checks_marked() -> Iterator[None]:
    """While inside, the statements the login's session check sends (:func:`certflow.services.session_user`, as
    ``certflow.web.auth`` calls it) are told apart: the thread that runs it is marked meanwhile."""
    original = services.session_user

    def marked(*args, **kwargs):
        _checking.active = True
        try:
            return original(*args, **kwargs)
        finally:
            _checking.active = False

    services.session_user = marked
    try:
        yield
    finally:
        services.session_user = original


def timed(app: Application, request: Request, label: str, runs: int, *, warm: bool = True) -> dict:
    """``request()`` ``runs`` times (after one warm-up unless ``warm`` is false: a request that changes
    something happens once): median and p95 in ms, and the SQL of one request: ``queries`` (every statement),
    ``session_queries`` (those of the session check), ``page_statements`` (the rest) and ``page_queries`` (the
    rest without transaction control)."""
    counted = {"all": 0, "session": 0, "control": 0}

    def count(_conn, _cursor, statement, *_args) -> None:
        counted["all"] += 1
        if getattr(_checking, "active", False):
            counted["session"] += 1
        elif statement.lstrip().upper().startswith(TRANSACTION):
            counted["control"] += 1

    if warm:  # templates compiled, caches filled
        path, response = request()
        assert response.status_code == 200, (label, response.status_code)
    event.listen(app.engine, "before_cursor_execute", count)
    times, queries = [], set()
    try:
        with session_checks_marked():
            for _ in range(runs):
                counted.update(all=0, session=0, control=0)
                started = time.perf_counter()
                path, response = request()
                times.append((time.perf_counter() - started) * 1000)
                assert response.status_code == 200, (label, response.status_code, response.text[:300])
                queries.add((counted["all"], counted["session"], counted["control"]))
    finally:
        event.remove(app.engine, "before_cursor_execute", count)
    times.sort()
    p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
    every, session, control = max(queries)
    return {"page": label, "path": path, "runs": runs, "median_ms": round(statistics.median(times), 1),
            "p95_ms": round(p95, 1), "queries": every, "session_queries": session,
            "page_statements": every - session, "page_queries": every - session - control}


def measure(app: Application, client: TestClient, path: str, runs: int) -> dict:
    """GET ``path`` ``runs`` times (after one warm-up): median and p95 in ms, and the queries of one request."""
    row = timed(app, lambda: (path, client.get(path)), path, runs)
    del row["page"]
    return row


@contextlib.contextmanager
def demo_session(description: str) -> Iterator[tuple[argparse.Namespace, Console, Application, dict[str, str]]]:
    """The command line (``--runs``, ``--db``, ``--json``) and the demo's application with its logins,
    closed afterwards; yields (arguments, console, application, passwords by user)."""
    ap = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--db", type=Path, help="a demo database built with --today 2026-03-10 (copied)")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    console = Console(width=max(Console().width, 130))
    with tempfile.TemporaryDirectory() as tmp:
        app, passwords = demo_application(Path(tmp), args.db, console)
        try:
            yield args, console, app, passwords
        finally:
            app.close()


def report(rows: list[dict], title: str, console: Console, json_path: Path | None) -> None:
    """The rows as a table (and, given ``json_path``, as JSON there)."""
    table = Table(title=f"{title}: Serverzeit und SQL-Abfragen je Seite (Demo vom {DAY:%d.%m.%Y})")
    for column in ("Seite", "Pfad", "Abrufe", "Median (ms)", "p95 (ms)", "SQL-Abfragen"):
        table.add_column(column)
    for row in rows:
        table.add_row(row["page"], row["path"], str(row["runs"]), f"{row['median_ms']:.1f}",
                      f"{row['p95_ms']:.1f}", str(row["queries"]))
    console.print(table)
    if json_path:
        json_path.write_text(json.dumps(rows, indent=2, ensure_ascii=False), encoding="utf-8")


def run_bench(description: str, user_id: str, pages: Callable[[Application], list[tuple[str, str, int | None]]],
              title: str) -> None:
    """A benchmark of one user's pages, each a GET: ``pages`` are ``(label, path, runs or None for --runs)``."""
    with demo_session(description) as (args, console, app, passwords):
        client = logged_in(app, user_id, passwords[user_id])
        rows = [{"page": label, **measure(app, client, path, runs or args.runs)} for label, path, runs in pages(app)]
        report(rows, title, console, args.json)
