"""The Kita lead's pages (certflow/web/routes/kita.py) on SQLite and PostgreSQL: "Meine Aufgaben", the
self-assessment area by area with the live score (htmx, not saved), the draft, evidence uploads kept in the
staging area until the submission commits, the threads after a requested Nachbesserung, the submission;
every route × every role × a foreign object refused with nothing changed; CSRF; bad input in every form told
at the field with nothing written and no traceback; uploads too big (declared, and streamed) or of the wrong type.

The world is built once per module and backend (:func:`build_kita_world`, also used by the browser journey):
test_web_support's world with P-17 (u-lead) in its development year, P-20 (u-lead-b) submitted with changes
requested and a question on 1.7, P-90 (u-lead-9, another Jugendamt) nominated. Tests that write use their
own procedure or run in the order the module lists them.
"""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from db_support import FixedClock, postgres_admin  # noqa: F401
from sqlalchemy import text
from sqlalchemy.orm import Session
from test_web_support import (  # noqa: F401
    PASSWORDS, csrf_of, log_in, login, make_world, module_world, web_client, world_url,
)

from certflow import services
from certflow.assessment.model import Period, Status
from certflow.catalogue.model import Variant
from certflow.evidence_staging import EvidenceStaging
from certflow.evidence_store import DEFAULT_MAX_BYTES
from certflow.lifecycle.dialogue import MAX_COMMENT_CHARS
from certflow.packet.sample import tiny_pdf
from certflow.samples import satisfying_assessment
from certflow.services import dialogue, self_assessment
from certflow.services.runner import Application
from certflow.settings import Settings
from certflow.web.errors import CONCEALED

LEAD = "u-lead"
ALL_USERS = ["u-lead", "u-lead-b", "u-lead-9", "u-coord", "u-coord-b", "u-aud", "u-cert", "u-admin"]
OWN = {"u-lead": "P-17", "u-lead-b": "P-20", "u-lead-9": "P-90"}
TODAY = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
PDF = tiny_pdf("Zertifikat Weiterbildung Erst- und Verweisberatung")


# -- the world ------------------------------------------------------------------------------------------------


def complete_assessment(app: Application, procedure_id: str):
    """Every applicable item answered as met, with the activities and evidence records it needs (no files)."""
    def make(uow):
        procedure = uow.procedures.get(procedure_id)
        fz = uow.familienzentren.get(procedure.familienzentrum_id)
        catalogue = services.catalogue_for_key(procedure.catalogue_key)
        return satisfying_assessment(catalogue, Variant(procedure.kind, fz.form),
                                     Period(start=procedure.period_start, end=procedure.period_end), name=fz.name)
    full = app.run(make)
    return full.model_copy(update={"evidence": [ev.model_copy(update={"file": None, "sha256": None})
                                                for ev in full.evidence]})


def build_kita_world(engine, clock: FixedClock, evidence_dir: Path) -> Application:
    """test_web_support's world and: P-17 (fz-1, u-lead) in its development year; P-20 (fz-2, u-lead-b) submitted
    (failing), changes requested by u-cert with a question on 1.7; P-90 (fz-9 of ja-b, u-lead-9) nominated.
    The clock ends on 2 March 2026. Every user has ``PASSWORDS[user]``."""
    make_world(engine, clock).close()
    app = Application(Settings(database_url=engine.url.render_as_string(hide_password=False),
                               evidence_dir=evidence_dir), clock=clock, engine=engine, after_commit=[])
    for procedure_id, lead in (("P-17", "u-lead"), ("P-20", "u-lead-b")):
        app.run(lambda uow, p=procedure_id, u=lead: services.register(uow, u, p, "Einladung angenommen"))
        app.run(lambda uow, p=procedure_id, u=lead: services.start_development(uow, u, p, "Entwicklungsjahr beginnt"))
    clock.at = TODAY
    partial = complete_assessment(app, "P-20")
    answers = dict(partial.answers)
    for item in ("1.1", "1.2", "1.7"):
        answers[item] = answers[item].model_copy(update={"status": Status.NICHT_ERFUELLT})
    app.run(lambda uow: services.submit(uow, "u-lead-b", "P-20", partial.model_copy(update={"answers": answers}),
                                        "Selbstbewertung fertig"))
    app.run(lambda uow: services.request_changes(uow, "u-cert", "P-20", "Bereich 1 bitte nachbessern"))
    app.run(lambda uow: dialogue.comment(uow, "u-cert", "P-20", "1.7",
                                         "Bitte den Nachweis der Weiterbildung (30 Stunden) nachreichen."))
    return app


