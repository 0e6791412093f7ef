"""The certification body's journey in a real browser (Debian's Chromium driven by Playwright, uvicorn on
loopback), on SQLite and on PostgreSQL: log in with the keyboard, open the desk, plan an audit (the partial
auditor is refused at the field, the impartial one assigned), write the Qualitätsprofil's feedback beside the
deficits, decide (the seal is issued) and download the Urkunde and the Qualitätsprofil, both PDFs carrying what
was done. Screenshots of every main page go to artifacts/web/certifier-*.png. Every request stays on the server.

The world is tests/test_web_certifier.py's (P1 submitted, P2 audited and signed off, ...), built once per backend.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from browser_support import ARGS, ARTIFACTS, browser_page, log_in_with_the_keyboard, serving, shot
from db_support import postgres_admin  # noqa: F401
from pypdf import PdfReader
from test_web_certifier import certifier_world, password_of, site_on

CERTIFIER_ARGS = (*ARGS, "--lang=de-DE")


def pdf_text(path: Path) -> str:
    return " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(path.read_bytes())).pages).split())


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def served(request, tmp_path_factory):
    with site_on(request, tmp_path_factory, certifier_world) as site, serving(site.app) as base:
        yield base, site


def test_the_certification_body_plans_decides_and_downloads_the_urkunde(served, tmp_path):
    base, site = served
    p1, p2 = site.ids["P1"], site.ids["P2"]
    requested: list[str] = []
    with browser_page(requested, width=1200, args=CERTIFIER_ARGS) as page:
        log_in_with_the_keyboard(page, base, "cert-1", password_of("cert-1"))
        assert page.get_by_role("heading", level=1).inner_text() == "Übersicht der Zertifizierungsstelle"
        shot(page, "certifier-start", full_page=True)

        page.get_by_role("navigation", name="Hauptnavigation").get_by_role("link", name="Verfahren").click()
        page.wait_for_url(f"{base}/zertifizierung")
        assert page.get_by_role("heading", level=1).inner_text() == "Verfahren der Zertifizierungsstelle"
        shot(page, "certifier-verfahren", full_page=True)

        # plan the audit of P1: the partial auditor is refused at the field, the impartial one assigned
        page.get_by_role("link", name=p1, exact=True).click()
        page.wait_for_url(f"{base}/zertifizierung/verfahren/{p1}")
        page.get_by_label("Auditor").select_option("aud-2")
        page.get_by_label("Tag der Begehung").fill("2026-05-04")
        page.locator("#begehung-grund").fill("Termin telefonisch mit der Leitung vereinbart")
        page.get_by_role("button", name="Auditor beauftragen").click()
        page.wait_for_load_state()
        message = page.locator("#begehung-auditor-fehler").inner_text()
        assert "Befangenheit: Arno Audit gehört zum Träger der Kita Kita Eins" in message
        assert page.locator("#begehung-auditor").get_attribute("aria-invalid") == "true"
        shot(page, "certifier-befangen", full_page=True)
        page.get_by_label("Auditor").select_option("aud-1")
        page.get_by_role("button", name="Auditor beauftragen").click()
        page.wait_for_load_state()
        assert "Begehung am 04.05.2026 durch Anna Audit" in page.get_by_role("status").inner_text()
        shot(page, "certifier-begehung", full_page=True)

        # P2: the feedback beside the deficits, then the decision that issues the seal
        page.goto(f"{base}/zertifizierung")
        page.get_by_role("link", name=p2, exact=True).click()
        page.wait_for_url(f"{base}/zertifizierung/verfahren/{p2}")
        page.get_by_label("Ihr Text im Qualitätsprofil").fill(
            "Das Familienzentrum verbindet Beratung und Bildung vorbildlich.\n\nAnregung: die Sprechstunde "
            "im Verbund abwechselnd an allen drei Standorten anbieten.")
        page.get_by_role("button", name="Rückmeldung speichern").click()
        page.wait_for_load_state()
        assert "Fassung 1" in page.get_by_role("status").inner_text()
        shot(page, "certifier-rueckmeldung", full_page=True)
        page.get_by_label("Zertifizieren (Gütesiegel ausstellen)").check()
        page.locator("#entscheidung-grund").fill("Alle Bereiche erfüllt, Begehung bestätigt")
        page.get_by_role("button", name="Entscheidung speichern").click()
        page.wait_for_load_state()
        notice = page.get_by_role("status").inner_text()
        assert "begangen → zertifiziert" in notice and "Gütesiegel" in notice
        number = notice.split("Gütesiegel ", 1)[1].split(" ", 1)[0]
        shot(page, "certifier-entscheidung", full_page=True)

        with page.expect_download() as info:
            page.get_by_role("link", name="Urkunde herunterladen (PDF)").click()
        urkunde = tmp_path / info.value.suggested_filename
        info.value.save_as(urkunde)
        assert urkunde.name == f"{number}-urkunde.pdf" and number in pdf_text(urkunde)
        with page.expect_download() as info:
            page.get_by_role("link", name="Qualitätsprofil herunterladen (PDF)").click()
        profile = tmp_path / info.value.suggested_filename
        info.value.save_as(profile)
        words = pdf_text(profile)
        assert "Rückmeldung der Zertifizierungsstelle" in words and "an allen drei Standorten anbieten" in words

        page.goto(f"{base}/zertifizierung")
        assert number in page.locator("#decided").locator("xpath=..").inner_text()
        page.get_by_role("button", name="Abmelden").click()
        page.wait_for_url(f"{base}/anmelden?abgemeldet=1")
    assert requested and all(url.startswith(base) for url in requested), requested
    assert (ARTIFACTS / "certifier-entscheidung.png").stat().st_size > 1000
