"""Races between processes on SQLite and PostgreSQL: nominations and sign-offs at the same moment.

Eight worker processes (spawned once per module, each with its own engine) meet at a barrier
and then run the same use case through the application layer, 50 rounds in a row, each round
on fresh rows. Every outcome is collected: a use case that happened, a refusal (exit 3, with its
German message), or anything else (bad input or a raw database error: exit 2, a crash), which
fails the test.

* the same Familienzentrum nominated eight times at once: one procedure opens, the other seven
  get the domain's refusal naming it (the database's partial unique index on the open procedures
  is the guard; its violation is the same refusal);
* eight different Familienzentren nominated at once: eight procedures, eight distinct ids (the
  ids come from a counter row locked in the nominating transaction), never a duplicate key;
* eight seals issued to eight Familienzentren at once: eight distinct Zertifizierungsnummern;
* the same visit signed off eight times at once: one sign-off, seven identical refusals (never
  the freeze trigger's raw error).

SQLite serialises writers (``BEGIN IMMEDIATE``); PostgreSQL runs them side by side under READ
COMMITTED, which is where the defects showed. The races are ``slow`` (10 s to a minute each); the two
tests at the end check the constraint behind the nomination race without one, on both databases.
"""

from __future__ import annotations

import multiprocessing
import queue
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from certflow import services
from certflow.assessment.model import Period, Status
from certflow.calendar import KindergartenYear
from certflow.catalogue.model import Form, ProcedureKind, Variant
from certflow.lifecycle import Certificate, CertificateState, Jugendamt, Role, Traeger, User
from certflow.samples import satisfying_assessment
from certflow.services.runner import Application, UseCaseError
from certflow.services.verdicts import VerdictInput
from certflow.settings import Settings
from db_support import FixedClock, db_url, engine, postgres_admin  # noqa: F401

WORKERS = 8
ROUNDS = 50
KGJ = KindergartenYear(2025)
NOMINATED_AT = datetime(2025, 6, 2, 8, 0, tzinfo=UTC)
SUBMITTED_AT = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
VISIT = date(2026, 3, 20)
SIGNED_AT = datetime(2026, 3, 23, 9, 0, tzinfo=UTC)
DECIDED_AT = datetime(2026, 5, 11, 9, 0, tzinfo=UTC)
SPAWN = multiprocessing.get_context("spawn")


# --- in the worker processes -------------------------------------------------------------------------------------


class _FixedPool:
    """Stands in for the render pool: the "packet" names the procedure (rendering is not what races)."""

    def pdf(self, kind, data, templates_dir=None):
        return f"%PDF race {kind} {data.procedure.id}".encode(), 1


def _nominate(app: Application, fz_id: str) -> str:
    return app.run(lambda uow: services.nominate(uow, "coord-a", fz_id, KGJ, "Beschluss des JHA")).procedure.id


def _sign_off(app: Application, procedure_id: str) -> str:
    return services.sign_off(app, "aud-1", procedure_id, "Bericht fertig", pool=_FixedPool()).facts["sha256"]


def _issue(app: Application, fz_id: str) -> str:
    def issue(uow) -> str:
        number = uow.certificates.next_number("FZ-2026-")
        uow.certificates.add(Certificate(number, fz_id, DECIDED_AT.date(), date(2030, 7, 31), CertificateState.VALID),
                             actor_id="cert-1", reason="Zertifiziert")
        return number

    return app.run(issue)


ACTIONS = {"nominate": _nominate, "sign_off": _sign_off, "issue": _issue}


def _worker(barrier, tasks, results) -> None:
    """Runs in a spawned process: one task per round, after the barrier; reports the outcome."""
    from certflow.cli.session import exit_code

    apps: dict[str, Application] = {}
    while True:
        task = tasks.get()
        if task is None:
            break
        kind, url, at, argument = task
        if kind == "close":
            app = apps.pop(url, None)
            if app is not None:
                app.close()
            results.put(("closed", None))
            continue
        try:
            app = apps.get(url)
            if app is None:
                app = apps[url] = Application(Settings(database_url=url, evidence_dir=Path(argument[1])),
                                              after_commit=())
                app.engine  # noqa: B018 - connect and check the schema before the race
            app.clock = lambda at=at: at
        except BaseException as exc:  # noqa: BLE001 - reported to the test
            barrier.abort()
            results.put(("crash", repr(exc)))
            continue
        barrier.wait(timeout=120)
        try:
            results.put(("won", ACTIONS[kind](app, argument[0])))
        except UseCaseError as exc:
            results.put((f"exit {exit_code(exc)}", exc.message))
        except BaseException as exc:  # noqa: BLE001 - reported to the test
            results.put(("crash", f"{type(exc).__name__}: {exc}"))
    for app in apps.values():
        app.close()


