"""The access matrix of the JSON API on the demo: every operation on one object × one user of every role
and scope × every object of that kind. What the user may not see answers 404 with the same sentence as an
unknown object (nothing is revealed, nothing changes); what they may see is not concealed. The expectation is
stated here from the rules (certification body and administration: everything; coordinator: their
Jugendamt; Kita lead: their Familienzentrum; auditor: the procedures assigned to them), not taken from the
code under test. Updates are sent with a stale ``If-Match`` (a visible procedure: 412, nothing changes);
who may take which step on a procedure they see is the domain's (403), checked for the decision and the
audit plan below. Every operation of the OpenAPI document is covered (a test says so)."""

from __future__ import annotations

import pytest
from test_api_support import api_world

from certflow.db import UnitOfWork
from certflow.lifecycle import Role
from certflow.web.api import openapi_document

USERS = ["admin", "zert-1", "koord-hellbach", "koord-wiesental", "auditor-1", "auditor-2", "leitung-kunterbunt",
         "leitung-zechenhaus"]
STALE = '"999999"'
BODIES = {
    "registration": {"reason": "Test"}, "development": {"reason": "Test"}, "change-request": {"reason": "Test"},
    "withdrawal": {"reason": "Test"}, "sign-off": {"reason": "Test"},
    "audit-plan": {"auditor_id": "auditor-1", "audit_date": "2026-04-01", "reason": "Test"},
    "audit": {"visit_date": "2026-03-10", "reason": "Test"},
    "verdicts": {"reason": "Test", "verdicts": {"1.1": {"verdict": "erfuellt"}}},
    "decision": {"outcome": "certified", "reason": "Test"},
    "submission": {"reason": "Test", "assessment": {}},
    "self-assessment/validation": {}, "self-assessment/scoring": {},
}
PROCEDURE_READS = ["", "/history", "/verdicts", "/self-assessment"]
PROCEDURE_WRITES = ["registration", "development", "change-request", "withdrawal", "audit-plan", "audit",
                    "verdicts", "sign-off", "decision", "submission"]
PROCEDURE_CHECKS = ["self-assessment/validation", "self-assessment/scoring"]
DOCUMENTS = ["/packet", "/qualitaetsprofil"]


@pytest.fixture(scope="module")
def world(demo_db, tmp_path_factory):
    with api_world(demo_db.copy(tmp_path_factory.mktemp("zugriff") / "demo.sqlite")) as w:
        def facts(uow):
            users = {u: uow.users.get(u) for u in USERS}
            fzs = {fz.id: fz for fz in uow.familienzentren.all()}
            procedures = uow.procedures.all()
            kitas = {k: fz.id for fz in fzs.values() for k in fz.member_kita_ids}
            certificates = {c.number: c.familienzentrum_id for c in uow.certificates.all()}
            return users, fzs, procedures, kitas, certificates
        with UnitOfWork(w.app.engine, clock=w.clock) as uow:
            w.facts = facts(uow)
        yield w


def _sees_fz(user, fz, procedures) -> bool:
    if user.role in (Role.ADMIN, Role.CERTIFIER):
        return True
    if user.role is Role.COORDINATOR:
        return fz.jugendamt_id == user.jugendamt_id
    if user.role is Role.KITA_LEAD:
        return fz.id == user.familienzentrum_id
    return any(p.auditor_id == user.id for p in procedures if p.familienzentrum_id == fz.id)


def _sees_procedure(user, procedure, fzs) -> bool:
    if user.role is Role.AUDITOR:
        return procedure.auditor_id == user.id
    return _sees_fz(user, fzs[procedure.familienzentrum_id], ())


def _concealed(response, label: str, ident: str) -> bool:
    return response.status_code == 404 and response.json()["detail"] == f"{label} {ident} gibt es nicht"


def test_the_matrix_covers_every_operation_of_the_document():
    covered = {("GET", "/procedures/{procedure_id}" + r) for r in PROCEDURE_READS}
    covered |= {("POST" if w != "verdicts" else "PUT", f"/procedures/{{procedure_id}}/{w}") for w in PROCEDURE_WRITES}
    covered |= {("POST", f"/procedures/{{procedure_id}}/{c}") for c in PROCEDURE_CHECKS}
    covered |= {("GET", "/procedures/{procedure_id}" + d) for d in DOCUMENTS}
    covered |= {("GET", "/familienzentren/{familienzentrum_id}"), ("GET", "/kitas/{kita_id}"),
                ("GET", "/certificates/{number}"), ("GET", "/certificates/{number}/urkunde")}
    lists = {("GET", p) for p in ("/familienzentren", "/kitas", "/procedures", "/certificates", "/contingents",
                                  "/reminders")} | {("POST", "/procedures")}
    operations = {(method.upper(), path) for path, item in openapi_document()["paths"].items() for method in item}
    assert operations == covered | lists


