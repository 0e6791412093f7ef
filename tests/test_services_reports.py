"""The nomination report and the statistics, on SQLite and PostgreSQL, with their files parsed back.

The world (db_support's seed: Jugendamt ja-a with Kitas k1–k3 in Musterstadt and fz-1, a contingent of three places
for 2025/26): fz-2 (k2) and fz-3 (k3) join; fz-1 is nominated on 01.06.2025 (on time), fz-2 on 20.06.2025 (after the
15 June deadline), one place is returned; Jugendamt ja-b (one Kita) with its coordinator. For the statistics fz-1
holds a live seal until 31.07.2029 and an earlier procedure of it (2022/23) was decided on a submitted
self-assessment that meets nothing.
"""

from __future__ import annotations

import io
import json
from datetime import UTC, date, datetime

import pytest
from db_support import KGJ, USERS, FixedClock, db_url, engine, postgres_admin, seed  # noqa: F401
from openpyxl import load_workbook

from certflow import services
from certflow.calendar import KindergartenYear
from certflow.catalogue.model import Form, ProcedureKind
from certflow.db import UnitOfWork
from certflow.lifecycle.entities import (
    Certificate,
    Familienzentrum,
    Jugendamt,
    Kita,
    Procedure,
    ProcedureState,
    Role,
    SubmissionSnapshot,
    User,
)
from certflow.lifecycle.machinery import StateChange
from certflow.lifecycle.snapshot import sha256_hex
from certflow.reports import nomination_pdf, nomination_xlsx, statistics_xlsx
from certflow.services import reports
from certflow.services.runner import Application, UseCaseError
from certflow.settings import Settings

BY, WHY = "u-admin", "Testdaten"
COORD_B = User("u-coord-b", "Koordinator B", Role.COORDINATOR, jugendamt_id="ja-b")
TODAY = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)


@pytest.fixture
def app(engine):  # noqa: F811
    clock = FixedClock(datetime(2025, 5, 1, 8, 0, tzinfo=UTC))
    with UnitOfWork(engine, clock=clock) as uow:
        seed(uow)
        uow.jugendaemter.add(Jugendamt("ja-b", "Jugendamt Anderswo"), actor_id=BY, reason=WHY)
        uow.kitas.add(Kita("k9", "Kita Nord", "tr-1", "ja-b", "Nordweg 9", "54321", "Anderswo", 52.0, 8.0),
                      actor_id=BY, reason=WHY)
        for fz, kita in (("fz-2", "k2"), ("fz-3", "k3")):
            uow.familienzentren.add(Familienzentrum(fz, f"Familienzentrum {fz}", Form.EINZEL, (kita,), kita, "ja-a"),
                                    actor_id=BY, reason=WHY)
        uow.users.add(COORD_B, actor_id=BY, reason=WHY)
        decided = Procedure("V-2022-001", "fz-1", ProcedureKind.ERST, "familienzentrum-nrw@2020",
                            KindergartenYear(2022), date(2022, 8, 1), date(2023, 7, 31),
                            state=ProcedureState.CERTIFIED, submitted_revision=1)
        uow.procedures.add(decided, StateChange("procedure", decided.id, None, "certified", "nominate", BY,
                                                clock(), WHY))
        text = json.dumps({"catalogue": "familienzentrum-nrw", "catalogue_version": "2020", "procedure": "erst",
                           "form": "einzel", "answers": {}})
        uow.submissions.add_snapshot(SubmissionSnapshot(decided.id, 1, sha256_hex(text), text, clock(), BY, False))
        uow.certificates.add(Certificate("FZ-2023-001", "fz-1", date(2023, 5, 1), date(2029, 7, 31)),
                             actor_id=BY, reason=WHY)
    app = Application(Settings(database_url=engine.url.render_as_string(hide_password=False)), clock=clock,
                      engine=engine, after_commit=[])
    coordinator = USERS["coordinator"].id
    clock.at = datetime(2025, 6, 1, 8, 0, tzinfo=UTC)
    app.run(lambda uow: services.nominate(uow, coordinator, "fz-1", KGJ, "JHA-Beschluss vom 28.05.2025",
                                          procedure_id="V-2025-001"))
    clock.at = datetime(2025, 6, 20, 8, 0, tzinfo=UTC)
    app.run(lambda uow: services.nominate(uow, coordinator, "fz-2", KGJ, "Nachträglicher JHA-Beschluss",
                                          procedure_id="V-2025-002"))
    clock.at = datetime(2025, 7, 1, 8, 0, tzinfo=UTC)
    app.run(lambda uow: services.return_places(uow, coordinator, "ja-a", KGJ, 1, "Kein weiterer Vorschlag"))
    clock.at = TODAY
    return app


def test_the_nomination_report_holds_the_places_the_nominations_with_their_dates_and_the_movements(app):
    report = app.run(lambda uow: reports.nomination_report(uow, "u-coord", KGJ))
    assert (report.jugendamt, str(report.kgj), report.due, report.made_on) == (
        "Jugendamt Musterkreis", "2025/26", date(2025, 6, 15), date(2026, 3, 10))
    assert (report.granted, report.nominated, report.returned, report.carried_in, report.free) == (3, 2, 1, 0, 0)
    assert [(line.nominated.procedure_id, line.nominated.name, line.nominated.towns, line.on_time,
             line.nominated.reason, line.state_label) for line in report.lines] == [
        ("V-2025-001", "Familienzentrum Muster", "Musterstadt", True, "JHA-Beschluss vom 28.05.2025", "nominiert"),
        ("V-2025-002", "Familienzentrum fz-2", "Musterstadt", False, "Nachträglicher JHA-Beschluss", "nominiert")]
    assert [line.nominated.procedure_id for line in report.late] == ["V-2025-002"]
    assert [(m.on, m.what, m.places) for m in report.movements] == [
        (date(2025, 5, 1), "Kontingent gewährt", 3),
        (date(2025, 6, 1), "Platz vergeben (Nominierung)", 1),
        (date(2025, 6, 20), "Platz vergeben (Nominierung)", 1),
        (date(2025, 7, 1), "Plätze zurückgegeben", 1)]


