"""The web adapter on SQLite and PostgreSQL: login and logout, cookie flags, session expiry, CSRF,
throttling, one-time links, German error pages without a traceback, and each role's start page
showing only that user's scope."""

from __future__ import annotations

import re

import pytest
from db_support import clock, db_url, engine, postgres_admin  # noqa: F401
from sqlalchemy import text
from sqlalchemy.orm import Session
from test_web_support import PASSWORDS, cheap_hashing, csrf_of, log_in, make_world, web_client  # noqa: F401

from certflow import services
from certflow.db.repositories.reminders import ContactRepository, InboxRepository
from certflow.services.runner import Application
from certflow.settings import Settings
from certflow.web.errors import CONCEALED


@pytest.fixture
def app(engine, clock, cheap_hashing):
    application = make_world(engine, clock)
    yield application
    application.close()


@pytest.fixture
def client(app):
    with web_client(app) as c:
        yield c


def _no_trace(response) -> None:
    body = response.text
    assert "Traceback" not in body and 'File "' not in body and "Error:" not in body, body[:500]


def _cookie(response) -> str:
    (header,) = [h for h in response.headers.get_list("set-cookie") if h.startswith("certflow_sitzung=")]
    return header


# -- login, logout, cookies -------------------------------------------------------------------------------


def test_the_login_page_is_german_accessible_and_loads_nothing_from_outside(client):
    page = client.get("/anmelden")
    assert page.status_code == 200
    html = page.text
    assert '<html lang="de">' in html and 'href="#inhalt">Zum Inhalt springen</a>' in html
    assert '<main id="inhalt"' in html and 'role="banner"' in html and 'role="contentinfo"' in html
    assert '<label for="login">Benutzername</label>' in html and '<label for="password">Passwort</label>' in html
    assert not re.search(r'(?:src|href|action)="(?:https?:)?//', html)
    assert page.headers["content-security-policy"].startswith("default-src 'self'")
    assert page.headers["referrer-policy"] == "no-referrer"
    assert client.get("/static/htmx.min.js").status_code == 200
    assert client.get("/static/certflow.css").status_code == 200


def test_login_sets_a_signed_httponly_samesite_cookie_and_logout_clears_it(client):
    assert client.get("/start").headers["location"] == "/anmelden?weiter=%2Fstart"
    response = log_in(client, "u-lead")
    assert (response.status_code, response.headers["location"]) == (303, "/start")
    cookie = _cookie(response).lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "path=/" in cookie and "secure" not in cookie
    start = client.get("/start")
    assert start.status_code == 200 and "Meine Aufgaben" in start.text and "Kita-Leitung Sonnenblume" in start.text
    logout = client.post("/abmelden", data={"csrf_token": csrf_of(start.text)})
    assert logout.headers["location"] == "/anmelden?abgemeldet=1"
    assert 'certflow_sitzung=""' in _cookie(logout) or "max-age=0" in _cookie(logout).lower()
    assert client.get("/start").status_code == 303
    assert "Sie sind abgemeldet." in client.get("/anmelden?abgemeldet=1").text


def test_secure_cookies_when_configured(app):
    with web_client(app, secure_cookies=True, same_site="strict") as c:
        cookie = _cookie(log_in(c, "u-lead")).lower()
    assert "secure" in cookie and "samesite=strict" in cookie


def test_a_forged_cookie_is_worthless(client):
    log_in(client, "u-lead")
    value = client.cookies.get("certflow_sitzung")
    client.cookies.clear()
    client.cookies.set("certflow_sitzung", value[:-2] + ("AA" if not value.endswith("AA") else "BB"))
    assert client.get("/start").status_code == 303
    client.cookies.clear()
    client.cookies.set("certflow_sitzung", value)
    assert client.get("/start").status_code == 200


