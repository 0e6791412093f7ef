"""The auditor's pages (certflow/web/routes/auditor.py) on SQLite and PostgreSQL: the assigned procedures, the
review (self-assessment and evidence beside verdict and remark), comments with htmx, the sign-off and the
packet; every route × every role × a foreign object refused with nothing changed; CSRF; bad input in every
form told at the field with nothing written and no traceback.

The world is built once per module and backend (:func:`build_review_world`, also used by the browser
journey): test_web_support's world plus a second auditor, a Verbund and submitted self-assessments with
evidence files, the audits scheduled. Tests that write use procedures of their own, so they stay independent.
"""

from __future__ import annotations

import hashlib
import html
import re
import uuid
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from db_support import FixedClock, postgres_admin  # noqa: F401
from sqlalchemy import text
from sqlalchemy.orm import Session
from test_web_support import (  # noqa: F401
    PASSWORDS, csrf_of, log_in, login, make_world, module_world, web_client, world_url,
)

from certflow import services
from certflow.assessment.model import Period
from certflow.catalogue.model import Form, Variant
from certflow.db import UnitOfWork
from certflow.lifecycle import Familienzentrum, Kita, Role, User
from certflow.lifecycle.dialogue import MAX_COMMENT_CHARS
from certflow.packet.sample import evidence_files, tiny_pdf
from certflow.samples import satisfying_assessment
from certflow.services.review import MAX_REASON_CHARS, MAX_REMARK_CHARS
from certflow.services.runner import Application
from certflow.settings import Settings
from certflow.web.errors import CONCEALED

AUDITOR, OTHER_AUDITOR = "u-aud", "u-aud-2"
PASSWORDS = {**PASSWORDS, OTHER_AUDITOR: "Kennwort-xaud-2-Sommer!"}
VISIT_DAY = date(2025, 9, 10)
ALL_USERS = ["u-lead", "u-lead-b", "u-lead-9", "u-coord", "u-coord-b", AUDITOR, OTHER_AUDITOR, "u-cert", "u-admin"]
MINE = ("P-17", "P-30", "P-V")  # assigned to u-aud
FOREIGN = ("P-90", "P-20", "P-404")  # another auditor's (another Jugendamt), an unassigned one, an unknown one


# -- the world ------------------------------------------------------------------------------------------------


def _submit_and_schedule(app: Application, clock: FixedClock, procedure_id: str, lead: str, auditor: str,
                         folder: Path) -> None:
    app.run(lambda uow: services.register(uow, lead, procedure_id, "Einladung angenommen"))
    app.run(lambda uow: services.start_development(uow, lead, procedure_id, "Entwicklungsjahr beginnt"))

    def submit(uow):
        procedure = uow.procedures.get(procedure_id)
        fz = uow.familienzentren.get(procedure.familienzentrum_id)
        catalogue = services.catalogue_for_key(procedure.catalogue_key)
        assessment = satisfying_assessment(catalogue, Variant(procedure.kind, fz.form),
                                           Period(start=procedure.period_start, end=procedure.period_end),
                                           name=fz.name)
        assessment, files = evidence_files(catalogue, assessment)
        records = [ev.model_copy(update={"file": None, "sha256": None}) if i % 10 == 9 else ev
                   for i, ev in enumerate(assessment.evidence)]  # every tenth shown on paper, as in the demo
        source = folder / procedure_id
        for record, file in zip(records, files, strict=True):
            if record.file:
                (source / record.file).parent.mkdir(parents=True, exist_ok=True)
                (source / record.file).write_bytes(file.read())
        return services.submit(uow, lead, procedure_id, assessment.model_copy(update={"evidence": records}),
                               "Selbstbewertung fertig", evidence_dir=source, evidence_store=app.evidence_store())
    app.run(submit)
    app.run(lambda uow: services.schedule_audit(uow, "u-cert", procedure_id, auditor, VISIT_DAY,
                                                "Auditor beauftragt"))