@pytest.fixture(scope="module")
def world(world_url, tmp_path_factory):
    """The Kita world (see :func:`build_kita_world`), with cheap password hashing for the module."""
    with module_world(world_url, build_kita_world, tmp_path_factory.mktemp("belege") / "speicher") as app:
        yield app


# -- helpers ------------------------------------------------------------------------------------------------


def _no_trace(response) -> None:
    body = response.text
    assert "Traceback" not in body and 'File "' not in body and "Error:" not in body, body[:500]


def _files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()) if root.exists() else []


def _snapshot(world) -> dict[str, object]:
    """What a refused request must leave as it was: rows, states and versions, the draft, the files."""
    with Session(world.engine) as session:
        out: dict[str, object] = {t: session.execute(text(f"SELECT COUNT(*) FROM {t}")).scalar()
                                  for t in ("audit_log", "assessment_revision", "criterion_comment", "procedure")}
        out["states"] = sorted(session.execute(text("SELECT id, state, version FROM procedure")).all())
        out["drafts"] = sorted(session.execute(text(
            "SELECT procedure_id, revision, sha256, submitted FROM assessment_revision")).all())
    store = world.evidence_store()
    out["store"] = _files(store.root)
    out["staged"] = _files(EvidenceStaging.beside(store).root)
    return out


def _field_error(markup: str, field: str) -> str:
    fid = field.replace(":", "-").replace(".", "-")
    match = re.search(rf'<p class="feldfehler" id="{re.escape(fid)}-fehler"[^>]*>(.*?)</p>', markup, re.S)
    assert match, f"no error at {field}"
    return html.unescape(re.sub(r"<[^>]+>", "", match.group(1)))


def _token(c) -> str:
    return csrf_of(c.get("/passwort").text)


def _upload(c, procedure_id: str, criterion: str, *, file=("weiterbildung.pdf", PDF, "application/pdf"),
            htmx: bool = True, **fields):
    """Upload an evidence record with its file (default: ``PDF`` for P-17, a PDF of its own for others)."""
    if file and file[1] is PDF and procedure_id != "P-17":
        file = (file[0], tiny_pdf(f"Weiterbildung {procedure_id}"), file[2])
    data = {"punkt": criterion, "art": "fortbildung", "titel": "Weiterbildung Erst- und Verweisberatung",
            "datum": "2025-11-20", "stunden": "32"}
    data.update(fields)
    form = {f"beleg:{criterion}:{k}": v for k, v in data.items()}
    headers = {"HX-Request": "true", "X-CSRF-Token": _token(c)} if htmx else {}
    if not htmx:
        form["csrf_token"] = _token(c)
    files = {f"beleg:{criterion}:datei": file} if file else None
    return c.post(f"/selbstbewertung/{procedure_id}/belege?kriterium={criterion}", data=form, files=files,
                  headers=headers)


