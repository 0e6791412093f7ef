"""The public pages over HTTP, on SQLite and PostgreSQL: reachable without login, nothing else is; an unpublished
Familienzentrum answers like an unknown one; the open-data files with ETag and caching; only the embeddable list
may be framed; nothing is loaded from the internet.

The world is that of test_services_public_register (fz-1, fz-3 and fz-9 published).
"""

from __future__ import annotations

import csv
import io
import json
import re

import pytest
from db_support import FixedClock, db_url, engine, postgres_admin  # noqa: F401
from fastapi.testclient import TestClient
from test_services_public_register import DAY, build

from certflow.services.runner import Application
from certflow.settings import Settings
from certflow.web import WebConfig, create_app

PUBLIC = {"/familienzentren", "/familienzentren/{familienzentrum_id}", "/offene-daten",
          "/offene-daten/familienzentren.{fmt}", "/offene-daten/jugendaemter/{jugendamt_id}/familienzentren.{fmt}",
          "/einbetten/jugendaemter/{jugendamt_id}"}
"""The routes of this module; test_every_other_page_needs_a_login checks that no other page is open."""
OPEN_ANYWAY = {"/", "/anmelden", "/passwort-vergessen", "/zugang/{token}", "/kalender/{secret}/jugendamt.ics",
               "/static"}
"""Pages that are open for their own reasons (the login and its links; the calendar feed takes a secret)."""


@pytest.fixture
def client(engine):  # noqa: F811
    build(engine)
    app = Application(Settings(database_url=engine.url.render_as_string(hide_password=False)),
                      clock=FixedClock(DAY), engine=engine, after_commit=[])
    return TestClient(create_app(app, WebConfig(secret_key="test-schluessel-0123456789")),
                      raise_server_exceptions=False, follow_redirects=False)


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_the_register_is_open_german_and_lists_the_published_familienzentren(client):
    response = client.get("/familienzentren")
    assert response.status_code == 200 and '<html lang="de">' in response.text
    text = text_of(response.text)
    assert "3 Familienzentren gefunden." in text
    assert text.index("Familienzentrum Drei") < text.index("Familienzentrum Eins") < text.index("Familienzentrum Neun")
    assert "Familienzentrum Zwei" not in text and "Familienzentrum Vier" not in text
    assert '<label for="ort">Ort oder Postleitzahl</label>' in response.text
    assert '<svg xmlns="http://www.w3.org/2000/svg" class="karte" role="img"' in response.text
    assert response.text.count('<circle class="karte-punkt"') == 4  # one dot per member Kita


def test_search_filter_and_the_count_is_told(client):
    assert "1 Familienzentrum gefunden." in text_of(client.get("/familienzentren?ort=Musterdorf").text)
    assert "Keine Familienzentren gefunden für „Nirgendwo“." in text_of(
        client.get("/familienzentren?ort=Nirgendwo").text)
    page = client.get("/familienzentren?jugendamt=ja-b").text
    assert "Familienzentrum Neun" in page and "Familienzentrum Eins" not in page
    assert client.get("/familienzentren?seite=abc").status_code == 200  # a bad page number is the first page


def test_one_familienzentrum_and_an_unpublished_one_answers_like_an_unknown_one(client):
    page = client.get("/familienzentren/fz-3")
    assert page.status_code == 200
    text = text_of(page.text)
    assert "Einrichtungen im Verbund" in text and "Kita k4" in text and "Musterdorf" in text
    unpublished, unknown = client.get("/familienzentren/fz-4"), client.get("/familienzentren/fz-unbekannt")
    assert unpublished.status_code == unknown.status_code == 404
    assert text_of(unpublished.text).replace("fz-4", "X") == text_of(unknown.text).replace("fz-unbekannt", "X")