def build_review_world(engine, clock: FixedClock, evidence_dir: Path) -> Application:
    """test_web_support's world and: u-aud-2 (another auditor); fz-3 (k3, P-30) and the Verbund fz-v (k4, k5, k6;
    P-V) in ja-a; P-17, P-30 and P-V submitted and scheduled for u-aud, P-90 (ja-b) for u-aud-2, P-20 only
    nominated (unassigned). The clock ends on the visit day. Every user has ``PASSWORDS[user]``."""
    make_world(engine, clock).close()
    app = Application(Settings(database_url=engine.url.render_as_string(hide_password=False),
                               evidence_dir=evidence_dir), clock=clock, engine=engine, after_commit=[])
    by, why = "u-admin", "Testdaten"
    with UnitOfWork(engine, clock=clock) as uow:
        uow.users.add(User(OTHER_AUDITOR, "Auditorin Zweite", Role.AUDITOR), actor_id=by, reason=why)
        uow.familienzentren.add(Familienzentrum("fz-3", "Familienzentrum Drei", Form.EINZEL, ("k3",), "k3", "ja-a"),
                                actor_id=by, reason=why)
        for i, lat in ((4, 51.001), (5, 51.002), (6, 51.003)):
            uow.kitas.add(Kita(f"k{i}", f"Kita Verbund {i}", "tr-1", "ja-a", f"Verbundweg {i}", "12345",
                               "Musterstadt", lat, 7.001), actor_id=by, reason=why)
        uow.familienzentren.add(Familienzentrum("fz-v", "Familienzentrum im Verbund", Form.VERBUND,
                                                ("k4", "k5", "k6"), "k4", "ja-a"), actor_id=by, reason=why)
    app.run(lambda uow: services.set_password(uow, "u-admin", OTHER_AUDITOR, PASSWORDS[OTHER_AUDITOR]))
    from db_support import KGJ
    app.run(lambda uow: services.grant(uow, "u-admin", "ja-a", KGJ, 2, "Mehr Plätze"))
    app.run(lambda uow: services.nominate(uow, "u-coord", "fz-3", KGJ, "Beschluss des JHA", procedure_id="P-30"))
    app.run(lambda uow: services.nominate(uow, "u-coord", "fz-v", KGJ, "Beschluss des JHA", procedure_id="P-V"))
    folder = evidence_dir.parent / f"eingang-{uuid.uuid4().hex[:8]}"
    for procedure_id, lead, auditor in (("P-17", "u-lead", AUDITOR), ("P-30", None, AUDITOR),
                                        ("P-V", None, AUDITOR), ("P-90", "u-lead-9", OTHER_AUDITOR)):
        if lead is None:  # a lead of their own for the new Familienzentren
            lead = f"u-lead-{procedure_id.lower()}"
            fz = "fz-3" if procedure_id == "P-30" else "fz-v"
            app.run(lambda uow, lead=lead, fz=fz: uow.users.add(
                User(lead, f"Leitung {fz}", Role.KITA_LEAD, familienzentrum_id=fz), actor_id=by, reason=why))
        _submit_and_schedule(app, clock, procedure_id, lead, auditor, folder)
    clock.at = datetime(VISIT_DAY.year, VISIT_DAY.month, VISIT_DAY.day, 10, 0, tzinfo=UTC)
    return app


@pytest.fixture(scope="module")
def world(world_url, tmp_path_factory):
    """The review world (see :func:`build_review_world`), with cheap password hashing for the module."""
    with module_world(world_url, build_review_world, tmp_path_factory.mktemp("belege") / "speicher") as app:
        yield app


@pytest.fixture
def client(world):
    with web_client(world) as c:
        yield c


# -- helpers ------------------------------------------------------------------------------------------------


def _no_trace(response) -> None:
    body = response.text
    assert "Traceback" not in body and 'File "' not in body and "Error:" not in body, body[:500]


COUNTED = ("audit_log", "audit_visit", "audit_verdict", "criterion_comment", "procedure")


def _snapshot(world) -> dict[str, object]:
    """What a refused request must leave as it was: row counts, the procedures' states and versions."""
    with Session(world.engine) as session:
        counts = {t: session.execute(text(f"SELECT COUNT(*) FROM {t}")).scalar() for t in COUNTED}
        counts["states"] = sorted(session.execute(text("SELECT id, state, version FROM procedure")).all())
        counts["verdicts"] = sorted(session.execute(text(
            "SELECT criterion_id, verdict, remark FROM audit_verdict")).all())
    return counts


