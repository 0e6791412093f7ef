"""The certification body's pages on SQLite and PostgreSQL: the desk, planning the audit (an auditor of the
same Träger refused at the field), asking for changes, the Qualitätsprofil's feedback text beside the deficits
(and in its PDF), the decision that issues the seal, the Urkunde; every route refused to every other role and
for an unknown procedure, with nothing changed; CSRF; bad input at the field, never a traceback.

The world (tests/test_services_world.py, built once per module and backend): Jugendamt A with fz-1 (procedure
P1, submitted) and the Verbund fz-v (P2, audited by aud-1 and signed off), Jugendamt B with fz-b (P3, audited
and signed off, its self-assessment failing). aud-2 works for the Träger of fz-1's Kita: partial there.
The tests of a module share the world and run in file order: the actions come after the refusals.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import re
import uuid
from dataclasses import dataclass
from datetime import date

import pytest
from argon2 import PasswordHasher
from db_support import postgres_admin  # noqa: F401
from pypdf import PdfReader
from sqlalchemy import text
from sqlalchemy.orm import Session
from test_services_world import World, database_world
from test_web_support import csrf_of, web_client

from certflow import services
from certflow.calendar import KindergartenYear
from certflow.db import make_engine, upgrade
from certflow.lifecycle import Role, User
from certflow.services import accounts
from certflow.services.runner import Application


def password_of(user_id: str) -> str:
    """Every user's password in these modules (not containing the user name, as the policy wants)."""
    return f"Sommer-{hashlib.sha256(user_id.encode()).hexdigest()[:10]}-Kennwort!"

KGJ = KindergartenYear(2025)


@dataclass
class Site:
    """One backend's world for a module: its application, world (clock, steps) and procedure ids."""

    app: Application
    world: World
    ids: dict[str, str]


