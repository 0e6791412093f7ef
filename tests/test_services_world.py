"""Shared data and helpers for the service tests (imported by the other test_services_* modules).

A small invented world, built through the services:

* Jugendamt A (``ja-a``): Kitas k1 (Einzel ``fz-1``), k2-k4 (Verbund ``fz-v``, Zuschussempfänger k2), k5 (free);
  Jugendamt B (``ja-b``): k6 (Einzel ``fz-b``);
* Träger ``tr-a`` runs k1-k5, ``tr-b`` runs k6;
* users: admin, coord-a, coord-b, lead-1 (fz-1), lead-v (fz-v), lead-b (fz-b), aud-1 (no employer),
  aud-2 (employed by tr-a: partial for fz-1 and fz-v), cert-1, cert-2;
* contingents 2025/26: ja-a 2 places, ja-b 1 place.

Two fixtures hold it:

* ``world``: on the in-memory twin of the unit of work (:mod:`certflow.db.memory`), for the rules
  (roles, scopes, guards, refusals, what a use case records): milliseconds, no database;
* ``db_world``: on a migrated database (SQLite and PostgreSQL, ``engine`` from db_support), for what
  the database adds (persistence read back, the hash chain, the atomic reservation).

Both sign off with :class:`StandInPool` instead of rendering the audit packet in a worker process
(seconds each): the packet's bytes and hash are the subject of tests/test_services_documents.py,
test_cli_signoff.py and test_packet_*.py. :func:`test_the_twin_and_the_database_write_the_same_trail`
runs the same use cases on both and compares the whole audit trail, hashes included.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy.orm import Session

from certflow import services
from certflow.assessment.model import Answer, Assessment, Period, Status
from certflow.calendar import KindergartenYear
from certflow.catalogue.model import Variant
from certflow.db import UnitOfWork, entries
from certflow.db.memory import MemoryDatabase, MemoryUnitOfWork
from certflow.lifecycle import Jugendamt, Outcome, Role, Traeger, User
from certflow.messages import describe
from certflow.packet.model import CertificateData, PacketData
from certflow.samples import satisfying_assessment, spoil
from certflow.services.runner import Application
from certflow.services.verdicts import VerdictInput
from certflow.settings import Settings
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


class StandInPool:
    """Stands in for the render pool in the sign-off (the :class:`~certflow.packet.workers.RenderPool` interface).

    Its "PDF" is a short text naming what the packet shows (procedure, snapshot, chain head, timeline,
    verdicts), so the SHA-256 the sign-off stores still depends on the packet's data; ``rendered``
    lists what it was given.
    """

    def __init__(self) -> None:
        self.rendered: list[tuple[str, PacketData | CertificateData]] = []

    def pdf(self, kind: str, data: PacketData | CertificateData, templates_dir=None) -> tuple[bytes, int]:
        self.rendered.append((kind, data))
        if not isinstance(data, PacketData):
            return f"%PDF stand-in {kind}".encode(), 1
        text = (f"%PDF stand-in {kind} {data.procedure.id} {data.signoff.snapshot_sha256} {data.signoff.chain_head} "
                f"{len(data.timeline)} {sorted(data.verdicts)}")
        return text.encode(), 1


class MemoryApplication(Application):
    """An :class:`Application` whose units of work are the in-memory twin's (no engine; nothing after commit)."""

    def __init__(self, database: MemoryDatabase, settings: Settings, clock: FixedClock):
        super().__init__(settings, clock=clock, after_commit=(), check_schema=False)
        self.database = database

    def unit_of_work(self) -> UnitOfWork:
        return MemoryUnitOfWork(self.database, clock=self.clock)

    @property
    def engine(self):
        raise AttributeError("the in-memory twin has no database engine: use db_world for what needs one")


class World:
    """The application and clock of one test, with a helper per step."""

    def __init__(self, app: Application, clock: FixedClock):
        self.app, self.clock = app, clock
        self.pool = StandInPool()

    def do(self, action, *args, **kwargs):
        """Run one service call in its own unit of work; the clock moves an hour afterwards.

        Not through ``app.run``: a refusal stays the domain's exception (``Refused``, ``FrozenError`` ...)."""
        with self.app.unit_of_work() as uow:
            result = action(uow, *args, **kwargs)
        self.clock.advance(hours=1)
        return result

    def read(self, read):
        with self.app.unit_of_work() as uow:
            return read(uow)

    def entries(self, subject_kind: str | None = None, subject_id: str | None = None) -> list:
        """The committed audit trail (or one subject's part of it)."""
        if isinstance(self.app, MemoryApplication):
            return self.app.database.entries(subject_kind, subject_id)
        with Session(self.app.engine) as session:
            return entries(session, subject_kind, subject_id)

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

    def sign_off(self, pid: str, auditor: str = "aud-1", reason: str = "Bericht fertig"):
        """The sign-off, as every entrypoint runs it (through the application; refusals are UseCaseErrors)."""
        result = services.sign_off(self.app, auditor, pid, reason, pool=self.pool)
        self.clock.advance(hours=1)
        return result

    def certify(self, fz_id: str = "fz-1", lead: str = "lead-1", actor: str = "coord-a", sites=None) -> str:
        """A whole Erst-Zertifizierung of ``fz_id`` in KGJ 2025/26, certified in May 2026."""
        pid = self.nominate(fz_id, actor)
        self.to_development(pid, lead)
        self.at(date(2026, 3, 2))
        self.submit(pid, lead)
        self.schedule(pid)
        self.record(pid, sites=sites)
        self.sign_off(pid)
        self.at(date(2026, 5, 11))
        self.do(services.decide, "cert-2", pid, Outcome.CERTIFIED, "Alle Bereiche erfüllt")
        return pid