# --- in the test process -----------------------------------------------------------------------------------------


@dataclass
class Racers:
    """Eight spawned workers, a barrier they meet at, a task queue each and one queue of outcomes."""

    processes: list
    tasks: list
    results: object
    barrier: object

    def round(self, kind: str, url: str, at: datetime, arguments: list[tuple[str, str]]) -> list[tuple[str, str]]:
        """All workers run ``kind`` at once (worker i with ``arguments[i]``); their outcomes, in any order."""
        self.barrier.reset()
        for task_queue, argument in zip(self.tasks, arguments, strict=True):
            task_queue.put((kind, url, at, argument))
        outcomes = []
        for _ in self.tasks:
            try:
                outcomes.append(self.results.get(timeout=180))
            except queue.Empty:  # pragma: no cover - a hung worker
                pytest.fail(f"a worker gave no answer in round {kind} {arguments}")
        return outcomes

    def forget(self, url: str) -> None:
        for task_queue in self.tasks:
            task_queue.put(("close", url, None, None))
        for _ in self.tasks:
            self.results.get(timeout=60)


@pytest.fixture(scope="module")
def racers():
    barrier, results = SPAWN.Barrier(WORKERS), SPAWN.Queue()
    tasks = [SPAWN.Queue() for _ in range(WORKERS)]
    processes = [SPAWN.Process(target=_worker, args=(barrier, tasks[i], results), daemon=True)
                 for i in range(WORKERS)]
    for process in processes:
        process.start()
    yield Racers(processes, tasks, results, barrier)
    for task_queue in tasks:
        task_queue.put(None)
    for process in processes:
        process.join(timeout=30)
        if process.is_alive():  # pragma: no cover
            process.kill()


@pytest.fixture
def race(racers, engine, tmp_path):
    """The workers, pointed at this test's database (they drop their connections afterwards)."""
    url = engine.url.render_as_string(hide_password=False)
    yield racers, url, str(tmp_path / "belege")
    racers.forget(url)


def _fz(n: int) -> str:
    return f"fz-{n:03d}"


def _seed(engine, families: int, *, leads: bool = False) -> None:
    """One Jugendamt with ``families`` Einzel-Familienzentren (a Kita each), 1000 places in 2025/26, the users."""
    app = Application(Settings(database_url="sqlite://"), engine=engine, after_commit=(), check_schema=False,
                      clock=FixedClock(NOMINATED_AT - timedelta(days=1)))
    why = "Testdaten"
    csv = "id;name;traeger_id;jugendamt_id;strasse;plz;ort;lat;lon\n" + "".join(
        f"k{n:03d};Kita {n};tr-a;ja-a;Weg {n};50001;Musterstadt;51,0000;7,0000\n" for n in range(families))
    with app.unit_of_work() as uow:
        services.add_user(uow, "admin", User("admin", "Ada Admin", Role.ADMIN), why)
        services.add_jugendamt(uow, "admin", Jugendamt("ja-a", "Jugendamt A"), why)
        services.add_traeger(uow, "admin", Traeger("tr-a", "Träger A"), why)
        for user in (User("coord-a", "Cora A", Role.COORDINATOR, jugendamt_id="ja-a"),
                     User("aud-1", "Anna Audit", Role.AUDITOR), User("cert-1", "Clara Zert", Role.CERTIFIER),
                     User("cert-2", "Conrad Zert", Role.CERTIFIER)):
            services.add_user(uow, "admin", user, why)
        services.import_kitas(uow, "admin", "kitas.csv", why, text=csv)
        for n in range(families):
            services.create_familienzentrum(uow, "coord-a", _fz(n), f"Familienzentrum {n}", [f"k{n:03d}"], why)
            if leads:
                services.add_user(uow, "admin", User(f"lead-{n:03d}", f"Leitung {n}", Role.KITA_LEAD,
                                                     familienzentrum_id=_fz(n)), why)
        services.grant(uow, "admin", "ja-a", KGJ, 1000, "Erlass")


