"""Shared data and helpers for the service tests (imported by the other test_services_* modules).

A small invented world, built through the services on a migrated database
(``db_url`` from db_support: SQLite and PostgreSQL):

* Jugendamt A (``ja-a``): Kitas k1 (Einzel ``fz-1``), k2-k4 (Verbund ``fz-v``, Zuschussempfänger k2), k5 (free);
  Jugendamt B (``ja-b``): k6 (Einzel ``fz-b``);
* Träger ``tr-a`` runs k1-k5, ``tr-b`` runs k6;
* users: admin, coord-a, coord-b, lead-1 (fz-1), lead-v (fz-v), lead-b (fz-b), aud-1 (no employer),
  aud-2 (employed by tr-a: partial for fz-1 and fz-v), cert-1, cert-2;
* contingents 2025/26: ja-a 2 places, ja-b 1 place.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from certflow import services
from certflow.assessment.model import Answer, Assessment, Period, Status
from certflow.calendar import KindergartenYear
from certflow.catalogue.model import Variant
from certflow.db import UnitOfWork
from certflow.lifecycle import Jugendamt, Outcome, Role, Traeger, User
from certflow.samples import satisfying_assessment, spoil
from certflow.services.verdicts import VerdictInput
from db_support import FixedClock, db_url, engine, postgres_admin  # noqa: F401

KGJ = KindergartenYear(2025)
START = datetime(2025, 6, 2, 8, 0, tzinfo=timezone.utc)

USERS = [
    User("admin", "Ada Admin", Role.ADMIN),
    User("coord-a", "Cora A", Role.COORDINATOR, jugendamt_id="ja-a"),
    User("coord-b", "Carl B", Role.COORDINATOR, jugendamt_id="ja-b"),
    User("aud-1", "Anna Audit", Role.AUDITOR),
    User("aud-2", "Arno Audit", Role.AUDITOR, traeger_id="tr-a"),
    User("cert-1", "Clara Zert", Role.CERTIFIER),
    User("cert-2", "Conrad Zert", Role.CERTIFIER),
]
LEADS = [
    User("lead-1", "Lea Eins", Role.KITA_LEAD, familienzentrum_id="fz-1"),
    User("lead-v", "Lutz Verbund", Role.KITA_LEAD, familienzentrum_id="fz-v"),
    User("lead-b", "Lina B", Role.KITA_LEAD, familienzentrum_id="fz-b"),
]
NAMES = {u.id: u.name for u in USERS + LEADS}

KITAS_CSV = """id;name;traeger_id;jugendamt_id;strasse;plz;ort;lat;lon
k1;Kita Eins;tr-a;ja-a;Weg 1;50001;Musterstadt;51,0000;7,0000
k2;Kita Zwei;tr-a;ja-a;Weg 2;50001;Musterstadt;51,0050;7,0050
k3;Kita Drei;tr-a;ja-a;Weg 3;50001;Musterstadt;51,0100;7,0000
k4;Kita Vier;tr-a;ja-a;Weg 4;50001;Musterstadt;51,0000;7,0100
k5;Kita Fünf;tr-a;ja-a;Weg 5;50001;Musterstadt;51,0080;7,0080
k6;Kita Sechs;tr-b;ja-b;Gasse 6;50002;Andersdorf;51,3000;7,3000
"""


class World:
    """The engine and clock of one test, with a helper per step."""

    def __init__(self, engine, clock: FixedClock):
        self.engine, self.clock = engine, clock

    def do(self, action, *args, **kwargs):
        """Run one service call in its own unit of work; the clock moves an hour afterwards."""
        with UnitOfWork(self.engine, clock=self.clock) as uow:
            result = action(uow, *args, **kwargs)
        self.clock.advance(hours=1)
        return result

    def read(self, read):
        with UnitOfWork(self.engine, clock=self.clock) as uow:
            return read(uow)

    def at(self, day: date, hour: int = 9) -> None:
        self.clock.at = datetime(day.year, day.month, day.day, hour, 0, tzinfo=timezone.utc)

    def assessment(self, procedure_id: str, passing: bool = True) -> Assessment:
        def make(uow):
            p = uow.procedures.get(procedure_id)
            fz = uow.familienzentren.get(p.familienzentrum_id)
            cat = services.catalogue_for_key(p.catalogue_key)
            return satisfying_assessment(cat, Variant(p.kind, fz.form), Period(start=p.period_start, end=p.period_end),
                                         name=fz.name)
        a = self.read(make)
        if passing:
            return a
        spoiled = spoil(a, 0.3, seed=7)
        answers = {k: Answer(status=Status.NICHT_ERFUELLT) if v.status is Status.OFFEN else v
                   for k, v in spoiled.answers.items()}
        return spoiled.model_copy(update={"answers": answers})

    # --- the steps of a procedure, each by the person who does it --------------------------------------------------

    def nominate(self, fz_id: str = "fz-1", actor: str = "coord-a", kgj: KindergartenYear = KGJ) -> str:
        return self.do(services.nominate, actor, fz_id, kgj, "Beschluss des JHA").procedure.id

    def to_development(self, pid: str, lead: str = "lead-1") -> None:
        self.do(services.register, lead, pid, "Einladung angenommen")
        self.do(services.start_development, lead, pid, "Entwicklungsjahr beginnt")

    def submit(self, pid: str, lead: str = "lead-1", passing: bool = True):
        return self.do(services.submit, lead, pid, self.assessment(pid, passing), "Selbstbewertung fertig")

    def schedule(self, pid: str, auditor: str = "aud-1", visit: date | None = None):
        visit = visit or self.clock.at.date() + timedelta(days=14)
        return self.do(services.schedule_audit, "cert-1", pid, auditor, visit, "Termin vereinbart")

    def record(self, pid: str, auditor: str = "aud-1", sites=None, verdicts=None):
        visit = self.read(lambda uow: uow.procedures.get(pid).planned_audit_date)
        self.at(visit, 9)
        verdicts = verdicts if verdicts is not None else {"1.1": VerdictInput(Status.ERFUELLT, None)}
        return self.do(services.record_audit, auditor, pid, visit, "Begehung vor Ort", sites=sites, verdicts=verdicts)

    def certify(self, fz_id: str = "fz-1", lead: str = "lead-1", actor: str = "coord-a", sites=None) -> str:
        """A whole Erst-Zertifizierung of ``fz_id`` in KGJ 2025/26, certified in May 2026."""
        pid = self.nominate(fz_id, actor)
        self.to_development(pid, lead)
        self.at(date(2026, 3, 2))
        self.submit(pid, lead)
        self.schedule(pid)
        self.record(pid, sites=sites)
        self.do(services.sign_off, "aud-1", pid, "Bericht fertig")
        self.at(date(2026, 5, 11))
        self.do(services.decide, "cert-2", pid, Outcome.CERTIFIED, "Alle Bereiche erfüllt")
        return pid


def build(engine, clock: FixedClock) -> World:
    world = World(engine, clock)
    why = "Testdaten"
    with UnitOfWork(engine, clock=clock) as uow:
        services.add_user(uow, "admin", USERS[0], why)
        for ja in (Jugendamt("ja-a", "Jugendamt A"), Jugendamt("ja-b", "Jugendamt B")):
            services.add_jugendamt(uow, "admin", ja, why)
        for tr in (Traeger("tr-a", "Träger A"), Traeger("tr-b", "Träger B")):
            services.add_traeger(uow, "admin", tr, why)
        for user in USERS[1:]:
            services.add_user(uow, "admin", user, why)
        services.import_kitas(uow, "admin", "kitas.csv", why, text=KITAS_CSV)
        services.create_familienzentrum(uow, "coord-a", "fz-1", "Familienzentrum Eins", ["k1"], why)
        services.create_familienzentrum(uow, "coord-a", "fz-v", "Verbund Mitte", ["k2", "k3", "k4"], why,
                                        zuschussempfaenger_id="k2")
        services.create_familienzentrum(uow, "coord-b", "fz-b", "Familienzentrum B", ["k6"], why)
        for user in LEADS:
            services.add_user(uow, "admin", user, why)
        services.grant(uow, "admin", "ja-a", KGJ, 2, "Erlass")
        services.grant(uow, "admin", "ja-b", KGJ, 1, "Erlass")
    clock.advance(hours=1)
    return world


@pytest.fixture
def world(engine):
    return build(engine, FixedClock(START))


def test_world_is_consistent(world):
    counts = world.read(lambda uow: (len(uow.kitas.all()), len(uow.familienzentren.all()), len(uow.users.all())))
    assert counts == (6, 3, 10)