def _field_error(markup: str, field: str) -> str:
    match = re.search(rf'<p class="feldfehler" id="{re.escape(field)}-fehler">(.*?)</p>', markup, re.S)
    assert match, f"no error at {field}"
    return re.sub(r"<[^>]+>", "", match.group(1))


def _evidence_links(markup: str, procedure_id: str) -> list[str]:
    return re.findall(rf'href="(/begehungen/{procedure_id}/belege/[0-9a-f]{{64}})"', markup)


def _verdict_form(page_html: str, reason: str = "Begehung vor Ort", **extra) -> dict[str, str]:
    return {"csrf_token": csrf_of(page_html), "grund": reason, **extra}


# -- the pages ----------------------------------------------------------------------------------------------


def test_the_assigned_procedures_with_their_visit_dates_and_nothing_else(world, login):
    c = login(AUDITOR)
    page = c.get("/begehungen")
    assert page.status_code == 200 and "<h1>Meine Begehungen</h1>" in page.text
    assert set(re.findall(r'<a href="/begehungen/(P-[\w-]+)">', page.text)) == set(MINE)
    assert "10.09.2025" in page.text and "Begehung erfassen und bewerten" in page.text
    assert "P-90" not in page.text and "P-20" not in page.text
    assert '<a href="/begehungen">Meine Begehungen</a>' in page.text  # in the main navigation
    other = login(OTHER_AUDITOR).get("/begehungen")
    assert set(re.findall(r'<a href="/begehungen/(P-[\w-]+)">', other.text)) == {"P-90"}
    for user_id in ("u-lead", "u-coord", "u-cert", "u-admin"):
        refused = login(user_id).get("/begehungen")
        assert refused.status_code == 403 and "nur für Auditorinnen und Auditoren" in refused.text, user_id
        assert 'href="/begehungen"' not in refused.text  # no such link in their navigation
        _no_trace(refused)


def test_the_review_shows_the_self_assessment_and_its_evidence_beside_the_verdicts(world, login):
    c = login(AUDITOR)
    page = c.get("/begehungen/P-17")
    markup = page.text
    assert page.status_code == 200 and "<h1>Begehung: Familienzentrum Muster</h1>" in markup
    assert "Revision 1, eingereicht am 01.09.2025" in markup
    assert "Mindestanforderungen laut Bewertung <strong>erfüllt</strong>" in markup
    assert markup.count('<article class="kriterium"') == 63  # the variant's criteria, with the chosen profiles
    assert 'id="bereich-4B-"' not in markup and "4B Berufstätigkeit" in markup and "Nicht gewählte Profile" in markup
    one = markup[markup.index('id="k-1-1"'):markup.index('id="k-1-2"')]
    assert "Selbstbewertung" in one and "Begehung" in one and "Ergebnis laut Bewertung" in one
    assert "Gesundheits- und Bewegungsangebote im Verzeichnis: <strong>erfüllt</strong>" in one
    assert '<label for="urteil-1.1">Bewertung zu 1.1</label>' in one
    assert '<option value="erfuellt">bestätigt</option>' in one and "nicht bestätigt" in one
    assert '<label for="bemerkung-1.1">Bemerkung zu 1.1' in one
    assert '<label for="kommentar-k-1-1">Kommentar zu 1.1</label>' in one
    assert 'hx-post="/begehungen/P-17/kommentare/1.1"' in one and 'hx-target="closest .faden"' in one
    assert _evidence_links(one, "P-17") and "Verzeichnis bzw. Adressliste" in one
    assert "ohne Datei (bei der Begehung vorzulegen)" in markup  # the records shown on paper
    assert 'name="besuchstag"' in markup and 'name="grund"' in markup and "Begehung mit Bewertungen erfassen" in markup
    assert "Begehung abzeichnen" not in markup  # no visit recorded yet
    assert "Änderungen anfordern" not in markup  # the lifecycle lets the certification body do that, before the audit
    for label in re.findall(r'<(?:select|textarea|input)[^>]* id="([^"]+)"', markup):
        assert f'for="{label}"' in markup, label  # every field has its label
    assert not re.search(r'(?:src|href|action)="(?:https?:)?//', markup) and "<script>" not in markup
    assert 'style="' not in markup


