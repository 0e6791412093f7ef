"""The coordinator's journey in a real browser (Debian's Chromium driven by Playwright), on the demo copied onto
SQLite and PostgreSQL: log in as the coordinator of Hellbach, read the dashboard, nominate the Familienzentrum
whose seal lapsed, return a place and carry it over (a bad input told at its field first), filter the list and
export it as XLSX and CSV, make a calendar subscription, fetch the feed and end it, then download the audit
packets of the Jugendamt as one ZIP (a busy indicator while they render) and open the PDFs in it; log out.

Screenshots of each main page go to artifacts/web/coordinator-*.png. Every request stays on the server and
no script error or CSP violation shows up in the console. Skipped when /usr/bin/chromium is missing, unless
CI=true.
"""

from __future__ import annotations

import contextlib
import csv
import io
import zipfile
from datetime import date
from pathlib import Path

import pytest
from browser_support import assert_shots, log_in, playwright_and_page, serving, shot
from conftest import DEMO_DAY
from db_support import demo_url, postgres_admin  # noqa: F401
from openpyxl import load_workbook

COORDINATOR = "koord-hellbach"
PACKETS = ["V-2020-002.pdf", "V-2022-001.pdf", "V-2024-002.pdf", "V-2025-004.pdf", "V-2025-006.pdf"]
SHOTS = ("dashboard", "fehler", "uebertragen", "familienzentren", "kalender", "pakete-laeuft", "pakete-fertig",
         "meldung", "statistik")


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def served(request, demo_db, tmp_path_factory):
    """The demo (a private copy on SQLite, or copied into a PostgreSQL schema) with its logins, served by uvicorn
    in a thread; yields (base URL, the coordinator's password)."""
    from certflow.cli.serve import running_from
    from certflow.demo_data import set_demo_passwords
    from certflow.services.runner import Application
    from certflow.settings import Settings

    day = date.fromisoformat(DEMO_DAY)
    stack = contextlib.ExitStack()
    url = stack.enter_context(demo_url(request, demo_db, tmp_path_factory.mktemp("koordination")))
    app = Application(Settings(database_url=url, evidence_dir=demo_db.folder / "certflow-evidence"),
                      clock=running_from(day))
    passwords = app.run(lambda uow: set_demo_passwords(uow, day))
    with stack:
        try:
            with serving(app) as base:
                yield base, passwords[COORDINATOR], request.param
        finally:
            app.close()


def _shot(page, name: str, backend: str, **options) -> None:
    if backend == "sqlite":  # one set of screenshots (PostgreSQL shows the same pages)
        shot(page, f"coordinator-{name}", caret="initial", **options)


