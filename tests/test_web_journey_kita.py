"""The Kita lead's journey in a real browser (Debian's Chromium driven by Playwright), on SQLite and PostgreSQL:
log in, "Meine Aufgaben", the self-assessment's overview, one area as a form (answers with the live score
updating as they are given, an activity, an evidence record with its file and the upload's progress, a file
too big refused before it is sent), save the draft, submit; the certification body asks for a Nachbesserung
with a question on one criterion; the lead answers it in the thread (htmx, no reload) and resubmits; after
the visit and the decision (done by the other roles through the services) the lead logs in again and
downloads the Qualitätsprofil and the Urkunde.

Screenshots of each main page go to artifacts/web/kita-*.png. Every request stays on the server.
Skipped when /usr/bin/chromium is missing, unless CI=true.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
from browser_support import assert_shots, browser_or_skip, browser_page, fill_login, serving, shot
from db_support import postgres_admin  # noqa: F401
from pypdf import PdfReader
from test_web_kita import LEAD, PASSWORDS, complete_assessment, world, world_url  # noqa: F401

from certflow import services
from certflow.assessment.model import Status
from certflow.evidence_staging import EvidenceStaging
from certflow.lifecycle import Outcome
from certflow.packet.sample import tiny_pdf
from certflow.services import dialogue
from certflow.services.verdicts import VerdictInput

AREA_ONE = ("1.1", "1.1.1", "1.2", "1.2.1", "1.3", "1.3.1", "1.4", "1.5", "1.6", "1.6.1", "1.7", "1.8", "1.9")
WEITERBILDUNG = tiny_pdf("Zertifikat: Weiterbildung Erst- und Verweisberatung, 32 Stunden")


class _StandInPool:
    """The sign-off's render pool in this journey: the packet is the auditor's matter (their journey renders it)."""

    def pdf(self, kind, data, templates_dir=None):
        return f"%PDF stand-in {kind} {data.procedure.id}".encode(), 1


def _worked_on_before(world) -> None:
    """What the lead entered over the past months: every area but the first answered, all activities, and all
    evidence but the Weiterbildung of 1.7 (recorded without files, to be shown on paper)."""
    full = complete_assessment(world, "P-17")
    answers = {k: v for k, v in full.answers.items() if k not in AREA_ONE}
    evidence = [ev for ev in full.evidence if "1.7" not in ev.items]
    draft = full.model_copy(update={"answers": answers, "evidence": evidence})
    world.run(lambda uow: uow.submissions.save_draft("P-17", draft, by=LEAD, reason="Entwurf gespeichert"))


@pytest.fixture(scope="module")
def served(world):
    """The Kita world with the lead's earlier work on P-17, served by uvicorn in a thread (one server per module
    and backend); yields its base URL."""
    _worked_on_before(world)
    with serving(world) as base:
        yield base


def _log_in(page, base: str) -> None:
    page.goto(f"{base}/aufgaben")
    assert page.url.startswith(f"{base}/anmelden")
    fill_login(page, LEAD, PASSWORDS[LEAD])
    page.keyboard.press("Enter")
    page.wait_for_url(f"{base}/aufgaben")


def _others_visit_and_decide(world) -> None:
    """The certification body plans the visit, the auditor records and signs it off, the certification body decides."""
    clock = world.clock
    visit = clock().date() + timedelta(days=7)
    world.run(lambda uow: services.schedule_audit(uow, "u-cert", "P-17", "u-aud", visit, "Termin vereinbart"))
    clock.at = datetime(visit.year, visit.month, visit.day, 10, 0, tzinfo=UTC)
    verdicts = {c: VerdictInput(Status.ERFUELLT, None) for c in ("1.1", "1.7", "2.1")}
    world.run(lambda uow: services.record_audit(uow, "u-aud", "P-17", visit, "Begehung vor Ort",
                                                verdicts=verdicts))
    services.sign_off(world, "u-aud", "P-17", "Bericht abgeschlossen", pool=_StandInPool())
    clock.at += timedelta(days=14)
    world.run(lambda uow: services.decide(uow, "u-cert", "P-17", Outcome.CERTIFIED, "Alle Bereiche erfüllt"))


def test_a_kita_lead_fills_in_submits_answers_and_downloads_the_documents_in_chromium(served, world, tmp_path):
    expect = browser_or_skip().expect
    base = served
    requested: list[str] = []
    big = tmp_path / "scan-riesig.pdf"
    big.write_bytes(WEITERBILDUNG + b"\0" * (21 * 1024 * 1024))
    errors: list[str] = []
    with browser_page(requested, errors=errors) as page:
        # Meine Aufgaben: the state, the deadline, the next step
        _log_in(page, base)
        assert page.get_by_role("heading", level=1).inner_text() == "Meine Aufgaben"
        body = page.inner_text("main")
        assert "in Entwicklung" in body and "Einreichung der Selbstbewertung bis 31.03.2026" in body
        assert "Ihr Entwurf (Revision 1)" in body
        shot(page, "kita-aufgaben", full_page=True)

        # the overview: every area against its threshold
        page.get_by_role("link", name="Selbstbewertung bearbeiten").click()
        page.wait_for_url(f"{base}/selbstbewertung/P-17")
        assert "13" in page.locator("table.tabelle tbody tr").first.inner_text()  # area 1: 13 items open
        shot(page, "kita-selbstbewertung", full_page=True)

        # area 1: answers with the live score, by keyboard and mouse
        page.get_by_role("link", name="1 Beratung und Unterstützung von Kindern und Familien").click()
        page.wait_for_url(f"{base}/selbstbewertung/P-17/bereich/1")
        score = page.locator("#punkte")
        expect(score).to_contain_text("Noch ohne Angabe: 1.1, 1.1.1")
        radio = page.locator("#antwort-1-1-erfuellt")
        radio.focus()
        page.keyboard.press("Space")  # a radio button chosen with the keyboard
        expect(radio).to_be_checked()
        expect(score).to_contain_text("Noch ohne Angabe: 1.1.1,")  # the live score, without a reload
        for item in AREA_ONE[1:]:
            page.locator(f"#antwort-{item.replace('.', '-')}-erfuellt").check()
        expect(score).not_to_contain_text("Noch ohne Angabe")
        expect(page.locator("#ergebnis-1-1")).to_contain_text("Ergebnis: erfüllt")  # each criterion, live
        expect(score).to_contain_text("Als erfüllt angegeben, aber ohne Beleg: 1.7")
        page.get_by_label("Bemerkung zu 1.5").fill("Sprechstunde dienstags im Familienbüro")

        # 1.7: a file too big is refused before it is sent; the right one is uploaded with progress
        section = page.locator("#kriterium-1-7")
        section.scroll_into_view_if_needed()
        section.get_by_label("Art des Belegs").select_option("fortbildung")
        section.get_by_label("Titel").fill("Weiterbildung Erst- und Verweisberatung")
        section.get_by_label("Datum des Belegs").fill("2025-11-20")
        section.get_by_label("Stunden (bei Fortbildungen)").fill("32")
        file_field = section.get_by_label("Datei (optional)")
        file_field.set_input_files(str(big))
        before = len(requested)
        section.get_by_role("button", name="Beleg hinzufügen").click()
        expect(section.locator("#beleg-1-7-datei-fehler")).to_contain_text("Die Datei ist zu groß: höchstens 20 MB")
        assert len(requested) == before  # not sent at all
        file_field.set_input_files(files=[{"name": "weiterbildung.pdf", "mimeType": "application/pdf",
                                           "buffer": WEITERBILDUNG}])
        section.get_by_role("button", name="Beleg hinzufügen").click()
        evidence = page.locator("#belege-1-7")
        expect(evidence).to_contain_text("hochgeladen, kommt mit dem Einreichen in den Belegspeicher")
        expect(score).not_to_contain_text("ohne Beleg: 1.7")  # the live score took the new record
        expect(score).to_contain_text("Bereich 1:")
        store = world.evidence_store()
        assert len(EvidenceStaging.beside(store).staged("P-17")) == 1 and not store.root.exists()
        shot(page, "kita-bereich-beleg")

        page.get_by_role("button", name="Entwurf speichern").click()
        page.wait_for_url(f"{base}/selbstbewertung/P-17/bereich/1?gespeichert=1")
        expect(page.locator("main")).to_contain_text("Entwurf gespeichert.")
        expect(page.locator("#antwort-1-5-erfuellt")).to_be_checked()
        expect(page.get_by_label("Bemerkung zu 1.5")).to_have_value("Sprechstunde dienstags im Familienbüro")
        expect(score).to_contain_text("Insgesamt: erfüllt")
        shot(page, "kita-bereich")

        # submit
        page.get_by_role("link", name="Weiter zum Einreichen").click()
        page.wait_for_url(f"{base}/selbstbewertung/P-17/einreichen")
        expect(page.locator("main")).to_contain_text("Alle Punkte sind beantwortet")
        shot(page, "kita-einreichen", full_page=True)
        page.get_by_role("button", name="Einreichen", exact=True).click()
        page.wait_for_url(f"{base}/selbstbewertung/P-17/einreichen")
        expect(page.get_by_role("heading", level=1)).to_have_text("Selbstbewertung eingereicht")
        expect(page.locator("main")).to_contain_text("in Entwicklung → eingereicht")
        expect(page.locator("main")).to_contain_text("1 Beleg(e) gespeichert")
        (sha,) = [s for s in (f.name for f in store.root.rglob("*")) if len(s) == 64]
        assert store.exists(sha) and EvidenceStaging.beside(store).staged("P-17") == frozenset()
        shot(page, "kita-eingereicht", full_page=True)

        # the certification body asks for a Nachbesserung, with a question on 1.7
        world.run(lambda uow: services.request_changes(uow, "u-cert", "P-17", "Nachweis zu 1.7 prüfen"))
        world.run(lambda uow: dialogue.comment(uow, "u-cert", "P-17", "1.7",
                                               "Bitte das Datum der Weiterbildung bestätigen."))
        page.goto(f"{base}/aufgaben")
        expect(page.locator("main")).to_contain_text("Offene Rückfragen zu: 1.7")
        page.get_by_role("link", name="Nachbesserung bearbeiten").click()
        page.get_by_role("link", name="1.7 Qualifizierte Fachkraft", exact=False).click()
        thread = page.locator("#faden-1-7")
        expect(thread).to_contain_text("Bitte das Datum der Weiterbildung bestätigen.")
        thread.get_by_label("Ihre Antwort zu 1.7").fill("Die Weiterbildung endete am 20.11.2025.")
        url = page.url
        thread.get_by_role("button", name="Antwort senden").click()
        expect(page.locator("#faden-1-7")).to_contain_text("Die Weiterbildung endete am 20.11.2025.")
        expect(page.locator("#faden-1-7")).to_contain_text("Kommentar zu Kriterium 1.7 im Verfahren P-17")
        assert page.url == url  # no reload
        shot(page, "kita-nachbesserung")
        page.goto(f"{base}/selbstbewertung/P-17/einreichen")
        page.get_by_role("button", name="Erneut einreichen").click()
        expect(page.locator("main")).to_contain_text("Nachbesserung angefordert → eingereicht")

        # weeks later: visit and decision by the others; the lead comes back for the documents
        _others_visit_and_decide(world)
        page.goto(f"{base}/aufgaben")
        if page.url.startswith(f"{base}/anmelden"):  # the session ended meanwhile
            fill_login(page, LEAD, PASSWORDS[LEAD])
            page.get_by_role("button", name="Anmelden").click()
            page.wait_for_url(f"{base}/aufgaben")
        main = page.locator("main")
        expect(main).to_contain_text("Ihr Familienzentrum ist zertifiziert")
        shot(page, "kita-dokumente", full_page=True)
        documents = {}
        for name in ("Qualitätsprofil P-17 (PDF)", "Urkunde"):
            with page.expect_download(timeout=120_000) as download:
                page.get_by_role("link", name=name).first.click()
            target = tmp_path / download.value.suggested_filename
            download.value.save_as(target)
            documents[name] = target
        profile, urkunde = documents.values()
        assert profile.name == "P-17-qualitaetsprofil.pdf" and urkunde.name.endswith("-urkunde.pdf")
        for pdf in (profile, urkunde):
            assert pdf.read_bytes().startswith(b"%PDF")
        urkunde_text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(urkunde.read_bytes())).pages)
        assert "Familienzentrum Muster" in urkunde_text
        assert "Familienzentrum Muster" in "".join(
            p.extract_text() for p in PdfReader(io.BytesIO(profile.read_bytes())).pages)
        assert errors == [], errors
    outside = [url for url in requested if not url.startswith(base)]
    assert requested and not outside, outside
    assert_shots("kita", ("aufgaben", "selbstbewertung", "bereich", "bereich-beleg", "einreichen", "eingereicht",
                          "nachbesserung", "dokumente"), min_size=5000)
