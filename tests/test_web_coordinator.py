"""The coordinator's pages over HTTP (TestClient), on SQLite and PostgreSQL: the dashboard with its charts and
forms, nominating, returning and carrying over places, the list with filters and its exports, the calendar
subscription and its feed, the packets' ZIP; every route refused for every other role and for another
Jugendamt's objects with nothing changed, CSRF, and bad input told at the field with 422.

The world is tests/test_web_support.py's (built once per module and database) plus fz-3 in Jugendamt A
without a procedure and two more places for A in 2025/26; tests that write come last in their group and
check what they change.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from dataclasses import dataclass

import pytest
from argon2 import PasswordHasher
from db_support import KGJ, FixedClock, postgres_admin  # noqa: F401
from openpyxl import load_workbook
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.pool import NullPool
from test_web_support import csrf_of, log_in, make_world, web_client, world_url  # noqa: F401

from certflow import services
from certflow.catalogue.model import Form
from certflow.db import UnitOfWork, make_engine, upgrade
from certflow.lifecycle import Familienzentrum
from certflow.services import accounts, exports
from certflow.services.runner import Application

OTHER_ROLES = ["u-lead", "u-lead2", "u-aud", "u-cert", "u-admin"]


@dataclass
class Site:
    app: Application
    engine: Engine
    clock: FixedClock
    secret_a: str      # a calendar subscription of u-coord (Jugendamt A)
    token_a: int


@pytest.fixture(scope="module")
def site(world_url):
    if world_url.startswith("sqlite"):
        engine = make_engine(world_url)
    else:
        engine = make_engine(world_url, poolclass=NullPool)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(accounts, "_HASHER", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
        patch.setattr(accounts, "_DUMMY_HASH", None)
        upgrade(engine)
        clock = FixedClock()
        app = make_world(engine, clock)
        with UnitOfWork(engine, clock=clock) as uow:
            uow.familienzentren.add(Familienzentrum("fz-3", "Familienzentrum Sternschnuppe", Form.EINZEL, ("k3",),
                                                    "k3", "ja-a"), actor_id="u-admin", reason="Testdaten")
        app.run(lambda uow: services.grant(uow, "u-admin", "ja-a", KGJ, 2, "Erlass: weitere Plätze"))
        created = app.run(lambda uow: exports.create_calendar_subscription(uow, "u-coord", "Büro"))
        yield Site(app, engine, clock, created.facts["secret"], created.facts["id"])
        app.close()
    engine.dispose()


@pytest.fixture
def login(site):
    """``login(user)``: a client logged in as ``user`` (closed after the test)."""
    clients = []

    def make(user_id: str | None):
        client = web_client(site.app).__enter__()
        clients.append(client)
        if user_id is not None:
            assert log_in(client, user_id).status_code == 303
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


def _state(site) -> tuple:
    """What the coordinator's actions could change: the audit trail, contingents, procedures, tokens."""
    with site.engine.connect() as connection:
        return (connection.execute(text("SELECT COUNT(*) FROM audit_log")).scalar(),
                connection.execute(text("SELECT jugendamt_id, kgj, granted, nominated, returned, carried_in, "
                                        "carried_out FROM contingent ORDER BY jugendamt_id, kgj")).all(),
                connection.execute(text("SELECT id, state FROM procedure ORDER BY id")).all(),
                connection.execute(text("SELECT id, revoked_at FROM api_token ORDER BY id")).all())


def _no_trace(response) -> None:
    body = response.text
    assert "Traceback" not in body and 'File "' not in body and "Error:" not in body, body[:500]


def _token(client, path: str = "/koordination") -> str:
    return csrf_of(client.get(path).text)


def _field_error(html: str, field: str) -> str:
    match = re.search(rf'<p class="feldfehler" id="{re.escape(field)}-fehler"><span class="unsichtbar">Fehler: '
                      rf'</span>(.*?)</p>', html)
    assert match, f"no error at {field}"
    assert re.search(rf'id="{re.escape(field)}"[^>]*aria-invalid="true"', html), f"{field} not marked invalid"
    return match.group(1)


# -- pages ------------------------------------------------------------------------------------------------------


def _accessible(html: str) -> None:
    assert not re.search(r'(?:src|href|action)="(?:https?:)?//', html)        # nothing from outside
    assert not re.search(r"<script(?![^>]*\bsrc=)", html)                      # no inline script (CSP)
    assert not re.search(r'\sstyle="|\son[a-z]+="', html)                       # no inline style or handler
    for field in re.findall(r'<(?:input|select|textarea) id="([^"]+)"', html):
        assert f'<label for="{field}">' in html, f"{field} has no label"
    forms = re.findall(r"<form [^>]*method=\"post\"[^>]*>(.*?)</form>", html, re.S)
    assert forms and all('name="csrf_token"' in form for form in forms)


