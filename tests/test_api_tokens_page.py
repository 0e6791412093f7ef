"""The token page /konto/zugangsschluessel: list, create (secret shown once, stored hashed, scope and expiry
day: default 90 days, at most a year), use it on the API, revoke it (the API then refuses it); German field
errors; CSRF applies to its forms; every change is in the audit trail with the owner."""

from __future__ import annotations

import hashlib
import re
from datetime import date

import pytest
from db_support import postgres_admin  # noqa: F401
from fastapi.testclient import TestClient
from sqlalchemy import text
from test_web_support import csrf_of, log_in, make_world, module_world, world_url  # noqa: F401

from certflow.web import WebConfig, create_app
from certflow.web.api import API_PREFIX, create_api
from certflow.web.routes import tokens

PAGE = "/konto/zugangsschluessel"
SECRET = re.compile(r'id="neuer-schluessel" type="text" readonly value="(cft_[^"]+)"')


@pytest.fixture(scope="module")
def world(world_url, tmp_path_factory):  # noqa: F811 - the backend's database (test_web_support)
    with module_world(world_url, lambda engine, clock, _evidence: make_world(engine, clock),
                      tmp_path_factory.mktemp("belege")) as app:
        yield app


@pytest.fixture
def browser(world):
    web = create_app(world, WebConfig(secret_key="test-schluessel-0123456789"))
    if not any(getattr(r, "path", "") == PAGE for r in web.routes):
        web.include_router(tokens.router)
    if not any(getattr(r, "path", "") == API_PREFIX for r in web.routes):
        web.mount(API_PREFIX, create_api(world))
    with TestClient(web, raise_server_exceptions=False, follow_redirects=False) as client:
        assert log_in(client, "u-coord").status_code == 303
        yield client


def _create(browser, **fields):
    page = browser.get(PAGE)
    return browser.post(PAGE, data={"csrf_token": csrf_of(page.text), **fields})


def test_create_use_and_revoke_a_token(browser, world):
    page = browser.get(PAGE)
    assert page.status_code == 200 and "Zugangsschlüssel für die API" in page.text
    assert 'value="2025-11-30"' in page.text  # the default expiry: today (01.09.2025) + 90 days
    made = _create(browser, label="Fachverfahren", scope="read", valid_until="")
    assert made.status_code == 201, made.text
    secret = SECRET.search(made.text).group(1)
    assert "nur dieses eine Mal angezeigt" in made.text and "30.11.2025" in made.text
    assert secret not in browser.get(PAGE).text  # shown once
    with world.engine.connect() as connection:
        stored = connection.execute(text("SELECT token_hash, scope, expires_at FROM api_token WHERE label = "
                                         "'Fachverfahren'")).one()
    assert stored.token_hash == hashlib.sha256(secret.encode()).hexdigest() and secret not in str(stored)
    api = {"Authorization": f"Bearer {secret}"}
    assert browser.get("/api/v1/procedures", headers=api).status_code == 200
    assert browser.post("/api/v1/procedures", headers=api, json={}).status_code == 403  # read scope

    token_id = re.search(r'/konto/zugangsschluessel/(\d+)/widerrufen', browser.get(PAGE).text).group(1)
    no_csrf = browser.post(f"{PAGE}/{token_id}/widerrufen")
    assert no_csrf.status_code == 403
    revoked = browser.post(f"{PAGE}/{token_id}/widerrufen", data={"csrf_token": csrf_of(browser.get(PAGE).text)})
    assert revoked.status_code == 303 and "widerrufen" in browser.get(revoked.headers["location"]).text
    assert browser.get("/api/v1/procedures", headers=api).status_code == 401
    with world.engine.connect() as connection:
        actions = connection.execute(text("SELECT actor_id, action FROM audit_log WHERE subject_kind = 'account' "
                                          "AND subject_id = 'u-coord' ORDER BY seq")).all()
    assert [(a.actor_id, a.action) for a in actions if "token" in a.action] == [
        ("u-coord", "account.token_create"), ("u-coord", "account.token_revoke")]


@pytest.mark.parametrize(("fields", "field", "message"), [
    ({"label": "", "scope": "read"}, "label", "Bitte eine Bezeichnung angeben"),
    ({"label": "x", "scope": "alles"}, "scope", "bitte „lesen“ oder „lesen und ändern“ wählen"),
    ({"label": "x", "scope": "write", "valid_until": "2026-09-03"}, "valid_until", "höchstens ein Jahr"),
    ({"label": "x", "scope": "write", "valid_until": "2025-08-31"}, "valid_until", "in der Vergangenheit"),
    ({"label": "x", "scope": "write", "valid_until": "morgen"}, "valid_until", "bitte ein Datum angeben"),
])
def test_bad_input_is_told_at_the_field(browser, fields, field, message):
    response = _create(browser, **fields)
    assert response.status_code == 422
    assert f'id="{field}-fehler"' in response.text and message in response.text
    assert 'aria-invalid="true"' in response.text


def test_the_longest_expiry_is_one_year(browser):
    made = _create(browser, label="Jahr", scope="write", valid_until=date(2026, 9, 2).isoformat())
    assert made.status_code == 201 and "02.09.2026" in made.text
