"""Contingents (grant, return, carry over, nominating past the last place) and the Verbund (join, leave, revoke).

On the in-memory twin (``world``), except the atomic reservation, which is the database's (``db_world``).
"""

from __future__ import annotations

import re
from datetime import date

import pytest

from certflow import services
from certflow.calendar import KindergartenYear
from certflow.db.repositories.contingents import ContingentRepository
from certflow.lifecycle import CertificateState, Contingent, Refused
from db_support import db_url, engine, postgres_admin  # noqa: F401
from test_services_world import KGJ, db_world, said, world  # noqa: F401

FULL = "Kein freier Platz im Kontingent des Jugendamts Jugendamt A für 2025/26 (2 von 2 vergeben)"


def _third_centre(world) -> None:
    world.do(services.create_familienzentrum, "coord-a", "fz-5", "Familienzentrum Fünf", ["k5"], "Beschluss")


def test_nominating_past_the_contingent_is_refused_in_german(world):
    _third_centre(world)
    world.nominate("fz-1")
    world.nominate("fz-v")
    with pytest.raises(Refused, match=f"^{re.escape(FULL)}$"):
        world.nominate("fz-5")
    assert world.read(lambda uow: uow.procedures.of_familienzentrum("fz-5")) == []


def test_a_place_taken_meanwhile_is_refused_by_the_atomic_reservation(db_world, monkeypatch):
    """The domain saw a free place (read before a concurrent nominee took it); the database says no."""
    world = db_world
    _third_centre(world)
    world.nominate("fz-1")
    world.nominate("fz-v")
    stale = [Contingent("ja-a", KGJ, granted=2, nominated=1)]  # what the nominee read, once
    real = ContingentRepository.get
    monkeypatch.setattr(ContingentRepository, "get",
                        lambda self, ja, kgj: stale.pop() if stale else real(self, ja, kgj))
    with pytest.raises(Refused, match=f"^{re.escape(FULL)}$"):
        world.nominate("fz-5")
    monkeypatch.undo()
    assert world.read(lambda uow: (uow.contingents.get("ja-a", KGJ).nominated,
                                   uow.procedures.of_familienzentrum("fz-5"))) == (2, [])


def test_grant_return_and_carry_over_with_their_roles(world):
    with pytest.raises(Refused, match="Plätze zuteilen ist der Rolle 'Koordination im Jugendamt' nicht erlaubt"):
        world.do(services.grant, "coord-a", "ja-a", KGJ, 5, "mehr")
    assert said(world.do(services.grant, "admin", "ja-a", KGJ, 1, "Nachtrag zum Erlass")) == (
        "Jugendamt A, 2025/26: 1 Platz/Plätze zugeteilt (0 von 3 vergeben, frei: 3)")
    with pytest.raises(Refused, match="Carl B gehört nicht zum Jugendamt ja-a"):
        world.do(services.return_places, "coord-b", "ja-a", KGJ, 1, "fremd")
    world.nominate("fz-1")
    with pytest.raises(Refused, match="kann für 2025/26 nur 2 freie"):
        world.do(services.return_places, "coord-a", "ja-a", KGJ, 3, "zu viele")
    world.do(services.return_places, "coord-a", "ja-a", KGJ, 2, "kein weiterer Vorschlag")
    moved = world.do(services.carry_over, "coord-a", "ja-a", KGJ, "erneut anbieten")
    assert said(moved) == ("Jugendamt A: 2 zurückgegebene(r) Platz/Plätze aus 2025/26 in 2026/27 erneut angeboten "
                           "(frei in 2026/27: 2)")
    with pytest.raises(Refused, match="keine zurückgegebenen Plätze"):
        world.do(services.carry_over, "coord-a", "ja-a", KGJ, "nochmal")
    following = world.read(lambda uow: uow.contingents.get("ja-a", KindergartenYear(2026)))
    assert (following.granted, following.carried_in, following.free) == (0, 2, 2)


def test_a_kita_joins_and_leaves_the_verbund_and_a_leave_may_cost_the_seal(world):
    world.certify("fz-v", "lead-v", sites=("k2", "k3"))
    world.at(date(2026, 6, 1))
    joined = world.do(services.join, "coord-a", "fz-v", "k5", "Kooperation vereinbart")
    assert said(joined) == "Kita Fünf trägt das Gütesiegel des Verbunds bis 31.07.2030"
    far = ("id;name;traeger_id;jugendamt_id;strasse;plz;ort;lat;lon\n"
           "k7;Kita Weit;tr-a;ja-a;Fernweg 1;50009;Fern;51,2;7,2\n")
    world.do(services.import_kitas, "admin", "weit.csv", "neue Kita", text=far)
    with pytest.raises(Refused, match="Kita Weit kann dem Verbund nicht beitreten: .* km auseinander"):
        world.do(services.join, "admin", "fz-v", "k7", "zu weit")
    with pytest.raises(Refused, match="Kita Sechs gehört schon zum Familienzentrum fz-b"):
        world.do(services.join, "admin", "fz-v", "k6", "doppelt")
    with pytest.raises(Refused, match="Kein Zugriff"):
        world.do(services.join, "coord-b", "fz-v", "k7", "fremd")

    kept = world.do(services.leave, "coord-a", "fz-v", "k4", "Trägerwechsel")
    assert said(kept) == ("k4 verliert das Gütesiegel; der Verbund behält es (2 von 3 zertifizierten "
                          "Einrichtungen bleiben) (gültig bis 31.07.2030)")
    with pytest.raises(Refused, match="nur 1 von 3 .* erfasst die Zertifizierungsstelle zusammen mit dem Widerruf"):
        world.do(services.leave, "coord-a", "fz-v", "k3", "Schließung")
    assert world.read(lambda uow: uow.familienzentren.get("fz-v").member_kita_ids) == ("k2", "k3", "k5")

    revoked = world.do(services.leave, "cert-1", "fz-v", "k3", "Schließung")
    assert said(revoked).endswith("Gütesiegel FZ-2026-001 widerrufen")

    def seal(uow):
        return uow.familienzentren.get("fz-v"), uow.certificates.of_familienzentrum("fz-v")
    fz, certificates = world.read(seal)
    assert (fz.member_kita_ids, fz.certificate_number) == (("k2", "k5"), None)
    assert [c.state for c in certificates] == [CertificateState.REVOKED]
    history = world.read(lambda uow: services.overview(uow, "coord-a"))
    assert [(r.familienzentrum_id, r.certificate_state) for r in history if r.familienzentrum_id == "fz-v"] == [
        ("fz-v", CertificateState.REVOKED)]
