"""Changing a user's role, scope and standing in the web, on SQLite and PostgreSQL, and the paged registers.

The form on ``/verwaltung/benutzer/{id}``: refused (404, as every per-user page) to every other role and without
the CSRF token, nothing changed; bad input at its field (422), a stale form a German conflict (409); a change
ends the person's sessions (their next request is the login page) and a deactivated person cannot log in. The
lists ``/verwaltung/benutzer`` and ``/verwaltung/kitas`` are paged with search and filters, in at most five SQL
statements per page (the session's check included) whatever the number of rows.

The world is the service tests' (tests/test_services_world.py), built once per module and backend; the tests
run in file order.
"""

from __future__ import annotations

import re

import pytest
from db_support import postgres_admin  # noqa: F401
from sqlalchemy import event, text
from sqlalchemy.orm import Session
from test_web_certifier import error_summary, field_error, log_in, no_trace, password_of
from test_web_admin import admin, site  # noqa: F401 - the admin pages' fixtures: a world per module, logged in
from test_web_support import csrf_of, web_client

from certflow.db import UnitOfWork
from certflow.lifecycle import Kita, Role, User
from certflow.services.runner import Application


def _standing(app: Application, user_id: str) -> tuple:
    with Session(app.engine) as session:
        return tuple(session.execute(text(
            "SELECT role, jugendamt_id, familienzentrum_id, traeger_id, active, version FROM app_user WHERE id = :id"),
            {"id": user_id}).one())


def _snapshot(app: Application) -> tuple:
    with Session(app.engine) as session:
        trail = session.execute(text("SELECT COUNT(*) FROM audit_log")).scalar()
        users = session.execute(text("SELECT id, role, jugendamt_id, familienzentrum_id, traeger_id, active, version "
                                     "FROM app_user ORDER BY id")).all()
    return trail, tuple(map(tuple, users))


def _form(page: str) -> dict[str, str]:
    """The change form's fields as the page fills them in (role, scope, active, version, CSRF)."""
    form = re.search(r'<form [^>]*id="aendern".*?</form>', page, re.S).group(0)
    values = {"csrf_token": csrf_of(form), "fassung": re.search(r'name="fassung" value="(\d+)"', form).group(1)}
    for name in ("rolle", "jugendamt", "familienzentrum", "traeger"):
        select = re.search(rf'<select id="aendern-{name}" name="{name}".*?</select>', form, re.S).group(0)
        chosen = re.search(r'<option value="([^"]*)" selected>', select)
        values[name] = chosen.group(1) if chosen else ""
    if re.search(r'id="aendern-aktiv" name="aktiv" value="ja" checked', form):
        values["aktiv"] = "ja"
    return values


# -- who may ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("user_id", ["coord-a", "aud-1", "cert-1", "lead-1"])
def test_every_other_role_is_refused_the_change_and_nothing_changes(site, user_id):
    before = _snapshot(site.app)
    with web_client(site.app) as client:
        token = csrf_of(log_in(client, user_id).text)
        for target in ("lead-b", user_id, "niemand"):
            response = client.post(f"/verwaltung/benutzer/{target}/aendern", data={
                "rolle": "admin", "aktiv": "ja", "grund": "Ich will mehr", "fassung": "1", "csrf_token": token})
            assert response.status_code == 404, (user_id, target, response.status_code)
            assert "Diese Seite gibt es nicht, oder Sie haben keinen Zugriff darauf." in response.text
            no_trace(response)
        for page in ("/verwaltung/benutzer?seite=2&suche=a", "/verwaltung/kitas?suche=Kita"):
            assert client.get(page).status_code == 403
    assert _snapshot(site.app) == before


def test_without_or_with_a_wrong_csrf_token_the_change_is_refused(site, admin):
    before = _snapshot(site.app)
    data = {"rolle": "certifier", "aktiv": "ja", "grund": "x", "fassung": "1"}
    assert admin.post("/verwaltung/benutzer/lead-b/aendern", data=data).status_code == 403
    wrong = admin.post("/verwaltung/benutzer/lead-b/aendern", data={**data, "csrf_token": "falsch"})
    assert wrong.status_code == 403 and "Sicherheitsprüfung" in wrong.text
    assert _snapshot(site.app) == before


# -- bad input, conflicts --------------------------------------------------------------------------------------


