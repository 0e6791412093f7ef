"""The iCalendar feeds, parsed back with icalendar and checked event by event."""

from __future__ import annotations

from datetime import UTC, date, datetime

from icalendar import Calendar
from test_reminders_plan import rich_snapshot
from test_reminders_support import (
    AUDITOR,
    FZ,
    JA,
    JA2,
    cert,
    contingent,
    info,
    proc,
    snapshot,
)

from certflow.calendar import KindergartenYear
from certflow.lifecycle.entities import CertificateState, ProcedureState
from certflow.notify import familienzentrum_feed, jugendamt_feed
from certflow.reminders import feed_events

STAMP = datetime(2027, 2, 20, 6, 0, tzinfo=UTC)


def data():
    return snapshot(
        certificates=(cert(date(2023, 6, 1)), cert(date(2019, 6, 1), state=CertificateState.RENEWED, number="OLD"),
                      cert(date(2022, 8, 2), number="FZ-2022-011", fz="FZ-2")),
        procedures=(info(proc(ProcedureState.AUDIT_SCHEDULED, auditor=AUDITOR.id), date(2027, 2, 20),
                         audit=date(2027, 3, 18)),),
        contingents=(contingent(granted=3, nominated=1),),
        calendar_years=(KindergartenYear(2025),),
    )


def events(ics: bytes):
    cal = Calendar.from_ical(ics)
    return cal, [(e.decoded("dtstart"), str(e["SUMMARY"]), e) for e in cal.walk("VEVENT")]


def test_familienzentrum_feed_event_by_event():
    ics = familienzentrum_feed(feed_events(data()), FZ, stamp=STAMP)
    cal, evs = events(ics)
    assert str(cal["X-WR-CALNAME"]) == "Gütesiegel-Termine – Familienzentrum Sonnenblume"
    assert str(cal["VERSION"]) == "2.0" and "certflow" in str(cal["PRODID"])
    assert [(d, s) for d, s, _ in evs] == [
        (date(2025, 10, 1), "Beginn der Re-Zertifizierung: Familienzentrum Sonnenblume"),
        (date(2027, 3, 18), "Begehung: Familienzentrum Sonnenblume"),
        (date(2027, 7, 31), "Gültigkeit des Gütesiegels: Familienzentrum Sonnenblume"),
    ]
    opens, audit, validity = (e for _, _, e in evs)
    assert "Verschiebung ist nicht möglich" in str(opens["DESCRIPTION"])
    assert [str(c) for c in opens["CATEGORIES"].cats] == ["Gütesiegel"]
    assert audit.decoded("dtend") == date(2027, 3, 19)  # all-day: DTEND is the next day
    assert audit["DTSTART"].params.get("VALUE") == "DATE"
    assert audit.decoded("dtstamp") == STAMP
    assert "Auditor/in: Bea Prüfer" in str(audit["DESCRIPTION"])
    assert "Re-Zertifizierung 2026/27 von Familienzentrum Sonnenblume" in str(audit["DESCRIPTION"])
    assert "20.000 €" in str(validity["DESCRIPTION"])
    assert str(audit["TRANSP"]) == "TRANSPARENT"
    uids = [str(e["UID"]) for _, _, e in evs]
    assert len(set(uids)) == 3 and all(u.endswith("@certflow") for u in uids)


def test_jugendamt_feed_has_its_familienzentren_and_its_contingent_dates():
    cal, evs = events(jugendamt_feed(feed_events(data()), JA, stamp=STAMP))
    assert str(cal["X-WR-CALNAME"]) == "Gütesiegel-Termine – Jugendamt Musterstadt"
    assert [(d, s) for d, s, _ in evs] == [
        (date(2025, 3, 1), "Kontingent-Erlass 2025/26 erwartet"),
        (date(2025, 6, 15), "Nominierungen 2025/26 an das Land melden"),
        (date(2025, 6, 15), "Ungenutzte Plätze 2025/26 zurückgeben (2)"),
        (date(2025, 10, 1), "Beginn der Re-Zertifizierung: Familienzentrum Sonnenblume"),
        (date(2027, 3, 18), "Begehung: Familienzentrum Sonnenblume"),
        (date(2027, 7, 31), "Gültigkeit des Gütesiegels: Familienzentrum Sonnenblume"),
    ]
    _, other = events(jugendamt_feed(feed_events(data()), JA2, stamp=STAMP))
    assert [s for _, s, _ in other] == ["Kontingent-Erlass 2025/26 erwartet", "Nominierungen 2025/26 an das Land melden",
                                        "Beginn der Re-Zertifizierung: Familienzentrum Regenbogen",
                                        "Gültigkeit des Gütesiegels: Familienzentrum Regenbogen"]


def test_output_is_deterministic_and_uids_are_stable():
    one = jugendamt_feed(feed_events(rich_snapshot()), JA, stamp=STAMP)
    two = jugendamt_feed(feed_events(rich_snapshot()), JA, stamp=STAMP)
    assert one == two
    assert b"\r\n" in one and one.startswith(b"BEGIN:VCALENDAR")
    moved = snapshot(procedures=(info(proc(ProcedureState.AUDIT_SCHEDULED), date(2027, 2, 20),
                                      audit=date(2027, 3, 25)),))
    before = {str(e["UID"]) for _, _, e in events(familienzentrum_feed(feed_events(data()), FZ, stamp=STAMP))[1]}
    after = {str(e["UID"]) for _, _, e in events(familienzentrum_feed(feed_events(moved), FZ, stamp=STAMP))[1]}
    assert len(after - before) == 1  # the moved audit is a new event


def test_an_empty_feed_is_still_a_calendar():
    cal, evs = events(familienzentrum_feed([], FZ, stamp=STAMP))
    assert evs == [] and str(cal["X-WR-CALNAME"]).endswith("Sonnenblume")