def _chunked_upload(size: int):
    """A multipart body with a file of ``size`` bytes, sent in chunks without a Content-Length."""
    yield (b'--grenze\r\nContent-Disposition: form-data; name="beleg:1.7:titel"\r\n\r\nx\r\n'
           b'--grenze\r\nContent-Disposition: form-data; name="beleg:1.7:datei"; filename="riesig.pdf"\r\n'
           b"Content-Type: application/pdf\r\n\r\n")
    chunk = b"\0" * (1024 * 1024)
    for _ in range(size // len(chunk)):
        yield chunk
    yield b"\r\n--grenze--\r\n"


def _draft(world, procedure_id: str):
    return world.run(lambda uow: uow.submissions.draft(procedure_id))


# -- "Meine Aufgaben" -------------------------------------------------------------------------------------------


def test_my_tasks_show_the_state_the_next_deadline_and_the_next_step(world, login):
    c = login(LEAD)
    page = c.get("/aufgaben")
    markup = page.text
    assert page.status_code == 200 and "<h1>Meine Aufgaben</h1>" in markup
    assert "Familienzentrum Muster" in markup and "in Entwicklung" in markup
    assert "Einreichung der Selbstbewertung</strong> bis 31.03.2026" in markup
    assert 'href="/selbstbewertung/P-17"' in markup and "Selbstbewertung bearbeiten" in markup
    assert "Noch ist nichts gespeichert." in markup
    assert "P-20" not in markup and "P-90" not in markup and "Regenbogen" not in markup
    assert '<a href="/aufgaben">Meine Aufgaben</a>' in markup  # in the main navigation
    b = login("u-lead-b").get("/aufgaben").text
    assert "Nachbesserung angefordert" in b and "Offene Rückfragen zu: <strong>1.7</strong>" in b
    nominated = login("u-lead-9").get("/aufgaben").text
    assert 'action="/aufgaben/P-90/registrieren"' in nominated and '<label for="registrieren-grund">' in nominated
    for user_id in ("u-coord", "u-aud", "u-cert", "u-admin"):
        refused = login(user_id).get("/aufgaben")
        assert refused.status_code == 403 and "ist die Seite der Kita-Leitung" in html.unescape(refused.text)
        assert 'href="/aufgaben"' not in refused.text
        _no_trace(refused)


def test_the_lead_registers_and_begins_the_development_year_with_a_reason(world, login):
    c = login("u-lead-9")
    token = _token(c)
    before = _snapshot(world)
    for reason, message in (("  ", "Bitte eine Begründung angeben"), ("x" * 501, "höchstens 500 Zeichen")):
        bad = c.post("/aufgaben/P-90/registrieren", data={"begruendung": reason, "csrf_token": token})
        assert bad.status_code == 422 and message in _field_error(bad.text, "registrieren-grund")
        assert 'aria-invalid="true"' in bad.text
        _no_trace(bad)
    early = c.post("/aufgaben/P-90/beginnen", data={"begruendung": "los", "csrf_token": token})
    assert early.status_code == 403 and '<div class="fehlerkasten" role="alert"><p>Nicht möglich: ' in early.text
    assert "Entwicklung beginnen" in html.unescape(early.text) and "nominiert" in html.unescape(early.text)
    assert _snapshot(world) == before
    done = c.post("/aufgaben/P-90/registrieren", data={"begruendung": "Einladung angenommen", "csrf_token": token})
    assert done.status_code == 200 and "Verfahren P-90: nominiert → registriert" in html.unescape(done.text)
    assert 'action="/aufgaben/P-90/beginnen"' in done.text
    begun = c.post("/aufgaben/P-90/beginnen", data={"begruendung": "Entwicklungsjahr beginnt", "csrf_token": token})
    assert "registriert → in Entwicklung" in html.unescape(begun.text)
    assert c.post("/aufgaben/P-90/gibt-es-nicht", data={"begruendung": "x", "csrf_token": token}).status_code == 404
    no_reason = c.post("/aufgaben/P-90/zurueckziehen", data={"begruendung": "", "csrf_token": token})
    assert no_reason.status_code == 422 and "<details class=\"kl-zurueckziehen\" open>" in no_reason.text
    assert "Bitte eine Begründung angeben" in _field_error(no_reason.text, "zurueckziehen-grund")
    withdrawn = c.post("/aufgaben/P-90/zurueckziehen", data={"begruendung": "Leitungswechsel", "csrf_token": token})
    assert withdrawn.status_code == 200 and "in Entwicklung → zurückgezogen" in html.unescape(withdrawn.text)
    assert "Das Verfahren ist zurückgezogen." in html.unescape(withdrawn.text)
    assert 'action="/aufgaben/P-90/zurueckziehen"' not in withdrawn.text


# -- the self-assessment ------------------------------------------------------------------------------------


def test_the_area_page_is_a_labelled_form_with_the_live_score_and_nothing_from_outside(world, login):
    c = login(LEAD)
    page = c.get("/selbstbewertung/P-17/bereich/1")
    markup = page.text
    assert page.status_code == 200
    assert "<h1>Bereich 1: Beratung und Unterstützung von Kindern und Familien</h1>" in markup
    assert markup.count('<section class="kl-kriterium"') == 9
    assert 'hx-post="/selbstbewertung/P-17/bereich/1/vorschau" hx-trigger="change delay:500ms' in markup
    assert '<section id="punkte"' in markup and 'role="img"' in markup
    assert "Bereich 1: 0 von mindestens 7 Punkten" in markup
    assert "Noch ohne Angabe:</strong> 1.1, 1.1.1" in markup
    assert 'enctype="multipart/form-data"' in markup and 'hx-encoding="multipart/form-data"' in markup
    assert '<progress id="fortschritt-1-7"' in markup and '<script src="/static/kita.js" defer></script>' in markup
    assert 'accept=".pdf,.png,.jpg,.jpeg,.docx,.xlsx,.odt"' in markup and 'data-max-bytes="20971520"' in markup
    for field_id in re.findall(r'<(?:select|textarea|input)(?![^>]*type="hidden")[^>]* id="([^"]+)"', markup):
        assert f'for="{field_id}"' in markup, field_id  # every field has its label
    ids = re.findall(r' id="([^"]+)"', markup)
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)  # every id once
    forms = set(re.findall(r'<form id="([^"]+)"', markup))
    assert set(re.findall(r' form="([^"]+)"', markup)) <= forms  # fields outside their form name one that exists
    assert not re.search(r'(?:src|href|action)="(?:https?:)?//', markup)
    assert "<script>" not in markup and 'style="' not in markup and " onclick=" not in markup
    assert c.get("/static/kita.js").status_code == 200
    for other in ("/selbstbewertung/P-17", "/selbstbewertung/P-17/bereich/4", "/selbstbewertung/P-17/einreichen"):
        response = c.get(other)
        assert response.status_code == 200, other
        for field_id in re.findall(r'<(?:select|textarea|input)(?![^>]*type="hidden")[^>]* id="([^"]+)"',
                                   response.text):
            assert f'for="{field_id}"' in response.text, (other, field_id)
        ids = re.findall(r' id="([^"]+)"', response.text)
        assert len(ids) == len(set(ids)), (other, sorted(i for i in ids if ids.count(i) > 1))
    assert c.get("/selbstbewertung/P-17/bereich/99").status_code == 404


