"""The read use cases filter and page in SQL: same results as the scope rules say, constant query counts.

* The demo (``demo_db``), copied onto SQLite and PostgreSQL with a few users at the edges of the
  rules added: ``overview``, ``seal_numbers`` and ``packet_procedures`` give for every user exactly
  what the rules of :mod:`certflow.lifecycle.access` applied in Python give (the reference
  implementations below are the services as they were before they filtered in SQL).
* Paging: pages put together are the whole list, in a stable order.
* The number of SQL statements does not grow with the number of Familienzentren and procedures
  (3 against 30), and ``packet_procedures`` never reads a revision's JSON.
"""

from __future__ import annotations

import contextlib
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy.pool import NullPool

from certflow import services
from certflow.calendar import KindergartenYear
from certflow.catalogue.model import Form, ProcedureKind
from certflow.db import UnitOfWork, make_engine, upgrade
from certflow.demo_data import USERS as DEMO_USERS
from certflow.errors import InputError, Problem
from certflow.lifecycle import Refused
from certflow.lifecycle.access import may_see_familienzentrum, may_see_procedure
from certflow.lifecycle.deadlines import deadlines, next_deadline
from certflow.lifecycle.entities import (
    PROCEDURE_FINAL_STATES, Certificate, CertificateState, Familienzentrum, Jugendamt, Kita, Procedure,
    ProcedureState, Role, SubmissionSnapshot, Traeger, User,
)
from certflow.lifecycle.machinery import StateChange, local_date
from certflow.lifecycle.procedure_machine import PROCEDURE_MACHINE
from certflow.lifecycle.snapshot import sha256_hex
from certflow.services.actors import resolve
from certflow.services.common import LIVE_CERTIFICATE, live_certificate
from certflow.services.queries import OverviewRow
from db_support import FixedClock, copy_rows, db_url, engine, pg_schema, postgres_admin, sent_statements  # noqa: F401

DAYS = [date(2026, 3, 10), date(2027, 9, 1)]
EDGE_USERS = [
    User("koord-ohne-amt", "Kora Ohneamt", Role.COORDINATOR),                 # no Jugendamt: sees nothing
    User("leitung-ohne-fz", "Lutz Ohnefz", Role.KITA_LEAD),                   # no Familienzentrum: sees nothing
    User("auditor-ohne", "Alma Ohneauftrag", Role.AUDITOR),                   # nothing assigned
]
USER_IDS = [u.id for u in DEMO_USERS] + [u.id for u in EDGE_USERS] + ["niemand"]
JUGENDAEMTER = ["ja-wiesental", "ja-hellbach", "ja-gibtesnicht"]


# -- the reference: the rules applied in Python to whole tables (the services before they used SQL) --

def _state_since(uow) -> dict[str, datetime]:
    since = {}
    for entry in uow.audit_log.entries_for("procedure"):
        if entry.to_state is not None and (entry.from_state is None or entry.from_state != entry.to_state):
            since[entry.subject_id] = entry.at
    return since


def _current(procedures):
    open_ = [p for p in procedures if ProcedureState(p.state) not in PROCEDURE_FINAL_STATES]
    return (open_ or procedures or [None])[-1]


def reference_overview(uow, actor_id, on):
    actor = resolve(uow, actor_id)
    jugendaemter = {j.id: j.name for j in uow.jugendaemter.all()}
    procedures, certificates = {}, {}
    for p in uow.procedures.all():
        procedures.setdefault(p.familienzentrum_id, []).append(p)
    for c in uow.certificates.all():
        certificates.setdefault(c.familienzentrum_id, []).append(c)
    since = _state_since(uow)
    rows = []
    for fz in uow.familienzentren.all():
        own = procedures.get(fz.id, [])
        if not may_see_familienzentrum(actor, fz, own):
            continue
        current = _current([p for p in own if may_see_procedure(actor, p, fz)])
        certs = certificates.get(fz.id, [])
        seal = live_certificate(certs) or (max(certs, key=lambda c: c.issued) if certs else None)
        pending = []
        if current is not None:
            entered = since.get(current.id)
            pending.append((current, local_date(entered) if entered else None, current.planned_audit_date))
        live = [c for c in certs if CertificateState(c.state) in LIVE_CERTIFICATE]
        rows.append(OverviewRow(
            familienzentrum_id=fz.id, name=fz.name, jugendamt=jugendaemter.get(fz.jugendamt_id, fz.jugendamt_id),
            form=fz.form, members=len(fz.member_kita_ids),
            procedure_id=current.id if current else None, procedure_kind=current.kind if current else None,
            kgj=current.kgj if current else None, state=ProcedureState(current.state) if current else None,
            state_label=PROCEDURE_MACHINE.state_label(ProcedureState(current.state).value) if current else "–",
            next_deadline=next_deadline(deadlines(pending, live), on), certificate_number=seal.number if seal else None,
            certificate_state=CertificateState(seal.state) if seal else None,
            seal_issued=seal.issued if seal else None, seal_valid_until=seal.valid_until if seal else None,
        ))
    return rows