def build(app: Application, clock: FixedClock) -> World:
    world = World(app, clock)
    why = "Testdaten"
    with app.unit_of_work() as uow:
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


def _settings(tmp_path, url: str = "sqlite://") -> Settings:
    return Settings(database_url=url, evidence_dir=tmp_path / "belege")


def memory_world(tmp_path) -> World:
    clock = FixedClock(START)
    return build(MemoryApplication(MemoryDatabase(), _settings(tmp_path), clock), clock)


def database_world(engine, tmp_path) -> World:
    clock = FixedClock(START)
    app = Application(_settings(tmp_path, engine.url.render_as_string(hide_password=False)), clock=clock,
                      engine=engine, after_commit=(), check_schema=False)
    return build(app, clock)


@pytest.fixture
def world(tmp_path) -> World:
    """The world on the in-memory twin of the unit of work: for the rules."""
    return memory_world(tmp_path)


@pytest.fixture
def db_world(engine, tmp_path) -> World:
    """The world on a migrated database (SQLite and PostgreSQL): for what the database adds."""
    return database_world(engine, tmp_path)


def said(result) -> str:
    """What the entrypoints say about a use case's result."""
    return describe(result)


def test_world_is_consistent(world):
    counts = world.read(lambda uow: (len(uow.kitas.all()), len(uow.familienzentren.all()), len(uow.users.all())))
    assert counts == (6, 3, 10)
    assert len(world.entries("user")) == 10 and len(world.entries("kita")) == 6


def _a_bit_of_everything(world: World) -> None:
    """Use cases of every service module: a certification of fz-v and a rejection of fz-1 (each with a
    sign-off), the Verbund, the contingents, the seal's deadlines, a re-certification, a revocation."""
    rejected = world.nominate("fz-1")
    world.certify("fz-v", "lead-v", sites=("k2", "k3"))
    world.to_development(rejected)
    world.submit(rejected, passing=False)
    world.do(services.request_changes, "cert-1", rejected, "Bereich 1 nachbessern")
    world.do(services.resubmit, "lead-1", rejected, world.assessment(rejected, passing=False), "nachgebessert")
    world.schedule(rejected)
    world.record(rejected)
    world.do(services.record_verdicts, "aud-1", rejected, {"1.2": VerdictInput(Status.NICHT_ERFUELLT, "fehlt")},
             "Nachtrag")
    world.sign_off(rejected)
    world.do(services.decide, "cert-2", rejected, Outcome.NOT_CERTIFIED, "Mindestpunktzahl verfehlt")
    world.at(date(2026, 6, 1))
    world.do(services.join, "coord-a", "fz-v", "k5", "Kooperation vereinbart")
    world.do(services.leave, "coord-a", "fz-v", "k4", "Trägerwechsel")
    withdrawn = world.nominate("fz-b", "coord-b")
    world.do(services.withdraw, "coord-b", withdrawn, "Kita verzichtet")
    world.do(services.return_places, "coord-b", "ja-b", KGJ, 1, "kein weiterer Vorschlag")
    world.do(services.carry_over, "coord-b", "ja-b", KGJ, "erneut anbieten")
    world.at(date(2029, 10, 1))
    world.do(services.advance_certificates, "admin")
    world.do(services.start_recertification, "cert-1", "fz-v", "Unterlagen versandt")
    world.do(services.leave, "cert-1", "fz-v", "k3", "Schließung")


def test_the_twin_and_the_database_write_the_same_trail(engine, tmp_path):
    """The same use cases on the twin and on the database: the same audit trail, entry by entry, hashes included."""
    twin, real = memory_world(tmp_path / "twin"), database_world(engine, tmp_path / "db")
    for world in (twin, real):
        _a_bit_of_everything(world)
    on_twin, on_database = twin.entries(), real.entries()
    assert len(on_twin) == len(on_database) > 60
    for mine, theirs in zip(on_twin, on_database, strict=True):
        assert mine == theirs
    assert {"audit_visit.sign_off", "certificate.issue", "familienzentrum.update", "contingent.release",
            "procedure.resubmit", "procedure.reject", "certificate.open_recertification",
            "certificate.revoke"} <= {e.action for e in on_twin}
    assert len(twin.pool.rendered) == len(real.pool.rendered) == 2