CASES = [
    ({"rolle": "koenig"}, "aendern-rolle", "Bitte eine Rolle aus der Liste wählen."),
    ({"rolle": "coordinator", "familienzentrum": ""}, "aendern-jugendamt",
     "Die Rolle „Koordination im Jugendamt“ gehört zu einem Jugendamt: bitte wählen."),
    ({"familienzentrum": ""}, "aendern-familienzentrum",
     "Die Rolle „Kita-Leitung“ gehört zu einem Familienzentrum: bitte wählen."),
    ({"traeger": "tr-a"}, "aendern-traeger", "Gehört nicht zur Rolle „Kita-Leitung“: bitte leer lassen."),
    ({"familienzentrum": "fz-x"}, "aendern-familienzentrum", "Familienzentrum fz-x gibt es nicht."),
    ({"grund": ""}, "aendern-grund", "Bitte einen Grund angeben"),
    ({"grund": "g" * 2001}, "aendern-grund", "Höchstens 2000 Zeichen (eingegeben: 2001)."),
    ({"fassung": ""}, "aendern", "Die Fassung des Formulars fehlt oder ist ungültig."),
    ({"aktiv": "ja"}, "aendern", "Nichts zu ändern: Rolle, Zuordnung und Status sind schon so."),
]


def test_bad_input_is_told_at_the_field_and_nothing_is_written(site, admin):
    page = admin.get("/verwaltung/benutzer/lead-b")
    assert page.status_code == 200 and "Rolle, Zuordnung und Status ändern" in page.text
    good = {**_form(page.text), "grund": "Wechsel"}
    good.pop("aktiv", None)  # deactivate: a change
    assert good["rolle"] == "kita_lead" and good["familienzentrum"] == "fz-b"
    before = _snapshot(site.app)
    for change, field, message in CASES:
        response = admin.post("/verwaltung/benutzer/lead-b/aendern", data={**good, **change})
        assert response.status_code == 422, (change, response.status_code)
        assert message in field_error(response.text, field), change
        assert "Nichts geändert. Bitte prüfen:" in error_summary(response.text)
        no_trace(response)
    kept = admin.post("/verwaltung/benutzer/lead-b/aendern", data={**good, "rolle": "koenig", "grund": "Mein Grund"})
    assert "Mein Grund</textarea>" in kept.text and '<option value="fz-b" selected>' in kept.text
    assert _snapshot(site.app) == before


def test_the_admin_cannot_demote_themselves(site, admin):
    before = _snapshot(site.app)
    form = _form(admin.get("/verwaltung/benutzer/admin").text)
    response = admin.post("/verwaltung/benutzer/admin/aendern", data={**form, "rolle": "certifier", "grund": "x"})
    assert response.status_code == 422
    assert "Sie können sich nicht selbst zur Rolle „Zertifizierungsstelle“ ändern" in field_error(response.text,
                                                                                                "aendern")
    assert _snapshot(site.app) == before


def test_a_stale_form_is_a_conflict_in_german_and_shows_what_is_stored(site, admin):
    form = _form(admin.get("/verwaltung/benutzer/aud-1").text)
    first = admin.post("/verwaltung/benutzer/aud-1/aendern", data={**form, "traeger": "tr-a", "grund": "Arbeitgeber"})
    assert first.status_code == 200 and "Benutzer Anna Audit (aud-1) geändert: Auditor → Auditor (" in first.text
    before = _snapshot(site.app)
    stale = admin.post("/verwaltung/benutzer/aud-1/aendern", data={**form, "jugendamt": "ja-a", "grund": "Später"})
    assert stale.status_code == 409
    assert ("Der Datensatz Benutzer aud-1 wurde inzwischen von jemand anderem geändert (Version 2 statt 1). "
            "Bitte neu laden.") in field_error(stale.text, "aendern")
    assert _form(stale.text)["traeger"] == "tr-a" and _form(stale.text)["fassung"] == "2"
    assert "Später</textarea>" in stale.text
    no_trace(stale)
    assert _snapshot(site.app) == before


# -- doing the job ----------------------------------------------------------------------------------------------


