"""The paged lists of the web pages on SQLite and PostgreSQL: the start page's state filter and pages (the
service's, not the route's), the page links, and a bad page or state as a German 422 page.

The world is test_web_auth's (:func:`test_web_support.make_world`); the page size is made small so a few
Familienzentren fill more than one page.
"""

from __future__ import annotations

import pytest
from db_support import clock, db_url, engine, postgres_admin  # noqa: F401
from test_web_support import cheap_hashing, log_in, make_world, web_client  # noqa: F401

from certflow.services import certification, queries


@pytest.fixture
def client(engine, clock, cheap_hashing, monkeypatch):  # noqa: F811
    monkeypatch.setattr(queries, "OVERVIEW_PAGE_SIZE", 1)
    monkeypatch.setattr(queries.overview_page, "__kwdefaults__", {**queries.overview_page.__kwdefaults__, "limit": 1})
    app = make_world(engine, clock)
    with web_client(app) as c:
        log_in(c, "u-admin")
        yield c
    app.close()


def test_the_start_page_shows_one_page_with_links_and_the_counts_of_all(client):
    first = client.get("/start")
    assert first.status_code == 200
    total = int(first.text.split('<h2 id="liste">Familienzentren (', 1)[1].split(")", 1)[0])
    assert total > 1 and f"Seite 1 von {total}" in first.text
    assert 'href="/start?seite=2" rel="next"' in first.text and 'rel="prev"' not in first.text
    second = client.get("/start?seite=2")
    assert 'href="/start?" rel="prev"' in second.text and f"Seite 2 von {total}" in second.text
    assert first.text.count('<th scope="row">') == second.text.count('<th scope="row">') == 1


def test_the_state_filter_is_the_services_and_keeps_its_pages(client):
    fragment = client.get("/start/uebersicht?zustand=nominated", headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and fragment.text.startswith('<div id="uebersicht">')
    assert "3 Familienzentren im Zustand „nominiert“, Seite 1 von 3" in fragment.text
    assert 'href="/start?zustand=nominated&amp;seite=2" rel="next"' in fragment.text  # the filter stays
    rows = fragment.text.split('<th scope="row">')[1:]
    assert len(rows) == 1 and "<td>nominiert</td>" in rows[0]


@pytest.mark.parametrize("query, message", [
    ("seite=0", "eine ganze Zahl von 1 bis 100000 erwartet"),
    ("seite=zwei", "eine ganze Zahl von 1 bis 100000 erwartet"),
    ("zustand=erfunden", "Einen Zustand „erfunden“ gibt es nicht"),
])
def test_a_bad_page_or_state_is_a_german_422_page(client, query, message):
    response = client.get(f"/start?{query}")
    assert response.status_code == 422 and message in response.text
    assert "Traceback" not in response.text


def test_the_desk_pages_each_stage_on_its_own(engine, clock, cheap_hashing, monkeypatch):  # noqa: F811
    monkeypatch.setattr(certification.desk, "__kwdefaults__", {**certification.desk.__kwdefaults__, "limit": 1})
    app = make_world(engine, clock)
    with web_client(app) as c:
        log_in(c, "u-cert")
        desk = c.get("/zertifizierung")
        assert desk.status_code == 200
        bad = c.get("/zertifizierung?stufe=gibtesnicht")
        assert bad.status_code == 422 and "eine der Stufen" in bad.text
    app.close()
