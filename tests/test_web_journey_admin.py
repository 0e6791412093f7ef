"""The administration's journey in a real browser (Debian's Chromium driven by Playwright, uvicorn on loopback),
on SQLite and on PostgreSQL: log in with the keyboard, create a Jugendamt and a Träger, import Kitas by CSV (a
bad file first: every bad row in the table, nothing imported), create a Kita lead (a missing Familienzentrum is
told at the field) with the first-login link; the new person opens that link from their inbox, sets a password
and sees their own tasks; then the admin finds her by the search of the paged user list and deactivates her
(with a reason), and her next login is refused with a German message. Screenshots of every main page go to artifacts/web/admin-*.png.
Every request stays on the server.
"""

from __future__ import annotations

import re

import pytest
from browser_support import browser_page, log_in_with_the_keyboard, serving, shot
from db_support import postgres_admin  # noqa: F401
from test_web_certifier import password_of, site_on
from test_web_journey_certifier import CERTIFIER_ARGS

from certflow import services

HEADER = "id;name;traeger_id;jugendamt_id;strasse;plz;ort;lat;lon\n"


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def served(request, tmp_path_factory):
    with site_on(request, tmp_path_factory, lambda world: {}) as site, serving(site.app) as base:
        yield base, site


def test_the_admin_sets_up_master_data_kitas_and_a_user_who_then_logs_in(served, tmp_path):
    base, site = served
    bad, good = tmp_path / "kitas-fehler.csv", tmp_path / "kitas-neustadt.csv"
    bad.write_text(HEADER + "k40;Kita Am Markt;tr-neu;ja-neustadt;Markt 1;4021;Neustadt;51,2;6,8\n"
                   "k41;Kita Lindenhof;tr-neu;ja-neustadt;Lindenweg 3\n", encoding="utf-8")
    good.write_text(HEADER + "k40;Kita Am Markt;tr-neu;ja-neustadt;Markt 1;40210;Neustadt;51,2;6,8\n"
                    "k41;Kita Lindenhof;tr-neu;ja-neustadt;Lindenweg 3;40211;Neustadt;51,21;6,81\n", encoding="utf-8")
    requested: list[str] = []
    with browser_page(requested, width=1200, args=CERTIFIER_ARGS) as page:
        log_in_with_the_keyboard(page, base, "admin", password_of("admin"))
        shot(page, "admin-start", full_page=True)

        navigation = page.get_by_role("navigation", name="Hauptnavigation")
        navigation.get_by_role("link", name="Stammdaten").click()
        page.wait_for_url(f"{base}/verwaltung/stammdaten")
        page.get_by_label("Kennung").first.fill("ja-neustadt")
        page.locator("#jugendamt-name").fill("Jugendamt der Stadt Neustadt")
        page.locator("#jugendamt-grund").fill("Neu im Landesprogramm")
        page.get_by_role("button", name="Jugendamt anlegen").click()
        page.wait_for_load_state()
        assert "(ja-neustadt) angelegt" in page.get_by_role("status").inner_text()
        page.locator("#traeger-kennung").fill("tr-neu")
        page.locator("#traeger-name").fill("Neuer Träger e. V.")
        page.locator("#traeger-grund").fill("Neu im Landesprogramm")
        page.get_by_role("button", name="Träger anlegen").click()
        page.wait_for_load_state()
        assert "Träger Neuer Träger e. V. (tr-neu) angelegt" in page.get_by_role("status").inner_text()
        shot(page, "admin-stammdaten", full_page=True)

        navigation.get_by_role("link", name="Kitas").click()
        page.wait_for_url(f"{base}/verwaltung/kitas")
        page.get_by_label("CSV-Datei", exact=True).set_input_files(str(bad))
        page.locator("#kitas-grund").fill("Liste des Jugendamts Neustadt")
        page.get_by_role("button", name="Kitas einlesen").click()
        page.wait_for_load_state()
        table = page.locator("#zeilenfehler").inner_text()
        assert "kitas-fehler.csv:2" in table and "plz" in table and "kitas-fehler.csv:3" in table
        assert "falsche Anzahl von Feldern" in table
        assert "Kita Am Markt" not in page.locator("main").inner_text().split("Alle Kitas", 1)[1]
        shot(page, "admin-kitas-fehler", full_page=True)
        page.get_by_label("CSV-Datei", exact=True).set_input_files(str(good))
        page.get_by_role("button", name="Kitas einlesen").click()
        page.wait_for_load_state()
        assert "2 Kita(s) aus kitas-neustadt.csv eingelesen" in page.get_by_role("status").inner_text()
        assert "Kita Lindenhof" in page.locator("main").inner_text()
        shot(page, "admin-kitas", full_page=True)

        navigation.get_by_role("link", name="Benutzer").click()
        page.wait_for_url(f"{base}/verwaltung/benutzer")
        shot(page, "admin-benutzer", full_page=True)
        page.locator("#benutzer-kennung").fill("leitung-neu")
        page.get_by_label("Name", exact=True).fill("Nina Neu")
        page.locator("#benutzer-rolle").select_option("kita_lead")
        page.get_by_label("E-Mail-Adresse", exact=True).fill("nina.neu@example.org")
        page.get_by_label("Link zur Erstanmeldung an die E-Mail-Adresse senden").check()
        page.locator("#benutzer-grund").fill("Neue Leitung des Familienzentrums Eins")
        page.get_by_role("button", name="Benutzer anlegen").click()
        page.wait_for_load_state()
        assert "gehört zu einem Familienzentrum" in page.locator("#benutzer-familienzentrum-fehler").inner_text()
        shot(page, "admin-benutzer-fehler", full_page=True)
        page.get_by_label("Familienzentrum").select_option("fz-1")
        page.get_by_role("button", name="Benutzer anlegen").click()
        page.wait_for_load_state()
        assert "Link zur Erstanmeldung an nina.neu@example.org versandt" in page.get_by_role("status").inner_text()
        shot(page, "admin-benutzer-angelegt", full_page=True)
        page.get_by_role("button", name="Abmelden").click()
        page.wait_for_url(f"{base}/anmelden?abgemeldet=1")

        # the end of the job: the new person follows the link from their inbox and is in
        inbox = site.app.run(lambda uow: services.read_inbox(uow, "leitung-neu"))
        link = re.search(r"https?://[^/\s]+(/zugang/\S+)", inbox.messages[0].body).group(1)
        page.goto(f"{base}{link}")
        assert page.get_by_role("heading", level=1).inner_text() == "Willkommen: Passwort festlegen"
        page.get_by_label("Neues Passwort", exact=True).fill("Nina-erstes-Kennwort-2026")
        page.get_by_label("Neues Passwort wiederholen").fill("Nina-erstes-Kennwort-2026")
        page.get_by_role("button", name="Passwort festlegen und anmelden").click()
        page.wait_for_url(f"{base}/start")
        assert page.get_by_role("heading", level=1).inner_text() == "Meine Aufgaben"
        assert "Familienzentrum Eins" in page.locator("main").inner_text()
        assert "Nina Neu" in page.get_by_role("banner").inner_text()
        shot(page, "admin-neuer-zugang", full_page=True)
        page.get_by_role("button", name="Abmelden").click()
        page.wait_for_url(f"{base}/anmelden?abgemeldet=1")

        # the admin finds her in the paged list and deactivates her: her next login is refused
        log_in_with_the_keyboard(page, base, "admin", password_of("admin"))
        page.goto(f"{base}/verwaltung/benutzer")
        page.get_by_label("Suche (Benutzername oder Name)").fill("nina")
        page.get_by_role("button", name="Suchen").click()
        page.wait_for_load_state()
        assert "Gefundene Benutzer (1)" in page.locator("main").inner_text()
        page.get_by_role("link", name="Nina Neu").click()
        page.wait_for_url(f"{base}/verwaltung/benutzer/leitung-neu")
        page.get_by_label("Zugang aktiv").uncheck()
        page.locator("#aendern-grund").fill("Hat das Familienzentrum verlassen")
        page.get_by_role("button", name="Änderung speichern").click()
        page.wait_for_load_state()
        status = page.get_by_role("status").inner_text()
        assert "Benutzer Nina Neu (leitung-neu) geändert" in status and "deaktiviert" in status
        shot(page, "admin-benutzer-deaktiviert", full_page=True)
        page.get_by_role("button", name="Abmelden").click()
        page.wait_for_url(f"{base}/anmelden?abgemeldet=1")
        page.get_by_label("Benutzername").fill("leitung-neu")
        page.get_by_label("Passwort", exact=True).fill("Nina-erstes-Kennwort-2026")
        page.get_by_role("button", name="Anmelden").click()
        page.wait_for_load_state()
        assert "Dieser Zugang ist deaktiviert" in page.locator("main").inner_text()
    assert requested and all(url.startswith(base) for url in requested), requested
