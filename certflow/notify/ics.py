"""iCalendar feeds (.ics) per Jugendamt and per Familienzentrum, written with the ``icalendar`` library.

The dates come from :func:`certflow.reminders.feed_events` (every deadline,
audit date and validity end, and the Jugendamt's contingent dates). Each is an
all-day VEVENT with

* ``UID`` derived from subject, kind and day (stable across runs; a moved date is
  a new event, and the old one disappears with the next refresh of the feed);
* ``DTSTAMP`` = the ``stamp`` the caller passes (the time the data was last
  changed, or the day of the snapshot): the same data and stamp give the same
  bytes, so the HTTP layer can use a hash of the body as ETag;
* German ``SUMMARY``, ``DESCRIPTION`` and ``CATEGORIES``; ``TRANSP:TRANSPARENT``
  (a deadline does not block time).

The calendar carries ``X-WR-CALNAME`` and ``NAME`` (RFC 7986) and asks clients
to refresh every 12 hours (``REFRESH-INTERVAL``, ``X-PUBLISHED-TTL``).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from icalendar import Calendar, Event

from ..lifecycle.entities import Familienzentrum, Jugendamt
from ..reminders.feed import CalendarItem, for_familienzentrum, for_jugendamt

__all__ = ["PRODID", "build_calendar", "familienzentrum_feed", "jugendamt_feed"]

PRODID = "-//certflow//Gütesiegel Familienzentrum NRW//DE"
REFRESH = timedelta(hours=12)

_CATEGORY = {
    "registration": "Verfahren", "submission": "Verfahren", "changes": "Verfahren", "audit": "Begehung",
    "decision": "Verfahren", "recertification_opens": "Gütesiegel", "validity_end": "Gütesiegel",
    "decree_expected": "Kontingent", "nominations_due": "Kontingent", "places_unused": "Kontingent",
}


def build_calendar(items: Iterable[CalendarItem], *, name: str, stamp: datetime,
                   description: str | None = None) -> bytes:
    """An iCalendar document (bytes, CRLF lines) with one all-day event per item, sorted by day."""
    if stamp.tzinfo is None or stamp.utcoffset() is None:
        raise ValueError("stamp must be timezone-aware")
    stamp = stamp.astimezone(UTC).replace(microsecond=0)
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("name", name)
    cal.add("x-wr-calname", name)
    if description:
        cal.add("description", description)
        cal.add("x-wr-caldesc", description)
    cal.add("refresh-interval", REFRESH, parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", "PT12H")
    seen: set[str] = set()
    for item in sorted(items):
        if item.uid in seen:
            continue
        seen.add(item.uid)
        event = Event()
        event.add("uid", item.uid)
        event.add("dtstamp", stamp)
        event.add("dtstart", item.day)
        event.add("dtend", item.day + timedelta(days=1))
        event.add("summary", item.summary)
        event.add("description", item.description)
        event.add("categories", [_CATEGORY.get(item.kind, "Gütesiegel")])
        event.add("transp", "TRANSPARENT")
        cal.add_component(event)
    return cal.to_ical()


def jugendamt_feed(items: Iterable[CalendarItem], jugendamt: Jugendamt, *, stamp: datetime) -> bytes:
    """The Jugendamt's feed: its contingent dates and every date of its Familienzentren."""
    return build_calendar(for_jugendamt(items, jugendamt.id), name=f"Gütesiegel-Termine – {jugendamt.name}",
                          stamp=stamp, description=f"Fristen, Begehungen und Gültigkeiten der Familienzentren "
                                                   f"im {jugendamt.name}")


def familienzentrum_feed(items: Iterable[CalendarItem], familienzentrum: Familienzentrum, *,
                         stamp: datetime) -> bytes:
    """One Familienzentrum's feed: its procedure deadlines, audit date and validity end."""
    return build_calendar(for_familienzentrum(items, familienzentrum.id),
                          name=f"Gütesiegel-Termine – {familienzentrum.name}", stamp=stamp,
                          description=f"Fristen, Begehung und Gültigkeit des Gütesiegels von {familienzentrum.name}")
