"""Immediate mails or a daily or weekly digest: what goes out now, per person. Pure.

The outbox holds one :class:`Pending` item per reminder and person (key
``<reminder key>#<user id>``, queued when the reminder became due).
:func:`batch_for_delivery` decides, for a moment ``now``, which
:class:`Delivery` s to send:

* ``immediate``: every pending item at once, one mail each;
* ``daily``: one digest per day at ``DigestSettings.hour`` (local time, NRW) with
  every item queued up to that moment;
* ``weekly``: one digest per week, on ``DigestSettings.weekday`` (Monday) at the
  same hour. Urgent reminders (escalations, the lapse, the last ladder step, an
  audit, an overdue decision) do not wait a week: they go with the daily slot.

A digest belongs to a *slot* (the last daily/weekly send time at or before
``now``) and collects the items queued up to the slot; its key
``digest:<daily|weekly>:<user>:<slot>`` is unique, so a digest is sent once
even if the scan runs every minute, and an item queued after its slot waits
for the next one. A missed slot (the server was down) is caught up at the next
scan: the slot is still the last one before ``now``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from ..calendar import format_date_de
from ..reminders.model import Reminder

__all__ = ["DIGEST_SETTINGS", "Delivery", "DigestSettings", "Pending", "Preference", "batch_for_delivery", "slot_of"]


class Preference(StrEnum):
    IMMEDIATE = "immediate"
    DAILY = "daily"
    WEEKLY = "weekly"


@dataclass(frozen=True, slots=True)
class DigestSettings:
    """``hour``: local send hour of digests (7); ``weekday``: 0 = Monday; ``default``: for people without a choice."""

    hour: int = 7
    weekday: int = 0
    timezone: str = "Europe/Berlin"
    default: Preference = Preference.IMMEDIATE

    def __post_init__(self) -> None:
        if not 0 <= self.hour <= 23:
            raise ValueError(f"Versandstunde {self.hour} liegt nicht zwischen 0 und 23")
        if not 0 <= self.weekday <= 6:
            raise ValueError(f"Wochentag {self.weekday} liegt nicht zwischen 0 (Montag) und 6 (Sonntag)")
        ZoneInfo(self.timezone)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


DIGEST_SETTINGS = DigestSettings()


@dataclass(frozen=True, slots=True)
class Pending:
    """A reminder waiting in the outbox for one person; ``queued_at`` is when it became due."""

    reminder: Reminder
    user_id: str
    queued_at: datetime

    @property
    def key(self) -> str:
        return f"{self.reminder.key}#{self.user_id}"


@dataclass(frozen=True, slots=True)
class Delivery:
    """One mail to send now: a single reminder or a digest of several.

    ``key`` is the outbox key of the mail (Message-ID is derived from it);
    ``items`` are the pending items it settles; ``label`` names a digest's period in German.
    """

    key: str
    user_id: str
    mode: Preference
    items: tuple[Pending, ...]
    slot: datetime | None = None
    label: str = ""

    @property
    def is_digest(self) -> bool:
        return self.mode is not Preference.IMMEDIATE

    @property
    def reminders(self) -> tuple[Reminder, ...]:
        return tuple(p.reminder for p in self.items)


def _aware(now: datetime) -> None:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")


def slot_of(mode: Preference, now: datetime, settings: DigestSettings = DIGEST_SETTINGS) -> datetime:
    """The last daily or weekly send time at or before ``now`` (aware, local time)."""
    _aware(now)
    tz = settings.tz
    local = now.astimezone(tz)
    day: date = local.date()
    if mode is Preference.WEEKLY:
        day -= timedelta(days=(day.weekday() - settings.weekday) % 7)
    slot = datetime.combine(day, time(settings.hour), tzinfo=tz)
    if slot > local:
        slot = datetime.combine(day - timedelta(days=7 if mode is Preference.WEEKLY else 1),
                                time(settings.hour), tzinfo=tz)
    return slot


def _label(mode: Preference, slot: datetime) -> str:
    if mode is Preference.WEEKLY:
        year, week, _ = slot.isocalendar()
        return f"der Woche {week}/{year}"
    return f"vom {format_date_de(slot.date())}"


def _slot_key(mode: Preference, user_id: str, slot: datetime) -> str:
    if mode is Preference.WEEKLY:
        year, week, _ = slot.isocalendar()
        return f"digest:weekly:{user_id}:{year}-W{week:02d}"
    return f"digest:daily:{user_id}:{slot.date().isoformat()}"


def batch_for_delivery(pending: Iterable[Pending], preferences: Mapping[str, Preference | str], now: datetime,
                       settings: DigestSettings = DIGEST_SETTINGS,
                       already_sent: Collection[str] = frozenset()) -> list[Delivery]:
    """What to send at ``now``: immediate mails and the digests whose slot has come.

    ``pending``: the outbox items not yet sent; ``preferences``: per user id
    (missing: ``settings.default``); ``already_sent``: delivery keys already sent
    (a digest key found there is not built again; its late items wait for the
    next slot). Ordered by user, then key.
    """
    _aware(now)
    by_user: dict[str, list[Pending]] = defaultdict(list)
    for item in pending:
        by_user[item.user_id].append(item)
    out: list[Delivery] = []
    for user_id in sorted(by_user):
        items = sorted(by_user[user_id], key=lambda p: (p.queued_at, p.key))
        mode = Preference(preferences.get(user_id, settings.default))
        if mode is Preference.IMMEDIATE:
            out += [Delivery(p.key, user_id, mode, (p,)) for p in items if p.key not in already_sent]
            continue
        groups: dict[Preference, list[Pending]] = defaultdict(list)
        for p in items:
            groups[Preference.DAILY if mode is Preference.DAILY or p.reminder.urgent else Preference.WEEKLY].append(p)
        for group_mode in (Preference.DAILY, Preference.WEEKLY):
            slot = slot_of(group_mode, now, settings)
            due = tuple(p for p in groups.get(group_mode, ()) if p.queued_at <= slot)
            key = _slot_key(group_mode, user_id, slot)
            if due and key not in already_sent:
                out.append(Delivery(key, user_id, group_mode, due, slot, _label(group_mode, slot)))
    return sorted(out, key=lambda d: (d.user_id, d.key))