def _module_url(request, tmp_path_factory):
    """A fresh database for the module: a SQLite file, or a schema of its own on PostgreSQL (dropped after)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('web') / 'certflow.sqlite'}", None
    admin = request.getfixturevalue("postgres_admin")
    schema = f"w_{uuid.uuid4().hex[:16]}"
    with admin.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    url = admin.url.update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False), (admin, schema)


@contextlib.contextmanager
def site_on(request, tmp_path_factory, steps):
    """A :class:`Site` on the backend of ``request.param`` after ``steps(world) -> ids``, with every user's
    password :func:`password_of` (cheap argon2 parameters); used by the certifier's and the admin's modules."""
    url, postgres = _module_url(request, tmp_path_factory)
    engine = make_engine(url)
    upgrade(engine)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(accounts, "_HASHER", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
        patch.setattr(accounts, "_DUMMY_HASH", None)
        world = database_world(engine, tmp_path_factory.mktemp("belege"))
        ids = steps(world)

        def passwords(uow):
            for user in uow.users.all():
                services.set_password(uow, "admin", user.id, password_of(user.id))
        world.app.run(passwords)
        try:
            yield Site(world.app, world, ids)
        finally:
            world.app.close()
            engine.dispose()
            if postgres is not None:
                admin, schema = postgres
                with admin.begin() as connection:
                    connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))


def log_in(client, user_id: str):
    page = client.get("/anmelden")
    response = client.post("/anmelden", data={"login": user_id, "password": password_of(user_id),
                                              "csrf_token": csrf_of(page.text)})
    assert response.status_code == 303, response.text[:300]
    return client.get("/start")


def audit_count(app: Application) -> int:
    with Session(app.engine) as session:
        return session.execute(text("SELECT COUNT(*) FROM audit_log")).scalar()


def no_trace(response) -> None:
    body = response.text
    assert "Traceback" not in body and 'File "' not in body and "Error:" not in body, body[:500]


def field_error(html: str, field: str) -> str:
    """The German message shown at the field ``field`` (its ``…-fehler`` paragraph)."""
    match = re.search(rf'<p class="feldfehler" id="{re.escape(field)}-fehler"><span class="unsichtbar">Fehler: '
                      r'</span>(.*?)</p>', html, re.S)
    assert match, f"no message at {field}"
    return match.group(1)


def error_summary(html: str) -> str:
    """The list of messages at the top of a page whose form failed (each links to its field)."""
    match = re.search(r'<div class="fehlerkasten" role="alert">(.*?)</div>', html, re.S)
    assert match, "no error summary"
    return match.group(1)


def certifier_world(world: World) -> dict[str, str]:
    world.do(services.grant, "admin", "ja-a", KGJ, 1, "Erlass: ein Platz mehr")
    world.do(services.create_familienzentrum, "coord-a", "fz-5", "Familienzentrum Fünf", ["k5"], "Vom JHA gewählt")
    world.do(services.add_user, "admin", User("lead-5", "Lotte Fünf", Role.KITA_LEAD, familienzentrum_id="fz-5"),
             "Leitung")
    p4 = world.nominate("fz-5")
    world.to_development(p4, lead="lead-5")
    p1 = world.nominate("fz-1")
    world.to_development(p1)
    p2 = world.nominate("fz-v")
    world.to_development(p2, lead="lead-v")
    p3 = world.nominate("fz-b", actor="coord-b")
    world.to_development(p3, lead="lead-b")
    world.at(date(2026, 3, 2))
    world.submit(p1)
    world.submit(p2, lead="lead-v")
    world.submit(p3, lead="lead-b", passing=False)
    world.submit(p4, lead="lead-5")
    for pid, sites in ((p2, ("k2", "k3")), (p3, None)):
        world.schedule(pid)
        world.record(pid, sites=sites)
        world.sign_off(pid)
    world.at(date(2026, 4, 20))
    return {"P1": p1, "P2": p2, "P3": p3, "P4": p4}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def site(request, tmp_path_factory):
    with site_on(request, tmp_path_factory, certifier_world) as built:
        yield built


@pytest.fixture
def certifier(site):
    with web_client(site.app) as client:
        log_in(client, "cert-1")
        yield client


def _state(site: Site, key: str) -> str:
    return site.app.run(lambda uow: uow.procedures.get(site.ids[key]).state.value)


# -- the desk and the procedure page ------------------------------------------------------------------------------


def test_the_desk_shows_what_waits_for_the_certification_body(site, certifier):
    page = certifier.get("/zertifizierung")
    assert page.status_code == 200 and "<h1>Verfahren der Zertifizierungsstelle</h1>" in page.text
    html = page.text
    plan, decide = html.index('id="plan"'), html.index('id="decide"')
    p1, p2 = html.index(f"/zertifizierung/verfahren/{site.ids['P1']}"), html.index(
        f"/zertifizierung/verfahren/{site.ids['P2']}")
    assert plan < p1 < decide < p2  # P1 waits for its audit plan, P2 for the decision
    assert "abgezeichnet" in html and "Anna Audit" in html
    assert '<a href="/zertifizierung">Verfahren</a>' in html  # the nav link of the role
    assert not re.search(r'(?:src|href|action)="(?:https?:)?//', html)


def test_the_procedure_page_shows_the_deficits_beside_the_feedback_form(site, certifier):
    page = certifier.get(f"/zertifizierung/verfahren/{site.ids['P3']}")
    assert page.status_code == 200
    html = page.text
    assert "Defizite (aus der Bewertung erzeugt)" in html and "ausschlaggebend:" in html
    assert 'id="rueckmeldung-text"' in html and '<label for="rueckmeldung-text">' in html
    assert "Mindestanforderungen <strong>nicht erfüllt</strong>" in html
    assert 'name="ergebnis" value="certified"' in html and "SHA-256 des Auditpakets" in html
    p1 = certifier.get(f"/zertifizierung/verfahren/{site.ids['P1']}").text
    assert "Begehung planen" in p1 and 'for="begehung-auditor"' in p1 and 'type="date"' in p1
    assert "Arno Audit – Befangenheit: Arno Audit gehört zum Träger der Kita Kita Eins</option>" in p1


# -- who may: every route, every other role, an unknown procedure -------------------------------------------------


def _routes(ids: dict[str, str]) -> list[tuple[str, str, dict]]:
    p1, p2 = ids["P1"], ids["P2"]
    return [
        ("GET", "/zertifizierung", {}),
        ("GET", f"/zertifizierung/verfahren/{p1}", {}),
        ("POST", f"/zertifizierung/verfahren/{p1}/begehung",
         {"auditor": "aud-1", "datum": "2026-05-04", "grund": "Termin vereinbart"}),
        ("POST", f"/zertifizierung/verfahren/{p1}/nachbesserung", {"grund": "Belege fehlen"}),
        ("POST", f"/zertifizierung/verfahren/{p2}/entscheidung", {"ergebnis": "certified", "grund": "Alles erfüllt"}),
        ("POST", f"/zertifizierung/verfahren/{p2}/rueckmeldung", {"text": "Gut gemacht", "fassung": ""}),
        ("GET", f"/zertifizierung/verfahren/{p2}/qualitaetsprofil.pdf", {}),
        ("GET", "/zertifizierung/urkunde/FZ-2026-001.pdf", {}),
    ]


@pytest.mark.parametrize("user_id", ["admin", "coord-a", "coord-b", "aud-1", "aud-2", "lead-1", "lead-v", "lead-b"])
def test_every_route_is_refused_to_every_other_role_and_nothing_changes(site, user_id):
    before = audit_count(site.app), _state(site, "P1"), _state(site, "P2")
    with web_client(site.app) as client:
        token = csrf_of(log_in(client, user_id).text)
        for method, path, data in _routes(site.ids):
            response = client.get(path) if method == "GET" else client.post(path, data={**data, "csrf_token": token})
            assert response.status_code == 404, (user_id, path, response.status_code)
            assert "application/pdf" not in response.headers.get("content-type", "")
            assert "Diese Seite gibt es nicht, oder Sie haben keinen Zugriff darauf." in response.text
            assert site.ids["P2"] not in response.text.replace(path, "")
            no_trace(response)
        assert '<a href="/zertifizierung">' not in client.get("/start").text
    assert (audit_count(site.app), _state(site, "P1"), _state(site, "P2")) == before


def test_an_unknown_procedure_or_seal_is_the_same_404_for_the_certification_body(site, certifier):
    token = csrf_of(certifier.get("/zertifizierung").text)
    before = audit_count(site.app)
    for method, path, data in _routes({"P1": "V-1999-404", "P2": "V-1999-405"}):
        if path == "/zertifizierung":
            continue
        response = certifier.get(path) if method == "GET" else certifier.post(path, data={**data, "csrf_token": token})
        assert response.status_code == 404, path
        assert "Diese Seite gibt es nicht, oder Sie haben keinen Zugriff darauf." in response.text
        no_trace(response)
    assert audit_count(site.app) == before


def test_a_post_without_or_with_a_wrong_csrf_token_is_refused_and_changes_nothing(site, certifier):
    before = audit_count(site.app), _state(site, "P1")
    for path, data in ((f"/zertifizierung/verfahren/{site.ids['P1']}/begehung",
                        {"auditor": "aud-1", "datum": "2026-05-04", "grund": "Termin"}),
                       (f"/zertifizierung/verfahren/{site.ids['P2']}/rueckmeldung", {"text": "x", "fassung": ""})):
        assert certifier.post(path, data=data).status_code == 403
        wrong = certifier.post(path, data={**data, "csrf_token": "falsch"})
        assert wrong.status_code == 403 and "Sicherheitsprüfung" in wrong.text
        no_trace(wrong)
    assert (audit_count(site.app), _state(site, "P1")) == before


# -- bad input at the field, nothing half-written ---------------------------------------------------------------


def test_bad_input_in_every_form_is_told_at_the_field_and_nothing_is_written(site, certifier):
    p1, p2, p3 = site.ids["P1"], site.ids["P2"], site.ids["P3"]
    token = csrf_of(certifier.get("/zertifizierung").text)
    before = audit_count(site.app), _state(site, "P1"), _state(site, "P2"), _state(site, "P3")
    plan = f"/zertifizierung/verfahren/{p1}/begehung"
    cases = [
        (plan, {"auditor": "aud-1", "datum": "morgen", "grund": "Termin"}, "begehung-datum",
         "Bitte ein gültiges Datum angeben"),
        (plan, {"auditor": "aud-1", "datum": "2026-02-30", "grund": "Termin"}, "begehung-datum",
         "Bitte ein gültiges Datum angeben"),
        (plan, {"auditor": "aud-1", "datum": "", "grund": "Termin"}, "begehung-datum", "Bitte den Tag der Begehung"),
        (plan, {"auditor": "aud-1", "datum": "2026-04-19", "grund": "Termin"}, "begehung-datum",
         "Der Termin (19.04.2026) liegt in der Vergangenheit."),
        (plan, {"auditor": "aud-2", "datum": "2026-05-04", "grund": "Termin"}, "begehung-auditor",
         "Befangenheit: Arno Audit gehört zum Träger der Kita Kita Eins"),
        (plan, {"auditor": "cert-2", "datum": "2026-05-04", "grund": "Termin"}, "begehung-auditor",
         "Bitte einen Auditor aus der Liste wählen."),
        (plan, {"auditor": "aud-1", "datum": "04.05.2026", "grund": "x" * 2001}, "begehung-grund",
         "Höchstens 2000 Zeichen"),
        (plan, {"auditor": "aud-1", "datum": "2026-05-04", "grund": "  "}, "begehung-grund",
         "Bitte einen Grund angeben"),
        (f"/zertifizierung/verfahren/{p1}/nachbesserung", {"grund": ""}, "nachbesserung-grund",
         "Bitte einen Grund angeben"),
        (f"/zertifizierung/verfahren/{p2}/entscheidung", {"ergebnis": "vielleicht", "grund": "x"},
         "entscheidung-ergebnis", "Bitte wählen: zertifizieren oder nicht zertifizieren."),
        (f"/zertifizierung/verfahren/{p2}/entscheidung", {"grund": "x"}, "entscheidung-ergebnis",
         "Bitte wählen: zertifizieren oder nicht zertifizieren."),
        (f"/zertifizierung/verfahren/{p3}/entscheidung", {"ergebnis": "certified", "grund": "Alles gut"},
         "entscheidung-ergebnis", "Zertifizieren nicht möglich: die eingereichte Selbstbewertung"),
        (f"/zertifizierung/verfahren/{p2}/rueckmeldung", {"text": "x" * 20001, "fassung": ""}, "rueckmeldung-text",
         "höchstens 20000 Zeichen"),
        (f"/zertifizierung/verfahren/{p2}/rueckmeldung", {"text": "   ", "fassung": ""}, "rueckmeldung-text",
         "bitte einen Text eingeben"),
        (f"/zertifizierung/verfahren/{p2}/rueckmeldung", {"text": "Gut", "fassung": "zwei"}, "rueckmeldung-text",
         "Das Formular ist beschädigt"),
    ]
    for path, data, field, message in cases:
        response = certifier.post(path, data={**data, "csrf_token": token})
        assert response.status_code == 422, (path, data, response.status_code)
        assert message in field_error(response.text, field), (path, data)
        assert 'aria-invalid="true"' in response.text
        no_trace(response)
    kept = certifier.post(plan, data={"auditor": "aud-2", "datum": "2026-05-04", "grund": "Mein Grund",
                                      "csrf_token": token})
    assert ">Mein Grund</textarea>" in kept.text and 'value="2026-05-04"' in kept.text  # the input stays
    assert (audit_count(site.app), _state(site, "P1"), _state(site, "P2"), _state(site, "P3")) == before


# -- doing the job: plan, feedback, decide, the documents ---------------------------------------------------------


def test_planning_the_audit_assigns_the_auditor_as_the_logged_in_certifier(site, certifier):
    token = csrf_of(certifier.get("/zertifizierung").text)
    day = date(2026, 5, 4)
    done = certifier.post(f"/zertifizierung/verfahren/{site.ids['P1']}/begehung",
                          data={"auditor": "aud-1", "datum": "04.05.2026", "grund": "Termin mit der Leitung",
                                "csrf_token": token})
    assert done.status_code == 200
    assert "eingereicht → Begehung geplant; Begehung am 04.05.2026 durch Anna Audit" in done.text
    procedure = site.app.run(lambda uow: uow.procedures.get(site.ids["P1"]))
    assert (procedure.state.value, procedure.auditor_id, procedure.planned_audit_date) == (
        "audit_scheduled", "aud-1", day)
    trail = site.app.run(lambda uow: uow.procedures.history(site.ids["P1"]))
    assert (trail[-1].action, trail[-1].actor_id, trail[-1].reason) == (
        "procedure.schedule_audit", "cert-1", "Termin mit der Leitung")
    assert "Begehung neu planen" in done.text


def test_the_feedback_is_versioned_and_a_stale_save_is_a_conflict(site, certifier):
    path = f"/zertifizierung/verfahren/{site.ids['P2']}/rueckmeldung"
    token = csrf_of(certifier.get("/zertifizierung").text)
    first = certifier.post(path, data={"text": "Ein starkes Angebot.\n\nBitte Bereich 1 weiter ausbauen.",
                                       "fassung": "", "csrf_token": token})
    assert first.status_code == 200 and "Rückmeldung zum Qualitätsprofil" in first.text and "(Fassung 1)" in first.text
    assert 'name="fassung" value="1"' in first.text
    stale = certifier.post(path, data={"text": "Überholt", "fassung": "", "csrf_token": token})
    assert stale.status_code == 409 and "Inzwischen hat jemand anderes die Rückmeldung geändert" in field_error(
        stale.text, "rueckmeldung-text")
    assert ">Überholt</textarea>" in stale.text
    second = certifier.post(path, data={"text": "Ein starkes Angebot.\n\nBitte Bereich 1 weiter ausbauen.\nDanke.",
                                        "fassung": "1", "csrf_token": token})
    assert second.status_code == 200 and "(Fassung 2)" in second.text
    saved = site.app.run(lambda uow: services.feedback(uow, "cert-1", site.ids["P2"]))
    assert (saved.version, saved.author_id) == (2, "cert-1") and saved.text.endswith("Danke.")


def test_the_decision_issues_the_seal_and_the_documents_carry_it_and_the_feedback(site, certifier):
    pid = site.ids["P2"]
    token = csrf_of(certifier.get("/zertifizierung").text)
    done = certifier.post(f"/zertifizierung/verfahren/{pid}/entscheidung",
                          data={"ergebnis": "certified", "grund": "Alle Bereiche erfüllt", "csrf_token": token})
    assert done.status_code == 200
    number = re.search(r"Gütesiegel (\S+) ausgestellt am", done.text).group(1)
    assert f'href="/zertifizierung/urkunde/{number}.pdf"' in done.text
    assert "die Rückmeldung ist eingefroren." in done.text and "Bitte Bereich 1 weiter ausbauen." in done.text
    decision = site.app.run(lambda uow: uow.decisions.find(pid))
    assert (decision.decided_by, decision.outcome.value) == ("cert-1", "certified")

    urkunde = certifier.get(f"/zertifizierung/urkunde/{number}.pdf")
    assert urkunde.status_code == 200 and urkunde.headers["content-type"] == "application/pdf"
    assert urkunde.headers["content-disposition"] == f'attachment; filename="{number}-urkunde.pdf"'
    assert number in PdfReader(io.BytesIO(urkunde.content)).pages[0].extract_text()

    profile = certifier.get(f"/zertifizierung/verfahren/{pid}/qualitaetsprofil.pdf")
    assert profile.status_code == 200 and profile.content.startswith(b"%PDF")
    words = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(profile.content)).pages)
    words = " ".join(words.split())
    assert "Rückmeldung der Zertifizierungsstelle" in words and "Bitte Bereich 1 weiter ausbauen. Danke." in words
    assert words.index("Defizite") < words.index("Rückmeldung der Zertifizierungsstelle") < words.index(
        "Empfehlungen")

    frozen = certifier.post(f"/zertifizierung/verfahren/{pid}/rueckmeldung",
                            data={"text": "Zu spät", "fassung": "2", "csrf_token": token})
    assert frozen.status_code == 422 and "die Rückmeldung ist eingefroren" in field_error(frozen.text,
                                                                                         "rueckmeldung-text")
    desk = certifier.get("/zertifizierung").text
    assert desk.index('id="decided"') < desk.index(f"/zertifizierung/verfahren/{pid}")
    for user_id in ("lead-v", "coord-a", "admin"):
        with web_client(site.app) as other:
            log_in(other, user_id)
            assert other.get(f"/zertifizierung/urkunde/{number}.pdf").status_code == 404


def test_asking_for_changes_before_the_visit_and_not_after_it(site, certifier):
    token = csrf_of(certifier.get("/zertifizierung").text)
    done = certifier.post(f"/zertifizierung/verfahren/{site.ids['P4']}/nachbesserung",
                          data={"grund": "Belege zu Bereich 1 fehlen", "csrf_token": token})
    assert done.status_code == 200 and "eingereicht → Nachbesserung angefordert" in done.text
    trail = site.app.run(lambda uow: uow.procedures.history(site.ids["P4"]))
    assert (trail[-1].action, trail[-1].actor_id, trail[-1].reason) == (
        "procedure.request_changes", "cert-1", "Belege zu Bereich 1 fehlen")
    before = audit_count(site.app)
    refused = certifier.post(f"/zertifizierung/verfahren/{site.ids['P3']}/nachbesserung",
                             data={"grund": "Belege zu Bereich 1 fehlen", "csrf_token": token})
    assert refused.status_code == 422 and "Nachbesserung anfordern" in error_summary(refused.text)
    assert 'action="/zertifizierung/verfahren/' + site.ids["P3"] + '/nachbesserung"' not in refused.text
    assert _state(site, "P3") == "audited" and audit_count(site.app) == before


def test_rejecting_ends_the_procedure_without_a_seal(site, certifier):
    pid = site.ids["P3"]
    token = csrf_of(certifier.get("/zertifizierung").text)
    done = certifier.post(f"/zertifizierung/verfahren/{pid}/entscheidung",
                          data={"ergebnis": "not_certified", "grund": "Mindestpunktzahl nicht erreicht",
                                "csrf_token": token})
    assert done.status_code == 200 and "begangen → nicht zertifiziert" in done.text
    assert _state(site, "P3") == "not_certified"
    assert "Urkunde herunterladen" not in done.text and 'action="/zertifizierung/verfahren/' + pid + '/entscheidung"' \
        not in done.text
