"""The seal through the services: re-certification (no postponement), renewal, expiry (on the in-memory twin)."""

from __future__ import annotations

from datetime import date

import pytest

from certflow import services
from certflow.calendar import KindergartenYear
from certflow.lifecycle import CertificateState, Outcome, ProcedureState, Refused
from test_services_world import said, world  # noqa: F401

C = CertificateState


def _certificates(world, fz_id: str = "fz-1"):
    return world.read(lambda uow: [(c.number, c.issued, c.valid_until, c.state)
                                   for c in uow.certificates.of_familienzentrum(fz_id)])


def test_a_recertification_cannot_be_postponed(world):
    world.certify()                                       # FZ-2026-001, valid until 31.07.2030
    world.at(date(2028, 10, 15))
    with pytest.raises(Refused, match=r"kann nicht verschoben werden: .* gehört in das Kindergartenjahr 2029/30, "
                                      r"nicht 2030/31"):
        world.do(services.start_recertification, "cert-1", "fz-1", "später", kgj=KindergartenYear(2030))
    opened = world.do(services.start_recertification, "cert-1", "fz-1", "Unterlagen versandt")
    assert said(opened) == ("Re-Zertifizierung V-2029-001 für Familienzentrum Eins eröffnet (Kindergartenjahr "
                            "2029/30, Prüfzeitraum 01.01.2029–31.01.2030, Gütesiegel FZ-2026-001 gültig bis "
                            "31.07.2030)")
    assert _certificates(world)[0][3] is C.RECERTIFICATION_DUE  # the window was open: opened with it
    world.do(services.withdraw, "lead-1", "V-2029-001", "Personalmangel")
    with pytest.raises(Refused, match="kann nicht verschoben werden"):
        world.do(services.start_recertification, "admin", "fz-1", "neuer Anlauf später", kgj=KindergartenYear(2030))
    again = world.do(services.start_recertification, "admin", "fz-1", "neuer Anlauf im selben Jahr")
    assert again.procedure.id == "V-2029-002" and again.procedure.period_end == date(2030, 1, 31)


def test_a_successful_recertification_keeps_the_number_and_renews_the_term(world):
    world.certify()
    world.at(date(2028, 10, 1))
    advanced = world.do(services.advance_certificates, "admin")
    assert said(advanced) == ("Stand 01.10.2028: FZ-2026-001 (fz-1): Re-Zertifizierung fällig "
                              "(gültig bis 31.07.2030)")
    pid = world.do(services.start_recertification, "cert-1", "fz-1", "Unterlagen versandt").procedure.id
    world.do(services.start_development, "lead-1", pid, "los")
    world.at(date(2030, 2, 5))
    world.submit(pid)
    world.schedule(pid, auditor="aud-1")
    world.record(pid)
    world.sign_off(pid)
    world.at(date(2030, 5, 10))
    decided = world.do(services.decide, "cert-1", pid, Outcome.CERTIFIED, "Re-Zertifizierung erfüllt")
    assert said(decided).endswith("Gütesiegel FZ-2026-001 ausgestellt am 10.05.2030, gültig bis 31.07.2034; "
                                  "die vorige Urkunde (FZ-2026-001/2026-05-11) ist erneuert")
    assert _certificates(world) == [
        ("FZ-2026-001", date(2026, 5, 11), date(2030, 7, 31), C.RENEWED),
        ("FZ-2026-001", date(2030, 5, 10), date(2034, 7, 31), C.VALID),
    ]
    assert world.read(lambda uow: uow.familienzentren.get("fz-1").certificate_number) == "FZ-2026-001"


def test_a_lapsed_seal_expires_and_only_a_new_first_certification_remains(world):
    world.certify()
    world.at(date(2030, 8, 1))
    with pytest.raises(Refused, match="Erst-Zertifizierung"):
        world.do(services.start_recertification, "cert-1", "fz-1", "zu spät")
    assert said(world.do(services.advance_certificates, "admin")) == (
        "Stand 01.08.2030: FZ-2026-001 (fz-1) abgelaufen am 31.07.2030")
    nothing = world.do(services.advance_certificates, "admin")
    assert said(nothing) == "Stand 01.08.2030: keine Gütesiegel fortzuschreiben"
    assert _certificates(world)[0][3] is C.EXPIRED
    assert world.read(lambda uow: uow.familienzentren.get("fz-1").certificate_number) is None
    with pytest.raises(Refused, match="Gütesiegel fortschreiben ist der Rolle 'Kita-Leitung' nicht erlaubt"):
        world.do(services.advance_certificates, "lead-1")
    kgj = KindergartenYear(2030)
    world.do(services.grant, "admin", "ja-a", kgj, 1, "Erlass")
    pid = world.nominate("fz-1", kgj=kgj)
    assert world.read(lambda uow: uow.procedures.get(pid).state) is ProcedureState.NOMINATED
