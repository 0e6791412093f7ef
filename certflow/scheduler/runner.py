"""``certflow scheduler run``: APScheduler 3.x as the clock, one periodic scan, one process.

A :class:`~apscheduler.schedulers.blocking.BlockingScheduler` (Europe/Berlin) with a
single job: an :class:`~apscheduler.triggers.interval.IntervalTrigger` every
``interval`` seconds, first run at once, ``max_instances=1`` (a scan never overlaps
itself), ``coalesce=True`` (runs missed while the machine slept collapse into one) and
``misfire_grace_time=None`` (a late run is never dropped: the scan catches up anything).
The default in-memory job store: no pickled jobs, nothing per reminder; what is due
lives in the database.

Before the scheduler starts, the process takes the :class:`~.lock.SchedulerLock`
(a second process waits, or with ``once`` gives up) and holds it until it ends; each
run first checks that the lock is still held (a PostgreSQL connection may break) and
takes it again if needed. SIGTERM and SIGINT stop gracefully: the scan in progress
finishes the mail it is sending, claims no further one, and the process exits.

The clock is injectable (``clock``): APScheduler only decides *when* to run; the scan
runs at ``clock()``.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from ..lifecycle.machinery import Clock, utc_now
from ..notify import DIGEST_SETTINGS, DigestSettings, MailRenderer, SmtpConfig
from ..reminders import REMINDER_RULES, ReminderRules
from .lock import SchedulerLock
from .scan import LEASE, ScanReport, default_renderer, scan
from ..notify.transport import Transport

__all__ = ["JOB_ID", "SchedulerRunner"]

log = logging.getLogger("certflow.scheduler")

JOB_ID = "certflow-scan"
TIMEZONE = ZoneInfo("Europe/Berlin")


class SchedulerRunner:
    def __init__(self, engine: Engine, *, interval: float = 300, clock: Clock = utc_now,
                 rules: ReminderRules = REMINDER_RULES, smtp: SmtpConfig | None = None,
                 transport: Transport | None = None, renderer: MailRenderer | None = None,
                 settings: DigestSettings = DIGEST_SETTINGS, lease: timedelta = LEASE,
                 lock: SchedulerLock | None = None, on_report: Callable[[ScanReport], None] | None = None,
                 on_error: Callable[[BaseException], None] | None = None,
                 on_message: Callable[[str], None] | None = None):
        if interval <= 0:
            raise ValueError("interval must be positive")
        self.engine = engine
        self.interval = interval
        self.clock = clock
        self.rules = rules
        self.smtp = smtp
        self.transport = transport
        self.renderer = renderer or default_renderer()
        self.settings = settings
        self.lease = lease
        self.lock = lock or SchedulerLock(engine)
        self.on_report = on_report
        self.on_error = on_error
        self.on_message = on_message or (lambda text: log.info("%s", text))
        self._stop = threading.Event()
        self._busy = threading.Lock()  # held while a scan runs in the scheduler's worker thread
        self.scheduler = None
        self.runs = 0

    # -- stopping ---------------------------------------------------------------------------------------

    def stopping(self) -> bool:
        return self._stop.is_set()

    def stop(self, *_signal_args: object) -> None:
        """Ask to stop (signal handler): no new mail is claimed; the scheduler shuts down."""
        if not self._stop.is_set():
            self.on_message("Beende den Scheduler nach dem laufenden Versand …")
        self._stop.set()
        scheduler = self.scheduler
        if scheduler is not None and scheduler.running:
            # shutdown(wait=False) from a signal handler: the running job sees stopping() and ends
            # soon; BlockingScheduler.start() returns once its loop notices the stop.
            scheduler.shutdown(wait=False)

    # -- one scan ---------------------------------------------------------------------------------------

    def run_once(self) -> ScanReport:
        report = scan(self.engine, self.clock(), self.rules, self.smtp, self.renderer, transport=self.transport,
                      settings=self.settings, lease=self.lease, should_stop=self.stopping)
        self.runs += 1
        if self.on_report is not None:
            self.on_report(report)
        return report

    def once(self) -> ScanReport | None:
        """One scan under the lock, without waiting: ``None`` when another scheduler holds it."""
        if not self.acquire(wait=False):
            return None
        try:
            return self.run_once()
        finally:
            self.lock.release()

    def _job(self) -> None:
        with self._busy:
            if not self.stopping():
                self._locked_scan()

    def _locked_scan(self) -> None:
        if not self.lock.still_held():
            self.on_message(f"Sperre verloren ({self.lock.description}); versuche sie erneut zu nehmen")
            if not self.lock.acquire(wait=False):
                self.on_message("Ein anderer Scheduler hat die Sperre übernommen; dieser Lauf entfällt")
                return
        try:
            self.run_once()
        except Exception as exc:  # logged; the next run tries again
            log.exception("scan failed")
            if self.on_error is not None:
                self.on_error(exc)

    # -- the loop ---------------------------------------------------------------------------------------

    def acquire(self, *, wait: bool) -> bool:
        return self.lock.acquire(
            wait=wait, should_stop=self.stopping,
            on_wait=lambda: self.on_message(f"Ein anderer Scheduler läuft ({self.lock.description}); warte …"))

    def run(self, *, install_signals: bool = True) -> None:
        """Take the lock (waiting), then scan every ``interval`` seconds until stopped."""
        from apscheduler.schedulers.blocking import BlockingScheduler
        from apscheduler.triggers.interval import IntervalTrigger

        previous = {}
        if install_signals:
            for signum in (signal.SIGTERM, signal.SIGINT):
                previous[signum] = signal.signal(signum, self.stop)
        try:
            if not self.acquire(wait=True):
                return
            self.on_message(f"Scheduler läuft ({self.lock.description}), Lauf alle {self.interval:g} s")
            self.scheduler = BlockingScheduler(timezone=TIMEZONE)
            self.scheduler.add_job(
                self._job, IntervalTrigger(seconds=self.interval, timezone=TIMEZONE), id=JOB_ID,
                name="certflow: Erinnerungen planen und versenden", max_instances=1, coalesce=True,
                misfire_grace_time=None, replace_existing=True, next_run_time=datetime.now(TIMEZONE))
            if not self.stopping():
                self.scheduler.start()
        finally:
            if self.scheduler is not None and self.scheduler.running:
                self.scheduler.shutdown(wait=False)
            with self._busy:  # a scan in progress finishes its current mail first
                self.lock.release()
            for signum, handler in previous.items():
                signal.signal(signum, handler)
            self.on_message("Scheduler beendet.")
