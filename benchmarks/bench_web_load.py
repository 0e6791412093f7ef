"""The web under load: ``certflow serve --workers 2`` on PostgreSQL, 50 simulated users on loopback.

The demo (``build_demo``, what ``certflow demo`` writes; ``--scale`` writes SQLite only, so the small demo it
is) in a fresh PostgreSQL database (``CREATE DATABASE bench_load_…`` from a template kept between runs, see
:class:`Database`; the copy is dropped at the end), the demo users with their demo passwords, and
``certflow serve --workers 2`` serves it as a child process (the session key shared through
``CERTFLOW_WEB_SECRET``).

Each simulated user is a thread with its own ``httpx.Client`` (keep-alive, like a browser tab): it logs in as a
demo user (the users taken in turn, so every role is there) and walks its role's main pages round-robin,
``--requests`` requests without pause (bounded by count, and by ``--seconds`` for the whole phase). The time of
a request is measured at the client (loopback network, server, both workers, PostgreSQL). Logins are not in
the page figures (argon2 is deliberately slow); they are counted as errors if they fail.

Baseline, in the same run and against the same server: one user, the same walk. The figures: median (p50),
p95 and maximum of the page times under load and alone, their ratio, and the errors (any status but 200, or a
failed connection). Goal: "p95 < 300 ms, no error" under 50 users.

The machine has two cores shared with other work: the server's two workers, PostgreSQL and the 50 client
threads all compete for them, so the absolute figures are noisy; the ratio to the one-user baseline of the
same run is the steadier number.

    python benchmarks/bench_web_load.py [--users 50] [--requests 40] [--seconds 120] [--json out.json] [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import date
from pathlib import Path

import httpx
from rich.console import Console
from rich.table import Table
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from certflow.db import head_revision, make_engine, upgrade
from certflow.demo_data import USERS, build_demo, demo_password, set_demo_passwords
from certflow.services.runner import Application
from certflow.settings import Settings

DAY = date(2026, 3, 10)
PG_URL = os.environ.get("CERTFLOW_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
CSRF = 'name="csrf_token" value="'
GOAL_MS = 300.0
PAGES = {
    "kita_lead": ["/start", "/aufgaben"],
    "coordinator": ["/start", "/koordination", "/koordination/familienzentren"],
    "auditor": ["/start", "/begehungen"],
    "certifier": ["/start", "/zertifizierung"],
    "admin": ["/start", "/verwaltung/benutzer", "/verwaltung/kitas"],
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Database:
    """A fresh PostgreSQL database with the demo; dropped by :meth:`drop`.

    The demo takes about two minutes to build on PostgreSQL here, so it is built once into a template database
    ``bench_load_demo_<schema revision>`` (kept for later runs; ``--rebuild`` builds it again) and each run gets
    its own copy (``CREATE DATABASE … TEMPLATE …``, a file copy inside the server)."""

    def __init__(self, url: str, folder: Path, console: Console, *, rebuild: bool = False):
        base = make_url(url)
        self.admin = make_engine(base, poolclass=NullPool, isolation_level="AUTOCOMMIT")
        template = f"bench_load_demo_{head_revision()}"
        with self.admin.connect() as c:
            exists = c.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": template}).first()
            if exists and rebuild:
                c.execute(text(f'DROP DATABASE "{template}" WITH (FORCE)'))
                exists = None
            if not exists:
                c.execute(text(f'CREATE DATABASE "{template}"'))
        if not exists:
            started = time.perf_counter()
            template_url = base.set(database=template).render_as_string(hide_password=False)
            settings = Settings(database_url=template_url, evidence_dir=folder / "belege")
            engine = make_engine(template_url)
            try:
                upgrade(engine)
                build_demo(engine, DAY, settings=settings)
                with Application(settings, engine=engine, after_commit=[]) as app:
                    app.run(lambda uow: set_demo_passwords(uow, DAY))
            except BaseException:
                engine.dispose()
                with self.admin.connect() as c:
                    c.execute(text(f'DROP DATABASE IF EXISTS "{template}" WITH (FORCE)'))
                raise
            engine.dispose()
            console.print(f"Demo auf PostgreSQL gebaut in {time.perf_counter() - started:.1f} s (Vorlage {template})")
        self.name = f"bench_load_{uuid.uuid4().hex[:8]}"
        with self.admin.connect() as c:
            c.execute(text(f'CREATE DATABASE "{self.name}" TEMPLATE "{template}"'))
        self.url = base.set(database=self.name).render_as_string(hide_password=False)
        self.passwords = {user.id: demo_password(user.id, DAY) for user in USERS}

    def drop(self) -> None:
        with self.admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
        self.admin.dispose()


def start_server(url: str, port: int, workers: int, folder: Path) -> subprocess.Popen:
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("CERTFLOW_")},
           "CERTFLOW_WEB_SECRET": secrets.token_urlsafe(32), "CERTFLOW_EVIDENCE_DIR": str(folder / "belege"),
           "CERTFLOW_SMTP_HOST": "", "PYTHONPATH": os.pathsep.join(sys.path)}
    log = (folder / "server.log").open("w")
    server = subprocess.Popen([sys.executable, "-c", "from certflow.cli import main; main()", "serve", "--workers",
                               str(workers), "--port", str(port), "--db", url], env=env, stdout=log,
                              stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"Server beendet: {(folder / 'server.log').read_text()}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/anmelden", timeout=2).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise SystemExit("Server antwortet nicht")


def stop_server(server: subprocess.Popen) -> None:
    if server.poll() is None:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def login(base: str, user_id: str, password: str) -> httpx.Client:
    client = httpx.Client(base_url=base, follow_redirects=False, timeout=30)
    token = client.get("/anmelden").text.split(CSRF, 1)[1].split('"', 1)[0]
    response = client.post("/anmelden", data={"login": user_id, "password": password, "csrf_token": token})
    if response.status_code != 303:
        client.close()
        raise RuntimeError(f"Anmeldung {user_id}: HTTP {response.status_code}")
    return client


class Walk:
    """One simulated user's requests: times (ms) and errors."""

    def __init__(self) -> None:
        self.times: list[float] = []
        self.errors: list[str] = []