def test_the_dashboard_shows_figures_charts_tables_and_forms(site, login):
    page = login("u-coord").get("/koordination")
    assert page.status_code == 200
    html = page.text
    _accessible(html)
    assert "<h1>Übersicht: Jugendamt Musterkreis</h1>" in html
    for chart in ("d-siegel", "d-verfahren", "d-plaetze"):
        assert re.search(rf'<svg [^>]*role="img"[^>]*aria-labelledby="{chart}-t {chart}-d"', html)
    assert '<desc id="d-plaetze-d">2025/26: vergeben 2, zurückgegeben 0, frei 3 (zusammen 5)</desc>' in html
    assert '<tr><th scope="row">noch ohne Gütesiegel</th><td class="zahl">3</td></tr>' in html
    assert '<tr><th scope="row">nominiert</th><td class="zahl">2</td></tr>' in html
    assert "In den nächsten 12 Monaten läuft kein Gütesiegel ab." in html
    assert '<option value="fz-3">Familienzentrum Sternschnuppe</option>' in html
    assert 'value="fz-1"' not in html  # fz-1 has a procedure: not offered
    assert '<option value="2025/26">2025/26</option>' in html
    assert 'href="/koordination/familienzentren"' in html and 'href="/koordination/kalender"' in html
    assert "Noch hat kein Verfahren Ihres Jugendamts ein Auditpaket" in html


