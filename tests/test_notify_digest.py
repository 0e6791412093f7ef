"""Digest grouping: immediate, daily at a fixed hour, weekly on Monday; urgent items do not wait a week."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from test_reminders_support import cert, info, of_kind, proc, snapshot

from certflow.lifecycle.entities import ProcedureState
from certflow.notify import (
    DigestSettings,
    Pending,
    Preference,
    batch_for_delivery,
    slot_of,
)
from certflow.reminders import plan_reminders

BERLIN = ZoneInfo("Europe/Berlin")
RS = plan_reminders(snapshot(certificates=(cert(date(2023, 6, 1)),),
                             procedures=(info(proc(ProcedureState.AUDITED), date(2027, 3, 18)),)))
PLAIN = of_kind(RS, "validity_6m")[0]          # not urgent
OTHER = of_kind(RS, "validity_3m")[0]          # not urgent
URGENT = of_kind(RS, "decision_pending")[0]    # urgent


def at(*args) -> datetime:
    return datetime(*args, tzinfo=BERLIN)


def pending(reminder, user="u1", queued=at(2027, 3, 9, 10, 0)):  # a Tuesday
    return Pending(reminder, user, queued)


def test_immediate_sends_everything_now_one_mail_each():
    items = [pending(PLAIN), pending(OTHER)]
    out = batch_for_delivery(items, {"u1": Preference.IMMEDIATE}, at(2027, 3, 9, 10, 1))
    assert [(d.key, d.is_digest, len(d.items)) for d in out] == sorted(
        [(f"{PLAIN.key}#u1", False, 1), (f"{OTHER.key}#u1", False, 1)])
    assert batch_for_delivery(items, {}, at(2027, 3, 9, 10, 1)) == out  # the default is immediate
    assert batch_for_delivery(items, {"u1": "immediate"}, at(2027, 3, 9, 10, 1),
                              already_sent={f"{PLAIN.key}#u1"})[0].reminders == (OTHER,)


def test_daily_digest_once_a_day_at_the_configured_hour():
    items = [pending(PLAIN), pending(OTHER, queued=at(2027, 3, 10, 6, 59)), pending(URGENT, queued=at(2027, 3, 10, 8))]
    prefs = {"u1": Preference.DAILY}
    assert batch_for_delivery(items, prefs, at(2027, 3, 10, 6, 0)) == []  # all queued after yesterday's 07:00
    (d,) = batch_for_delivery(items, prefs, at(2027, 3, 10, 7, 0))
    assert d.key == "digest:daily:u1:2027-03-10" and d.mode is Preference.DAILY
    assert d.reminders == (PLAIN, OTHER) and d.label == "vom 10.03.2027"  # queued after 07:00: tomorrow
    assert d.slot == at(2027, 3, 10, 7, 0)
    # later scans in the same slot do not build it again
    assert batch_for_delivery([items[2]], prefs, at(2027, 3, 10, 23, 0), already_sent={d.key}) == []
    (tomorrow,) = batch_for_delivery([items[2]], prefs, at(2027, 3, 11, 7, 30), already_sent={d.key})
    assert tomorrow.key == "digest:daily:u1:2027-03-11" and tomorrow.reminders == (URGENT,)


def test_weekly_digest_on_monday_urgent_items_go_daily():
    items = [pending(PLAIN), pending(OTHER), pending(URGENT)]
    prefs = {"u1": Preference.WEEKLY}
    out = batch_for_delivery(items, prefs, at(2027, 3, 10, 7, 5))  # Wednesday
    assert [(d.key, d.reminders) for d in out] == [("digest:daily:u1:2027-03-10", (URGENT,))]
    out = batch_for_delivery(items[:2], prefs, at(2027, 3, 15, 7, 0))  # Monday
    assert [(d.key, set(d.reminders), d.label) for d in out] == [
        ("digest:weekly:u1:2027-W11", {PLAIN, OTHER}, "der Woche 11/2027")]
    # a scan missed on Monday is caught up on Tuesday: the slot is still Monday's
    (late,) = batch_for_delivery(items[:2], prefs, at(2027, 3, 16, 12, 0))
    assert late.key == "digest:weekly:u1:2027-W11" and late.slot == at(2027, 3, 15, 7, 0)


def test_people_are_batched_separately_and_in_order():
    items = [pending(PLAIN, "u2"), pending(PLAIN, "u1"), pending(OTHER, "u3")]
    prefs = {"u1": Preference.DAILY, "u2": Preference.IMMEDIATE, "u3": Preference.WEEKLY}
    out = batch_for_delivery(items, prefs, at(2027, 3, 15, 8, 0))
    assert [(d.user_id, d.mode) for d in out] == [
        ("u1", Preference.DAILY), ("u2", Preference.IMMEDIATE), ("u3", Preference.WEEKLY)]


def test_slots_across_daylight_saving_time_and_settings():
    # 28.03.2027: clocks go forward in Germany; the slot stays at 07:00 local time
    assert slot_of(Preference.DAILY, datetime(2027, 3, 28, 5, 30, tzinfo=UTC)) == at(2027, 3, 28, 7, 0)
    assert slot_of(Preference.DAILY, datetime(2027, 3, 28, 4, 30, tzinfo=UTC)) == at(2027, 3, 27, 7, 0)
    friday = DigestSettings(hour=16, weekday=4)
    assert slot_of(Preference.WEEKLY, at(2027, 3, 15, 9), friday) == at(2027, 3, 12, 16)
    assert slot_of(Preference.WEEKLY, at(2027, 3, 19, 16), friday) == at(2027, 3, 19, 16)
    with pytest.raises(ValueError):
        DigestSettings(hour=24)
    with pytest.raises(ValueError):
        batch_for_delivery([], {}, datetime(2027, 3, 15, 8, 0))


def test_the_same_input_gives_the_same_batches():
    items = [pending(r, user, at(2027, 3, 1) + timedelta(hours=i)) for i, r in enumerate(RS) for user in ("a", "b")]
    prefs = {"a": Preference.WEEKLY, "b": Preference.DAILY}
    now = at(2027, 3, 15, 7, 0)
    assert batch_for_delivery(items, prefs, now) == batch_for_delivery(list(reversed(items)), prefs, now)