def test_a_change_ends_the_persons_session_and_a_deactivated_person_cannot_log_in(site, admin):
    with web_client(site.app) as lead:
        assert "Lina B" in log_in(lead, "lead-b").text
        form = _form(admin.get("/verwaltung/benutzer/lead-b").text)
        moved = admin.post("/verwaltung/benutzer/lead-b/aendern", data={
            **form, "rolle": "coordinator", "familienzentrum": "", "jugendamt": "ja-b",
            "grund": "Wechsel ins Jugendamt"})
        assert moved.status_code == 200
        assert ("Benutzer Lina B (lead-b) geändert: Kita-Leitung (" in moved.text
                and "→ Koordination im Jugendamt (" in moved.text)
        assert "Die Anmeldungen der Person sind beendet" in moved.text
        gone = lead.get("/start")
        assert gone.status_code in (302, 303) and gone.headers["location"].startswith("/anmelden")
        assert "Koordination" in log_in(lead, "lead-b").text  # logged in again: the coordinator's start page
    assert _standing(site.app, "lead-b")[:3] == ("coordinator", "ja-b", None)
    trail = site.app.run(lambda uow: [e for e in uow.audit_log.entries_for("user", "lead-b")
                                      if e.action == "user.update"])
    assert [(e.actor_id, e.reason) for e in trail] == [("admin", "Wechsel ins Jugendamt")]
    assert trail[0].payload["role"] == ["kita_lead", "coordinator"]

    form = _form(admin.get("/verwaltung/benutzer/lead-b").text)
    form.pop("aktiv")
    off = admin.post("/verwaltung/benutzer/lead-b/aendern", data={**form, "grund": "Hat die Stelle verlassen"})
    assert off.status_code == 200 and "deaktiviert" in off.text
    with web_client(site.app) as lead:
        page = lead.get("/anmelden")
        refused = lead.post("/anmelden", data={"login": "lead-b", "password": password_of("lead-b"),
                                               "csrf_token": csrf_of(page.text)})
        assert refused.status_code == 401
        assert "Dieser Zugang ist deaktiviert. Bitte wenden Sie sich an die Administration." in refused.text
    inactive = admin.get("/verwaltung/benutzer?status=deaktiviert")
    assert "Lina B" in inactive.text and "Clara Zert" not in inactive.text


# -- the registers ----------------------------------------------------------------------------------------------


def _grow(app: Application, n: int) -> None:
    with UnitOfWork(app.engine, clock=app.clock) as uow:
        for i in range(n):
            uow.users.add(User(f"zz-{i:03d}", f"Zusatz {i:03d}", Role.AUDITOR), actor_id="admin", reason="Viele")
            uow.kitas.add(Kita(f"kz-{i:03d}", f"Kita Zusatz {i:03d}", "tr-a", "ja-a", "Weg 1", "50001",
                               "Zusatzdorf", 51.0, 7.0), actor_id="admin", reason="Viele")


def _selects(app: Application, client, path: str) -> tuple[int, str]:
    statements: list[str] = []

    def note(_connection, _cursor, statement, *_rest):
        if statement.lstrip().upper().startswith(("SELECT", "WITH", "INSERT", "UPDATE", "DELETE")):
            statements.append(statement)
    event.listen(app.engine, "before_cursor_execute", note)
    try:
        response = client.get(path)
    finally:
        event.remove(app.engine, "before_cursor_execute", note)
    assert response.status_code == 200, response.text[:300]
    return len(statements), response.text


def test_the_lists_are_paged_with_search_in_at_most_five_statements_whatever_the_size(site, admin):
    small = {path: _selects(site.app, admin, path)[0] for path in ("/verwaltung/benutzer", "/verwaltung/kitas")}
    _grow(site.app, 130)
    for path, count in small.items():
        large, page = _selects(site.app, admin, path)
        assert large == count <= 5, (path, count, large)
        assert "Seite 1 von" in page and 'rel="next"' in page
    count, page = _selects(site.app, admin, "/verwaltung/benutzer?suche=zusatz&rolle=auditor&seite=2")
    assert count <= 5
    assert "Zusatz 050" in page and "Zusatz 049" not in page and "Gefundene Benutzer (130)" in page
    assert 'href="/verwaltung/benutzer?suche=zusatz&amp;rolle=auditor&amp;seite=3" rel="next"' in page
    assert 'href="/verwaltung/benutzer?suche=zusatz&amp;rolle=auditor" rel="prev"' in page
    count, page = _selects(site.app, admin, "/verwaltung/kitas?suche=Zusatzdorf&seite=99")
    assert count <= 6  # a page past the end: the count alone, then the last page
    assert "Seite 3 von 3" in page and "Kita Zusatz 129" in page and "Kita Sechs" not in page
    assert "Kein Benutzer passt zur Suche." in admin.get("/verwaltung/benutzer?suche=%25%25").text
    assert admin.get("/verwaltung/kitas?seite=abc").status_code == 200
