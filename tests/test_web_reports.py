"""The report pages over HTTP, on SQLite and PostgreSQL (the world of test_services_reports): the nomination report as
a page, PDF and XLSX; the statistics with charts and tables; who may see which Jugendamt, for every route.
"""

from __future__ import annotations

import io

import pytest
from db_support import FixedClock, db_url, engine, postgres_admin  # noqa: F401
from openpyxl import load_workbook
from test_services_reports import app  # noqa: F401 - the world
from test_web_support import cheap_hashing, log_in, web_client  # noqa: F401

from certflow import services

PASSWORD = "Ein-langes-Kennwort-2026!"
ROUTES = ["/berichte/meldung", "/berichte/meldung.pdf", "/berichte/meldung.xlsx", "/berichte/statistik",
          "/berichte/statistik.xlsx"]


@pytest.fixture
def as_user(app, cheap_hashing):  # noqa: F811
    def passwords(uow):
        for user_id in ("u-coord", "u-coord-b", "u-cert", "u-admin", "u-lead", "u-aud"):
            services.set_password(uow, "u-admin", user_id, PASSWORD)
    app.run(passwords)
    clients = []

    def login(user_id: str):
        client = web_client(app)
        clients.append(client)
        assert log_in(client, user_id, PASSWORD).status_code == 303
        return client
    yield login
    for client in clients:
        client.close()


def test_the_coordinator_reads_the_nomination_report_and_downloads_it(as_user):
    client = as_user("u-coord")
    page = client.get("/berichte/meldung")
    assert page.status_code == 200
    assert "Jugendamt Musterkreis, Kindergartenjahr 2025/26" in page.text and "(nach der Frist)" in page.text
    assert 'href="/berichte/meldung.pdf?jugendamt=ja-a&amp;kgj=2025%2F26"' in page.text
    pdf = client.get("/berichte/meldung.pdf?jugendamt=ja-a&kgj=2025%2F26")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert pdf.headers["content-disposition"] == 'attachment; filename="meldung-ja-a-2025.pdf"'
    xlsx = client.get("/berichte/meldung.xlsx?kgj=2025/26")
    assert load_workbook(io.BytesIO(xlsx.content)).sheetnames == ["Meldung", "Nominierungen", "Bewegungen"]


def test_statistics_page_with_charts_and_tables(as_user):
    client = as_user("u-coord")
    page = client.get("/berichte/statistik")
    assert page.status_code == 200 and "Statistik: Jugendamt Musterkreis" in page.text
    assert page.text.count('role="img"') == 3  # coverage, lapsing, areas
    assert "1 von 3 Kitas gehören zu einem Familienzentrum" in page.text
    land = as_user("u-cert").get("/berichte/statistik")
    assert "Statistik: Nordrhein-Westfalen" in land.text and "ganz Nordrhein-Westfalen" in land.text
    book = load_workbook(io.BytesIO(as_user("u-admin").get("/berichte/statistik.xlsx?jugendamt=ja-b").content))
    assert [r[0] for r in book["Abdeckung"].iter_rows(min_row=2, values_only=True)] == ["Anderswo"]


def test_the_certification_body_chooses_a_jugendamt_first(as_user):
    client = as_user("u-cert")
    page = client.get("/berichte/meldung")
    assert page.status_code == 200 and "Bitte ein Jugendamt wählen." in page.text
    assert "Jugendamt Musterkreis, Kindergartenjahr 2025/26" in client.get("/berichte/meldung?jugendamt=ja-a").text


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("user", ["u-lead", "u-aud"])
def test_kita_leads_and_auditors_are_refused_every_report(as_user, route, user):
    response = as_user(user).get(route)
    assert response.status_code == 403 and "nicht zugänglich" in response.text


@pytest.mark.parametrize("route", ROUTES)
def test_a_coordinator_cannot_read_another_jugendamt_s_reports(as_user, route):
    response = as_user("u-coord-b").get(route + "?jugendamt=ja-a&kgj=2025/26")
    assert response.status_code == 403 and "darf das Jugendamt ja-a nicht sehen" in response.text
    assert b"Musterkreis" not in response.content


@pytest.mark.parametrize("route", ROUTES)
def test_reports_need_a_login(app, route):  # noqa: F811
    with web_client(app) as client:
        response = client.get(route)
    assert response.status_code == 303 and response.headers["location"].startswith("/anmelden")


def test_a_bad_kindergartenjahr_is_the_newest(as_user):
    page = as_user("u-coord").get("/berichte/meldung?kgj=zwanzig")
    assert page.status_code == 200 and "Kindergartenjahr 2025/26" in page.text