def test_the_list_filters_in_place_and_exports_what_it_shows(site, login):
    client = login("u-coord")
    page = client.get("/koordination/familienzentren")
    assert page.status_code == 200
    _accessible(page.text)
    assert re.findall(r'<th scope="row">([^<]+)<br>', page.text) == [
        "Familienzentrum Muster", "Familienzentrum Regenbogen", "Familienzentrum Sternschnuppe"]
    fragment = client.get("/koordination/familienzentren?zustand=ohne", headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and fragment.text.startswith('<div id="fz-liste">')
    assert "<html" not in fragment.text and "Familienzentrum Sternschnuppe" in fragment.text
    assert "Familienzentrum Muster<" not in fragment.text
    assert 'href="/koordination/familienzentren.csv?zustand=ohne"' in fragment.text
    csv_file = client.get("/koordination/familienzentren.csv?zustand=nominated&ort=Musterstadt")
    assert csv_file.status_code == 200 and csv_file.headers["content-type"] == "text/csv; charset=utf-8"
    assert csv_file.headers["content-disposition"] == 'attachment; filename="familienzentren-ja-a-2025-09-01.csv"'
    rows = list(csv.reader(io.StringIO(csv_file.content.decode("utf-8-sig")), delimiter=";"))
    assert [row[0] for row in rows] == ["Kennung", "fz-1", "fz-2"] and rows[1][8] == "nominiert"
    xlsx = client.get("/koordination/familienzentren.xlsx?form=einzel")
    sheet = load_workbook(io.BytesIO(xlsx.content))["Familienzentren"]
    assert [row[0] for row in sheet.iter_rows(values_only=True)] == ["Kennung", "fz-1", "fz-2", "fz-3"]


def test_the_packets_come_as_one_zip(site, login):
    response = login("u-coord").get("/koordination/pakete.zip")
    assert response.status_code == 200 and response.headers["content-type"] == "application/zip"
    assert response.headers["content-disposition"] == 'attachment; filename="auditpakete-ja-a-2025-09-01.zip"'
    with zipfile.ZipFile(io.BytesIO(response.content)) as zipped:
        assert zipped.namelist() == ["LIESMICH.txt"]  # no procedure of the world has a submitted self-assessment


def test_a_calendar_subscription_is_made_shown_once_fetched_and_ended(site, login):
    client = login("u-coord")
    before = _state(site)
    made = client.post("/koordination/kalender", data={"bezeichnung": "Outlook", "csrf_token": _token(client)})
    assert made.status_code == 200 and "Kalender-Abo „Outlook“ angelegt" in made.text
    _accessible(made.text)
    url = re.search(r'id="abo-link" type="text" readonly value="(http://testserver/kalender/([^/"]+)/jugendamt\.ics)"',
                    made.text)
    assert url and url.group(2).startswith("cft_")
    assert url.group(2) not in client.get("/koordination/kalender").text  # shown once
    with web_client(site.app) as calendar_program:  # no login: the secret is the key
        feed = calendar_program.get(url.group(1).removeprefix("http://testserver"))
        assert feed.status_code == 200 and feed.headers["content-type"] == "text/calendar; charset=utf-8"
        assert feed.text.startswith("BEGIN:VCALENDAR") and "Musterkreis" in feed.text
        listed = client.get("/koordination/kalender").text
        (token_id,) = [t for t in re.findall(r'action="/koordination/kalender/(\d+)/beenden"', listed)
                       if t != str(site.token_a)]
        ended = client.post(f"/koordination/kalender/{token_id}/beenden", data={"csrf_token": _token(client)})
        assert ended.status_code == 200 and "Kalender-Abo „Outlook“ beendet" in ended.text
        gone = calendar_program.get(url.group(1).removeprefix("http://testserver"))
        assert gone.status_code == 404 and "Diese Seite gibt es nicht" in gone.text
        _no_trace(gone)
    after = _state(site)
    assert after[:3] == (before[0] + 2, before[1], before[2]) and len(after[3]) == len(before[3]) + 1


def test_nominate_return_and_carry_over_each_confirmed_and_audited(site, login):
    client = login("u-coord")
    token = _token(client)
    nominated = client.post("/koordination/nominieren", data={"familienzentrum": "fz-3", "kgj": "2025/26",
                                                             "grund": "Beschluss des JHA", "csrf_token": token})
    assert nominated.status_code == 200
    assert re.search(r'<p class="hinweis" role="status" id="bestaetigung">Familienzentrum Sternschnuppe für 2025/26 '
                     r"nominiert: Verfahren V-2025-\d+ \(Kontingent Jugendamt Musterkreis: 3 von 5 vergeben\)</p>",
                     nominated.text)
    returned = client.post("/koordination/zurueckgeben", data={"kgj": "2025/26", "plaetze": "1",
                                                              "grund": "nicht gebraucht", "csrf_token": token})
    assert returned.status_code == 200 and "2025/26: 1 Platz/Plätze zurückgegeben" in returned.text
    carried = client.post("/koordination/uebertragen", data={"kgj": "2025/26", "grund": "im nächsten Jahr",
                                                            "csrf_token": token})
    assert carried.status_code == 200
    assert "1 zurückgegebene(r) Platz/Plätze aus 2025/26 in 2026/27 erneut angeboten" in carried.text
    again = client.post("/koordination/uebertragen", data={"kgj": "2025/26", "grund": "noch einmal",
                                                          "csrf_token": token})
    assert again.status_code == 403
    assert '<p class="feldfehler" role="alert" id="ueb-form-fehler">Für 2025/26 gibt es keine zurückgegebenen' \
           in again.text
    with site.engine.connect() as connection:
        trail = connection.execute(text("SELECT actor_id, action, reason FROM audit_log WHERE actor_id = 'u-coord' "
                                        "ORDER BY seq DESC LIMIT 5")).all()
    assert {(a, r) for a, _, r in trail} >= {("u-coord", "Beschluss des JHA"), ("u-coord", "nicht gebraucht"),
                                            ("u-coord", "im nächsten Jahr")}


# -- bad input ----------------------------------------------------------------------------------------------------

BAD_FORMS = [
    ("/koordination/nominieren", {"familienzentrum": "", "kgj": "", "grund": " "},
     {"nom-fz": "Bitte ein Familienzentrum wählen.", "nom-kgj": "Bitte ein Kindergartenjahr wählen.",
      "nom-grund": "Bitte einen Grund angeben (er steht im Prüfprotokoll)."}),
    ("/koordination/nominieren", {"familienzentrum": "x" * 65, "kgj": "9999/00", "grund": "x" * 1001},
     {"nom-fz": "Die Kennung darf höchstens 64 Zeichen lang sein.",
      "nom-kgj": "Kindergartenjahr: Startjahr 9999 liegt außerhalb von 1 bis 9998.",
      "nom-grund": "Der Grund darf höchstens 1000 Zeichen lang sein (jetzt: 1001)."}),
    ("/koordination/nominieren", {"familienzentrum": "fz-3", "kgj": "2025/27", "grund": "x"},
     {"nom-kgj": "„2025/27“: auf 2025 muss 2026 folgen (richtig: 2025/26)."}),
    ("/koordination/zurueckgeben", {"kgj": "irgendwann", "plaetze": "abc", "grund": ""},
     {"rueck-kgj": "Ungültiges Kindergartenjahr „irgendwann“", "rueck-plaetze": "Bitte eine ganze Zahl von 1 bis 999",
      "rueck-grund": "Bitte einen Grund angeben"}),
    ("/koordination/zurueckgeben", {"kgj": "2025/26", "plaetze": "0", "grund": "x"},
     {"rueck-plaetze": "Bitte eine ganze Zahl von 1 bis 999 angeben."}),
    ("/koordination/zurueckgeben", {"kgj": "2025/26", "plaetze": "-1", "grund": "x"},
     {"rueck-plaetze": "Bitte eine ganze Zahl von 1 bis 999 angeben."}),
    ("/koordination/zurueckgeben", {"kgj": "2025/26", "plaetze": "1000", "grund": "x"},
     {"rueck-plaetze": "Bitte eine ganze Zahl von 1 bis 999 angeben."}),
    ("/koordination/zurueckgeben", {"kgj": "2025/26", "plaetze": "1.5", "grund": "x"},
     {"rueck-plaetze": "Bitte eine ganze Zahl von 1 bis 999 angeben."}),
    ("/koordination/uebertragen", {"kgj": "", "grund": "x" * 5000},
     {"ueb-kgj": "Bitte ein Kindergartenjahr wählen.", "ueb-grund": "höchstens 1000 Zeichen"}),
    ("/koordination/uebertragen", {"kgj": "0000/01", "grund": "x"},
     {"ueb-kgj": "Startjahr 0 liegt außerhalb von 1 bis 9998"}),
    ("/koordination/kalender", {"bezeichnung": " "}, {"bezeichnung": "Bitte eine Bezeichnung angeben"}),
    ("/koordination/kalender", {"bezeichnung": "x" * 101}, {"bezeichnung": "höchstens 100 Zeichen lang"}),
]


@pytest.mark.parametrize("path, data, errors", BAD_FORMS)
def test_bad_input_in_every_form_is_told_at_the_field_and_nothing_changes(site, login, path, data, errors):
    client = login("u-coord")
    token = _token(client)
    before = _state(site)
    response = client.post(path, data={**data, "csrf_token": token})
    assert response.status_code == 422
    _no_trace(response)
    for field, message in errors.items():
        assert message in _field_error(response.text, field)
    assert _state(site) == before


@pytest.mark.parametrize("query, field, message", [
    ("siegel_vor=2025-13-01", "siegel_vor", "„2025-13-01“ ist kein Datum; erwartet wird JJJJ-MM-TT"),
    ("siegel_vor=1800-01-01", "siegel_vor", "Das Datum muss zwischen 01.01.1900 und 31.12.2199 liegen"),
    ("siegel_vor=99999-01-01", "siegel_vor", "ist kein Datum"),
    ("zustand=erfunden", "zustand", "Diesen Zustand gibt es nicht"),
    ("ort=" + "x" * 101, "ort", "höchstens 100 Zeichen"),
    ("form=rund", "form", "Bitte Einzeleinrichtung oder Verbund wählen"),
])
def test_bad_filters_are_told_at_the_field(site, login, query, field, message):
    client = login("u-coord")
    page = client.get(f"/koordination/familienzentren?{query}")
    assert page.status_code == 422 and message in _field_error(page.text, field)
    _no_trace(page)
    fragment = client.get(f"/koordination/familienzentren?{query}", headers={"HX-Request": "true"})
    assert fragment.status_code == 422 and fragment.text.startswith('<div id="fz-liste">') and message in fragment.text
    for fmt in ("csv", "xlsx"):
        export = client.get(f"/koordination/familienzentren.{fmt}?{query}")
        assert export.status_code == 422 and "text/html" in export.headers["content-type"] and message in export.text
        _no_trace(export)


@pytest.mark.parametrize("page", ["0", "abc", "-2", "9999999"])
def test_a_bad_page_number_is_told(site, login, page):
    response = login("u-coord").get(f"/koordination/familienzentren?seite={page}")
    assert response.status_code == 422 and "Die Seite muss eine ganze Zahl ab 1 sein." in response.text


def test_a_bad_subscription_number_is_a_german_422(site, login):
    client = login("u-coord")
    response = client.post("/koordination/kalender/abc/beenden", data={"csrf_token": _token(client)})
    assert response.status_code == 422 and "Feld token_id: fehlt oder ungültig" in response.text
    _no_trace(response)


# -- CSRF and access -----------------------------------------------------------------------------------------------

POSTS = [
    ("/koordination/nominieren", {"familienzentrum": "fz-3", "kgj": "2025/26", "grund": "Beschluss"}),
    ("/koordination/zurueckgeben", {"kgj": "2025/26", "plaetze": "1", "grund": "zurück"}),
    ("/koordination/uebertragen", {"kgj": "2025/26", "grund": "weiter"}),
    ("/koordination/kalender", {"bezeichnung": "Neu"}),
    ("/koordination/kalender/{token_a}/beenden", {}),
]
GETS = ["/koordination", "/koordination/familienzentren", "/koordination/familienzentren.csv",
        "/koordination/familienzentren.xlsx", "/koordination/kalender", "/koordination/pakete.zip"]


@pytest.mark.parametrize("path, data", POSTS)
def test_a_missing_or_wrong_csrf_token_is_refused_and_nothing_changes(site, login, path, data):
    client = login("u-coord")
    path = path.format(token_a=site.token_a)
    before = _state(site)
    for extra in ({}, {"csrf_token": "falsch"}):
        response = client.post(path, data={**data, **extra})
        assert response.status_code == 403 and "Sicherheitsprüfung" in response.text
        _no_trace(response)
    assert client.post(path, data=data, headers={"X-CSRF-Token": "falsch"}).status_code == 403
    assert _state(site) == before


@pytest.mark.parametrize("user", OTHER_ROLES)
def test_every_route_refuses_every_other_role_and_nothing_changes(site, login, user):
    client = login(user)
    token = _token(client, "/start")
    before = _state(site)
    for path in GETS:
        response = client.get(path)
        assert response.status_code == 403, path
        assert "Nicht erlaubt" in response.text and "text/html" in response.headers["content-type"]
        _no_trace(response)
    for path, data in POSTS:
        response = client.post(path.format(token_a=site.token_a), data={**data, "csrf_token": token})
        assert response.status_code == 403, path
        _no_trace(response)
    assert _state(site) == before
    with web_client(site.app) as anonymous:  # the feed is the secret's, whoever's session
        assert anonymous.get(f"/kalender/{site.secret_a}/jugendamt.ics").status_code == 200


def test_without_login_every_page_asks_to_log_in_and_nothing_changes(site, login):
    client = login(None)
    before = _state(site)
    for path in GETS:
        assert client.get(path).headers["location"].startswith("/anmelden?weiter=")
    for path, data in POSTS:
        assert client.post(path.format(token_a=site.token_a), data=data).status_code == 403
    for secret in ("cft_erfunden", site.secret_a[:-2] + "xx", "x" * 300):
        response = client.get(f"/kalender/{secret}/jugendamt.ics")
        assert response.status_code == 404 and "Diese Seite gibt es nicht" in response.text
    assert _state(site) == before


def test_another_jugendamts_objects_are_refused_and_nothing_changes(site, login):
    client = login("u-coord-b")
    token = _token(client)
    before = _state(site)
    for fz_id in ("fz-1", "fz-3", "fz-gibtsnicht"):  # A's with and without a procedure, and none at all
        response = client.post("/koordination/nominieren", data={"familienzentrum": fz_id, "kgj": "2025/26",
                                                                "grund": "Versuch", "csrf_token": token})
        assert response.status_code == 403
        assert (f'id="nom-form-fehler">Ein Familienzentrum „{fz_id}“ gibt es im Jugendamt Anderswo nicht.'
                in response.text)
    ended = client.post(f"/koordination/kalender/{site.token_a}/beenden", data={"csrf_token": token})
    assert ended.status_code == 403
    assert f"Ein Kalender-Abo Nr. {site.token_a} gibt es unter Ihren Abos nicht (mehr)." in ended.text
    listing = client.get("/koordination/familienzentren").text
    assert "Familienzentrum Nordlicht" in listing and "Familienzentrum Muster" not in listing
    rows = list(csv.reader(io.StringIO(client.get("/koordination/familienzentren.csv?zustand=nominated")
                                       .content.decode("utf-8-sig")), delimiter=";"))
    assert [row[0] for row in rows[1:]] == ["fz-9"]
    assert "Sie haben kein Kalender-Abo." in client.get("/koordination/kalender").text  # A's is not listed
    assert _state(site) == before
    with web_client(site.app) as calendar_program:  # A's subscription still works
        assert "Musterkreis" in calendar_program.get(f"/kalender/{site.secret_a}/jugendamt.ics").text


def test_the_start_page_links_a_coordinator_to_the_pages(site, login):
    start = login("u-coord").get("/start").text
    for link in ("/koordination", "/koordination/familienzentren", "/koordination/kalender"):
        assert f'<a href="{link}">' in start
    assert '<a href="/koordination">' not in login("u-lead").get("/start").text