def test_an_evidence_file_comes_from_the_store_only_for_its_procedure(world, login):
    c = login(AUDITOR)
    page = c.get("/begehungen/P-17").text
    link = _evidence_links(page, "P-17")[0]
    response = c.get(link)
    assert response.status_code == 200 and response.content.startswith(b"%PDF")
    assert hashlib.sha256(response.content).hexdigest() == link.rsplit("/", 1)[1]
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"].startswith("attachment;")
    foreign = _evidence_links(login(OTHER_AUDITOR).get("/begehungen/P-90").text, "P-90")[0]
    stray = world.evidence_store().put(tiny_pdf("Ein Beleg, den keine Selbstbewertung nennt"), "fremd.pdf")
    for path in (f"/begehungen/P-17/belege/{stray.sha256}", f"/begehungen/P-17/belege/{'0' * 64}",
                 "/begehungen/P-17/belege/../../etc", "/begehungen/P-17/belege/nicht-hex", foreign):
        refused = c.get(path)
        assert refused.status_code == 404, path
        _no_trace(refused)
    # evidence follows the read scope: the Kita lead of P-17 sees it, the lead of another Familienzentrum not
    assert login("u-lead").get(link).status_code == 200
    assert login("u-lead-b").get(link).status_code == 404


# -- access matrix: every route × every role × a foreign object ---------------------------------------------------

ROUTES = [
    ("GET", "/begehungen/{p}", None),
    ("POST", "/begehungen/{p}", {"grund": "x", "besuchstag": "2025-09-10", "urteil-1.1": "erfuellt"}),
    ("POST", "/begehungen/{p}/kommentare/1.1", {"kommentar": "Bitte Liste nachreichen"}),
    ("POST", "/begehungen/{p}/nachbesserung", {"nachbesserung_grund": "Bitte nachbessern"}),
    ("POST", "/begehungen/{p}/abzeichnen", {"abzeichnen_grund": "fertig"}),
    ("GET", "/begehungen/{p}/auditpaket.pdf", None),
]


def test_every_route_every_role_and_a_foreign_object_is_refused_and_nothing_changes(world, login):
    before = _snapshot(world)
    for user_id in ALL_USERS:
        c = login(user_id)
        token = csrf_of(c.get("/passwort").text)
        targets = list(FOREIGN) + ([] if user_id == AUDITOR else list(MINE))
        if user_id == OTHER_AUDITOR:
            targets.remove("P-90")  # their own
        for procedure_id in targets:
            for method, path, data in ROUTES:
                url = path.format(p=procedure_id)
                response = c.get(url) if method == "GET" else c.post(url, data={**data, "csrf_token": token})
                assert response.status_code == 404, (user_id, method, url, response.status_code)
                assert CONCEALED in response.text, (user_id, url)
                assert procedure_id not in response.text.replace(url, ""), (user_id, url)
                _no_trace(response)
            evidence = c.get(f"/begehungen/{procedure_id}/belege/{'a' * 64}")
            assert evidence.status_code == 404, (user_id, procedure_id)
    assert _snapshot(world) == before


def test_without_login_every_route_goes_to_the_login(world, client):
    for method, path, data in [*ROUTES, ("GET", "/begehungen", None)]:
        url = path.format(p="P-17")
        response = client.get(url) if method == "GET" else client.post(url, data=data or {})
        assert response.status_code in (303, 403), url  # a POST without a session has no CSRF token either
        if response.status_code == 303:
            assert response.headers["location"].startswith("/anmelden")


def test_csrf_missing_or_wrong_is_refused_and_nothing_changes(world, login):
    c = login(AUDITOR)
    before = _snapshot(world)
    for method, path, data in ROUTES:
        if method != "POST":
            continue
        url = path.format(p="P-17")
        for extra in ({}, {"csrf_token": "falsch"}):
            response = c.post(url, data={**data, **extra})
            assert response.status_code == 403 and "Sicherheitsprüfung" in response.text, url
            _no_trace(response)
        assert c.post(url, data=data, headers={"X-CSRF-Token": "falsch", "HX-Request": "true"}).status_code == 403
    assert _snapshot(world) == before


