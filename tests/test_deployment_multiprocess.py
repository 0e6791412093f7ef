"""Running on more than one process: ``certflow serve --workers 2`` and two ``certflow scheduler run`` on one
PostgreSQL database (a schema of its own, dropped afterwards).

Two administrators change the same user at the same moment, round after round, through the web (each request
on a new connection, so the two workers share the requests and each must accept the other's session cookie):
one change of each round is accepted, the other is told in German that the record changed meanwhile (409), and
the final record holds every accepted change (its version counts them, the audit trail names each). Meanwhile
the two schedulers scan every second: exactly one holds the lock, the mail that is due reaches the (real, aiosmtpd)
mail server once, and when the leader stops the other one takes over.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest
from db_support import pg_schema, postgres_admin  # noqa: F401
from sqlalchemy import text
from test_scheduler_support import ADMIN, AUDITOR, Server, free_port, outbox, seed_world

from certflow import services
from certflow.db import UnitOfWork, make_engine, upgrade
from certflow.lifecycle import Role, User
from certflow.services.runner import Application
from certflow.settings import Settings
from conftest import TOKENS

pytestmark = pytest.mark.slow  # two servers and two schedulers as processes: about half a minute

ADMIN2 = User("u-admin2", "Zweite Administration", Role.ADMIN)
PASSWORDS = {ADMIN.id: "Erste-Verwaltung-2026!", ADMIN2.id: "Zweite-Verwaltung-2026!"}
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
VERSION = re.compile(r'name="fassung" value="(\d+)"')
ACTIVE = re.compile(r'name="aktiv" value="ja"( checked)?')
JUGENDAMT = re.compile(r'name="jugendamt".*?</select>', re.S)
SELECTED = re.compile(r'value="([^"]*)" selected')
ROUNDS = 6
LEADS = re.compile(r"^Scheduler läuft \(PostgreSQL-Advisory-Lock", re.M)
CLI = [sys.executable, "-c", "from certflow.cli import main; main()"]


def _environment(tmp_path: Path, **more: str) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if not k.startswith("CERTFLOW_")}
    return {**keep, "PYTHONPATH": os.pathsep.join(sys.path), "CERTFLOW_EVIDENCE_DIR": str(tmp_path / "belege"),
            "CERTFLOW_SMTP_HOST": "", **more}


@pytest.fixture
def database(postgres_admin):  # noqa: F811
    with pg_schema(postgres_admin) as url:
        engine = make_engine(url)
        upgrade(engine)
        seed_world(engine)
        with UnitOfWork(engine) as uow:
            uow.users.add(ADMIN2, actor_id=ADMIN.id, reason="Zweite Verwaltung für den Test")
        with Application(Settings(database_url=url), engine=engine, after_commit=[]) as app:
            for user_id, password in PASSWORDS.items():
                app.run(lambda uow, u=user_id, p=password: services.set_password(uow, ADMIN.id, u, p,
                                                                                  reason="Testzugang"))
        yield url, engine
        engine.dispose()


class Processes:
    """Child processes, stopped (SIGTERM, then SIGKILL) at the end; their output collected in files."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.started: list[tuple[subprocess.Popen, Path]] = []

    def start(self, name: str, args: list[str], env: dict[str, str]) -> subprocess.Popen:
        log = self.folder / f"{name}.log"
        process = subprocess.Popen(args, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT,
                                   start_new_session=True)
        self.started.append((process, log))
        return process

    def output(self, process: subprocess.Popen) -> str:
        return next(log for p, log in self.started if p is process).read_text()

    @staticmethod
    def stop(process: subprocess.Popen) -> None:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()

    def stop_all(self) -> None:
        for process, _ in self.started:
            self.stop(process)


def _wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"nicht erreicht in {timeout:g} s: {what}")