def test_wrong_and_missing_input_are_told_at_the_form(client):
    wrong = log_in(client, "u-lead", "daneben-daneben")
    assert wrong.status_code == 401 and "Benutzername oder Passwort ist falsch." in wrong.text
    unknown = log_in(client, "niemand", "daneben-daneben")
    assert unknown.status_code == 401 and "Benutzername oder Passwort ist falsch." in unknown.text
    page = client.get("/anmelden")
    empty = client.post("/anmelden", data={"login": "", "password": "", "csrf_token": csrf_of(page.text)})
    assert empty.status_code == 422
    assert 'id="login-fehler"' in empty.text and "Bitte den Benutzernamen angeben." in empty.text
    assert 'aria-invalid="true"' in empty.text and "Bitte das Passwort angeben." in empty.text
    _no_trace(empty)


def test_only_local_targets_are_followed_after_the_login(client):
    page = client.get("/anmelden?weiter=//evil.example/x")
    response = client.post("/anmelden", data={"login": "u-lead", "password": PASSWORDS["u-lead"],
                                              "weiter": "//evil.example/x", "csrf_token": csrf_of(page.text)})
    assert response.headers["location"] == "/start"


def test_ten_wrong_passwords_throttle_the_web_login(client):
    statuses = [log_in(client, "u-coord", "daneben-daneben").status_code for _ in range(10)]
    assert statuses == [401] * 5 + [429] * 5
    blocked = log_in(client, "u-coord")
    assert blocked.status_code == 429 and "Zu viele fehlgeschlagene Anmeldeversuche" in blocked.text
    assert client.get("/start").status_code == 303  # not logged in


# -- CSRF -------------------------------------------------------------------------------------------------


def _password_count(app) -> str:
    with Session(app.engine) as session:
        return session.execute(text("SELECT password_hash FROM password_credential WHERE user_id = 'u-lead'")).scalar()


def test_missing_or_wrong_csrf_tokens_are_refused_and_nothing_changes(app, client):
    before = _password_count(app)
    no_token = client.post("/anmelden", data={"login": "u-lead", "password": PASSWORDS["u-lead"]})
    assert no_token.status_code == 403 and "Sicherheitsprüfung" in no_token.text
    _no_trace(no_token)
    log_in(client, "u-lead")
    change = {"current": PASSWORDS["u-lead"], "password": "Ganz-neues-Kennwort-1", "password2": "Ganz-neues-Kennwort-1"}
    assert client.post("/passwort", data=change).status_code == 403
    assert client.post("/passwort", data={**change, "csrf_token": "falsch"}).status_code == 403
    assert client.post("/passwort", data=change, headers={"X-CSRF-Token": "falsch"}).status_code == 403
    assert client.post("/abmelden", data={"csrf_token": "falsch"}).status_code == 403
    assert _password_count(app) == before
    assert client.get("/start").status_code == 200  # still logged in: the logout was refused too
    with Session(app.engine) as session:
        assert session.execute(text("SELECT COUNT(*) FROM login_attempt")).scalar() == 1  # only the real login