def reference_seal_numbers(uow, actor_id):
    actor = resolve(uow, actor_id)
    procedures = {}
    for p in uow.procedures.all():
        procedures.setdefault(p.familienzentrum_id, []).append(p)
    familienzentren = {fz.id: fz for fz in uow.familienzentren.all()}
    return sorted({c.number for c in uow.certificates.all()
                   if may_see_familienzentrum(actor, familienzentren[c.familienzentrum_id],
                                              procedures.get(c.familienzentrum_id, []))})


def reference_packet_procedures(uow, actor_id, jugendamt_id, decided=False):
    actor = resolve(uow, actor_id)
    if uow.jugendaemter.find(jugendamt_id) is None:
        raise InputError([Problem(jugendamt_id, None, (), "ein Jugendamt mit dieser Kennung gibt es nicht")])
    familienzentren = {fz.id: fz for fz in uow.familienzentren.all(jugendamt_id)}
    if (actor.role is Role.COORDINATOR and actor.jugendamt_id != jugendamt_id
            or actor.role is Role.KITA_LEAD and actor.familienzentrum_id not in familienzentren):
        raise Refused(f"Kein Zugriff: {actor.name} ({actor.role.label}) darf die Verfahren des Jugendamts "
                      f"{jugendamt_id} nicht sehen")
    return [p.id for p in uow.procedures.all()
            if p.familienzentrum_id in familienzentren
            and (not decided or ProcedureState(p.state) in (ProcedureState.CERTIFIED, ProcedureState.NOT_CERTIFIED))
            and may_see_procedure(actor, p, familienzentren[p.familienzentrum_id])
            and uow.submissions.latest_submitted(p.id) is not None]


def outcome(engine, action, *args, **kwargs):
    """What a read gives: its value, or the kind and German text of its refusal or bad input."""
    with UnitOfWork(engine, clock=FixedClock(datetime(2026, 3, 10, 9, 0, tzinfo=timezone.utc))) as uow:
        try:
            return "ok", action(uow, *args, **kwargs)
        except Refused as exc:
            return "refused", exc.message
        except InputError as exc:
            return "input", [str(p) for p in exc.problems]


# -- the demo on both databases --

@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def demo(request, demo_db, tmp_path_factory):
    """The demo database on SQLite or PostgreSQL, with :data:`EDGE_USERS` added (read only from here on)."""
    with contextlib.ExitStack() as stack:
        if request.param == "sqlite":
            engine = make_engine(f"sqlite:///{demo_db.copy(tmp_path_factory.mktemp('demo-sql') / 'demo.sqlite')}")
        else:
            url = stack.enter_context(pg_schema(request.getfixturevalue("postgres_admin")))
            engine = make_engine(url, poolclass=NullPool)
            upgrade(engine)
            source = make_engine(f"sqlite:///{demo_db.db}")
            try:
                copy_rows(source, engine)
            finally:
                source.dispose()
        with UnitOfWork(engine) as uow:
            for user in EDGE_USERS:
                uow.users.add(user, actor_id="admin", reason="Randfälle der Sichtbarkeit")
        yield engine
        engine.dispose()


def test_the_copy_is_the_demo(demo):
    ok, rows = outcome(demo, services.overview, "admin", DAYS[0])
    assert ok == "ok" and len(rows) == 10
    assert outcome(demo, services.packet_procedures, "admin", "ja-hellbach") == (
        "ok", ["V-2020-002", "V-2022-001", "V-2024-002", "V-2025-004", "V-2025-006"])


@pytest.mark.parametrize("day", DAYS)
def test_overview_is_what_the_rules_say_for_every_user(demo, day):
    seen = {}
    for user in USER_IDS:
        got = outcome(demo, services.overview, user, day)
        assert got == outcome(demo, reference_overview, user, day), user
        seen[user] = [row.familienzentrum_id for row in got[1]] if got[0] == "ok" else got
    assert len(seen["admin"]) == len(seen["zert-1"]) == 10
    assert seen["koord-wiesental"] == ["fz-kunterbunt", "fz-muehlenbach", "fz-pusteblume", "fz-schlossgarten",
                                       "fz-sonnenblume"]
    assert seen["leitung-senfkorn"] == ["fz-senfkorn"]
    assert seen["auditor-2"] and set(seen["auditor-2"]) < set(seen["admin"])
    assert seen["koord-ohne-amt"] == seen["leitung-ohne-fz"] == seen["auditor-ohne"] == []
    assert seen["niemand"] == ("refused", "Unbekannter Benutzer 'niemand'")