# -- bad input ----------------------------------------------------------------------------------------------


def test_bad_input_in_the_review_form_is_told_at_the_field_and_nothing_is_written(world, login):
    c = login(AUDITOR)
    page = c.get("/begehungen/P-17").text
    before = _snapshot(world)
    cases = [
        ({"besuchstag": ""}, "besuchstag", "Bitte den Tag der Begehung angeben."),
        ({"besuchstag": "2025-09-11"}, "besuchstag", "nicht in der Zukunft"),
        ({"besuchstag": "2025-08-31"}, "besuchstag", "nicht vor der Einreichung"),
        ({"besuchstag": "31.02.2025"}, "besuchstag", "gültiges Datum"),
        ({"besuchstag": "kein Datum"}, "besuchstag", "gültiges Datum"),
        ({"besuchstag": "99999-01-01"}, "besuchstag", "gültiges Datum"),
        ({"urteil-1.1": "vielleicht"}, "urteil-1.1", "„bestätigt“ oder „nicht bestätigt“"),
        ({"urteil-1.1": "", "bemerkung-1.1": "nur eine Bemerkung"}, "urteil-1.1", "auch eine Bewertung"),
        ({"urteil-1.1": "erfuellt", "bemerkung-1.1": "x" * (MAX_REMARK_CHARS + 1)}, "bemerkung-1.1",
         f"höchstens {MAX_REMARK_CHARS} Zeichen"),
        ({"urteil-9.9": "erfuellt"}, "formular", "Das Kriterium 9.9 gibt es im Katalog des Verfahrens nicht."),
        ({"grund": ""}, "grund", "Bitte einen Grund angeben"),
        ({"grund": "x" * (MAX_REASON_CHARS + 1)}, "grund", f"höchstens {MAX_REASON_CHARS} Zeichen"),
    ]
    for data, field, message in cases:
        form = _verdict_form(page, besuchstag="2025-09-10", **{"urteil-1.2": "erfuellt"})
        form.update(data)
        response = c.post("/begehungen/P-17", data=form)
        assert response.status_code == 422, (data, response.status_code)
        if field == "formular":  # no field on the page: told in the summary above the form
            assert f"Formular</a>: {message}" in response.text
        else:
            assert message in _field_error(response.text, field), (data, _field_error(response.text, field))
            assert f'href="#{field}"' in response.text  # the error summary links to the field
            assert 'aria-invalid="true"' in response.text
        assert '<option value="erfuellt" selected>bestätigt</option>' in response.text  # what was typed stays
        _no_trace(response)
    both = c.post("/begehungen/P-17", data={**_verdict_form(page, reason=""), "besuchstag": "kein Datum",
                                            "urteil-1.1": "vielleicht"})
    assert both.status_code == 422  # every problem at once, each at its field
    assert "gültiges Datum" in _field_error(both.text, "besuchstag")
    assert "Bitte einen Grund angeben" in _field_error(both.text, "grund")
    assert "bestätigt" in _field_error(both.text, "urteil-1.1")
    assert _snapshot(world) == before


def test_a_verbund_is_visited_at_two_sites_including_the_zuschussempfaenger(world, login):
    c = login(AUDITOR)
    page = c.get("/begehungen/P-V").text
    assert 'name="standorte" value="k4" form="bewertung" checked' in page  # the Zuschussempfänger preselected
    before = _snapshot(world)
    for sites, message in ((["k4"], "an genau 2 Standorten"), (["k5", "k6"], "schließt den Zuschussempfänger"),
                           (["k4", "k9"], "gehören nicht zum Familienzentrum")):
        response = c.post("/begehungen/P-V", data={**_verdict_form(page, besuchstag="2025-09-10"), "standorte": sites})
        assert response.status_code == 422 and message in _field_error(response.text, "standorte"), sites
        for site in sites:
            assert f'value="{site}" form="bewertung" checked' in response.text or site == "k9"
    assert _snapshot(world) == before
    done = c.post("/begehungen/P-V", data={**_verdict_form(page, besuchstag="2025-09-09"), "standorte": ["k4", "k6"],
                                          "urteil-1.1": "erfuellt"})
    assert done.status_code == 200 and "Begehung am 09.09.2025 an k4, k6, 1 Bewertung(en) erfasst" in done.text