def _up(base: str) -> bool:
    try:
        return httpx.get(f"{base}/anmelden", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _client(base: str, user_id: str) -> httpx.Client:
    """Logged in; no keep-alive: every request opens a new connection (either worker may take it)."""
    client = httpx.Client(base_url=base, follow_redirects=False, timeout=30,
                          limits=httpx.Limits(max_keepalive_connections=0))
    token = CSRF.search(client.get("/anmelden").text).group(1)
    response = client.post("/anmelden", data={"login": user_id, "password": PASSWORDS[user_id], "csrf_token": token})
    assert response.status_code == 303, response.text[:300]
    return client


def _form(page: str) -> tuple[str, int, bool, str]:
    """csrf token, version, active, jugendamt of the user page's change form."""
    selected = SELECTED.search(JUGENDAMT.search(page).group(0))
    return (CSRF.search(page).group(1), int(VERSION.search(page).group(1)), bool(ACTIVE.search(page).group(1)),
            selected.group(1) if selected else "")


def _editor(base: str, admin: str, field: str, barrier: threading.Barrier, log: list, problems: list) -> None:
    """``ROUNDS`` times: read the form, wait for the other editor, save a change of ``field`` (jugendamt or active)."""
    try:
        client = _client(base, admin)
        for n in range(ROUNDS):
            page = client.get(f"/verwaltung/benutzer/{AUDITOR.id}")
            assert page.status_code == 200, f"{admin} Runde {n}: {page.status_code} {page.headers.get('location')}"
            csrf, version, active, jugendamt = _form(page.text)
            if field == "jugendamt":
                jugendamt = "" if jugendamt else "ja-1"
            else:
                active = not active
            data = {"csrf_token": csrf, "fassung": str(version), "rolle": "auditor", "jugendamt": jugendamt,
                    "familienzentrum": "", "traeger": "", "grund": f"Runde {n}: {admin} ändert {field}"}
            if active:
                data["aktiv"] = "ja"
            barrier.wait(timeout=60)
            response = client.post(f"/verwaltung/benutzer/{AUDITOR.id}/aendern", data=data)
            log.append((n, admin, field, response.status_code, jugendamt if field == "jugendamt" else active,
                        response.text))
            barrier.wait(timeout=60)
        client.close()
    except BaseException as exc:  # reported by the test, not lost in the thread
        problems.append(exc)
        barrier.abort()


def _user_row(engine):
    with engine.connect() as c:
        return c.execute(text("SELECT version, active, jugendamt_id FROM app_user WHERE id = :id"),
                         {"id": AUDITOR.id}).one()


def _changes_in_audit_trail(engine) -> list[str]:
    with engine.connect() as c:
        return list(c.execute(text("SELECT reason FROM audit_log WHERE subject_id = :id AND reason LIKE 'Runde %' "
                                   "GROUP BY reason ORDER BY min(seq)"), {"id": AUDITOR.id}).scalars())


def test_two_web_workers_and_two_schedulers_on_one_postgresql(database, tmp_path):
    url, engine = database
    before = _user_row(engine)
    processes = Processes(tmp_path)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with Server() as mail:
        smtp = {"CERTFLOW_SMTP_HOST": "127.0.0.1", "CERTFLOW_SMTP_PORT": str(mail.port), "CERTFLOW_SMTP_TLS": "none",
                "CERTFLOW_SMTP_FROM": "certflow <noreply@certflow.example>"}
        try:
            # no CERTFLOW_WEB_SECRET: the serving command makes one key and hands it to both workers
            web = processes.start("web", [*CLI, "serve", "--workers", "2", "--port", str(port), "--db", url],
                                  _environment(tmp_path, **smtp))
            proof = {"CERTFLOW_TOKEN": TOKENS.token(url, ADMIN.id), **smtp}
            schedulers = [processes.start(f"scheduler-{i}", [*CLI, "scheduler", "run", "--interval", "1", "--as",
                                                             ADMIN.id, "--db", url], _environment(tmp_path, **proof))
                          for i in (1, 2)]
            _wait_for(lambda: _up(base) or web.poll() is not None, 60, "der Webserver antwortet")
            assert web.poll() is None, processes.output(web)

            log: list = []
            problems: list = []
            barrier = threading.Barrier(2)
            editors = [threading.Thread(target=_editor, args=(base, admin, field, barrier, log, problems))
                       for admin, field in ((ADMIN.id, "jugendamt"), (ADMIN2.id, "active"))]
            for editor in editors:
                editor.start()
            for editor in editors:
                editor.join(timeout=180)
            assert not problems, problems

            _wait_for(lambda: len(mail.handler.received) >= 3 and all(r.status == "sent" for r in outbox(engine)),
                      60, "die fällige Post ist versandt")
            time.sleep(2.5)  # more scans of both schedulers: nothing goes out twice
            leaders = [p for p in schedulers if LEADS.search(processes.output(p))]
            assert len(leaders) == 1, [processes.output(p) for p in schedulers]
            (leader,) = leaders
            (waiting,) = [p for p in schedulers if p is not leader]
            assert "Ein anderer Scheduler läuft" in processes.output(waiting)
            processes.stop(leader)
            _wait_for(lambda: LEADS.search(processes.output(waiting)), 30,
                      "der zweite Scheduler übernimmt")
            time.sleep(1.5)  # a scan of the new leader: still nothing twice
        finally:
            processes.stop_all()

        sent = Counter(m["Message-ID"] for m in mail.handler.messages())
        assert sent and max(sent.values()) == 1, sent  # no mail twice
        assert len(mail.handler.received) == sum(1 for r in outbox(engine) if r.status == "sent")

    # every round: one change accepted, the other refused as a conflict with a German message (409)
    rounds = Counter(n for n, *_ in log)
    assert sorted(rounds.values()) == [2] * ROUNDS
    for n in range(ROUNDS):
        statuses = sorted(status for m, _, _, status, _, _ in log if m == n)
        assert statuses == [200, 409], (n, statuses)
    for *_, status, _, body in log:
        if status == 409:
            assert "Inzwischen geändert" in body or "inzwischen" in body.lower(), body[:500]
            assert "Traceback" not in body
    accepted = [(n, admin, field, value) for n, admin, field, status, value, _ in sorted(log) if status == 200]
    after = _user_row(engine)
    assert after.version == before.version + len(accepted)  # no accepted change lost, none counted twice
    assert _changes_in_audit_trail(engine) == [f"Runde {n}: {admin} ändert {field}" for n, admin, field, _ in accepted]
    last = {field: value for _, _, field, value in accepted}
    assert (after.jugendamt_id or "") == last.get("jugendamt", before.jugendamt_id or "")
    assert after.active == last.get("active", before.active)
