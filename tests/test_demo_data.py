"""The demo's plan: its steps run in time order, and the caller is told after each (the progress bar)."""

from __future__ import annotations

from datetime import date

from certflow.demo_data import DemoClock, _at, _Plan
from db_support import db_url, engine, postgres_admin  # noqa: F401


def test_steps_run_in_time_order_and_progress_is_told_after_each(engine):
    plan = _Plan(date(2026, 3, 10))
    ran: list[str] = []
    plan.add(_at(date(2026, 3, 2)), "zweiter", lambda uow: ran.append("zweiter"))
    plan.add(_at(date(2026, 3, 1)), "erster", lambda uow: ran.append("erster"))
    plan.add(_at(date(2026, 3, 2)), "dritter", lambda uow: ran.append("dritter"))  # same time: order added
    told: list[tuple[int, int, str]] = []
    plan.run(engine, DemoClock.on(date(2026, 3, 10)), lambda done, total, label: told.append((done, total, label)))
    assert ran == ["erster", "zweiter", "dritter"]
    assert told == [(1, 3, "erster"), (2, 3, "zweiter"), (3, 3, "dritter")]
