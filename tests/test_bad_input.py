"""Bad input and faults (issue 11): a clear German error, exit 2, nothing half-written, never a traceback.

* dates at the edges of the calendar: one accepted range (:data:`certflow.calendar.EARLIEST_DATE` ..
  :data:`~certflow.calendar.LATEST_DATE`), refused where dates enter (the command line's date type,
  ``--as-of``, ``score``'s Prüfzeitraum, the visit and the planned audit date), and the arithmetic on
  dates inside it does not overflow;
* absurd place counts: at most :data:`certflow.lifecycle.contingents.MAX_PLACES` per grant or return;
* evidence copied into the store for a submission whose commit fails: never published;
* e-mail addresses validated (``email-validator``), naming the field;
* ids people give: one syntax (:mod:`certflow.lifecycle.ids`), no ``/``, no ``..``.

The atomic output writer has its own tests (tests/test_output.py). Where a database is involved the
tests run on SQLite and PostgreSQL (``db_url``/``engine`` from db_support).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from db_support import db_url, engine, postgres_admin  # noqa: F401
from test_scheduler_support import ADMIN as SCHEDULER_ADMIN
from test_scheduler_support import seed_world
from test_services_world import db_world, world  # noqa: F401

from certflow import services
from certflow.calendar import (
    EARLIEST_DATE,
    LATEST_DATE,
    InvalidDate,
    KindergartenYear,
    contingent_calendar,
    first_certification_period,
    recertification_opens,
    recertification_period,
    term_end,
    validity_end,
)
from certflow.cli import cli
from certflow.errors import InputError
from certflow.lifecycle import Jugendamt, Refused, Role, Traeger, User
from certflow.lifecycle import contingents as domain
from certflow.lifecycle.ids import InvalidId, id_problem
from certflow.scoring.periods import windows
from certflow.services.runner import Application, ErrorKind, UseCaseError
from certflow.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "assessment-pass.yaml"
OUTSIDE = "außerhalb des zulässigen Zeitraums (01.01.1900 bis 31.12.2200)"


def invoke(*args, env=None):
    result = CliRunner(env={"COLUMNS": "200", **(env or {})}).invoke(cli, [str(a) for a in args])
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    return result


@pytest.fixture
def reminder_world(engine):  # noqa: F811
    """The reminder tests' world (tests/test_scheduler_support.py): seals, contingents, contacts."""
    seed_world(engine)
    return engine


@pytest.fixture
def admin_db(engine, db_url):  # noqa: F811
    """A migrated database with the administrator (for ``certflow --local-admin``) and one Jugendamt."""
    app = Application(Settings(database_url=db_url), engine=engine, after_commit=(), check_schema=False)
    app.run(lambda uow: services.add_user(uow, "admin", User("admin", "Ada Admin", Role.ADMIN), "Einrichtung"))
    app.run(lambda uow: services.add_jugendamt(uow, "admin", Jugendamt("ja-a", "Jugendamt A"), "Einrichtung"))
    return db_url


# --- dates -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("args", [
    ("score", EXAMPLE, "--period-start", "2025-08-01", "--period-end", "9999-12-31"),
    ("score", EXAMPLE, "--period-start", "0001-01-01", "--period-end", "2025-08-01"),
    ("procedure", "record-audit", "V-2025-001", "--date", "0001-01-01", "--as", "aud-1", "--reason", "x"),
    ("procedure", "schedule-audit", "V-2025-001", "--auditor", "aud-1", "--date", "9999-12-31", "--as", "cert-1",
     "--reason", "x"),
    ("procedure", "schedule-audit", "V-2025-001", "--auditor", "aud-1", "--date", "31.12.2201", "--as", "cert-1",
     "--reason", "x"),
])
def test_a_date_outside_the_range_is_a_usage_error(args):
    result = invoke(*args)
    assert result.exit_code == 2 and OUTSIDE in result.output