def test_the_live_score_answers_with_a_fragment_and_saves_nothing(world, login):
    c = login(LEAD)
    before = _snapshot(world)
    page = c.get("/selbstbewertung/P-17/bereich/1").text
    items = re.findall(r'name="antwort:([\w.]+)" value="erfuellt"', page)
    fragment = c.post("/selbstbewertung/P-17/bereich/1/vorschau", data={f"antwort:{i}": "erfuellt" for i in items},
                      headers={"HX-Request": "true", "X-CSRF-Token": csrf_of(page)})
    assert fragment.status_code == 200 and fragment.text.startswith('<section id="punkte"')
    assert "<html" not in fragment.text and "Noch ohne Angabe" not in fragment.text
    assert "Als erfüllt angegeben, aber ohne Beleg:</strong> 1.1 (Verzeichnis bzw. Adressliste)" in fragment.text
    assert '<div class="kl-ergebnis" id="ergebnis-1-1" hx-swap-oob="true">' in fragment.text  # each criterion too
    assert fragment.text.count('hx-swap-oob="true"') == 9
    bad = c.post("/selbstbewertung/P-17/bereich/1/vorschau", data={"akt:1.5:datum": "31.02.2026"},
                 headers={"HX-Request": "true", "X-CSRF-Token": csrf_of(page)})
    assert bad.status_code == 200 and "Nicht mitgezählt, bitte prüfen" in bad.text and "ist kein Datum" in bad.text
    assert _snapshot(world) == before


def test_saving_the_draft_keeps_answers_and_records_and_says_so(world, login):
    c = login(LEAD)
    token = _token(c)
    saved = c.post("/selbstbewertung/P-17/bereich/1", data={
        "csrf_token": token, "antwort:1.1": "erfuellt", "bemerkung:1.1": "Liste im Familienbüro",
        "antwort:1.2": "nicht_erfuellt", "akt:1.5:punkt": "1.5", "akt:1.5:datum": "2025-10-07",
        "akt:1.5:art": "sprechstunde", "akt:1.5:termine": "3", "akt:1.5:teilnehmende": "12", "akt:1.5:notiz": ""})
    assert (saved.status_code, saved.headers["location"]) == (303, "/selbstbewertung/P-17/bereich/1?gespeichert=1")
    page = c.get(saved.headers["location"]).text
    assert "Entwurf gespeichert." in page and "Entwurf, Revision 1, zuletzt gespeichert 02.03.2026" in page
    assert 'id="antwort-1-1-erfuellt" name="antwort:1.1" value="erfuellt" checked' in page
    assert 'value="Liste im Familienbüro"' in page and "<td>07.10.2025</td><td>1.5</td>" in page
    draft = _draft(world, "P-17")
    assert draft.revision == 1 and draft.created_by == LEAD
    assert "Entwurf Revision 1 angelegt" in c.get("/verfahren/P-17").text  # in the history, with who and why


