"""The JSON API's ground rules on the demo: bearer tokens and scopes (no cookie counts, so no CSRF),
problem details in German with the wrong field, paging and filters, ETag and If-Match, and the
OpenAPI document shipped in docs/ equals the served one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_api_support import api_world, web_with_api  # noqa: F401
from test_web_support import csrf_of

from certflow.demo_data import USERS
from certflow.web.api import openapi_document

ROOT = Path(__file__).resolve().parent.parent
PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
def world(demo_db, tmp_path_factory):
    db = demo_db.copy(tmp_path_factory.mktemp("api") / "demo.sqlite")
    with api_world(db, demo_db.folder / "certflow-evidence") as w:
        yield w


def _problem(response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["status"] == status and body["title"] and body["detail"]
    return body


def test_the_shipped_openapi_document_is_the_served_one(world):
    served = world.client().get("/api/v1/openapi.json")
    assert served.status_code == 200
    shipped = json.loads((ROOT / "docs" / "openapi.json").read_text(encoding="utf-8"))
    assert served.json() == shipped == openapi_document(), (
        "docs/openapi.json is outdated: python -c 'import json; from certflow.web.api import openapi_document; "
        "print(json.dumps(openapi_document(), ensure_ascii=False, indent=2))' > docs/openapi.json")


def test_without_a_token_the_api_answers_401_with_a_problem(world):
    body = _problem(world.client().get("/api/v1/familienzentren"), 401)
    assert "Zugangsschlüssel" in body["detail"] and body["instance"] == "/api/v1/familienzentren"
    wrong = world.client().get("/api/v1/familienzentren", headers={"Authorization": "Bearer cft_falsch"})
    assert _problem(wrong, 401)["detail"] == "Der Zugangsschlüssel ist ungültig, abgelaufen oder widerrufen."
    assert 'error="invalid_token"' in wrong.headers["WWW-Authenticate"]


def test_a_web_session_cookie_is_no_credential_for_the_api(world):
    """Logged in on the web (session cookie), without a token: refused, for reading and for writing; a CSRF
    token does not help either (the API would be open to cross-site requests if a cookie counted)."""
    from certflow import services

    password = "Ein-langes-Kennwort-2026!"
    world.app.run(lambda uow: services.set_password(uow, "admin", "koord-hellbach", password))
    browser = world.client()
    page = browser.get("/anmelden")
    login = browser.post("/anmelden", data={"login": "koord-hellbach", "password": password,
                                            "csrf_token": csrf_of(page.text)})
    assert login.status_code == 303 and browser.cookies
    start = browser.get("/")
    assert start.status_code in (200, 303) and "anmelden" not in start.headers.get("location", "")
    _problem(browser.get("/api/v1/procedures"), 401)
    csrf = csrf_of(browser.get("/passwort").text)  # a valid CSRF token of this session
    refused = browser.post("/api/v1/procedures", headers={"X-CSRF-Token": csrf},
                           json={"familienzentrum_id": "fz-zechenhaus", "kgj": "2025/26", "reason": "x"})
    _problem(refused, 401)


def test_a_read_token_reads_but_does_not_write(world):
    reader = world.client("koord-hellbach", scope="read")
    assert reader.get("/api/v1/procedures").status_code == 200
    refused = reader.post("/api/v1/procedures", json={"familienzentrum_id": "fz-zechenhaus", "kgj": "2025/26",
                                                      "reason": "Beschluss"})
    assert "nur Lesen" in _problem(refused, 403)["detail"]
    assert 'error="insufficient_scope"' in refused.headers["WWW-Authenticate"]


def test_bad_input_names_the_field_in_german(world):
    client = world.client("koord-hellbach")
    body = _problem(client.get("/api/v1/procedures", params={"per_page": 0}), 422)
    assert body["errors"] == [{"field": "query.per_page", "detail": "mindestens 1"}]
    body = _problem(client.post("/api/v1/procedures", json={"familienzentrum_id": "fz-zechenhaus", "kgj": "2025/27",
                                                            "reason": "Beschluss"}), 422)
    assert body["errors"][0]["field"] == "body.kgj" and "Ungültiges Kindergartenjahr" in body["errors"][0]["detail"]
    body = _problem(client.post("/api/v1/procedures", json={"kgj": "2025/26", "reason": ""}), 422)
    assert {e["field"] for e in body["errors"]} == {"body.familienzentrum_id", "body.reason"}
    assert {e["detail"] for e in body["errors"]} == {"fehlt", "darf nicht leer sein"}
    body = _problem(client.get("/api/v1/procedures", params={"state": "gibt-es-nicht"}), 422)
    assert body["errors"][0]["field"] == "state"


def test_lists_are_paged_and_filtered(world):
    admin = world.client("admin")
    first = admin.get("/api/v1/familienzentren", params={"per_page": 3}).json()
    assert first["total"] == 10 and first["page"] == 1 and len(first["items"]) == 3
    second = admin.get("/api/v1/familienzentren", params={"per_page": 3, "page": 2}).json()
    assert {f["id"] for f in first["items"]}.isdisjoint(f["id"] for f in second["items"])
    submitted = admin.get("/api/v1/procedures", params={"state": "submitted"}).json()
    assert submitted["total"] == 1 and submitted["items"][0]["state"] == "submitted"
    lead = world.client("leitung-kunterbunt").get("/api/v1/familienzentren").json()
    assert [f["id"] for f in lead["items"]] == ["fz-kunterbunt"]
    assert world.client("koord-hellbach").get("/api/v1/kitas").json()["total"] >= 5


def test_a_foreign_object_is_told_as_unknown(world):
    lead = world.client("leitung-kunterbunt")
    foreign = _problem(lead.get("/api/v1/procedures/V-2025-003"), 404)
    unknown = _problem(lead.get("/api/v1/procedures/V-1999-001"), 404)
    assert foreign["detail"] == "Verfahren V-2025-003 gibt es nicht"
    assert unknown["detail"] == "Verfahren V-1999-001 gibt es nicht"


def test_etag_and_if_match_guard_an_update(world):
    lead = world.client("leitung-pusteblume")
    procedures = lead.get("/api/v1/procedures", params={"state": "registered"}).json()["items"]
    pid = procedures[0]["id"]
    read = lead.get(f"/api/v1/procedures/{pid}")
    tag = read.headers["ETag"]
    assert tag == f'"{read.json()["version"]}"'
    body = {"reason": "Das Entwicklungsjahr beginnt"}
    assert "If-Match" in _problem(lead.post(f"/api/v1/procedures/{pid}/development", json=body), 428)["detail"]
    stale = f'"{read.json()["version"] - 1}"'
    conflict = _problem(lead.post(f"/api/v1/procedures/{pid}/development", json=body,
                                  headers={"If-Match": stale}), 412)
    assert "inzwischen von jemand anderem geändert" in conflict["detail"]
    done = lead.post(f"/api/v1/procedures/{pid}/development", json=body, headers={"If-Match": tag})
    assert done.status_code == 200, done.text
    assert done.json()["procedure"]["state"] == "in_development"
    again = _problem(lead.post(f"/api/v1/procedures/{pid}/development", json=body, headers={"If-Match": tag}), 412)
    assert again["status"] == 412
    history = lead.get(f"/api/v1/procedures/{pid}/history").json()["items"]
    assert history[-1]["actor_id"] == "leitung-pusteblume" and history[-1]["reason"] == body["reason"]


def test_every_demo_user_has_tokens(world):
    assert set(world.write) == {u.id for u in USERS}


def test_an_update_that_does_not_follow_the_named_version_directly_is_undone(world):
    """The service behind If-Match checks the version again after the use case: a write on top of a change made
    meanwhile (here: two steps where the caller named one) is a conflict, and nothing of it stays."""
    from certflow import services
    from certflow.services import api_views
    from certflow.services.runner import ErrorKind, UseCaseError

    admin = world.client("admin")
    pid = admin.get("/api/v1/procedures", params={"state": "nominated"}).json()["items"][0]["id"]
    before = admin.get(f"/api/v1/procedures/{pid}").json()
    lead = next(u.id for u in USERS if u.familienzentrum_id == before["familienzentrum_id"])

    def two_steps(uow):
        services.register(uow, lead, pid, "eins")
        return services.start_development(uow, lead, pid, "zwei")

    with pytest.raises(UseCaseError) as raised:
        world.app.run(lambda uow: api_views.updating(uow, lead, pid, before["version"], two_steps))
    assert raised.value.kind is ErrorKind.CONFLICT
    assert admin.get(f"/api/v1/procedures/{pid}").json() == before