def test_seal_numbers_are_what_the_rules_say_for_every_user(demo):
    for user in USER_IDS:
        assert outcome(demo, services.seal_numbers, user) == outcome(demo, reference_seal_numbers, user), user
    assert outcome(demo, services.seal_numbers, "admin") == ("ok", ["FZ-2021-001", "FZ-2021-002", "FZ-2023-001"])


@pytest.mark.parametrize("decided", [False, True])
def test_packet_procedures_are_what_the_rules_say_for_every_user(demo, decided):
    answers = set()
    for user in USER_IDS:
        for jugendamt in JUGENDAEMTER:
            got = outcome(demo, services.packet_procedures, user, jugendamt, decided=decided)
            assert got == outcome(demo, reference_packet_procedures, user, jugendamt, decided), (user, jugendamt)
            answers.add(got[0])
    assert answers == {"ok", "refused", "input"}


def test_pages_put_together_are_the_whole_list(demo):
    whole = outcome(demo, services.overview, "admin", DAYS[0])[1]
    pages = [outcome(demo, services.overview, "admin", DAYS[0], limit=3, offset=start)[1] for start in range(0, 12, 3)]
    assert [len(page) for page in pages] == [3, 3, 3, 1]
    assert [row for page in pages for row in page] == whole
    assert [row.familienzentrum_id for row in whole] == sorted(row.familienzentrum_id for row in whole)
    assert outcome(demo, services.overview, "koord-hellbach", DAYS[0], limit=2, offset=1)[1] == \
        outcome(demo, services.overview, "koord-hellbach", DAYS[0])[1][1:3]
    assert outcome(demo, services.overview, "admin", DAYS[0], limit=0) == ("ok", [])
    assert outcome(demo, services.overview, "admin", DAYS[0], offset=50) == ("ok", [])

    numbers = outcome(demo, services.seal_numbers, "admin")[1]
    assert outcome(demo, services.seal_numbers, "admin", limit=2)[1] + \
        outcome(demo, services.seal_numbers, "admin", limit=2, offset=2)[1] == numbers


@pytest.mark.parametrize("page, problems", [
    ({"limit": -1}, ["limit: eine ganze Zahl ab 0 erwartet, nicht -1"]),
    ({"offset": -2, "limit": "zehn"}, ["limit: eine ganze Zahl ab 0 erwartet, nicht 'zehn'",
                                       "offset: eine ganze Zahl ab 0 erwartet, nicht -2"]),
])
def test_a_bad_page_is_bad_input(demo, page, problems):
    assert outcome(demo, services.overview, "admin", DAYS[0], **page) == ("input", problems)
    assert outcome(demo, services.seal_numbers, "admin", **page) == ("input", problems)


# -- query counts: 3 Familienzentren against 30 --

START = datetime(2025, 9, 1, 8, 0, tzinfo=timezone.utc)
BASE_USERS = [
    User("admin", "Ada Admin", Role.ADMIN),
    User("zert", "Zora Zert", Role.CERTIFIER),
    User("koord", "Kai Koord", Role.COORDINATOR, jugendamt_id="ja-a"),
    User("aud", "Anna Audit", Role.AUDITOR),
]
READERS = ["admin", "zert", "koord", "aud", "leitung-000"]