def test_the_nomination_report_as_pdf_and_xlsx(app):
    report = app.run(lambda uow: reports.nomination_report(uow, "u-cert", KGJ, jugendamt_id="ja-a"))
    pdf = nomination_pdf(report)
    assert pdf.startswith(b"%PDF") and pdf == nomination_pdf(report)  # reproducible
    book = load_workbook(io.BytesIO(nomination_xlsx(report)))
    assert book.sheetnames == ["Meldung", "Nominierungen", "Bewegungen"]
    summary = {row[0]: row[1] for row in book["Meldung"].iter_rows(min_row=2, values_only=True)}
    assert (summary["Kindergartenjahr"], summary["nominiert"], summary["frei"],
            summary["nach der Frist nominiert"]) == ("2025/26", 2, 0, 1)
    lines = list(book["Nominierungen"].iter_rows(min_row=2, values_only=True))
    assert [(r[0], r[6].date() if isinstance(r[6], datetime) else r[6], r[7]) for r in lines] == [
        ("V-2025-001", date(2025, 6, 1), "ja"), ("V-2025-002", date(2025, 6, 20), "nein")]


def test_the_nomination_report_s_text_is_in_the_pdf(app, tmp_path):
    import subprocess

    report = app.run(lambda uow: reports.nomination_report(uow, "u-coord", KGJ))
    (tmp_path / "m.pdf").write_bytes(nomination_pdf(report))
    text = subprocess.run(["pdftotext", "-layout", str(tmp_path / "m.pdf"), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert "Meldung der Nominierungen an das Land" in text and "Meldefrist 15.06.2025" in text
    assert "20.06.2025" in text and "nach der Frist" in text and "1 Nominierung(en) nach der Meldefrist" in text


@pytest.mark.parametrize(("actor", "jugendamt", "message"), [
    ("u-coord-b", "ja-a", "darf das Jugendamt ja-a nicht sehen"),
    ("u-lead", None, "nicht zugänglich"),
    ("u-aud", None, "nicht zugänglich"),
    ("u-cert", None, "Bitte das Jugendamt angeben"),
])
def test_the_nomination_report_is_scoped(app, actor, jugendamt, message):
    with pytest.raises(UseCaseError, match=message):
        app.run(lambda uow: reports.nomination_report(uow, actor, KGJ, jugendamt_id=jugendamt))


def test_a_year_without_a_contingent_is_told(app):
    with pytest.raises(UseCaseError, match="hat für 2019/20 kein Kontingent"):
        app.run(lambda uow: reports.nomination_report(uow, "u-coord", KindergartenYear(2019)))


def test_statistics_of_a_jugendamt_coverage_lapsing_and_results_per_area(app):
    stats = app.run(lambda uow: reports.statistics(uow, "u-coord"))
    assert (stats.scope, stats.jugendamt_id, str(stats.since)) == ("Jugendamt Musterkreis", "ja-a", "2022/23")
    assert [(t.town, t.kitas, t.kitas_in_familienzentren, t.familienzentren) for t in stats.towns] == [
        ("Musterstadt", 3, 1, 1)]
    assert round(stats.share, 3) == 0.333
    assert stats.lapsing == ((2029, 1),)
    assert stats.scored == 1 and len(stats.shortfalls) == 8
    assert all(a.not_met == 1 and a.scored == 1 for a in stats.shortfalls)
    assert stats.shortfalls[0].area_id == "1"


def test_statistics_of_the_land_for_the_certification_body_and_the_scopes(app):
    land = app.run(lambda uow: reports.statistics(uow, "u-cert"))
    assert land.scope == "Nordrhein-Westfalen" and land.kitas == 4
    assert [t.town for t in land.towns] == ["Anderswo", "Musterstadt"]
    other = app.run(lambda uow: reports.statistics(uow, "u-coord-b"))
    assert (other.scope, other.kitas, other.scored, other.lapsing) == ("Jugendamt Anderswo", 1, 0, ())
    with pytest.raises(UseCaseError, match="darf das Jugendamt ja-a nicht sehen"):
        app.run(lambda uow: reports.statistics(uow, "u-coord-b", jugendamt_id="ja-a"))
    with pytest.raises(UseCaseError, match="nicht zugänglich"):
        app.run(lambda uow: reports.statistics(uow, "u-lead"))
    book = load_workbook(io.BytesIO(statistics_xlsx(land)))
    assert book.sheetnames == ["Abdeckung", "Auslaufende Gütesiegel", "Ergebnisse je Bereich"]
    assert list(book["Abdeckung"].iter_rows(min_row=2, values_only=True))[1] == ("Musterstadt", 3, 1, 0.3333, 1)


def test_report_choices(app):
    mine = app.run(lambda uow: reports.report_choices(uow, "u-coord"))
    assert (mine.jugendaemter, mine.land, mine.jugendamt_id, [str(y) for y in mine.years]) == (
        (("ja-a", "Jugendamt Musterkreis"),), False, "ja-a", ["2025/26"])
    cert = app.run(lambda uow: reports.report_choices(uow, "u-cert"))
    assert cert.land and cert.jugendamt_id is None and cert.years == () and len(cert.jugendaemter) == 2
