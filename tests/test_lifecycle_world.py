"""Shared test data for the lifecycle tests (imported by the other test_lifecycle_* modules).

Fictional Jugendämter, Träger, Kitas and people; coordinates around a made-up
town, no real addresses.
"""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import date, datetime, timezone
from pathlib import Path

from certflow import load_assessment, load_catalogue
from certflow.calendar import KindergartenYear
from certflow.catalogue.model import Form, ProcedureKind
from certflow.lifecycle import (
    Certificate, Familienzentrum, Kita, Procedure, ProcedureState, Role, User, freeze, issue_certificate,
)
from certflow.lifecycle.guards import check_submission

DATA = Path(__file__).parent / "data"
CATALOGUE = load_catalogue(DATA / "mini.yaml")
ASSESSMENT = load_assessment(DATA / "mini-assessment.yaml", CATALOGUE)
KEY = CATALOGUE.key  # "test-programm@1"
KGJ = KindergartenYear(2025)
NOW = datetime(2026, 3, 2, 9, 30, tzinfo=timezone.utc)

BASE_LAT, BASE_LON = 51.5, 7.0
KM_PER_DEG_LAT = math.pi * 6371.0088 / 180  # haversine along a meridian


def clock(at: datetime = NOW):
    return lambda: at


def north(km: float) -> float:
    """Latitude ``km`` north of the base point."""
    return BASE_LAT + km / KM_PER_DEG_LAT


def kita(i: int, km_north: float = 0.0, traeger: str = "tr-a", jugendamt: str = "ja-1") -> Kita:
    return Kita(f"k{i}", f"Kita {i}", traeger, jugendamt, f"Musterweg {i}", "12345", "Musterstadt",
                north(km_north), BASE_LON)


KITAS = [kita(i, km_north=0.5 * (i - 1)) for i in range(1, 7)]  # k1..k6, 0.5 km apart on a line

FZ = Familienzentrum("fz-1", "Familienzentrum Sonnenhof", Form.EINZEL, ("k1",), "k1", "ja-1")
VERBUND = Familienzentrum("fz-v", "Verbund Am Bach", Form.VERBUND, ("k1", "k2", "k3"), "k1", "ja-1",
                          certificate_number="FZ-0007")

LEAD = User("u-lead", "Lea Leitung", Role.KITA_LEAD, familienzentrum_id="fz-1")
OTHER_LEAD = User("u-lead2", "Otto Leitung", Role.KITA_LEAD, familienzentrum_id="fz-2")
COORD = User("u-coord", "Cora Koordination", Role.COORDINATOR, jugendamt_id="ja-1")
AUDITOR = User("u-aud", "Anton Audit", Role.AUDITOR, traeger_id="tr-z")
AUDITOR2 = User("u-aud2", "Alma Audit", Role.AUDITOR)
CERTIFIER = User("u-cert", "Carla Zertifizierung", Role.CERTIFIER)
CERTIFIER2 = User("u-cert2", "Conrad Zertifizierung", Role.CERTIFIER)
ADMIN = User("u-admin", "System", Role.ADMIN)


def procedure(state: ProcedureState = ProcedureState.NOMINATED, **changes) -> Procedure:
    p = Procedure("p-1", "fz-1", ProcedureKind.ERST, KEY, KGJ, KGJ.start, KGJ.end, state=state)
    return replace(p, **changes) if changes else p


def snapshot(proc: Procedure, revision: int = 1, assessment=ASSESSMENT, fz: Familienzentrum = FZ):
    passed = check_submission(proc, fz, CATALOGUE, assessment).report.passed
    return freeze(assessment, revision, procedure_id=proc.id, submitted_by=LEAD.id, submitted_at=NOW, passed=passed)


def certificate(issued: date = date(2022, 5, 10), fz_id: str = "fz-1", number: str = "FZ-0001") -> Certificate:
    return issue_certificate(number, fz_id, issued)  # valid until 31.07.2026


def test_world_is_consistent() -> None:
    assert ASSESSMENT.catalogue == "test-programm" and KEY == "test-programm@1"
    assert certificate().valid_until == date(2026, 7, 31)
    assert round(KITAS[0].lat - KITAS[1].lat, 6) != 0