def test_bad_comments_and_reasons_are_told_at_the_field(world, login):
    c = login(AUDITOR)
    page = c.get("/begehungen/P-17").text
    token = csrf_of(page)
    before = _snapshot(world)
    for body, message in (("  ", "Bitte einen Kommentar eingeben."),
                          ("x" * (MAX_COMMENT_CHARS + 1), f"höchstens {MAX_COMMENT_CHARS} Zeichen")):
        fragment = c.post("/begehungen/P-17/kommentare/1.1", data={"kommentar": body, "csrf_token": token},
                          headers={"HX-Request": "true"})
        assert fragment.status_code == 422 and message in _field_error(fragment.text, "kommentar-k-1-1")
        assert fragment.text.lstrip().startswith('<div class="faden" id="faden-k-1-1">')  # the thread alone
        full = c.post("/begehungen/P-17/kommentare/1.1", data={"kommentar": body, "csrf_token": token})
        assert full.status_code == 422 and message in _field_error(full.text, "kommentar-k-1-1")
        assert 'href="#kommentar-k-1-1"' in full.text and "<h1>" in full.text
        _no_trace(fragment)
        _no_trace(full)
    unknown = c.post("/begehungen/P-17/kommentare/9.9", data={"kommentar": "Frage", "csrf_token": token},
                     headers={"HX-Request": "true"})
    assert unknown.status_code == 403 and "Kriterium 9.9 gibt es im Katalog" in unknown.text
    for reason in ("", "Liste fehlt"):  # the lifecycle leaves this to the certification body, before the audit
        refused = c.post("/begehungen/P-17/nachbesserung", data={"nachbesserung_grund": reason, "csrf_token": token})
        assert refused.status_code == 403
        assert "Nachbesserung anfordern ist der Rolle 'Auditor' nicht erlaubt" in html.unescape(refused.text)
    for reason in (" ", "fertig"):  # no visit recorded yet: that comes first
        early = c.post("/begehungen/P-17/abzeichnen", data={"abzeichnen_grund": reason, "csrf_token": token})
        assert early.status_code == 403 and "noch keine Begehung erfasst" in early.text
    packet = c.get("/begehungen/P-17/auditpaket.pdf")
    assert packet.status_code == 404  # no packet before the sign-off
    for response in (unknown, refused, early, packet):
        _no_trace(response)
    assert _snapshot(world) == before


# -- the whole review, up to the packet ---------------------------------------------------------------------


def _audit_entries(world, action: str) -> int:
    with Session(world.engine) as session:
        return session.execute(text("SELECT COUNT(*) FROM audit_log WHERE action = :a"), {"a": action}).scalar()