def walk(base: str, user, password: str, requests: int, ready: threading.Semaphore, start: threading.Event,
         seconds: float, result: Walk) -> None:
    try:
        client = login(base, user.id, password)
    except Exception as exc:  # noqa: BLE001 - counted, not raised in a thread
        result.errors.append(f"{user.id}: {exc}")
        ready.release()
        return
    ready.release()
    pages = PAGES[user.role.value]
    try:
        start.wait()
        deadline = time.monotonic() + seconds
        for n in range(requests):
            if time.monotonic() > deadline:
                break
            path = pages[n % len(pages)]
            began = time.perf_counter()
            try:
                response = client.get(path)
                elapsed = (time.perf_counter() - began) * 1000
                if response.status_code != 200:
                    result.errors.append(f"{user.id} {path}: HTTP {response.status_code}")
                else:
                    result.times.append(elapsed)
            except httpx.HTTPError as exc:
                result.errors.append(f"{user.id} {path}: {type(exc).__name__}")
    finally:
        client.close()


def run_users(base: str, passwords: dict[str, str], users: int, requests: int, seconds: float) -> tuple[Walk, float]:
    """``users`` threads, logged in first, then released together; the merged walk and the phase's seconds."""
    results = [Walk() for _ in range(users)]
    ready, start = threading.Semaphore(0), threading.Event()
    chosen = [USERS[i % len(USERS)] for i in range(users)]
    threads = [threading.Thread(target=walk, args=(base, u, passwords[u.id], requests, ready, start, seconds, r))
               for u, r in zip(chosen, results, strict=True)]
    for t in threads:
        t.start()
    for _ in threads:  # every user logged in (or failed to) before the walks begin together
        ready.acquire(timeout=300)
    began = time.perf_counter()
    start.set()
    for t in threads:
        t.join(timeout=seconds + 60)
    merged = Walk()
    for r in results:
        merged.times += r.times
        merged.errors += r.errors
    return merged, time.perf_counter() - began


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def figures(w: Walk) -> dict:
    return {"n": len(w.times), "p50": statistics.median(w.times) if w.times else float("nan"),
            "p95": percentile(w.times, 0.95), "max": max(w.times) if w.times else float("nan"),
            "errors": len(w.errors)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--requests", type=int, default=40, help="requests per simulated user")
    parser.add_argument("--seconds", type=float, default=120, help="upper bound of the load phase")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--pg", default=PG_URL)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--quick", action="store_true", help="25 users, 12 requests each")
    parser.add_argument("--rebuild", action="store_true", help="build the demo template database again")
    args = parser.parse_args()
    if args.quick:
        args.users, args.requests, args.seconds = min(args.users, 25), 12, 60
    console = Console()
    with tempfile.TemporaryDirectory(prefix="bench-load-") as tmp:
        folder = Path(tmp)
        db = Database(args.pg, folder, console, rebuild=args.rebuild)
        server = None
        try:
            port = free_port()
            server = start_server(db.url, port, args.workers, folder)
            base = f"http://127.0.0.1:{port}"
            # warm-up: each role's pages once (templates compiled, connections opened in both workers)
            run_users(base, db.passwords, len(PAGES) * 2, 6, 60)
            alone, _ = run_users(base, db.passwords, 1, args.requests, args.seconds)
            loaded, took = run_users(base, db.passwords, args.users, args.requests, args.seconds)
        finally:
            if server is not None:
                stop_server(server)
            db.drop()
    one, many = figures(alone), figures(loaded)
    table = Table(title=f"certflow serve --workers {args.workers}, PostgreSQL, Demo: Seitenzeit am Client (ms)")
    for column in ("", "Anfragen", "p50", "p95", "max", "Fehler"):
        table.add_column(column, justify="left" if not column else "right")
    table.add_row("1 Benutzer (Basis)", str(one["n"]), f"{one['p50']:.1f}", f"{one['p95']:.1f}", f"{one['max']:.1f}",
                  str(one["errors"]))
    table.add_row(f"{args.users} Benutzer", str(many["n"]), f"{many['p50']:.1f}", f"{many['p95']:.1f}",
                  f"{many['max']:.1f}", str(many["errors"]))
    console.print(table)
    console.print(f"{many['n']} Anfragen in {took:.1f} s: {many['n'] / took:.0f} Anfragen/s; "
                  f"p95 unter Last / allein: {many['p95'] / one['p95']:.1f}×")
    for line in loaded.errors[:5]:
        console.print(f"Fehler: {line}")
    met = many["p95"] < GOAL_MS and many["errors"] == 0
    console.print(f"Ziel p95 < {GOAL_MS:.0f} ms, kein Fehler: {'erreicht' if met else 'nicht erreicht'}")
    if args.json:
        goal = f"p95 < {GOAL_MS:.0f} ms, no error"
        label = "1 user, same pages, same run"
        rows = [
            {"measure": f"web under load: p50, {args.users} users, {args.workers} workers, PostgreSQL",
             "figure": round(many["p50"], 1), "unit": "ms", "baseline": round(one["p50"], 1),
             "baseline_label": label, "ratio": round(many["p50"] / one["p50"], 2), "goal": goal, "met": None},
            {"measure": f"web under load: p95, {args.users} users, {args.workers} workers, PostgreSQL",
             "figure": round(many["p95"], 1), "unit": "ms", "baseline": round(one["p95"], 1),
             "baseline_label": label, "ratio": round(many["p95"] / one["p95"], 2), "goal": goal,
             "met": many["p95"] < GOAL_MS},
            {"measure": f"web under load: max, {args.users} users", "figure": round(many["max"], 1), "unit": "ms",
             "baseline": round(one["max"], 1), "baseline_label": label,
             "ratio": round(many["max"] / one["max"], 2), "goal": goal, "met": None},
            {"measure": f"web under load: errors, {args.users} users ({many['n']} requests)",
             "figure": float(many["errors"]), "unit": "count", "baseline": float(one["errors"]),
             "baseline_label": label, "ratio": None, "goal": goal, "met": many["errors"] == 0},
        ]
        args.json.write_text(json.dumps(rows, indent=2, ensure_ascii=False), encoding="utf-8")


if __name__ == "__main__":
    main()
