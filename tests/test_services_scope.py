"""Roles and scopes: each use case allowed and refused; reads (overview, history) show only one's own.

On the in-memory twin (``world``); the scoped queries in SQL are checked against the same
predicates in tests/test_services_queries*.py and tests/test_db_memory.py.
"""

from __future__ import annotations

from datetime import date

import pytest

from certflow import services
from certflow.lifecycle import Outcome, Refused, Role, User
from certflow.services.runner import UseCaseError
from test_services_world import KGJ, world  # noqa: F401

NO_ACCESS = "Kein Zugriff"


@pytest.fixture
def scheduled(world):
    """fz-1's procedure submitted and scheduled with aud-1; fz-b's nominated; fz-v without a procedure."""
    pid = world.nominate()
    world.to_development(pid)
    world.submit(pid)
    world.schedule(pid)
    world.nominate("fz-b", "coord-b")
    return world, pid


def _refused(world, action, *args, match: str, **kwargs) -> None:
    with pytest.raises(Refused, match=match):
        world.do(action, *args, **kwargs)


def test_a_kita_lead_acts_only_for_their_own_familienzentrum(world):
    pid = world.nominate()
    _refused(world, services.register, "lead-v", pid, "fremd",
             match=f"^{NO_ACCESS}: Lutz Verbund \\(Kita-Leitung\\) darf Verfahren V-2025-001 nicht sehen$")
    _refused(world, services.withdraw, "lead-b", pid, "fremd", match=NO_ACCESS)
    world.do(services.register, "lead-1", pid, "Einladung angenommen")


def test_a_coordinator_acts_only_in_their_jugendamt(world):
    _refused(world, services.nominate, "coord-b", "fz-1", KGJ, "fremd", match=f"{NO_ACCESS}: Carl B")
    pid = world.nominate()
    _refused(world, services.withdraw, "coord-b", pid, "fremd", match=NO_ACCESS)
    _refused(world, services.register, "coord-a", pid, "darf nicht",
             match="Registrieren ist der Rolle 'Koordination im Jugendamt' nicht erlaubt")
    world.do(services.withdraw, "coord-a", pid, "Beschluss aufgehoben")


def test_an_auditor_acts_only_on_the_procedures_assigned(scheduled):
    world, pid = scheduled
    visit = world.read(lambda uow: uow.procedures.get(pid).planned_audit_date)
    world.at(visit)
    _refused(world, services.record_audit, "aud-2", pid, visit, "fremd",
             match=f"^{NO_ACCESS}: Arno Audit \\(Auditor\\) darf Verfahren V-2025-001 nicht sehen$")
    fz_b = world.read(lambda uow: uow.procedures.of_familienzentrum("fz-b")[0].id)
    _refused(world, services.withdraw, "aud-1", fz_b, "fremd", match=NO_ACCESS)
    world.do(services.record_audit, "aud-1", pid, visit, "Begehung vor Ort")
    with pytest.raises(UseCaseError, match="Nur der Auditor der Begehung"):
        world.sign_off(pid, auditor="cert-1")
    with pytest.raises(UseCaseError, match=f"^{NO_ACCESS}: Arno Audit"):
        world.sign_off(pid, auditor="aud-2")
    world.sign_off(pid)
    _refused(world, services.decide, "aud-1", pid, Outcome.CERTIFIED, "selbst",
             match="Die Entscheidung trifft die Zertifizierungsstelle; Anna Audit hat die Rolle 'Auditor'")


def test_roles_of_the_other_steps(scheduled):
    world, pid = scheduled
    _refused(world, services.schedule_audit, "lead-1", pid, "aud-1", date(2026, 7, 1), "selbst geplant",
             match="Begehung planen ist der Rolle 'Kita-Leitung' nicht erlaubt")
    fz_b = world.read(lambda uow: uow.procedures.of_familienzentrum("fz-b")[0].id)
    _refused(world, services.register, "cert-1", fz_b, "für die Kita",
             match="Registrieren ist der Rolle 'Zertifizierungsstelle' nicht erlaubt")
    _refused(world, services.schedule_audit, "cert-1", pid, "aud-2", date(2026, 7, 1), "neu",
             match="Befangenheit: Arno Audit gehört zum Träger der Kita Kita Eins")
    _refused(world, services.schedule_audit, "cert-1", pid, "aud-1", date(2020, 1, 1), "alt",
             match="liegt in der Vergangenheit")
    _refused(world, services.start_recertification, "coord-a", "fz-1", "zu früh",
             match="Re-Zertifizierung eröffnen ist der Rolle 'Koordination im Jugendamt' nicht erlaubt")


def test_an_unknown_user_is_refused(world):
    _refused(world, services.nominate, "niemand", "fz-1", KGJ, "x", match="^Unbekannter Benutzer 'niemand'$")
    with pytest.raises(Refused, match="Unbekannter Benutzer 'niemand'"):
        world.read(lambda uow: services.overview(uow, "niemand"))


def _rows(world, actor):
    return [(r.familienzentrum_id, r.procedure_id, r.state_label)
            for r in world.read(lambda uow: services.overview(uow, actor, date(2026, 3, 20)))]


def test_the_overview_shows_each_user_only_their_own(scheduled):
    world, _pid = scheduled
    everything = [("fz-1", "V-2025-001", "Begehung geplant"), ("fz-b", "V-2025-002", "nominiert"), ("fz-v", None, "–")]
    assert _rows(world, "admin") == _rows(world, "cert-2") == everything
    assert _rows(world, "coord-a") == [everything[0], everything[2]]
    assert _rows(world, "coord-b") == [everything[1]]
    assert _rows(world, "lead-1") == [everything[0]]
    assert _rows(world, "lead-v") == [everything[2]]
    assert _rows(world, "aud-1") == [everything[0]]
    assert _rows(world, "aud-2") == []
    row = world.read(lambda uow: services.overview(uow, "lead-1", date(2025, 6, 3)))[0]
    assert (row.jugendamt, str(row.next_deadline)) == ("Jugendamt A", "Begehung bis 16.06.2025")


def test_the_history_is_scoped_like_the_procedure(scheduled):
    world, pid = scheduled
    for allowed in ("admin", "cert-1", "coord-a", "lead-1", "aud-1"):
        assert world.read(lambda uow, who=allowed: services.history(uow, who, pid))
    for refused in ("coord-b", "lead-v", "lead-b", "aud-2"):
        with pytest.raises(Refused, match=f"^{NO_ACCESS}: .* darf Verfahren {pid} nicht sehen$"):
            world.read(lambda uow, who=refused: services.history(uow, who, pid))


def test_a_rescheduled_procedure_moves_to_the_new_auditors_scope(scheduled):
    world, pid = scheduled
    world.do(services.add_user, "admin", User("aud-3", "Alex Audit", Role.AUDITOR), "neuer Auditor")
    visit = world.read(lambda uow: uow.procedures.get(pid).planned_audit_date)
    world.do(services.schedule_audit, "cert-1", pid, "aud-3", visit, "Auditor erkrankt")
    assert _rows(world, "aud-3") == [("fz-1", pid, "Begehung geplant")]
    assert _rows(world, "aud-1") == []
    _refused(world, services.record_audit, "aud-1", pid, visit, "doch ich", match=NO_ACCESS)