def _to_visit(engine, families: int) -> list[str]:
    """A procedure per Familienzentrum, nominated, submitted, scheduled and visited (not signed off)."""
    clock = FixedClock(NOMINATED_AT)
    app = Application(Settings(database_url="sqlite://"), engine=engine, after_commit=(), check_schema=False,
                      clock=clock)
    catalogue = services.catalogue_for_key("familienzentrum-nrw@2020")
    ids = []
    for n in range(families):
        lead = f"lead-{n:03d}"
        with app.unit_of_work() as uow:
            clock.at = NOMINATED_AT
            pid = services.nominate(uow, "coord-a", _fz(n), KGJ, "Beschluss").procedure.id
            services.register(uow, lead, pid, "angemeldet")
            services.start_development(uow, lead, pid, "Entwicklungsjahr")
            procedure = uow.procedures.get(pid)
        assessment = satisfying_assessment(catalogue, Variant(ProcedureKind.ERST, Form.EINZEL),
                                           Period(start=procedure.period_start, end=procedure.period_end),
                                           name=f"Familienzentrum {n}")
        with app.unit_of_work() as uow:
            clock.at = SUBMITTED_AT
            services.submit(uow, lead, pid, assessment, "Selbstbewertung fertig")
            services.schedule_audit(uow, "cert-1", pid, "aud-1", VISIT, "Termin vereinbart")
        with app.unit_of_work() as uow:
            clock.at = datetime(VISIT.year, VISIT.month, VISIT.day, 9, 0, tzinfo=UTC)
            services.record_audit(uow, "aud-1", pid, VISIT, "Begehung vor Ort",
                                  verdicts={"1.1": VerdictInput(Status.ERFUELLT, None)})
        ids.append(pid)
    return ids


def _outcomes(outcomes: list[tuple[str, str]]) -> tuple[list[str], list[str], list[tuple[str, str]]]:
    won = [value for kind, value in outcomes if kind == "won"]
    refused = [value for kind, value in outcomes if kind == "exit 3"]
    other = [(kind, value) for kind, value in outcomes if kind not in ("won", "exit 3")]
    return won, refused, other


@pytest.mark.slow  # 10-20 s (400 nominations, and the workers' start)
def test_one_familienzentrum_nominated_by_eight_at_once_opens_one_procedure(race, engine):
    racers, url, evidence = race
    _seed(engine, ROUNDS)
    for n in range(ROUNDS):
        won, refused, other = _outcomes(racers.round("nominate", url, NOMINATED_AT, [(_fz(n), evidence)] * WORKERS))
        assert other == [], f"round {n}: {other}"
        assert len(won) == 1, f"round {n}: {won} {refused}"
        assert refused == [f"Für Familienzentrum {n} läuft bereits das Verfahren {won[0]} "
                           "(Zustand 'nominiert')"] * (WORKERS - 1), f"round {n}"
    with engine.connect() as connection:
        per_fz = connection.execute(text("SELECT familienzentrum_id, count(*) FROM procedure "
                                         "GROUP BY familienzentrum_id")).all()
        nominated = connection.execute(text("SELECT nominated FROM contingent")).scalar_one()
    assert sorted(per_fz) == [(_fz(n), 1) for n in range(ROUNDS)]
    assert nominated == ROUNDS  # the losers' places went back with their rollback


@pytest.mark.slow  # 10-20 s
def test_eight_familienzentren_nominated_at_once_get_distinct_ids(race, engine):
    racers, url, evidence = race
    _seed(engine, ROUNDS * WORKERS)
    ids: list[str] = []
    for n in range(ROUNDS):
        fzs = [(_fz(n * WORKERS + i), evidence) for i in range(WORKERS)]
        won, refused, other = _outcomes(racers.round("nominate", url, NOMINATED_AT, fzs))
        assert (other, refused) == ([], []), f"round {n}"
        assert len(set(won)) == WORKERS, f"round {n}: {won}"
        ids.extend(won)
    assert sorted(ids) == [f"V-2025-{i:03d}" for i in range(1, ROUNDS * WORKERS + 1)]


@pytest.mark.slow  # builds 50 visited procedures; about 20 s on SQLite, a minute on PostgreSQL
def test_one_visit_signed_off_by_eight_at_once_is_signed_off_once(race, engine):
    racers, url, evidence = race
    _seed(engine, ROUNDS, leads=True)
    ids = _to_visit(engine, ROUNDS)
    for n, pid in enumerate(ids):
        won, refused, other = _outcomes(racers.round("sign_off", url, SIGNED_AT, [(pid, evidence)] * WORKERS))
        assert other == [], f"round {n}: {other}"
        assert len(won) == 1, f"round {n}: {won} {refused}"
        assert refused == [f"Die Begehung im Verfahren {pid} wurde am 23.03.2026 vom Auditor abgezeichnet; "
                           "ihre Bewertungen können nicht mehr geändert werden"] * (WORKERS - 1), f"round {n}"
    with engine.connect() as connection:
        signed = connection.execute(text("SELECT count(*) FROM audit_visit WHERE signed_off_at IS NOT NULL")).scalar()
        entries = connection.execute(text("SELECT count(*) FROM audit_log WHERE action = 'audit_visit.sign_off'")
                                     ).scalar()
    assert signed == entries == ROUNDS