@pytest.mark.parametrize("data, field, message", [
    ({"antwort:1.1": "vielleicht"}, "antwort:1.1", "erfüllt, nicht erfüllt oder offen"),
    ({"bemerkung:1.1": "x" * 1001, "antwort:1.1": "erfuellt"}, "bemerkung:1.1", "höchstens 1000 Zeichen"),
    ({"akt:1.5:datum": "kein Datum"}, "akt:1.5:datum", "ist kein Datum"),
    ({"akt:1.5:datum": "01.01.1900"}, "akt:1.5:datum", "das Datum muss zwischen dem 01.01.1950 und dem 02.03.2026"),
    ({"akt:1.5:datum": "9999-12-31"}, "akt:1.5:datum", "das Datum muss zwischen"),
    ({"akt:1.5:datum": "2025-10-07", "akt:1.5:termine": "3,5"}, "akt:1.5:termine", "ganze Zahl"),
    ({"akt:1.5:datum": "2025-10-07", "akt:1.5:teilnehmende": "-4"}, "akt:1.5:teilnehmende", "ganze Zahl"),
    ({"akt:1.5:datum": "2025-10-07", "akt:1.5:termine": "100000"}, "akt:1.5:termine", "von 1 bis 500"),
    ({"akt:1.5:datum": "2025-10-07", "akt:1.5:notiz": "n" * 501}, "akt:1.5:notiz", "höchstens 500 Zeichen"),
    ({"akt:1.5:datum": "2025-10-07", "akt:1.5:art": "zauberei"}, "akt:1.5:art", "bitte aus der Liste wählen"),
])
def test_bad_input_in_the_area_form_is_told_at_the_field_and_nothing_is_saved(world, login, data, field, message):
    c = login(LEAD)
    before = _snapshot(world)
    form = {"csrf_token": _token(c), "antwort:1.1": "erfuellt", "akt:1.5:punkt": "1.5", "akt:1.5:art": "sprechstunde"}
    form.update(data)
    response = c.post("/selbstbewertung/P-17/bereich/1", data=form)
    assert response.status_code == 422
    assert message in _field_error(response.text, field)
    fid = field.replace(":", "-").replace(".", "-")
    assert f'href="#{fid}"' in response.text and "Nichts gespeichert" in response.text  # the summary links to it
    if field.startswith("akt:") and "datum" in field:
        assert f'value="{html.escape(data[field])}"' in response.text  # what was typed stays in the field
    _no_trace(response)
    assert _snapshot(world) == before


def test_an_upload_is_staged_until_the_submission_and_bad_files_are_told_at_the_field(world, login):
    c = login(LEAD)
    store = world.evidence_store()
    staging = EvidenceStaging.beside(store)
    before = _snapshot(world)
    wrong = _upload(c, "P-17", "1.7", file=("brief.pdf", b"MZ\x90\x00" + b"\0" * 500, "application/pdf"))
    assert wrong.status_code == 422 and wrong.text.lstrip().startswith('<div class="kl-belege" id="belege-1-7">')
    assert "ist nicht erlaubt (erlaubt: PDF, PNG, JPEG, DOCX, XLSX, ODT)" in _field_error(wrong.text, "beleg:1.7:datei")
    empty_title = _upload(c, "P-17", "1.7", titel=" ", datum="2027-01-01")
    assert empty_title.status_code == 422
    assert "Titel: bitte angeben" in _field_error(empty_title.text, "beleg:1.7:titel")
    assert "das Datum muss zwischen" in _field_error(empty_title.text, "beleg:1.7:datum")
    hours = _upload(c, "P-17", "1.7", stunden="viele")
    assert hours.status_code == 422 and "bitte eine Zahl angeben" in _field_error(hours.text, "beleg:1.7:stunden")
    declared = c.post("/selbstbewertung/P-17/belege?kriterium=1.7", content=b"x" * 10, headers={
        "Content-Type": "multipart/form-data; boundary=grenze", "Content-Length": str(200 * 1024 * 1024),
        "HX-Request": "true", "X-CSRF-Token": _token(c)})
    assert declared.status_code == 413 and "zu groß: höchstens 20 MB" in _field_error(declared.text, "beleg:1.7:datei")
    just_over = _upload(c, "P-17", "1.7", file=("gross.pdf", PDF + b"\0" * DEFAULT_MAX_BYTES, "application/pdf"))
    assert just_over.status_code == 422
    assert "gross.pdf: Datei ist größer als 20 MB" in _field_error(just_over.text, "beleg:1.7:datei")
    streamed = c.post("/selbstbewertung/P-17/belege?kriterium=1.7", content=_chunked_upload(21 * 1024 * 1024),
                      headers={"Content-Type": "multipart/form-data; boundary=grenze", "HX-Request": "true",
                               "X-CSRF-Token": _token(c)})  # no Content-Length: read with a limit, then refused
    assert streamed.status_code == 413 and "zu groß" in _field_error(streamed.text, "beleg:1.7:datei")
    plain = _upload(c, "P-17", "1.7", htmx=False, file=("brief.exe", b"MZ\x90\x00" + b"\0" * 500, "application/pdf"))
    assert plain.status_code == 422 and "<h1>Bereich 1:" in plain.text  # without JavaScript: the page again
    assert "nicht erlaubt" in _field_error(plain.text, "beleg:1.7:datei")
    assert 'value="Weiterbildung Erst- und Verweisberatung"' in plain.text
    for response in (wrong, empty_title, hours, declared, just_over, streamed, plain):
        _no_trace(response)
    assert _snapshot(world) == before

    done = _upload(c, "P-17", "1.7")
    assert done.status_code == 200 and done.headers["hx-trigger"] == "bewertung-geaendert"
    assert "die Datei weiterbildung.pdf ist vorgemerkt" in html.unescape(done.text)
    assert "hochgeladen, kommt mit dem Einreichen in den Belegspeicher" in done.text
    (sha,) = staging.staged("P-17")
    assert not store.exists(sha) and staging.path("P-17", sha).read_bytes() == PDF
    link = f"/selbstbewertung/P-17/belege/{sha}"
    assert link in done.text
    download = c.get(link)
    assert download.status_code == 200 and download.content == PDF
    assert download.headers["content-disposition"] == 'attachment; filename="weiterbildung.pdf"'
    assert login("u-lead-b").get(link).status_code == 404
    paper = _upload(c, "P-17", "1.7", htmx=False, file=None, titel="Zertifikat (Papier)", art="qualifikation")
    assert paper.status_code == 303 and paper.headers["location"] == "/selbstbewertung/P-17/bereich/1#belege-1-7"
    assert "Ohne Datei (bei der Begehung vorzulegen)" in c.get("/selbstbewertung/P-17/bereich/1").text