@pytest.mark.parametrize("user_id", USERS)
def test_procedures_foreign_ones_are_unknown(world, user_id):
    users, fzs, procedures, _kitas, _certs = world.facts
    user, client = users[user_id], world.client(user_id)
    for procedure in procedures:
        sees, base = _sees_procedure(user, procedure, fzs), f"/api/v1/procedures/{procedure.id}"
        calls = [("GET", base + r, None) for r in PROCEDURE_READS]
        calls += [("PUT" if w == "verdicts" else "POST", f"{base}/{w}", BODIES[w]) for w in PROCEDURE_WRITES]
        calls += [("POST", f"{base}/{c}", BODIES[c]) for c in PROCEDURE_CHECKS]
        if not sees:
            calls += [("GET", base + d, None) for d in DOCUMENTS]  # rendering only what is visible: slow
        for method, path, body in calls:
            response = client.request(method, path, json=body, headers={"If-Match": STALE} if body else {})
            where = f"{user_id} {method} {path}: {response.status_code} {response.text[:200]}"
            assert response.status_code < 500, where
            assert _concealed(response, "Verfahren", procedure.id) is not sees, where
            if sees and method != "GET" and path.rsplit("/", 1)[-1] in PROCEDURE_WRITES:
                assert response.status_code == 412, where
        listed = {p["id"] for p in client.get("/api/v1/procedures", params={"per_page": 200}).json()["items"]}
        assert (procedure.id in listed) is sees, f"{user_id} list {procedure.id}"


@pytest.mark.parametrize("user_id", USERS)
def test_familienzentren_kitas_and_seals_foreign_ones_are_unknown(world, user_id):
    users, fzs, procedures, kitas, certificates = world.facts
    user, client = users[user_id], world.client(user_id)
    sees = {fz_id: _sees_fz(user, fz, procedures) for fz_id, fz in fzs.items()}
    for fz_id in fzs:
        response = client.get(f"/api/v1/familienzentren/{fz_id}")
        assert (response.status_code == 200) is sees[fz_id] and (
            _concealed(response, "Familienzentrum", fz_id) is not sees[fz_id]), (user_id, fz_id, response.text)
    for kita_id, fz_id in kitas.items():
        response = client.get(f"/api/v1/kitas/{kita_id}")
        assert (response.status_code == 200) is sees[fz_id], (user_id, kita_id, response.text)
        assert _concealed(response, "Kita", kita_id) is not sees[fz_id]
    for number, fz_id in certificates.items():
        response = client.get(f"/api/v1/certificates/{number}")
        assert (response.status_code == 200) is sees[fz_id], (user_id, number, response.text)
        if not sees[fz_id]:
            assert _concealed(client.get(f"/api/v1/certificates/{number}/urkunde"), "Urkunde", number)
    listed = {f["id"] for f in client.get("/api/v1/familienzentren", params={"per_page": 200}).json()["items"]}
    assert listed == {fz_id for fz_id, ok in sees.items() if ok}
    kita_list = {k["id"] for k in client.get("/api/v1/kitas", params={"per_page": 200}).json()["items"]}
    assert kita_list == {k for k, fz_id in kitas.items() if sees[fz_id]}
    seals = {c["number"] for c in client.get("/api/v1/certificates", params={"per_page": 200}).json()["items"]}
    assert seals == {n for n, fz_id in certificates.items() if sees[fz_id]}


@pytest.mark.parametrize("user_id", USERS)
def test_contingents_and_reminders_by_role(world, user_id):
    users, fzs, *_ = world.facts
    user, client = users[user_id], world.client(user_id)
    contingents = client.get("/api/v1/contingents", params={"per_page": 200})
    if user.role in (Role.ADMIN, Role.CERTIFIER):
        assert contingents.status_code == 200 and contingents.json()["total"] == 7
    elif user.role is Role.COORDINATOR:
        assert {c["jugendamt_id"] for c in contingents.json()["items"]} == {user.jugendamt_id}
        other = next(fz.jugendamt_id for fz in fzs.values() if fz.jugendamt_id != user.jugendamt_id)
        assert client.get("/api/v1/contingents", params={"jugendamt_id": other}).status_code == 403
    else:
        assert contingents.status_code == 403
    assert client.get("/api/v1/reminders").status_code == 200


@pytest.mark.parametrize(("user_id", "allowed"), [(u, u == "zert-1") for u in USERS])
def test_only_the_certification_body_decides_and_plans(world, user_id, allowed):
    """With the right ETag, on a procedure the user sees: the domain refuses the roles that may not (403)."""
    users, fzs, procedures, *_ = world.facts
    user, client = users[user_id], world.client(user_id)
    audited = [p for p in procedures if p.state == "audited" and _sees_procedure(user, p, fzs)]
    submitted = [p for p in procedures if p.state == "submitted" and _sees_procedure(user, p, fzs)]
    for procedure, step, body in [*((p, "decision", BODIES["decision"]) for p in audited),
                                  *((p, "audit-plan", BODIES["audit-plan"]) for p in submitted)]:
        if allowed:
            continue  # the certification body's own steps: tests/test_api_cycle.py
        tag = client.get(f"/api/v1/procedures/{procedure.id}").headers["ETag"]
        response = client.post(f"/api/v1/procedures/{procedure.id}/{step}", json=body, headers={"If-Match": tag})
        assert response.status_code == 403, (user_id, step, response.text)
        assert client.get(f"/api/v1/procedures/{procedure.id}").headers["ETag"] == tag  # nothing changed