def _grow(engine, clock: FixedClock, start: int, stop: int) -> None:
    """Familienzentren ``start`` … ``stop - 1`` of Jugendamt A, each with a lead, a decided procedure of
    2021 and an open one of 2025 (both with a submitted self-assessment; every other one assigned to
    the auditor) and a seal."""
    with UnitOfWork(engine, clock=clock) as uow:
        by, why = "admin", "Testdaten"
        if start == 0:
            uow.jugendaemter.add(Jugendamt("ja-a", "Jugendamt A"), actor_id=by, reason=why)
            uow.jugendaemter.add(Jugendamt("ja-b", "Jugendamt B"), actor_id=by, reason=why)
            uow.traeger.add(Traeger("tr", "Träger"), actor_id=by, reason=why)
            for user in BASE_USERS:
                uow.users.add(user, actor_id=by, reason=why)
        for i in range(start, stop):
            kita, fz, lead = f"k{i:03d}", f"fz-{i:03d}", f"leitung-{i:03d}"
            uow.kitas.add(Kita(kita, f"Kita {i}", "tr", "ja-a", f"Weg {i}", "50000", "Stadt", 51.0, 7.0),
                          actor_id=by, reason=why)
            uow.familienzentren.add(Familienzentrum(fz, f"Familienzentrum {i}", Form.EINZEL, (kita,), kita, "ja-a"),
                                    actor_id=by, reason=why)
            uow.users.add(User(lead, f"Leitung {i}", Role.KITA_LEAD, familienzentrum_id=fz), actor_id=by, reason=why)
            for year, state in ((2021, ProcedureState.CERTIFIED), (2025, ProcedureState.SUBMITTED)):
                pid = f"V-{year}-{i:03d}"
                procedure = Procedure(pid, fz, ProcedureKind.ERST, "familienzentrum-nrw@2020", KindergartenYear(year),
                                      date(year, 8, 1), date(year + 1, 7, 31), state=state,
                                      auditor_id="aud" if i % 2 == 0 else None, submitted_revision=1)
                uow.procedures.add(procedure, StateChange("procedure", pid, None, state.value, "nominate", by,
                                                          clock(), why))
                json = '{"answers":{}}'
                uow.submissions.add_snapshot(SubmissionSnapshot(pid, 1, sha256_hex(json), json, clock(), lead, True))
            uow.certificates.add(Certificate(f"FZ-2022-{i:03d}", fz, date(2022, 6, 1), date(2026, 7, 31)),
                                 actor_id=by, reason=why)
        clock.advance(hours=1)


def _statements(engine, action, *args, **kwargs) -> tuple[object, list[str]]:
    """What ``action`` returns and the SQL statements its unit of work sent."""
    with sent_statements(engine) as sent, UnitOfWork(engine, clock=lambda: START + timedelta(days=200)) as uow:
        result = action(uow, *args, **kwargs)
    return result, sent


READS = {
    **{f"overview as {u}": (services.overview, (u, date(2026, 3, 10)), {}) for u in READERS},
    **{f"overview page as {u}": (services.overview, (u, date(2026, 3, 10)), {"limit": 2, "offset": 1})
       for u in READERS},
    **{f"seal_numbers as {u}": (services.seal_numbers, (u,), {}) for u in READERS},
    **{f"packet_procedures as {u}": (services.packet_procedures, (u, "ja-a"), {}) for u in READERS},
    **{f"decided packet_procedures as {u}": (services.packet_procedures, (u, "ja-a"), {"decided": True})
       for u in READERS},
}


def test_query_counts_do_not_grow_with_the_data(engine):
    clock = FixedClock(START)
    _grow(engine, clock, 0, 3)
    small = {name: _statements(engine, action, *args, **kw) for name, (action, args, kw) in READS.items()}
    _grow(engine, clock, 3, 30)
    large = {name: _statements(engine, action, *args, **kw) for name, (action, args, kw) in READS.items()}

    assert {name: len(sent) for name, (_, sent) in large.items()} == \
        {name: len(sent) for name, (_, sent) in small.items()}
    assert max(len(sent) for _, sent in large.values()) <= 9
    # the data did grow, and each reader sees their share of it
    assert (len(small["overview as admin"][0]), len(large["overview as admin"][0])) == (3, 30)
    assert (len(small["overview as aud"][0]), len(large["overview as aud"][0])) == (2, 15)
    assert len(large["overview as leitung-000"][0]) == 1
    assert len(large["overview page as koord"][0]) == 2
    assert (len(small["seal_numbers as zert"][0]), len(large["seal_numbers as zert"][0])) == (3, 30)
    assert (len(small["packet_procedures as koord"][0]), len(large["packet_procedures as koord"][0])) == (6, 60)
    assert len(large["packet_procedures as aud"][0]) == 30
    assert len(large["decided packet_procedures as admin"][0]) == 30
    assert large["packet_procedures as leitung-000"][0] == ["V-2021-000", "V-2025-000"]


def test_packet_procedures_never_read_a_revisions_json(engine):
    clock = FixedClock(START)
    _grow(engine, clock, 0, 3)
    ids, sent = _statements(engine, services.packet_procedures, "admin", "ja-a")
    assert ids == ["V-2021-000", "V-2021-001", "V-2021-002", "V-2025-000", "V-2025-001", "V-2025-002"]
    assert any("EXISTS" in statement.upper() for statement in sent)
    assert not any("canonical_json" in statement for statement in sent)