def test_open_data_files_parse_carry_an_etag_and_may_be_cached(client):
    land = client.get("/offene-daten/familienzentren.csv")
    assert land.status_code == 200 and land.headers["content-type"] == "text/csv; charset=utf-8"
    rows = list(csv.DictReader(io.StringIO(land.content.decode("utf-8-sig")), delimiter=";"))
    assert len(rows) == 4 and rows[0]["lizenz"] == "dl-de/by-2-0"
    assert land.headers["cache-control"] == "public, max-age=3600"
    again = client.get("/offene-daten/familienzentren.csv", headers={"If-None-Match": land.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    geo = client.get("/offene-daten/jugendaemter/ja-b/familienzentren.geojson")
    assert geo.headers["content-type"] == "application/geo+json"
    feature = json.loads(geo.content)["features"][0]
    assert feature["properties"]["url"] == "http://testserver/familienzentren/fz-9"
    assert json.loads(client.get("/offene-daten/familienzentren.json").content)["anzahl"] == 3


@pytest.mark.parametrize("path", ["/offene-daten/familienzentren.xml",
                                  "/offene-daten/jugendaemter/ja-x/familienzentren.csv",
                                  "/einbetten/jugendaemter/ja-x", "/familienzentren/" + "x" * 300])
def test_unknown_files_and_jugendaemter_are_german_404_pages(client, path):
    response = client.get(path)
    assert response.status_code == 404 and "Traceback" not in response.text
    assert '<html lang="de">' in response.text


def test_only_the_embeddable_list_may_be_framed(client):
    embed = client.get("/einbetten/jugendaemter/ja-a")
    assert embed.status_code == 200
    assert "frame-ancestors *" in embed.headers["content-security-policy"]
    assert "x-frame-options" not in embed.headers
    assert "Familienzentrum Drei" in embed.text and "Familienzentrum Neun" not in embed.text
    assert 'target="_blank"' in embed.text
    for path in ("/familienzentren", "/offene-daten", "/familienzentren/fz-1"):
        headers = client.get(path).headers
        assert headers["x-frame-options"] == "DENY" and "frame-ancestors 'none'" in headers["content-security-policy"]


def test_the_open_data_page_names_the_licence_and_each_jugendamt_s_stable_addresses(client):
    text = client.get("/offene-daten").text
    assert "Datenlizenz Deutschland – Namensnennung – Version 2.0" in text
    assert 'href="/offene-daten/jugendaemter/ja-a/familienzentren.geojson"' in text
    assert '&lt;iframe src="http://testserver/einbetten/jugendaemter/ja-b"' in text


def test_the_public_pages_load_nothing_from_the_internet(client):
    for path in ("/familienzentren", "/familienzentren/fz-1", "/offene-daten", "/einbetten/jugendaemter/ja-a"):
        html = client.get(path).text
        loads = re.findall(r'<(?:script|img|link|iframe)[^>]+(?:src|href)="([^"]+)"', html)
        assert loads and all(not u.startswith(("http:", "https:", "//")) or u.startswith("http://testserver/")
                             for u in loads), (path, loads)


def test_the_public_pages_take_no_post(client):
    assert client.post("/familienzentren", data={"ort": "x"}).status_code in (403, 405)
    assert client.post("/offene-daten/familienzentren.csv").status_code in (403, 405)


def _routes(app):
    """Every route of ``app``, also those of included routers (FastAPI wraps them)."""
    for route in app.routes:
        inner = getattr(route, "original_router", None)
        yield from (inner.routes if inner is not None else [route])


def test_every_other_page_needs_a_login(client):
    """Every GET route of the app that is neither public here nor open for its own reasons sends an anonymous
    visitor to the login: a new page cannot be open by mistake."""
    checked = 0
    for route in _routes(client.app):
        path = getattr(route, "path", "")
        if "GET" not in (getattr(route, "methods", None) or set()) or path in PUBLIC | OPEN_ANYWAY:
            continue
        url = re.sub(r"\{[^}]+\}", "x1", path)
        response = client.get(url)
        assert response.status_code == 303 and response.headers["location"].startswith("/anmelden"), path
        checked += 1
    assert checked > 20