@pytest.mark.parametrize("kgj", ["9998/99", "2199/00", "1899/00"])
def test_a_kindergartenjahr_outside_the_range_is_a_usage_error_not_an_internal_error(admin_db, kgj):
    result = invoke("--local-admin", "contingent", "carry-over", "ja-a", "--kgj", kgj, "--reason", "x",
                    "--db", admin_db)
    assert result.exit_code == 2 and "Kindergartenjahr" in result.output and OUTSIDE in result.output


def test_a_period_outside_the_range_in_the_file_is_bad_input(tmp_path):
    text = EXAMPLE.read_text(encoding="utf-8").replace("period: {start: '2025-08-01', end: '2026-07-31'}",
                                                      "period: {start: '0001-01-01', end: '2026-07-31'}")
    assert "0001-01-01" in text
    (tmp_path / "alt.yaml").write_text(text, encoding="utf-8")
    result = invoke("score", tmp_path / "alt.yaml")
    assert result.exit_code == 2 and "period.start" in result.output and OUTSIDE in result.output


def test_score_works_on_the_edges_of_the_range():
    result = invoke("score", EXAMPLE, "--period-start", "1900-01-01", "--period-end", "2200-12-31", "--format",
                    "json")
    assert result.exit_code in (0, 1) and '"passed"' in result.output


@pytest.mark.parametrize("as_of", ["9999-12-31", "0001-01-01", "0001-01-01T00:30", "2201-01-01"])
@pytest.mark.parametrize("command", [("reminders", "plan"), ("reminders", "run"),
                                     ("calendar", "--jugendamt", "ja-a", "-o", "-")])
def test_as_of_outside_the_range_is_bad_input(admin_db, command, as_of):
    result = invoke("--local-admin", *command, "--as-of", as_of, "--db", admin_db)
    assert result.exit_code == 2 and f"--as-of {as_of[8:10]}.{as_of[5:7]}.{as_of[:4]} liegt {OUTSIDE}" in result.output


@pytest.mark.parametrize("as_of", [EARLIEST_DATE, LATEST_DATE])
def test_as_of_on_the_edges_works(admin_db, as_of):
    plan = invoke("--local-admin", "reminders", "plan", "--as-of", as_of, "--db", admin_db)
    feed = invoke("--local-admin", "calendar", "--jugendamt", "ja-a", "-o", "-", "--as-of", as_of, "--db", admin_db)
    assert plan.exit_code == 0 and feed.exit_code == 0 and "BEGIN:VCALENDAR" in feed.output


@pytest.mark.parametrize("day", [EARLIEST_DATE, LATEST_DATE])
def test_the_calendar_arithmetic_inside_the_range_does_not_overflow(day):
    kgj = KindergartenYear.of(day)
    assert kgj.contains(day) and kgj.next().start > day and kgj.previous().end < day
    assert term_end(day) > day and validity_end(day).month == 7
    start, end = recertification_period(validity_end(day))
    assert start < end <= validity_end(day) and recertification_opens(validity_end(day)) < start
    assert contingent_calendar(kgj).reoffered_in == kgj.next()
    assert first_certification_period(kgj) == (kgj.start, kgj.end)
    for every in ("week", "month", "quarter", "half_year", "year"):
        pieces = windows(max(EARLIEST_DATE, day - timedelta(days=400)), min(LATEST_DATE, day + timedelta(days=400)),
                         every)
        assert pieces[0][0] <= pieces[-1][1]


@pytest.mark.parametrize("day", [EARLIEST_DATE, LATEST_DATE])
def test_reminders_and_feeds_work_on_the_edges_of_the_range(reminder_world, day):
    """The reminder plan, the calendar feed and a scan on the first and the last accepted day."""
    from certflow.db import UnitOfWork

    at = datetime(day.year, day.month, day.day, 11, 0, tzinfo=UTC)
    with UnitOfWork(reminder_world, clock=lambda: at) as uow:
        preview = services.plan_preview(uow, SCHEDULER_ADMIN.id, day)
        feed = services.calendar_feed(uow, SCHEDULER_ADMIN.id, jugendamt_id="ja-1", day=day)
    assert preview.reminders is not None and feed.body.startswith(b"BEGIN:VCALENDAR")
    app = Application(Settings(), engine=reminder_world, after_commit=(), clock=lambda: at)
    done = services.catch_up(app, SCHEDULER_ADMIN.id, at)
    assert done.report is not None