# -- access matrix: every route × every role × a foreign object ---------------------------------------------------

ROUTES = [
    ("GET", "/selbstbewertung/{p}", None),
    ("GET", "/selbstbewertung/{p}/bereich/1", None),
    ("POST", "/selbstbewertung/{p}/bereich/1", {"antwort:1.1": "erfuellt"}),
    ("POST", "/selbstbewertung/{p}/bereich/1/vorschau", {"antwort:1.1": "erfuellt"}),
    ("UPLOAD", "/selbstbewertung/{p}/belege?kriterium=1.7", None),
    ("GET", "/selbstbewertung/{p}/belege/" + "a" * 64, None),
    ("POST", "/selbstbewertung/{p}/kommentare?kriterium=1.7", {"kommentar:1.7": "Ist erledigt."}),
    ("GET", "/selbstbewertung/{p}/einreichen", None),
    ("POST", "/selbstbewertung/{p}/einreichen", {"begruendung": "fertig"}),
    ("POST", "/aufgaben/{p}/registrieren", {"begruendung": "x"}),
    ("POST", "/aufgaben/{p}/beginnen", {"begruendung": "x"}),
    ("POST", "/aufgaben/{p}/zurueckziehen", {"begruendung": "x"}),
    ("GET", "/aufgaben/qualitaetsprofil/{p}", None),
]


def _send(c, method: str, url: str, data, token: str):
    if method == "GET":
        return c.get(url)
    if method == "UPLOAD":
        return c.post(url, data={"beleg:1.7:punkt": "1.7", "beleg:1.7:art": "fortbildung", "beleg:1.7:titel": "x",
                                 "beleg:1.7:datum": "2025-11-20", "csrf_token": token},
                      files={"beleg:1.7:datei": ("a.pdf", PDF, "application/pdf")})
    return c.post(url, data={**data, "csrf_token": token})


def test_every_route_every_role_and_a_foreign_object_is_refused_and_nothing_changes(world, login):
    clients = {user_id: login(user_id) for user_id in ALL_USERS}
    tokens = {user_id: _token(c) for user_id, c in clients.items()}
    before = _snapshot(world)
    for user_id, c in clients.items():
        targets = [p for p in ("P-17", "P-20", "P-90", "P-404") if p != OWN.get(user_id)]
        for procedure_id in targets:
            for method, path, data in ROUTES:
                url = path.format(p=procedure_id)
                response = _send(c, method, url, data, tokens[user_id])
                assert response.status_code == 404, (user_id, method, url, response.status_code)
                assert CONCEALED in response.text, (user_id, url)
                assert procedure_id not in response.text.replace(url.split("?")[0], ""), (user_id, url)
                _no_trace(response)
        urkunde = c.get("/aufgaben/urkunde/FZ-2025-001")
        assert urkunde.status_code == 404, user_id
    assert _snapshot(world) == before