@pytest.mark.slow  # 400 seals; 5-15 s
def test_eight_seals_issued_at_once_get_distinct_numbers(race, engine):
    """Certificate numbers come from the same kind of counter as procedure ids (each worker issues a seal
    to another Familienzentrum; the decision's use case around it is not what races)."""
    racers, url, evidence = race
    _seed(engine, ROUNDS * WORKERS)
    numbers: list[str] = []
    for n in range(ROUNDS):
        fzs = [(_fz(n * WORKERS + i), evidence) for i in range(WORKERS)]
        won, refused, other = _outcomes(racers.round("issue", url, DECIDED_AT, fzs))
        assert (other, refused) == ([], []), f"round {n}"
        numbers.extend(won)
    assert sorted(numbers) == [f"FZ-2026-{i:03d}" for i in range(1, ROUNDS * WORKERS + 1)]


# --- the constraint behind the nomination race, deterministic ----------------------------------------------------


def test_the_database_refuses_a_second_open_procedure_even_past_the_domains_guard(engine):
    """On SQLite the race never reaches the index (writers queue up); here the guard is skipped on purpose."""
    from dataclasses import replace

    from certflow.lifecycle import Refused, StateChange

    _seed(engine, 1)
    app = Application(Settings(database_url="sqlite://"), engine=engine, after_commit=(), check_schema=False,
                      clock=FixedClock(NOMINATED_AT))
    first = app.run(lambda uow: services.nominate(uow, "coord-a", _fz(0), KGJ, "Beschluss")).procedure

    def add(uow, pid: str, state: str) -> None:
        change = StateChange("procedure", pid, None, state, "nominate", "coord-a", uow.now(), "am Wächter vorbei")
        uow.procedures.add(replace(first, id=pid, state=state, version=0), change)

    with pytest.raises(Refused, match=f"^Für Familienzentrum 0 läuft bereits das Verfahren {first.id} "
                                      r"\(Zustand 'nominiert'\)$"), app.unit_of_work() as uow:
        add(uow, "V-2025-050", "registered")
    with pytest.raises(Refused, match=f"^Das Verfahren {first.id} gibt es bereits$"), app.unit_of_work() as uow:
        add(uow, first.id, "withdrawn")
    with app.unit_of_work() as uow:  # closed procedures are not counted: only the open ones are unique
        add(uow, "V-2025-051", "withdrawn")
        assert uow.procedures.next_id("V-2025-") == uow.procedures.next_id("V-2025-") == "V-2025-052"


def test_migration_0006_names_the_open_procedures_it_cannot_make_unique(db_url):
    from click.testing import CliRunner

    from certflow.cli.database import db
    from certflow.db import UnitOfWork, current_revision, downgrade, make_engine, upgrade
    from db_support import seed

    database = make_engine(db_url)
    try:
        upgrade(database)  # the rows are written by today's model, then the schema goes back to before 0006
        with UnitOfWork(database) as uow:
            seed(uow)
        downgrade(database, "0005")
        with database.begin() as connection:
            for pid in ("V-2025-001", "V-2025-002"):
                connection.execute(text(
                    "INSERT INTO procedure (id, familienzentrum_id, kind, catalogue_key, kgj, period_start, "
                    "period_end, state, version) VALUES (:id, 'fz-1', 'erst', 'familienzentrum-nrw@2020', 2025, "
                    "'2025-08-01', '2026-07-31', 'nominated', 0)"), {"id": pid})
        result = CliRunner().invoke(db, ["upgrade", "--url", db_url])
        assert (result.exit_code, result.output) == (
            2, "Fehler beim Migrieren: Migration 0006 nicht möglich: mehrere offene Verfahren je Familienzentrum "
               "(fz-1: V-2025-001, V-2025-002). Bitte zuerst alle bis auf eines zurückziehen.\n")
        assert current_revision(database) == "0005"
    finally:
        database.dispose()