def _scheduled(world, pid: str) -> None:  # noqa: F811
    world.to_development(pid)
    world.at(date(2026, 3, 2))
    world.submit(pid)


def test_a_visit_in_year_1_and_an_audit_in_9999_are_refused(db_world):  # noqa: F811
    pid = db_world.nominate()
    _scheduled(db_world, pid)
    app = db_world.app
    with pytest.raises(UseCaseError) as planned:
        app.run(lambda uow: services.schedule_audit(uow, "cert-1", pid, "aud-1", date(9999, 12, 31), "Termin"))
    assert planned.value.kind is ErrorKind.INPUT
    assert "Termin der Begehung" in "\n".join(planned.value.lines()) and OUTSIDE in "\n".join(planned.value.lines())
    assert db_world.read(lambda uow: uow.procedures.get(pid).planned_audit_date) is None
    db_world.schedule(pid)
    with pytest.raises(UseCaseError) as visited:
        app.run(lambda uow: services.record_audit(uow, "aud-1", pid, date(1, 1, 1), "Begehung"))
    assert visited.value.kind is ErrorKind.INPUT and "Tag der Begehung" in "\n".join(visited.value.lines())
    assert db_world.read(lambda uow: uow.audits.visit(pid)) is None
    assert db_world.record(pid).event == "procedure.audit_recorded"  # a date inside the range still works


def test_the_services_refuse_dates_outside_the_range_on_the_twin(world):  # noqa: F811
    pid = world.nominate()
    _scheduled(world, pid)
    with pytest.raises(InvalidDate, match="Termin der Begehung"):
        world.do(services.schedule_audit, "cert-1", pid, "aud-1", date(2201, 1, 1), "Termin")
    world.schedule(pid)
    with pytest.raises(InvalidDate, match="Tag der Begehung"):
        world.do(services.record_audit, "aud-1", pid, date(1899, 12, 31), "Begehung")


# --- places ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("places", ["99999999999999999999", "10001", "0", "-1"])
@pytest.mark.parametrize("command", ["grant", "return"])
def test_absurd_place_counts_are_usage_errors(command, places):
    result = invoke("contingent", command, "ja-a", "--kgj", "2025/26", "--places", places, "--as", "admin",
                    "--reason", "Erlass")
    assert result.exit_code == 2 and "--places" in result.output


def test_the_domain_refuses_more_places_than_the_maximum():
    empty = domain.Contingent("ja-a", KindergartenYear(2025))
    assert domain.grant(empty, domain.MAX_PLACES).granted == domain.MAX_PLACES
    for places in (domain.MAX_PLACES + 1, 10 ** 20):
        with pytest.raises(Refused, match=f"höchstens {domain.MAX_PLACES}"):
            domain.grant(empty, places)
        with pytest.raises(Refused, match=f"höchstens {domain.MAX_PLACES}"):
            domain.return_place(domain.grant(empty, 5), places)
    with pytest.raises(ValueError, match="granted"):
        domain.Contingent("ja-a", KindergartenYear(2025), granted=10 ** 20)


def test_a_grant_beyond_the_maximum_is_refused_and_nothing_changes(db_world):  # noqa: F811
    before = db_world.read(lambda uow: uow.contingents.get("ja-a", KindergartenYear(2025)))
    with pytest.raises(UseCaseError) as refused:
        db_world.app.run(lambda uow: services.grant(uow, "admin", "ja-a", KindergartenYear(2025),
                                                    99999999999999999999, "Erlass"))
    assert refused.value.kind is ErrorKind.REFUSED and f"höchstens {domain.MAX_PLACES}" in refused.value.message
    assert db_world.read(lambda uow: uow.contingents.get("ja-a", KindergartenYear(2025))) == before