def test_the_review_records_the_visit_changes_verdicts_talks_signs_off_and_gives_the_packet(world, login):
    c = login(AUDITOR)
    page = c.get("/begehungen/P-30").text
    recorded = c.post("/begehungen/P-30", data=_verdict_form(
        page, "Begehung vor Ort", besuchstag="10.09.2025", **{"urteil-1.1": "erfuellt", "urteil-1.2": "nicht_erfuellt",
                                                               "bemerkung-1.2": "Sprechstunde nur zweimonatlich"}))
    assert recorded.status_code == 200, recorded.text[:2000]
    assert "Verfahren P-30: Begehung geplant → begangen; Begehung am 10.09.2025 an k3, 2 Bewertung(en)" in recorded.text
    markup = recorded.text
    assert "Bewertungen speichern" in markup and 'name="besuchstag"' not in markup and "Begehung abzeichnen" in markup
    assert '<option value="nicht_erfuellt" selected>nicht bestätigt</option>' in markup
    assert "– noch keine –" not in markup[markup.index('id="k-1-1"'):markup.index('id="k-1-2"')]  # set: no way back
    verdict_entries = _audit_entries(world, "audit_verdict.record")

    again = c.post("/begehungen/P-30", data=_verdict_form(markup, "Korrektur", **{
        "urteil-1.1": "erfuellt", "urteil-1.2": "erfuellt", "bemerkung-1.2": "Nachweis vor Ort gesehen",
        "urteil-1.3": ""}))
    assert again.status_code == 200 and "Verfahren P-30: 1 Bewertung(en) erfasst" in again.text
    assert _audit_entries(world, "audit_verdict.record") == verdict_entries + 1  # only what changed
    removed = c.post("/begehungen/P-30", data=_verdict_form(markup, "weg damit", **{"urteil-1.1": ""}))
    assert removed.status_code == 422
    assert "nicht entfernen" in _field_error(removed.text, "urteil-1.1")

    thread = c.post("/begehungen/P-30/kommentare/1.2", data={"kommentar": "Bitte die Termine\nder Sprechstunde senden",
                                                            "csrf_token": csrf_of(markup)},
                    headers={"HX-Request": "true"})
    assert thread.status_code == 200 and thread.text.lstrip().startswith('<div class="faden" id="faden-k-1-2">')
    assert "Kommentar zu Kriterium 1.2 im Verfahren P-30 gespeichert" in thread.text
    assert "Bitte die Termine\nder Sprechstunde senden" in thread.text and "Auditor Beispiel" in thread.text
    assert "<h1>" not in thread.text  # a fragment, not a page
    assert _audit_entries(world, "criterion_comment.added") >= 1

    for reason, message in ((" ", "Bitte einen Grund angeben"),
                            ("x" * (MAX_REASON_CHARS + 1), f"höchstens {MAX_REASON_CHARS} Zeichen")):
        empty = c.post("/begehungen/P-30/abzeichnen", data={"abzeichnen_grund": reason, "csrf_token": csrf_of(markup)})
        assert empty.status_code == 422 and message in _field_error(empty.text, "abzeichnen_grund")
        assert "sind eingefroren" not in empty.text
    signed = c.post("/begehungen/P-30/abzeichnen", data={"abzeichnen_grund": "Begehung abgeschlossen",
                                                         "csrf_token": csrf_of(markup)})
    assert signed.status_code == 200, signed.text[:2000]
    digest = re.search(r'<code class="pruef-hash" id="paket-sha256">([0-9a-f]{64})</code>', signed.text).group(1)
    assert "Begehung im Verfahren P-30 abgezeichnet (2 Bewertung(en))" in signed.text and digest in signed.text
    frozen = c.get("/begehungen/P-30").text
    assert "sind eingefroren" in frozen and "<select" not in frozen and "<textarea" in frozen  # comments go on
    assert 'name="grund"' not in frozen and "Begehung abzeichnen" not in frozen
    shown = frozen[frozen.index('id="k-1-2"'):frozen.index('id="k-1-3"')]
    assert "Bewertung: <strong" in shown and ">bestätigt</strong>" in shown and "Nachweis vor Ort gesehen" in shown
    packet = c.get("/begehungen/P-30/auditpaket.pdf")
    assert packet.status_code == 200 and packet.content.startswith(b"%PDF")
    assert hashlib.sha256(packet.content).hexdigest() == digest == packet.headers["x-certflow-sha256"]
    assert packet.headers["content-disposition"] == 'attachment; filename="P-30-auditpaket.pdf"'

    before = _snapshot(world)
    late = c.post("/begehungen/P-30", data=_verdict_form(frozen, "zu spät", **{"urteil-1.1": "nicht_erfuellt"}))
    assert late.status_code == 403 and "abgezeichnet" in late.text
    twice = c.post("/begehungen/P-30/abzeichnen", data={"abzeichnen_grund": "nochmal", "csrf_token": csrf_of(frozen)})
    assert twice.status_code == 403
    _no_trace(late)
    _no_trace(twice)
    assert _snapshot(world) == before
    listing = c.get("/begehungen").text
    assert "Abgezeichnet – die Zertifizierungsstelle entscheidet" in listing