def test_htmx_requests_send_the_token_in_a_header(client):
    log_in(client, "u-admin")
    start = client.get("/start")
    token = re.search(r'hx-headers=\'\{"X-CSRF-Token": "([^"]+)"\}\'', start.text).group(1)
    fragment = client.get("/start/uebersicht?zustand=nominated", headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and fragment.text.startswith('<div id="uebersicht">')
    assert "P-17" in fragment.text and "<html" not in fragment.text
    out = client.post("/abmelden", headers={"HX-Request": "true", "X-CSRF-Token": token})
    assert (out.status_code, out.headers["hx-redirect"]) == (204, "/anmelden?abgemeldet=1")


# -- session expiry ---------------------------------------------------------------------------------------


def test_a_session_ends_after_thirty_idle_minutes(client, clock):
    log_in(client, "u-lead")
    clock.advance(minutes=29)
    assert client.get("/start").status_code == 200  # the idle time slides
    clock.advance(minutes=29)
    assert client.get("/start").status_code == 200
    clock.advance(minutes=31)
    expired = client.get("/start")
    assert expired.headers["location"] == "/anmelden?weiter=%2Fstart&abgelaufen=1"
    assert "Ihre Sitzung ist abgelaufen" in client.get(expired.headers["location"]).text


def test_a_session_ends_ten_hours_after_the_login_however_active(client, clock):
    log_in(client, "u-lead")
    for _ in range(30):
        clock.advance(minutes=20)
        assert client.get("/start").status_code == 200
    clock.advance(minutes=20)  # 10 h 20 min after the login
    assert client.get("/start").status_code == 303


def test_changing_the_password_ends_the_other_sessions(app):
    with web_client(app) as first, web_client(app) as second:
        log_in(first, "u-lead")
        log_in(second, "u-lead")
        page = first.get("/passwort")
        weak = first.post("/passwort", data={"current": PASSWORDS["u-lead"], "password": "kurz", "password2": "kurz",
                                             "csrf_token": csrf_of(page.text)})
        assert weak.status_code == 422 and "mindestens 10 Zeichen" in weak.text and 'id="password-fehler"' in weak.text
        wrong = first.post("/passwort", data={"current": "falsch-falsch", "password": "Ganz-neues-Kennwort-1",
                                              "password2": "Ganz-neues-Kennwort-1", "csrf_token": csrf_of(page.text)})
        assert wrong.status_code == 422 and "bisherige Passwort stimmt nicht" in wrong.text
        done = first.post("/passwort", data={"current": PASSWORDS["u-lead"], "password": "Ganz-neues-Kennwort-1",
                                             "password2": "Ganz-neues-Kennwort-1", "csrf_token": csrf_of(page.text)})
        assert done.status_code == 200 and "Ihr Passwort ist geändert" in done.text
        assert first.get("/start").status_code == 200
        assert second.get("/start").headers["location"].endswith("abgelaufen=1")


# -- one-time links ---------------------------------------------------------------------------------------


def _link(app, user_id: str) -> str:
    def action(uow):
        ContactRepository(uow.session).set(user_id, now=uow.now(), email=f"{user_id}@example.org")
        return services.issue_one_time_link(uow, "u-admin", user_id, "first_login", base_url="http://testserver")
    app.run(action)
    with Session(app.engine) as session:
        body = InboxRepository(session).of_user(user_id)[0].body
    return re.search(r"http://testserver(/zugang/\S+)", body).group(1)


def test_a_first_login_link_sets_the_password_once_and_logs_in(app, client):
    path = _link(app, "u-lead2")
    form = client.get(path)
    assert form.status_code == 200 and "Willkommen: Passwort festlegen" in form.text and "u-lead2" in form.text
    token = csrf_of(form.text)
    mismatch = client.post(path, data={"password": "Erstes-Kennwort-77", "password2": "anders", "csrf_token": token})
    assert mismatch.status_code == 422 and "stimmen nicht überein" in mismatch.text
    weak = client.post(path, data={"password": "kurz", "password2": "kurz", "csrf_token": token})
    assert weak.status_code == 422 and "mindestens 10 Zeichen" in weak.text
    done = client.post(path, data={"password": "Erstes-Kennwort-77", "password2": "Erstes-Kennwort-77",
                                   "csrf_token": token})
    assert (done.status_code, done.headers["location"]) == (303, "/start")
    assert "Kita-Leitung Regenbogen" in client.get("/start").text
    again = client.get(path)
    assert again.status_code == 404 and "schon benutzt" in again.text
    assert client.get("/zugang/erfunden").status_code == 404


def test_the_reset_request_says_the_same_for_known_and_unknown_names(client):
    page = client.get("/passwort-vergessen")
    known = client.post("/passwort-vergessen", data={"login": "u-lead", "csrf_token": csrf_of(page.text)})
    unknown = client.post("/passwort-vergessen", data={"login": "niemand", "csrf_token": csrf_of(page.text)})
    assert known.status_code == unknown.status_code == 200
    sentence = "Wenn es zu diesem Benutzernamen einen Zugang"
    assert sentence in known.text and sentence in unknown.text
    empty = client.post("/passwort-vergessen", data={"login": " ", "csrf_token": csrf_of(page.text)})
    assert empty.status_code == 422 and "Bitte den Benutzernamen angeben." in empty.text


# -- scope of the start pages, foreign objects --------------------------------------------------------------

SCOPES = {
    "u-lead": ({"P-17"}, "Meine Aufgaben"),
    "u-lead-b": ({"P-20"}, "Meine Aufgaben"),
    "u-lead-9": ({"P-90"}, "Meine Aufgaben"),
    "u-coord": ({"P-17", "P-20"}, "Familienzentren im Jugendamt"),
    "u-coord-b": ({"P-90"}, "Familienzentren im Jugendamt"),
    "u-aud": (set(), "Meine Verfahren"),
    "u-cert": ({"P-17", "P-20", "P-90"}, "Übersicht der Zertifizierungsstelle"),
    "u-admin": ({"P-17", "P-20", "P-90"}, "Übersicht"),
}


def test_each_role_sees_only_its_scope_and_foreign_procedures_are_concealed(app):
    for user_id, (procedures, heading) in SCOPES.items():
        with web_client(app) as c:
            log_in(c, user_id)
            start = c.get("/start")
            assert start.status_code == 200 and f"<h1>{heading}</h1>" in start.text, user_id
            assert set(re.findall(r"/verfahren/(P-\d+)", start.text)) == procedures, user_id
            for procedure in ("P-17", "P-20", "P-90"):
                page = c.get(f"/verfahren/{procedure}")
                if procedure in procedures:
                    assert page.status_code == 200 and "Nominiert" in page.text, (user_id, procedure)
                else:
                    assert page.status_code == 404 and CONCEALED in page.text, (user_id, procedure)
                    assert procedure not in page.text.replace(f"/verfahren/{procedure}", "")
            unknown = c.get("/verfahren/P-404")
            assert unknown.status_code == 404 and CONCEALED in unknown.text
    if True:  # the certifier's start page has the chart, the Kita lead's not
        with web_client(app) as c:
            log_in(c, "u-cert")
            assert '<svg xmlns="http://www.w3.org/2000/svg" class="diagramm" role="img"' in c.get("/start").text


# -- no traceback, ever -----------------------------------------------------------------------------------


def test_errors_are_german_pages_without_a_traceback(app, client, monkeypatch):
    missing = client.get("/gibt-es-nicht")
    assert missing.status_code == 404 and "Nicht gefunden" in missing.text
    not_allowed = client.put("/anmelden")
    assert not_allowed.status_code in (403, 405)
    log_in(client, "u-admin")

    def broken(*args, **kwargs):
        raise RuntimeError("geheime Details aus dem Inneren")

    monkeypatch.setattr(services.queries, "overview_page", broken)
    crash = client.get("/start")
    assert crash.status_code == 500 and "Etwas ist schiefgegangen" in crash.text
    assert "geheime Details" not in crash.text and "RuntimeError" not in crash.text
    for response in (missing, not_allowed, crash):
        _no_trace(response)


def test_an_unreachable_database_is_a_503_page(tmp_path, cheap_hashing):
    app = Application(Settings(database_url=f"sqlite:///{tmp_path / 'leer.sqlite'}"))
    with web_client(app) as c:
        page = c.get("/anmelden")
        response = c.post("/anmelden", data={"login": "u-lead", "password": "egal-egal-egal",
                                             "csrf_token": csrf_of(page.text)})
    assert response.status_code == 503 and "Datenbank" in response.text
    _no_trace(response)
    app.close()
