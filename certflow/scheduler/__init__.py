"""The scheduler: the clock that drives reminders, and the outbox that delivers them exactly once.

An adapter over :mod:`certflow.reminders` (pure planning), :mod:`certflow.notify`
(mail, digest, back-off, feeds) and :mod:`certflow.db` (tables ``reminder``,
``outbox_item``, ``inbox_message``, ``user_contact``):

* :mod:`.snapshot`: the planner's input from the database in a few bulk queries;
* :mod:`.scan`: one scan, ``scan(engine, now, rules, smtp, renderer)``, ``replan`` for one scope and
  ``replan_scope`` for what a committed change touched;
* mail leaves through :class:`certflow.notify.Transport` (SMTP with a hook just before the end
  of data, or the in-memory twin in tests);
* :mod:`.lock`: one scheduler per database (PostgreSQL advisory lock / SQLite lock file);
* :mod:`.runner`: APScheduler 3.x, one interval job, graceful stop.

See docs/reminders.md, section "The outbox as built".
"""

from .lock import SchedulerLock
from .scan import LEASE, NO_SMTP_NOTE, ReplanScope, ScanReport, replan, replan_scope, scan
from .snapshot import load_snapshot, partition, plan

__all__ = [
    "LEASE", "NO_SMTP_NOTE", "ReplanScope", "ScanReport", "SchedulerLock", "load_snapshot", "partition", "plan",
    "replan", "replan_scope", "scan",
]
