"""A parent's and a Kreis's journey through the public register in a real browser (Debian's Chromium driven by
Playwright), on a copy of the demo, without logging in: search by town with the keyboard, open a Familienzentrum,
follow the map's dot, open the open-data page and download the CSV and GeoJSON (parsed back), then frame the
embeddable list in a page of another origin.

Screenshots go to artifacts/web/public-*.png. Every request stays on the server (the OpenStreetMap links are
links, never loaded) and no script error or CSP violation shows up in the console. Skipped when /usr/bin/chromium
is missing, unless CI=true.
"""

from __future__ import annotations

import contextlib
import csv
import functools
import io
import json
import threading
from datetime import date
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from browser_support import assert_shots, playwright_and_page, serving, shot
from conftest import DEMO_DAY

SHOTS = ("liste", "suche", "familienzentrum", "offene-daten", "eingebettet")


@contextlib.contextmanager
def other_site(folder: Path):
    """``folder`` served over HTTP on another loopback port: a website of another origin (a Kreis's)."""
    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

    handler = functools.partial(Quiet, directory=str(folder))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def served(demo_db, tmp_path_factory):
    from certflow.cli.serve import running_from
    from certflow.services.runner import Application
    from certflow.settings import Settings

    url = f"sqlite:///{demo_db.copy(tmp_path_factory.mktemp('oeffentlich') / 'demo.sqlite')}"
    app = Application(Settings(database_url=url), clock=running_from(date.fromisoformat(DEMO_DAY)))
    try:
        with serving(app) as base:
            yield base
    finally:
        app.close()


def test_a_parent_finds_a_familienzentrum_and_a_kreis_embeds_its_list_in_chromium(served, tmp_path):
    base = served
    requested: list[str] = []
    errors: list[str] = []
    with playwright_and_page(requested, errors=errors) as (_p, page):
        # the register: both published Familienzentren of the demo, a map above the list
        page.goto(f"{base}/familienzentren")
        assert page.get_by_role("heading", level=1).inner_text() == "Familienzentren finden"
        assert page.get_by_role("status").inner_text() == "2 Familienzentren gefunden."
        assert page.get_by_role("img", name="Karte der Familienzentren").count() == 1
        shot(page, "public-liste", full_page=True)

        # search by town with the keyboard only
        page.get_by_label("Ort oder Postleitzahl").focus()
        page.keyboard.type("Hellbach")
        page.keyboard.press("Enter")
        page.wait_for_url(f"{base}/familienzentren?ort=Hellbach*")
        assert page.get_by_role("status").inner_text() == "1 Familienzentrum gefunden."
        entries = page.locator(".oe-eintrag")
        assert entries.count() == 1 and "Familienzentrum Senfkorn" in entries.inner_text()
        shot(page, "public-suche", full_page=True)

        # one Familienzentrum, through the map's dot
        page.locator("svg.karte a").first.click()
        page.wait_for_url(f"{base}/familienzentren/fz-senfkorn")
        assert page.get_by_role("heading", level=1).inner_text() == "Familienzentrum Senfkorn"
        details = page.inner_text("main")
        assert "Gütesiegel gültig bis" in details and "31.07.2027" in details and "Träger:" in details
        shot(page, "public-familienzentrum", full_page=True)

        # the open data: the licence, the files of the Land and of each Jugendamt
        page.get_by_role("contentinfo").get_by_role("link", name="Offene Daten").click()
        page.wait_for_url(f"{base}/offene-daten")
        assert "dl-de/by-2-0" in page.inner_text("main")
        shot(page, "public-offene-daten", full_page=True)
        with page.expect_download() as info:
            page.get_by_role("link", name="familienzentren.csv").click()
        rows = list(csv.DictReader(io.StringIO(info.value.path().read_bytes().decode("utf-8-sig")), delimiter=";"))
        assert {r["familienzentrum"] for r in rows} == {"Familienzentrum Am Mühlenbach", "Familienzentrum Senfkorn"}
        assert len(rows) == 4 and {r["lizenz"] for r in rows} == {"dl-de/by-2-0"}
        geojson = page.request.get(f"{base}/offene-daten/familienzentren.geojson")
        features = json.loads(geojson.body())["features"]
        assert len(features) == 4 and all(len(f["geometry"]["coordinates"]) == 2 for f in features)

        # a Kreis frames its list on its own website (another origin)
        snippet = page.locator("textarea.oe-snippet").first.input_value()
        assert snippet.startswith(f'<iframe src="{base}/einbetten/jugendaemter/')
        own_site = tmp_path / "kreis.html"
        own_site.write_text("<!DOCTYPE html><html lang='de'><head><link rel='icon' href='data:,'></head>"
                            f"<body><h1>Kreis Wiesental</h1>{snippet}</body></html>", encoding="utf-8")
        with other_site(tmp_path) as kreis:
            page.goto(f"{kreis}/kreis.html")
            frame = page.frame_locator("iframe")
            frame.locator(".oe-eintrag").first.wait_for()
            assert "gültigem Gütesiegel" in frame.locator("main").inner_text()
            shot(page, "public-eingebettet", full_page=True)

    assert_shots("public", SHOTS)
    outside = [u for u in requested if not u.startswith((base, "http://127.0.0.1:", "data:"))]
    assert outside == [], outside
    assert errors == [], errors
