"""The scheduler's lock on both databases, the APScheduler loop with an injected clock, graceful stop."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time

import pytest
from click.testing import CliRunner
from test_scheduler_support import NOW, Server, outbox, seed_world, world  # noqa: F401

from certflow.cli.reminders import scheduler
from certflow.db import make_engine
from certflow.scheduler import SchedulerLock
from certflow.scheduler.runner import JOB_ID, SchedulerRunner
from conftest import TOKENS
from db_support import backend, db_url, engine, postgres_admin  # noqa: F401


def test_one_lock_per_database_a_second_waits_and_takes_over(engine, db_url, backend):
    other = make_engine(db_url)
    first, second = SchedulerLock(engine), SchedulerLock(other, poll_seconds=0.05)
    try:
        assert first.acquire(wait=False) and first.still_held()
        assert not second.acquire(wait=False)
        assert not second.acquire(wait=True, timeout=0.2)  # waits, gives up after the timeout
        waited = []
        thread = threading.Thread(target=lambda: waited.append(second.acquire(wait=True, timeout=10)))
        thread.start()
        time.sleep(0.2)
        first.release()
        thread.join(10)
        assert waited == [True] and second.still_held()
        expected = "PostgreSQL-Advisory-Lock" if backend == "postgresql" else "Sperrdatei"
        assert second.description.startswith(expected)
    finally:
        first.release()
        second.release()
        other.dispose()


def test_the_postgresql_lock_goes_with_a_broken_connection(engine, backend):
    if backend != "postgresql":
        pytest.skip("advisory locks are PostgreSQL's")
    lock = SchedulerLock(engine)
    assert lock.acquire(wait=False)
    lock._connection.invalidate()  # as if the server had dropped the session
    assert not lock.still_held()
    assert lock.acquire(wait=False) and lock.still_held()
    lock.release()


def test_the_runner_scans_on_apscheduler_s_interval_with_an_injected_clock(world):
    reports = []
    with Server() as server:
        runner = SchedulerRunner(world, interval=0.2, clock=lambda: NOW, smtp=server.config,
                                 on_report=reports.append)
        thread = threading.Thread(target=runner.run, kwargs={"install_signals": False})
        thread.start()
        deadline = time.monotonic() + 15
        while len(reports) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        job = runner.scheduler.get_job(JOB_ID)
        assert (job.max_instances, job.coalesce, job.misfire_grace_time) == (1, True, None)
        runner.stop()
        thread.join(15)
        assert not thread.is_alive()
        assert len(reports) >= 3 and all(r.now == NOW for r in reports)
        assert reports[0].sent == 3 and sum(r.sent for r in reports) == 3  # later runs find nothing new
        assert set(server.handler.message_ids().values()) == {1}
    assert not runner.lock.held
    again = SchedulerLock(world)
    assert again.acquire(wait=False)  # released on stop
    again.release()


def test_once_gives_up_when_another_scheduler_runs(world, db_url):
    holder = SchedulerLock(world)
    assert holder.acquire(wait=False)
    proof = {"CERTFLOW_TOKEN": TOKENS.token(db_url, "u-admin")}  # proves --as (conftest)
    try:
        result = CliRunner().invoke(scheduler, ["run", "--once", "--as", "u-admin", "--db", db_url], env=proof)
    finally:
        holder.release()
    assert result.exit_code == 1
    assert "Ein anderer Scheduler läuft bereits" in result.output and "--once beendet sich" in result.output
    assert outbox(world) == []
    result = CliRunner().invoke(scheduler, ["run", "--once", "--as", "u-admin", "--db", db_url],
                                env={"CERTFLOW_SMTP_HOST": "", **proof})
    assert result.exit_code == 0, result.output
    assert "Kein Mailserver eingerichtet" in result.output and "Lauf " in result.output


def test_sigterm_stops_the_scheduler_process_gracefully(tmp_path):
    url = f"sqlite:///{tmp_path / 'certflow.sqlite'}"
    engine = make_engine(url)
    from certflow.db import upgrade

    upgrade(engine)
    seed_world(engine)
    engine.dispose()
    code = ("import sys; from certflow.cli.reminders import scheduler; "
            "scheduler(['run', '--interval', '1', '--as', 'u-admin', '--db', sys.argv[1]], "
            "prog_name='certflow scheduler')")
    process = subprocess.Popen([sys.executable, "-c", code, url], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": ":".join(sys.path),
                                               "CERTFLOW_TOKEN": TOKENS.token(url, "u-admin")})
    lines = []
    try:
        for line in process.stdout:
            lines.append(line)
            if line.startswith("Lauf "):
                break
        process.send_signal(signal.SIGTERM)
        rest, _ = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
    output = "".join(lines) + rest
    assert process.returncode == 0, output
    assert "Scheduler läuft (Sperrdatei" in output and "Scheduler beendet." in output
    engine = make_engine(url)
    assert len(outbox(engine)) == 3  # the run before the signal queued the mails (no SMTP: they wait)
    lock = SchedulerLock(engine)
    assert lock.acquire(wait=False)
    lock.release()
    engine.dispose()
