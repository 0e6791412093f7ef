"""One procedure's whole cycle through the JSON API alone, as the people of the demo, each with their own
token: nominate → register → development → self-assessment (validate and score the draft, submit) → plan the
audit → record the visit with verdicts → sign off → decide (a second certifier: four eyes) → the seal is issued
and the Urkunde, the audit packet and the Qualitätsprofil are downloadable; the history names everyone.
On SQLite and on PostgreSQL (the demo's rows copied into a schema of its own)."""

from __future__ import annotations

import io
from datetime import date

import pytest
from pypdf import PdfReader
from db_support import postgres_admin  # noqa: F401
from test_api_support import api_world, demo_url

from certflow.assessment import Period
from certflow.catalogue import load_catalogue
from certflow.catalogue.model import Form, ProcedureKind, Variant
from certflow.resources import default_catalogue
from certflow.samples import satisfying_assessment


@pytest.fixture(params=["sqlite", "postgresql"])
def world(request, demo_db, demo_evidence, tmp_path):
    with demo_url(request, demo_db, tmp_path) as url, api_world(url, demo_evidence) as w:
        yield w


def _assessment(start: str, end: str) -> dict:
    catalogue = load_catalogue(default_catalogue())
    a = satisfying_assessment(catalogue, Variant(ProcedureKind.ERST, Form.EINZEL),
                              Period(start=date.fromisoformat(start), end=date.fromisoformat(end)),
                              name="Familienzentrum Zechenhaus")
    return a.model_dump(mode="json")


def _text(pdf: bytes) -> str:
    return " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages).split())


def test_a_whole_cycle_through_the_api(world):
    api = "/api/v1"
    coordinator, lead = world.client("koord-hellbach"), world.client("leitung-zechenhaus")
    certifier, auditor, second = world.client("zert-1"), world.client("auditor-1"), world.client("zert-2")
    tag: dict[str, str] = {}

    def step(client, path: str, body: dict, *, status: int = 200) -> dict:
        response = client.post(f"{api}/procedures/{pid}/{path}", json=body, headers={"If-Match": tag["now"]})
        assert response.status_code == status, response.text
        tag["now"] = f'"{response.json()["procedure"]["version"]}"'
        return response.json()

    nominated = coordinator.post(f"{api}/procedures", json={"familienzentrum_id": "fz-zechenhaus",
                                                            "kgj": "2025/26", "reason": "Beschluss des JHA"})
    assert nominated.status_code == 201, nominated.text
    pid = nominated.json()["procedure"]["id"]
    assert nominated.headers["Location"] == f"{api}/procedures/{pid}"
    tag["now"] = nominated.headers["ETag"]
    assert "nominiert" in nominated.json()["message"]

    step(lead, "registration", {"reason": "Anmeldung bei der Zertifizierungsstelle"})
    step(lead, "development", {"reason": "Entwicklungsjahr beginnt"})
    procedure = lead.get(f"{api}/procedures/{pid}").json()
    assert procedure["state"] == "in_development"

    draft = _assessment(procedure["period_start"], procedure["period_end"])
    broken = {**draft, "procedure": "unbekannt"}
    check = lead.post(f"{api}/procedures/{pid}/self-assessment/validation", json=broken).json()
    assert check["valid"] is False and check["errors"][0]["field"] == "procedure"
    assert lead.post(f"{api}/procedures/{pid}/self-assessment/validation", json=draft).json() == {
        "valid": True, "errors": []}
    report = lead.post(f"{api}/procedures/{pid}/self-assessment/scoring", json=draft)
    assert report.status_code == 200 and report.json()["passed"] is True
    submitted = step(lead, "submission", {"reason": "Selbstbewertung fertig", "assessment": draft})
    assert "Revision 1" in submitted["message"]
    stored = lead.get(f"{api}/procedures/{pid}/self-assessment").json()
    assert stored["revision"] == 1 and stored["passed"] is True and stored["assessment"]["procedure"] == "erst"

    step(certifier, "audit-plan", {"auditor_id": "auditor-1", "audit_date": "2026-03-10",
                                   "reason": "Termin mit der Leitung vereinbart"})
    recorded = step(auditor, "audit", {"visit_date": "2026-03-10", "reason": "Begehung vor Ort",
                                       "verdicts": {"1.1": {"verdict": "erfuellt", "remark": "vorgelegt"},
                                                    "1.5": {"verdict": "erfuellt"}}})
    assert "2 Bewertung(en) erfasst" in recorded["message"]
    verdicts = auditor.get(f"{api}/procedures/{pid}/verdicts").json()
    assert verdicts["total"] == 2 and verdicts["items"][0]["criterion_id"] == "1.1"
    signed = auditor.post(f"{api}/procedures/{pid}/sign-off", json={"reason": "Begehung abgeschlossen"},
                          headers={"If-Match": tag["now"]})
    assert signed.status_code == 200, signed.text
    tag["now"] = lead.get(f"{api}/procedures/{pid}").headers["ETag"]

    refused = auditor.post(f"{api}/procedures/{pid}/decision", json={"outcome": "certified", "reason": "selbst"},
                           headers={"If-Match": tag["now"]})
    assert refused.status_code == 403 and refused.headers["content-type"] == "application/problem+json"
    decided = step(second, "decision", {"outcome": "certified", "reason": "Alle Kriterien erfüllt"})
    number = decided["certificate_number"]
    assert number and decided["procedure"]["state"] == "certified"
    seal = lead.get(f"{api}/certificates/{number}").json()
    assert seal[-1]["state"] == "valid" and seal[-1]["familienzentrum_id"] == "fz-zechenhaus"

    urkunde = lead.get(f"{api}/certificates/{number}/urkunde")
    assert urkunde.status_code == 200 and urkunde.headers["content-type"] == "application/pdf"
    assert number in _text(urkunde.content)
    packet = certifier.get(f"{api}/procedures/{pid}/packet")
    assert packet.status_code == 200 and packet.content.startswith(b"%PDF") and pid in _text(packet.content)
    profile = lead.get(f"{api}/procedures/{pid}/qualitaetsprofil")
    assert profile.status_code == 200 and profile.content.startswith(b"%PDF")

    history = lead.get(f"{api}/procedures/{pid}/history", params={"per_page": 200}).json()["items"]
    actors = [row["actor_id"] for row in history]
    for who in ("koord-hellbach", "leitung-zechenhaus", "zert-1", "auditor-1", "zert-2"):
        assert who in actors
    assert history[-1]["reason"] == "Alle Kriterien erfüllt" and history[-1]["to_state"]