# --- evidence ----------------------------------------------------------------------------------------------------


def _pdf(text: str) -> bytes:
    return b"%PDF-1.4\n%" + text.encode() + b"\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _with_evidence(world, pid: str, folder: Path):  # noqa: F811
    """The assessment of ``pid`` whose first two evidence records name real files in ``folder``."""
    assessment = world.assessment(pid)
    folder.mkdir(parents=True, exist_ok=True)
    evidence = [ev.model_copy(update={"file": None, "sha256": None}) for ev in assessment.evidence]
    for i in (0, 1):
        content = _pdf(f"Beleg {i} {pid}")
        (folder / f"beleg-{i}.pdf").write_bytes(content)
        evidence[i] = evidence[i].model_copy(update={"file": f"beleg-{i}.pdf",
                                                     "sha256": hashlib.sha256(content).hexdigest()})
    return assessment.model_copy(update={"evidence": evidence}), [hashlib.sha256(_pdf(f"Beleg {i} {pid}")).hexdigest()
                                                                 for i in (0, 1)]


def _store_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def test_evidence_of_a_submission_whose_commit_fails_is_not_left_in_the_store(db_world, tmp_path, monkeypatch):  # noqa: F811
    from sqlalchemy.exc import OperationalError

    from certflow.db import UnitOfWork
    from certflow.evidence_store import LocalEvidenceStore

    pid = db_world.nominate()
    db_world.to_development(pid)
    assessment, hashes = _with_evidence(db_world, pid, tmp_path / "belege")
    store = LocalEvidenceStore(tmp_path / "store")
    real_commit = UnitOfWork.commit

    def failing_commit(self):
        raise OperationalError("COMMIT", {}, Exception("Verbindung verloren"))

    monkeypatch.setattr(UnitOfWork, "commit", failing_commit)
    with pytest.raises(UseCaseError) as failed:
        db_world.app.run(lambda uow: services.submit(uow, "lead-1", pid, assessment, "fertig",
                                                     evidence_dir=tmp_path / "belege", evidence_store=store))
    assert failed.value.kind is ErrorKind.DATABASE
    assert _store_files(store.root) == []  # nothing published, no stray .part either
    monkeypatch.setattr(UnitOfWork, "commit", real_commit)
    assert db_world.read(lambda uow: uow.submissions.submitted(pid)) == []

    result = db_world.app.run(lambda uow: services.submit(uow, "lead-1", pid, assessment, "fertig",
                                                          evidence_dir=tmp_path / "belege", evidence_store=store))
    assert result.count == 2 and all(store.exists(h) for h in hashes)
    assert [p.name for p in _store_files(store.root)] == sorted(hashes)


def test_evidence_of_a_refused_submission_is_not_left_in_the_store(world, tmp_path):  # noqa: F811
    """The first file is fine, the second is refused by the store: neither is left in it."""
    from certflow.evidence_store import LocalEvidenceStore

    pid = world.nominate()
    world.to_development(pid)
    assessment, _ = _with_evidence(world, pid, tmp_path / "belege")
    (tmp_path / "belege" / "beleg-1.pdf").write_text("nur Text, kein PDF", encoding="utf-8")
    evidence = list(assessment.evidence)
    evidence[1] = evidence[1].model_copy(update={"sha256": None})
    store = LocalEvidenceStore(tmp_path / "store")
    with pytest.raises(Refused, match="Beleg abgelehnt: beleg-1.pdf"):
        world.do(services.submit, "lead-1", pid, assessment.model_copy(update={"evidence": evidence}), "fertig",
                 evidence_dir=tmp_path / "belege", evidence_store=store)
    assert _store_files(store.root) == []