def test_a_coordinator_plans_exports_subscribes_and_downloads_the_packets_in_chromium(served):
    base, password, backend = served
    requested: list[str] = []
    errors: list[str] = []
    with playwright_and_page(requested, errors=errors) as (p, page):
        # log in
        log_in(page, base, COORDINATOR, password)

        # the dashboard
        navigation = page.get_by_role("navigation", name="Hauptnavigation")
        navigation.get_by_role("link", name="Jugendamt").click()
        page.wait_for_url(f"{base}/koordination")
        assert page.get_by_role("heading", level=1).inner_text() == "Übersicht: Jugendamt der Stadt Hellbach"
        main = page.inner_text("main")
        assert "Re-Zertifizierung fällig" in main and "abgelaufen" in main and "noch ohne Gütesiegel" in main
        places = "Plätze je Kindergartenjahr: vergeben, zurückgegeben, frei"
        assert page.get_by_role("img", name=places).count() == 1
        _shot(page, "dashboard", backend, full_page=True)

        # nominate the Familienzentrum whose seal lapsed
        nominate = page.locator("form[action='/koordination/nominieren']")
        nominate.get_by_label("Familienzentrum").select_option(label="Familienzentrum Zechenhaus")
        nominate.get_by_label("Kindergartenjahr").select_option("2025/26")
        nominate.get_by_label("Grund").fill("Beschluss des Jugendhilfeausschusses vom 05.03.2026")
        nominate.get_by_role("button", name="Nominieren").click()
        page.wait_for_selector("#bestaetigung")
        assert "Familienzentrum Zechenhaus für 2025/26 nominiert: Verfahren V-2025-" in page.inner_text(
            "#bestaetigung")

        # return a place: first without a reason (told at the field), then with one
        give_back = page.locator("form[action='/koordination/zurueckgeben']")
        give_back.get_by_label("Kindergartenjahr").select_option("2025/26")
        give_back.get_by_role("button", name="Zurückgeben").click()
        page.wait_for_selector("#rueck-grund-fehler")
        assert page.locator("#rueck-grund").get_attribute("aria-invalid") == "true"
        assert "Bitte einen Grund angeben" in page.inner_text("#rueck-grund-fehler")
        page.locator("#rueck-grund").scroll_into_view_if_needed()
        _shot(page, "fehler", backend)
        give_back = page.locator("form[action='/koordination/zurueckgeben']")
        give_back.get_by_label("Grund").fill("Kein weiteres Familienzentrum bereit")
        give_back.get_by_role("button", name="Zurückgeben").click()
        page.wait_for_selector("#bestaetigung >> text=1 Platz/Plätze zurückgegeben")

        # carry it over, with the keyboard
        carry = page.locator("form[action='/koordination/uebertragen']")
        carry.get_by_label("Aus dem Kindergartenjahr").select_option("2025/26")
        carry.get_by_label("Grund").fill("Im nächsten Kindergartenjahr erneut anbieten")
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.textContent") == "Übertragen"
        page.keyboard.press("Enter")
        page.wait_for_selector("#bestaetigung >> text=erneut angeboten")
        assert "in 2026/27 erneut angeboten" in page.inner_text("#bestaetigung")
        _shot(page, "uebertragen", backend, full_page=True)

        # the list: filter in place, export what it shows
        navigation.get_by_role("link", name="Familienzentren").click()
        page.wait_for_url(f"{base}/koordination/familienzentren")
        page.evaluate("window.certflowMarker = 'noch da'")
        page.get_by_label("Zustand des Verfahrens").select_option(label="nominiert")
        page.wait_for_url(f"{base}/koordination/familienzentren?zustand=nominated*")
        page.wait_for_selector("#fz-liste >> text=passen zu den Filtern")
        page.get_by_label("Ort").select_option("Hellbach")
        page.wait_for_url("**ort=Hellbach*")
        page.wait_for_selector("#fz-liste >> text=1 Familienzentren passen zu den Filtern")
        assert page.evaluate("window.certflowMarker") == "noch da"  # htmx: no reload
        listing = page.inner_text("#fz-liste")
        assert "Familienzentrum Zechenhaus" in listing and "Familienzentrum Nordstern" not in listing
        _shot(page, "familienzentren", backend, full_page=True)
        with page.expect_download() as info:
            page.get_by_role("link", name="Excel-Tabelle (XLSX)").click()
        assert info.value.suggested_filename == "familienzentren-ja-hellbach-2026-03-10.xlsx"
        sheet = load_workbook(io.BytesIO(Path(info.value.path()).read_bytes()))["Familienzentren"]
        rows = list(sheet.iter_rows(values_only=True))
        assert [row[1] for row in rows[1:]] == ["Familienzentrum Zechenhaus"] and rows[1][8] == "nominiert"
        with page.expect_download() as info:
            page.get_by_role("link", name="CSV-Datei").click()
        table = list(csv.reader(io.StringIO(Path(info.value.path()).read_text("utf-8-sig")), delimiter=";"))
        assert [row[0] for row in table] == ["Kennung", "fz-zechenhaus"]

        # the calendar subscription: made, fetched by a calendar program without login, ended
        navigation.get_by_role("link", name="Kalender-Abo").click()
        page.wait_for_url(f"{base}/koordination/kalender")
        page.get_by_label("Bezeichnung").fill("Outlook im Büro")
        page.get_by_role("button", name="Abo-Link erstellen").click()
        page.wait_for_selector("#abo-link")
        feed_url = page.get_by_label("Link zum Abonnieren").input_value()
        assert feed_url.startswith(f"{base}/kalender/cft_") and feed_url.endswith("/jugendamt.ics")
        with _NoCookies(p, feed_url) as feed:
            assert feed.status == 200 and feed.text.startswith("BEGIN:VCALENDAR")
            assert "Hellbach" in feed.text
        _shot(page, "kalender", backend, full_page=True)
        page.get_by_role("button", name="Abo „Outlook im Büro“ beenden").click()
        page.wait_for_selector("#bestaetigung >> text=beendet")
        with _NoCookies(p, feed_url) as feed:
            assert feed.status == 404

        # the audit packets as one ZIP: a busy indicator while they render, then the file
        navigation.get_by_role("link", name="Jugendamt").click()
        page.wait_for_url(f"{base}/koordination")
        link = page.get_by_role("link", name="Alle 5 Auditpakete als ZIP herunterladen")
        with page.expect_download(timeout=600_000) as info:
            link.click()
            page.wait_for_selector("#pakete-status >> text=werden erstellt")
            assert link.get_attribute("aria-disabled") == "true"
            page.locator("#kb-pakete").scroll_into_view_if_needed()
            _shot(page, "pakete-laeuft", backend)
        download = info.value
        assert download.suggested_filename == "auditpakete-ja-hellbach-2026-03-10.zip"
        with zipfile.ZipFile(io.BytesIO(Path(download.path()).read_bytes())) as zipped:
            assert zipped.testzip() is None and sorted(zipped.namelist()) == PACKETS
            assert all(zipped.read(name).startswith(b"%PDF-") for name in PACKETS)
        page.wait_for_selector("#pakete-status >> text=Fertig")
        _shot(page, "pakete-fertig", backend)

        # the reports: the nomination report to the Land (page, then PDF) and the statistics with their charts
        navigation.get_by_role("link", name="Berichte").click()
        page.wait_for_url(f"{base}/berichte/meldung")
        assert "Kindergartenjahr 2026/27" in page.inner_text("main")  # the newest: the carried-over place's year
        page.get_by_label("Kindergartenjahr").select_option("2025/26")
        page.get_by_role("button", name="Anzeigen").click()
        page.wait_for_url(f"{base}/berichte/meldung?kgj=2025%2F26")
        report = page.inner_text("main")
        assert "Jugendamt der Stadt Hellbach, Kindergartenjahr 2025/26" in report and "Meldefrist: 15.06.2025" in report
        assert "Familienzentrum Zechenhaus" in report  # nominated in this journey, after the deadline
        assert "(nach der Frist)" in report
        _shot(page, "meldung", backend, full_page=True)
        with page.expect_download() as info:
            page.get_by_role("link", name="Als PDF herunterladen").click()
        assert info.value.suggested_filename == "meldung-ja-hellbach-2025.pdf"
        assert Path(info.value.path()).read_bytes().startswith(b"%PDF-")
        page.get_by_role("link", name="Zur Statistik").click()
        page.wait_for_url(f"{base}/berichte/statistik")
        assert page.get_by_role("img", name="Gütesiegel nach dem Jahr, in dem sie auslaufen").count() == 1
        _shot(page, "statistik", backend, full_page=True)

        page.get_by_role("button", name="Abmelden").click()
        page.wait_for_url(f"{base}/anmelden?abgemeldet=1")
    # no CSP violation, no script error; the one 422 is the return without a reason, told at its field
    assert errors == ["Failed to load resource: the server responded with a status of 422 (Unprocessable Entity)"]
    assert requested and all(url.startswith((base, "blob:")) for url in requested), requested
    if backend == "sqlite":
        assert_shots("coordinator", SHOTS)


class _NoCookies:
    """A calendar program: fetches ``url`` in a request context of its own (no session cookie)."""

    def __init__(self, playwright, url: str):
        self.context = playwright.request.new_context()
        self.url = url

    def __enter__(self):
        response = self.context.get(self.url, fail_on_status_code=False)
        self.status, self.text = response.status, response.text()
        return self

    def __exit__(self, *exc_info) -> None:
        self.context.dispose()