def test_without_login_every_route_goes_to_the_login(world):
    with web_client(world) as c:
        for method, path, data in [*ROUTES, ("GET", "/aufgaben", None)]:
            url = path.format(p="P-17")
            response = c.get(url) if method == "GET" else c.post(url, data=data or {})
            assert response.status_code in (303, 403), url  # a POST without a session has no CSRF token either
            if response.status_code == 303:
                assert response.headers["location"].startswith("/anmelden")


def test_csrf_missing_or_wrong_is_refused_and_nothing_changes(world, login):
    c = login(LEAD)
    before = _snapshot(world)
    for method, path, data in ROUTES:
        if method == "GET":
            continue
        url = path.format(p="P-17")
        for token in ("", "falsch"):
            if method == "UPLOAD":
                response = c.post(url, data={"csrf_token": token, "beleg:1.7:titel": "x"},
                                  files={"beleg:1.7:datei": ("a.pdf", PDF, "application/pdf")})
            else:
                response = c.post(url, data={**data, **({"csrf_token": token} if token else {})})
            assert response.status_code == 403 and "Sicherheitsprüfung" in response.text, (url, token)
            _no_trace(response)
        assert c.post(url, data=data or {}, headers={"X-CSRF-Token": "falsch", "HX-Request": "true"}).status_code == 403
    assert _snapshot(world) == before


# -- changes requested: the thread, the answer, the resubmission -------------------------------------------------


def test_after_changes_requested_the_lead_answers_per_criterion_and_resubmits(world, login):
    c = login("u-lead-b")
    overview = c.get("/selbstbewertung/P-20").text
    assert "Rückfragen zu einzelnen Kriterien" in overview and "Antwort erbeten" in overview
    assert 'href="/selbstbewertung/P-20/bereich/1#faden-1-7"' in overview
    page = c.get("/selbstbewertung/P-20/bereich/1").text
    assert "Stand der eingereichten Revision 1" in page
    thread = page[page.index('id="faden-1-7"'):]
    assert "Bitte den Nachweis der Weiterbildung (30 Stunden) nachreichen." in thread
    assert '<label for="kommentar-1-7">Ihre Antwort zu 1.7</label>' in thread
    assert 'form="faden-formular-1-7"' in thread and 'id="faden-formular-1-7" class="kl-nebenformular"' in page
    token = csrf_of(page)
    before = _snapshot(world)
    for body, message in (("   ", "Bitte eine Antwort eingeben."),
                          ("x" * (MAX_COMMENT_CHARS + 1), f"höchstens {MAX_COMMENT_CHARS} Zeichen")):
        bad = c.post("/selbstbewertung/P-20/kommentare?kriterium=1.7", data={"kommentar:1.7": body},
                     headers={"HX-Request": "true", "X-CSRF-Token": token})
        assert bad.status_code == 422 and message in _field_error(bad.text, "kommentar:1.7")
        assert bad.text.lstrip().startswith('<div class="kl-faden" id="faden-1-7">')
        _no_trace(bad)
    unknown = c.post("/selbstbewertung/P-20/kommentare?kriterium=9.9", data={"kommentar:9.9": "Frage"},
                     headers={"HX-Request": "true", "X-CSRF-Token": token})
    assert unknown.status_code == 404
    assert _snapshot(world) == before
    answered = c.post("/selbstbewertung/P-20/kommentare?kriterium=1.7", data={"kommentar:1.7": "Ist hochgeladen."},
                      headers={"HX-Request": "true", "X-CSRF-Token": token})
    assert answered.status_code == 200 and "Ist hochgeladen." in answered.text
    assert "Kommentar zu Kriterium 1.7 im Verfahren P-20 gespeichert" in answered.text
    assert "Offene Rückfragen" not in c.get("/aufgaben").text
    assert _upload(c, "P-20", "1.7").status_code == 200
    c.post("/selbstbewertung/P-20/bereich/1", data={"csrf_token": token, "antwort:1.1": "erfuellt",
                                                    "antwort:1.2": "erfuellt", "antwort:1.7": "erfuellt"})
    submit_page = c.get("/selbstbewertung/P-20/einreichen").text
    assert "<h1>Selbstbewertung erneut einreichen</h1>" in submit_page and "Erneut einreichen" in submit_page
    done = c.post("/selbstbewertung/P-20/einreichen", data={"begruendung": "Nachbesserung erledigt",
                                                             "csrf_token": token})
    text_ = html.unescape(done.text)
    assert done.status_code == 200 and "Nachbesserung angefordert → eingereicht" in text_
    assert "Revision 2 eingefroren" in text_ and "1 Beleg(e) gespeichert" in text_
    store = world.evidence_store()
    assert EvidenceStaging.beside(store).staged("P-20") == frozenset()
    assert len(_files(store.root)) == 1