def test_the_store_syncs_a_file_before_it_renames_it(tmp_path, monkeypatch):
    import os

    from certflow import evidence_store

    calls: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(evidence_store.os, "fsync", lambda fd: (calls.append("fsync"), real_fsync(fd))[1])
    monkeypatch.setattr(evidence_store.os, "replace", lambda a, b: (calls.append("replace"), real_replace(a, b))[1])
    stored = evidence_store.LocalEvidenceStore(tmp_path / "store").put(_pdf("x"), "x.pdf")
    assert calls.index("fsync") < calls.index("replace") and stored.size > 0


# --- e-mail addresses --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("address", ["anna at kita", "a@b", "a@@example.org", "x y@example.org", "a@example..org",
                                     "leitung@localhost", "a@example.org>", "<a@example.org>", "a@example.org, b@x.de"])
def test_an_invalid_address_is_bad_input_naming_the_field(world, address):  # noqa: F811
    with pytest.raises(InputError) as bad:
        world.do(services.set_contact, "lead-1", None, "neue Adresse", email=address)
    assert "E-Mail-Adresse: " in str(bad.value) and "ist keine E-Mail-Adresse" in str(bad.value)


def test_a_valid_address_is_kept_normalised_and_an_empty_one_clears_it(db_world):  # noqa: F811
    view = db_world.do(services.set_contact, "lead-1", None, "neue Adresse", email="  Lea.Eins@Kita-Eins.EXAMPLE ")
    assert view.email == "Lea.Eins@kita-eins.example"
    assert db_world.do(services.set_contact, "lead-1", None, "nur Posteingang", email="").email is None


# --- ids ---------------------------------------------------------------------------------------------------------


BAD_IDS = ["../x", "a/b", "..", ".versteckt", "-a", "a..b", "a b", "ä", "a\\b", "", "x" * 65]


@pytest.mark.parametrize("value", BAD_IDS)
def test_the_id_syntax(value):
    assert id_problem(value) is not None


@pytest.mark.parametrize("value", ["V-2025-001", "fz-senfkorn", "k1", "a.b_c-d", "x" * 64, "FZ-2023-001"])
def test_ids_that_are_fine(value):
    assert id_problem(value) is None


@pytest.mark.parametrize("value", ["../x", "a/b", "a..b"])
def test_ids_are_checked_where_they_are_created(world, value):  # noqa: F811
    why = "Testdaten"
    with pytest.raises(InvalidId, match="Jugendamt"):
        world.do(services.add_jugendamt, "admin", Jugendamt(value, "Neu"), why)
    with pytest.raises(InvalidId, match="Träger"):
        world.do(services.add_traeger, "admin", Traeger(value, "Neu"), why)
    with pytest.raises(InvalidId, match="Benutzer"):
        world.do(services.add_user, "admin", User(value, "Neu", Role.AUDITOR), why)
    with pytest.raises(InvalidId, match="Familienzentrum"):
        world.do(services.create_familienzentrum, "coord-a", value, "Neu", ["k5"], why)
    with pytest.raises(InvalidId, match="Verfahren"):
        world.do(services.nominate, "coord-a", "fz-1", KindergartenYear(2025), why, procedure_id=value)
    csv = f"id;name;traeger_id;jugendamt_id;strasse;plz;ort;lat;lon\n{value};Kita;tr-a;ja-a;Weg;50001;Ort;51,0;7,0\n"
    with pytest.raises(InputError, match=r"kitas\.csv:2: id: "):
        world.do(services.import_kitas, "admin", "kitas.csv", why, text=csv)


def test_a_bad_id_changes_nothing_and_is_exit_2_through_the_application(db_world):  # noqa: F811
    with pytest.raises(UseCaseError) as bad:
        db_world.app.run(lambda uow: services.add_jugendamt(uow, "admin", Jugendamt("../ja", "Neu"), "x"))
    assert bad.value.kind is ErrorKind.INPUT and "keine gültige Kennung" in "\n".join(bad.value.lines())
    assert db_world.read(lambda uow: uow.jugendaemter.find("../ja")) is None
    assert db_world.do(services.add_jugendamt, "admin", Jugendamt("ja-neu", "Neu"), "x").event == "record.created"
