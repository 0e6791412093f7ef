"""The auditor's journey in a real browser (Debian's Chromium driven by Playwright), on SQLite and PostgreSQL:
log in, find the assigned procedure, review the self-assessment and its evidence, record the visit with
verdicts, ask the Kita a question per criterion (htmx, no reload, keyboard only), sign off (a busy indicator
while the packet renders), download the packet and check its SHA-256 against the one shown, log out.

Screenshots of each main page go to artifacts/web/auditor-*.png. Every request stays on the server.
Skipped when /usr/bin/chromium is missing, unless CI=true.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from browser_support import assert_shots, browser_page, log_in, serving, shot
from db_support import postgres_admin  # noqa: F401
from test_web_auditor import AUDITOR, PASSWORDS, world, world_url  # noqa: F401


@pytest.fixture(scope="module")
def served(world):  # noqa: F811
    """The review world served by uvicorn in a thread (one server per module and backend); yields its base URL."""
    with serving(world) as base:
        yield base


def test_an_auditor_reviews_signs_off_and_downloads_the_packet_in_chromium(served, tmp_path):
    base = served
    requested: list[str] = []
    errors: list[str] = []
    with browser_page(requested, errors=errors) as page:
        # log in
        log_in(page, base, AUDITOR, PASSWORDS[AUDITOR])

        # the assigned procedures
        page.get_by_role("navigation", name="Hauptnavigation").get_by_role("link", name="Meine Begehungen").click()
        page.wait_for_url(f"{base}/begehungen")
        assert page.get_by_role("heading", level=1).inner_text() == "Meine Begehungen"
        listing = page.inner_text("main")
        assert "P-17" in listing and "P-30" in listing and "P-90" not in listing and "10.09.2025" in listing
        shot(page, "auditor-begehungen", caret="initial", full_page=True)

        # the review: self-assessment and evidence beside the verdict
        page.get_by_role("link", name="P-17", exact=True).click()
        page.wait_for_url(f"{base}/begehungen/P-17")
        assert page.get_by_role("heading", level=1).inner_text() == "Begehung: Familienzentrum Muster"
        shot(page, "auditor-pruefung", caret="initial")
        criterion = page.locator("#k-1-2")
        criterion.scroll_into_view_if_needed()
        shot(criterion, "auditor-kriterium", caret="initial")
        evidence = criterion.locator(".pruef-belege a").first
        with page.expect_download() as info:
            evidence.click()
        assert info.value.path().read_bytes().startswith(b"%PDF")

        # record the visit with verdicts
        assert page.get_by_label("Tag der Begehung").input_value() == "2025-09-10"
        page.get_by_label("Bewertung zu 1.1", exact=True).select_option(label="bestätigt")
        page.get_by_label("Bewertung zu 1.2", exact=True).select_option(label="nicht bestätigt")
        page.get_by_label("Bemerkung zu 1.2").fill("Sprechstunde im Prüfzeitraum nur zweimonatlich")
        page.get_by_label("Bewertung zu 1.3", exact=True).select_option(label="bestätigt")
        page.get_by_label("Grund (für das Prüfprotokoll)").fill("Begehung vor Ort am 10.09.2025")
        page.get_by_role("button", name="Begehung mit Bewertungen erfassen").click()
        page.wait_for_selector("text=Begehung geplant → begangen")
        assert "3 Bewertung(en) erfasst" in page.inner_text("main")
        shot(page, "auditor-begehung-erfasst", caret="initial")

        # a question to the Kita on criterion 1.2: htmx, no reload, keyboard only
        page.evaluate("window.certflowMarker = 'noch da'")
        field = page.locator("#kommentar-k-1-2")
        field.focus()
        page.keyboard.type("Bitte die Termine der Sprechstunde als Liste nachreichen.")
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.textContent") == "Kommentar senden"
        page.keyboard.press("Enter")
        page.wait_for_selector("#faden-k-1-2 >> text=Kommentar zu Kriterium 1.2 im Verfahren P-17 gespeichert")
        assert page.evaluate("window.certflowMarker") == "noch da"  # the page was not reloaded
        thread = page.locator("#faden-k-1-2")
        assert "Bitte die Termine der Sprechstunde als Liste nachreichen." in thread.inner_text()
        assert page.evaluate("document.activeElement.closest('.faden') !== null")  # focus stays in the thread
        shot(thread, "auditor-rueckfrage", caret="initial")

        # sign off: a busy indicator while the packet renders
        page.get_by_label("Grund der Abzeichnung").fill("Begehung abgeschlossen, Bewertungen vollständig")
        # what the page shows once the form is sent (recorded by a listener after auditor.js's own, kept
        # in sessionStorage across the navigation): the busy indicator, the form marked busy
        page.evaluate("""document.addEventListener('submit', () => sessionStorage.setItem('busy', String(
            !document.querySelector('.pruef-warten').hidden
            && document.querySelector('form.mit-warten').getAttribute('aria-busy') === 'true')))""")
        page.get_by_role("button", name="Begehung abzeichnen").click(no_wait_after=True)
        page.wait_for_selector("text=sind eingefroren", timeout=120_000)
        assert page.evaluate("sessionStorage.getItem('busy')") == "true"
        digest = page.locator("#paket-sha256").inner_text()
        assert len(digest) == 64 and "Begehung im Verfahren P-17 abgezeichnet" in page.inner_text("main")
        assert page.locator("select").count() == 0  # read-only now
        shot(page, "auditor-abgezeichnet", caret="initial")
        frozen = page.locator("#k-1-2")
        frozen.scroll_into_view_if_needed()
        assert "nicht bestätigt" in frozen.inner_text() and "nur zweimonatlich" in frozen.inner_text()
        shot(frozen, "auditor-kriterium-abgezeichnet", caret="initial")

        # the packet, byte for byte what was signed off
        with page.expect_download(timeout=120_000) as info:
            page.get_by_role("link", name="Auditpaket herunterladen (PDF)").click()
        download = info.value
        assert download.suggested_filename == "P-17-auditpaket.pdf"
        pdf = Path(download.path()).read_bytes()
        assert pdf.startswith(b"%PDF") and hashlib.sha256(pdf).hexdigest() == digest
        (tmp_path / "paket.pdf").write_bytes(pdf)

        page.goto(f"{base}/begehungen")
        assert "Abgezeichnet – die Zertifizierungsstelle entscheidet" in page.inner_text("main")
        page.get_by_role("button", name="Abmelden").click()
        page.wait_for_url(f"{base}/anmelden?abgemeldet=1")
        assert not errors, errors  # no CSP violation, no script error
    assert requested and all(url.startswith(base) for url in requested), requested
    assert_shots("auditor", ("begehungen", "pruefung", "kriterium", "begehung-erfasst", "rueckfrage", "abgezeichnet",
                             "kriterium-abgezeichnet"))