# -- the submission --------------------------------------------------------------------------------------------


def test_submitting_is_refused_while_items_are_open_then_freezes_the_revision_and_stores_the_files(world, login):
    c = login(LEAD)
    token = _token(c)
    if not EvidenceStaging.beside(world.evidence_store()).staged("P-17"):  # run alone: the upload test's file
        assert _upload(c, "P-17", "1.7").status_code == 200
    page = c.get("/selbstbewertung/P-17/einreichen").text
    assert "So lässt sich die Selbstbewertung noch nicht einreichen." in page and "keine Angabe zu" in page
    assert 'action="/selbstbewertung/P-17/einreichen"' not in page  # no button while it would be refused
    before = _snapshot(world)
    refused = c.post("/selbstbewertung/P-17/einreichen", data={"begruendung": "fertig", "csrf_token": token})
    assert refused.status_code == 403 and "Einreichen nicht möglich: keine Angabe zu" in html.unescape(refused.text)
    _no_trace(refused)
    assert _snapshot(world) == before
    store = world.evidence_store()
    staged = EvidenceStaging.beside(store).staged("P-17")
    assert len(staged) == 1 and not any(store.exists(s) for s in staged)
    current = world.run(lambda uow: self_assessment.workspace(uow, LEAD, "P-17")).assessment
    full = complete_assessment(world, "P-17")
    full = full.model_copy(update={"evidence": [*full.evidence, *current.evidence]})
    world.run(lambda uow: uow.submissions.save_draft("P-17", full, by=LEAD))
    ready = c.get("/selbstbewertung/P-17/einreichen").text
    assert "Alle Punkte sind beantwortet" in ready
    empty = c.post("/selbstbewertung/P-17/einreichen", data={"begruendung": " ", "csrf_token": token})
    assert empty.status_code == 422 and "Bitte eine Bemerkung" in _field_error(empty.text, "begruendung")
    long = c.post("/selbstbewertung/P-17/einreichen", data={"begruendung": "x" * 501, "csrf_token": token})
    assert long.status_code == 422 and "Höchstens 500 Zeichen" in _field_error(long.text, "begruendung")
    assert _draft(world, "P-17") is not None  # nothing submitted
    done = c.post("/selbstbewertung/P-17/einreichen", data={"begruendung": "Selbstbewertung fertiggestellt",
                                                             "csrf_token": token})
    text_ = html.unescape(done.text)
    assert done.status_code == 200 and "<h1>Selbstbewertung eingereicht</h1>" in text_
    assert "in Entwicklung → eingereicht" in text_ and "1 Beleg(e) gespeichert" in text_
    assert all(store.exists(s) for s in staged) and EvidenceStaging.beside(store).staged("P-17") == frozenset()
    after = c.get("/selbstbewertung/P-17/bereich/1").text
    assert "lässt sich im Zustand „eingereicht“ nicht bearbeiten" in after and 'name="antwort:1.1"' not in after
    assert "im Belegspeicher" in after
    again = c.post("/selbstbewertung/P-17/einreichen", data={"begruendung": "noch mal", "csrf_token": token})
    assert again.status_code == 403
    frozen = c.post("/selbstbewertung/P-17/bereich/1", data={"antwort:1.1": "offen", "csrf_token": token})
    assert frozen.status_code == 403
    for response in (empty, again):
        _no_trace(response)


def test_the_documents_exist_only_after_the_decision(world, login):
    c = login(LEAD)
    for url in ("/aufgaben/qualitaetsprofil/P-17", "/aufgaben/urkunde/FZ-2026-001"):
        response = c.get(url)
        assert response.status_code == 404 and CONCEALED in response.text, url
    assert "Dokumente" not in c.get("/aufgaben").text
