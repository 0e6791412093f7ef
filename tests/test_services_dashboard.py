"""The coordinator's dashboard and list of Familienzentren, on SQLite and PostgreSQL: the figures as the rules
say, the filters, the scopes, a fixed number of queries whatever the size, and the dashboard's actions.

The world (:func:`build_world`), as of 1 September 2025 (KGJ 2025/26), Jugendamt A:

* fz-1 Einzel (Musterstadt): certified 2021, seal FZ-2022-001 valid until 31.07.2026 (lapses within a year),
  its re-certification V-2025-001 registered;
* fz-2 Einzel (Musterstadt): nominated (V-2025-002), no seal;
* fz-3 Verbund (Nebenort, two Kitas): certified, seal FZ-2023-003 valid until 31.07.2027;
* fz-4 Einzel (Musterstadt): re-certification refused, seal FZ-2020-004 expired;
* fz-5 Einzel (Musterstadt): nothing yet;

Jugendamt B: fz-9 (Anderswo) with a seal lapsing in 2026 (never shown to A). Contingents of A: 2024/25 two
granted, one used, one returned; 2025/26 three granted, one used.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from db_support import FixedClock, db_url, engine, postgres_admin  # noqa: F401
from sqlalchemy import event, func, select

from certflow.calendar import KindergartenYear
from certflow.catalogue.model import Form, ProcedureKind
from certflow.db import UnitOfWork
from certflow.db.tables import AuditLogRow
from certflow.errors import InputError
from certflow.lifecycle import Refused
from certflow.lifecycle.contingents import Contingent
from certflow.lifecycle.entities import (
    Certificate,
    CertificateState,
    Familienzentrum,
    Jugendamt,
    Kita,
    Procedure,
    ProcedureState,
    Role,
    SubmissionSnapshot,
    Traeger,
    User,
)
from certflow.lifecycle.machinery import StateChange
from certflow.lifecycle.snapshot import sha256_hex
from certflow.services import dashboard as board
from certflow.services.dashboard import FamilienzentrumFilter

START = datetime(2025, 9, 1, 8, 0, tzinfo=UTC)
DAY = date(2025, 9, 1)
BY, WHY = "admin", "Testdaten"
USERS = [
    User("admin", "Ada Admin", Role.ADMIN),
    User("zert", "Zora Zert", Role.CERTIFIER),
    User("koord-a", "Kai Koord", Role.COORDINATOR, jugendamt_id="ja-a"),
    User("koord-b", "Berta Koord", Role.COORDINATOR, jugendamt_id="ja-b"),
    User("koord-ohne", "Olaf Ohneamt", Role.COORDINATOR),
    User("aud", "Anna Audit", Role.AUDITOR),
    User("leitung-1", "Lea Leitung", Role.KITA_LEAD, familienzentrum_id="fz-1"),
]


def _procedure(uow, pid: str, fz: str, year: int, state: ProcedureState, kind=ProcedureKind.ERST, *,
               submitted: bool = False, planned: date | None = None) -> None:
    procedure = Procedure(pid, fz, kind, "familienzentrum-nrw@2020", KindergartenYear(year), date(year, 8, 1),
                          date(year + 1, 7, 31), state=state, submitted_revision=1 if submitted else None,
                          planned_audit_date=planned)
    uow.procedures.add(procedure, StateChange("procedure", pid, None, state.value, "nominate", BY, START, WHY))
    if submitted:
        json = '{"answers":{}}'
        uow.submissions.add_snapshot(SubmissionSnapshot(pid, 1, sha256_hex(json), json, START, BY, True))


def build_world(db, *, extra: int = 0) -> None:
    """The world of the module docstring; ``extra`` more Familienzentren in A, each with a procedure and a seal."""
    with UnitOfWork(db, clock=FixedClock(START)) as uow:
        for ja in (Jugendamt("ja-a", "Jugendamt Musterkreis"), Jugendamt("ja-b", "Jugendamt Anderswo")):
            uow.jugendaemter.add(ja, actor_id=BY, reason=WHY)
        uow.traeger.add(Traeger("tr", "Träger e. V."), actor_id=BY, reason=WHY)
        towns = {"k1": "Musterstadt", "k2": "Musterstadt", "k3": "Nebenort", "k4": "Nebenort", "k5": "Musterstadt",
                 "k6": "Musterstadt", "k9": "Anderswo"}
        for kita, town in towns.items():
            ja = "ja-b" if kita == "k9" else "ja-a"
            uow.kitas.add(Kita(kita, f"Kita {kita}", "tr", ja, "Weg 1", "50000", town, 51.0, 7.0), actor_id=BY,
                          reason=WHY)
        fzs = [("fz-1", "Familienzentrum Eins", Form.EINZEL, ("k1",), "ja-a", "FZ-2022-001"),
               ("fz-2", "Familienzentrum Zwei", Form.EINZEL, ("k2",), "ja-a", None),
               ("fz-3", "Familienzentrum Drei", Form.VERBUND, ("k3", "k4"), "ja-a", "FZ-2023-003"),
               ("fz-4", "Familienzentrum Vier", Form.EINZEL, ("k5",), "ja-a", None),
               ("fz-5", "Familienzentrum Fünf", Form.EINZEL, ("k6",), "ja-a", None),
               ("fz-9", "Familienzentrum Neun", Form.EINZEL, ("k9",), "ja-b", "FZ-2022-009")]
        for fz_id, name, form, members, ja, number in fzs:
            uow.familienzentren.add(Familienzentrum(fz_id, name, form, members, members[0], ja, number),
                                    actor_id=BY, reason=WHY)
        for user in USERS:
            uow.users.add(user, actor_id=BY, reason=WHY)
        _procedure(uow, "V-2021-001", "fz-1", 2021, ProcedureState.CERTIFIED, submitted=True, planned=date(2022, 3, 1))
        _procedure(uow, "V-2025-001", "fz-1", 2025, ProcedureState.REGISTERED, ProcedureKind.RE)
        _procedure(uow, "V-2025-002", "fz-2", 2025, ProcedureState.NOMINATED)
        _procedure(uow, "V-2022-003", "fz-3", 2022, ProcedureState.CERTIFIED, submitted=True)
        _procedure(uow, "V-2019-004", "fz-4", 2019, ProcedureState.CERTIFIED, submitted=True)
        _procedure(uow, "V-2023-004", "fz-4", 2023, ProcedureState.NOT_CERTIFIED, ProcedureKind.RE, submitted=True)
        _procedure(uow, "V-2021-009", "fz-9", 2021, ProcedureState.CERTIFIED, submitted=True)
        seals = [("FZ-2022-001", "fz-1", date(2022, 5, 1), date(2026, 7, 31), CertificateState.VALID),
                 ("FZ-2023-003", "fz-3", date(2023, 5, 1), date(2027, 7, 31), CertificateState.VALID),
                 ("FZ-2020-004", "fz-4", date(2020, 5, 1), date(2024, 7, 31), CertificateState.EXPIRED),
                 ("FZ-2022-009", "fz-9", date(2022, 5, 1), date(2026, 7, 31), CertificateState.RECERTIFICATION_DUE)]
        for number, fz_id, issued, until, state in seals:
            uow.certificates.add(Certificate(number, fz_id, issued, until, state), actor_id=BY, reason=WHY)
        uow.contingents.add(Contingent("ja-a", KindergartenYear(2024), granted=2, nominated=1, returned=1),
                            actor_id=BY, reason=WHY)
        uow.contingents.add(Contingent("ja-a", KindergartenYear(2025), granted=3, nominated=1), actor_id=BY,
                            reason=WHY)
        uow.contingents.add(Contingent("ja-b", KindergartenYear(2025), granted=1), actor_id=BY, reason=WHY)
        grow(uow, 0, extra)


def grow(uow, start: int, stop: int) -> None:
    """Familienzentren x{start}…x{stop - 1} of A, each with a Kita, a submitted procedure and a live seal."""
    for i in range(start, stop):
        kita, fz_id = f"kx{i:03d}", f"fz-x{i:03d}"
        uow.kitas.add(Kita(kita, f"Kita {i}", "tr", "ja-a", "Weg 2", "50000", f"Ort {i % 4}", 51.0, 7.0),
                      actor_id=BY, reason=WHY)
        uow.familienzentren.add(Familienzentrum(fz_id, f"Familienzentrum X{i}", Form.EINZEL, (kita,), kita, "ja-a",
                                                f"FZ-2022-X{i:03d}"), actor_id=BY, reason=WHY)
        _procedure(uow, f"V-2021-X{i:03d}", fz_id, 2021, ProcedureState.CERTIFIED, submitted=True)
        _procedure(uow, f"V-2025-X{i:03d}", fz_id, 2025, ProcedureState.REGISTERED, ProcedureKind.RE)
        uow.certificates.add(Certificate(f"FZ-2022-X{i:03d}", fz_id, date(2022, 5, 1), date(2026, 7, 31)),
                             actor_id=BY, reason=WHY)


@pytest.fixture
def world(engine):  # noqa: F811 - the fixture of db_support
    build_world(engine)
    return engine


def _run(db, action, *args, **kwargs):
    with UnitOfWork(db, clock=FixedClock(START)) as uow:
        return action(uow, *args, **kwargs)


def _audit_count(db) -> int:
    with db.connect() as connection:
        return connection.execute(select(func.count()).select_from(AuditLogRow)).scalar_one()


# -- the dashboard ------------------------------------------------------------------------------------------------


def test_the_dashboard_shows_the_jugendamt_as_the_rules_say(world):
    seen = _run(world, board.dashboard, "koord-a")
    assert (seen.jugendamt_id, seen.jugendamt, seen.day, seen.lapse_until) == (
        "ja-a", "Jugendamt Musterkreis", DAY, date(2026, 9, 1))
    assert seen.familienzentren == 5
    assert seen.seals == ((CertificateState.VALID, 2), (CertificateState.EXPIRED, 1), (None, 2))
    (lapsing,) = seen.lapsing  # fz-9 lapses too, but belongs to B
    assert (lapsing.familienzentrum_id, lapsing.number, lapsing.valid_until, lapsing.recertification_id,
            lapsing.recertification_state) == ("fz-1", "FZ-2022-001", date(2026, 7, 31), "V-2025-001",
                                               ProcedureState.REGISTERED)
    assert seen.procedures == ((ProcedureState.NOMINATED, 1), (ProcedureState.REGISTERED, 1),
                               (ProcedureState.CERTIFIED, 3), (ProcedureState.NOT_CERTIFIED, 1))
    assert [(str(c.kgj), c.granted, c.nominated, c.returned, c.free) for c in seen.contingents] == [
        ("2024/25", 2, 1, 1, 0), ("2025/26", 3, 1, 0, 2)]
    assert seen.candidates == (("fz-5", "Familienzentrum Fünf"), ("fz-4", "Familienzentrum Vier"))
    assert seen.packets == 4
    assert [str(y) for y in seen.nomination_years] == ["2025/26"]
    assert [str(y) for y in seen.returnable_years] == ["2025/26"]
    assert [str(y) for y in seen.carryable_years] == ["2024/25"]


def test_the_other_jugendamt_sees_only_its_own(world):
    seen = _run(world, board.dashboard, "koord-b")
    assert seen.jugendamt_id == "ja-b" and seen.familienzentren == 1
    assert seen.seals == ((CertificateState.RECERTIFICATION_DUE, 1),)
    assert [s.familienzentrum_id for s in seen.lapsing] == ["fz-9"] and seen.lapsing[0].recertification_id is None
    assert seen.candidates == () and seen.packets == 1
    assert _run(world, board.dashboard, "zert", jugendamt_id="ja-b") == seen
    assert _run(world, board.dashboard, "admin", jugendamt_id="ja-b") == seen


@pytest.mark.parametrize("on, lapsing", [
    (date(2025, 7, 31), ["fz-1"]),        # valid until exactly a year later: included
    (date(2025, 8, 1), ["fz-1"]),
    (date(2026, 7, 30), ["fz-1"]),
    (date(2026, 7, 31), ["fz-1", "fz-3"]),  # fz-1's last day of validity; fz-3's exactly a year later
    (date(2026, 8, 1), ["fz-3"]),           # the day after: fz-1 lapsed, no longer coming
    (date(2027, 8, 1), []),
])
def test_the_lapse_window_is_the_next_twelve_months(world, on, lapsing):
    assert [s.familienzentrum_id for s in _run(world, board.dashboard, "koord-a", on=on).lapsing] == lapsing


@pytest.mark.parametrize("actor, jugendamt, refusal", [
    ("koord-a", "ja-b", "Kein Zugriff: Kai Koord (Koordination im Jugendamt) darf das Jugendamt ja-b nicht sehen"),
    ("koord-ohne", None, "Olaf Ohneamt ist keinem Jugendamt zugeordnet"),
    ("leitung-1", None, "Die Übersicht eines Jugendamts ist der Rolle 'Kita-Leitung' nicht zugänglich"),
    ("aud", None, "Die Übersicht eines Jugendamts ist der Rolle 'Auditor' nicht zugänglich"),
    ("zert", None, "Bitte das Jugendamt angeben: die Rolle 'Zertifizierungsstelle' ist keinem Jugendamt zugeordnet"),
    ("admin", "ja-gibtsnicht", "Jugendamt ja-gibtsnicht gibt es nicht"),
    ("niemand", None, "Unbekannter Benutzer 'niemand'"),
])
def test_who_may_look_at_which_jugendamt(world, actor, jugendamt, refusal):
    for action in (board.dashboard, board.familienzentren):
        with pytest.raises(Refused) as refused:
            _run(world, action, actor, jugendamt_id=jugendamt)
        assert str(refused.value).startswith(refusal)


# -- the list ---------------------------------------------------------------------------------------------------


def _ids(db, actor="koord-a", **filters) -> list[str]:
    return [row.id for row in _run(db, board.familienzentren, actor, FamilienzentrumFilter(**filters)).rows]


def test_the_list_shows_the_current_procedure_and_the_seal(world):
    listing = _run(world, board.familienzentren, "koord-a")
    assert (listing.total, listing.towns, listing.day) == (5, ("Musterstadt", "Nebenort"), DAY)
    rows = {row.id: row for row in listing.rows}
    assert list(rows) == ["fz-1", "fz-2", "fz-3", "fz-4", "fz-5"]
    one = rows["fz-1"]  # the open re-certification is current, not the newer-numbered certified one
    assert (one.procedure_id, one.procedure_kind, one.state, one.certificate_number, one.certificate_state,
            one.seal_valid_until, one.towns, one.members) == (
        "V-2025-001", ProcedureKind.RE, ProcedureState.REGISTERED, "FZ-2022-001", CertificateState.VALID,
        date(2026, 7, 31), ("Musterstadt",), 1)
    assert (rows["fz-3"].form, rows["fz-3"].members, rows["fz-3"].towns) == (Form.VERBUND, 2, ("Nebenort",))
    four = rows["fz-4"]  # all final: the newest; the expired seal is its seal
    assert (four.procedure_id, four.state, four.certificate_state) == (
        "V-2023-004", ProcedureState.NOT_CERTIFIED, CertificateState.EXPIRED)
    assert (rows["fz-5"].procedure_id, rows["fz-5"].state, rows["fz-5"].certificate_number) == (None, None, None)
    assert [row.id for row in _run(world, board.familienzentren, "koord-b").rows] == ["fz-9"]


@pytest.mark.parametrize("filters, expected", [
    ({"state": "nominated"}, ["fz-2"]),
    ({"state": "certified"}, ["fz-3"]),
    ({"state": board.NO_PROCEDURE}, ["fz-5"]),
    ({"town": "Nebenort"}, ["fz-3"]),
    ({"town": "Anderswo"}, []),                                   # B's town: nothing of A is there
    ({"seal_before": date(2027, 1, 1)}, ["fz-1"]),                # live seals only: fz-4's expired one is not
    ({"seal_before": date(2027, 7, 31)}, ["fz-1"]),               # before, not on
    ({"seal_before": date(2027, 8, 1)}, ["fz-1", "fz-3"]),
    ({"form": Form.VERBUND}, ["fz-3"]),
    ({"town": "Musterstadt", "form": Form.EINZEL}, ["fz-1", "fz-2", "fz-4", "fz-5"]),
    ({"town": "Musterstadt", "state": "registered", "seal_before": date(2026, 8, 1)}, ["fz-1"]),
])
def test_the_filters_work_in_sql(world, filters, expected):
    assert _ids(world, **filters) == expected
    assert _run(world, board.familienzentren, "koord-a", FamilienzentrumFilter(**filters)).total == len(expected)


def test_pages_put_together_are_the_whole_list(world):
    pages = [_run(world, board.familienzentren, "koord-a", limit=2, offset=offset) for offset in (0, 2, 4)]
    assert [row.id for page in pages for row in page.rows] == ["fz-1", "fz-2", "fz-3", "fz-4", "fz-5"]
    assert {page.total for page in pages} == {5}
    with pytest.raises(InputError) as bad:
        _run(world, board.familienzentren, "koord-a", limit=0, offset=-1)
    assert [p.path for p in bad.value.problems] == [("limit",), ("offset",)]


@pytest.mark.parametrize("values, problems", [
    ({"zustand": "erfunden"}, {"zustand": "Diesen Zustand gibt es nicht; bitte einen aus der Liste wählen"}),
    ({"ort": "x" * 101}, {"ort": "Der Ort darf höchstens 100 Zeichen lang sein"}),
    ({"siegel_vor": "31.07.2027"}, {"siegel_vor": "„31.07.2027“ ist kein Datum; erwartet wird JJJJ-MM-TT, "
                                                  "z. B. 2027-07-31"}),
    ({"siegel_vor": "2027-02-30"}, {"siegel_vor": "„2027-02-30“ ist kein Datum; erwartet wird JJJJ-MM-TT, "
                                                  "z. B. 2027-07-31"}),
    ({"siegel_vor": "1899-12-31"}, {"siegel_vor": "Das Datum muss zwischen 01.01.1900 und 31.12.2199 liegen"}),
    ({"siegel_vor": "9999-01-01", "form": "gross"}, {
        "siegel_vor": "Das Datum muss zwischen 01.01.1900 und 31.12.2199 liegen",
        "form": "Bitte Einzeleinrichtung oder Verbund wählen"}),
])
def test_bad_filters_are_told_per_field(values, problems):
    with pytest.raises(InputError) as bad:
        FamilienzentrumFilter.parse(values)
    assert {p.path[0]: p.message for p in bad.value.problems} == problems


def test_good_filters_are_typed_and_go_back_into_a_query():
    parsed = FamilienzentrumFilter.parse({"zustand": " nominated ", "ort": "Nebenort", "siegel_vor": "2027-07-31",
                                          "form": "verbund", "anderes": "x"})
    assert parsed == FamilienzentrumFilter("nominated", "Nebenort", date(2027, 7, 31), Form.VERBUND)
    assert parsed.query() == {"zustand": "nominated", "ort": "Nebenort", "siegel_vor": "2027-07-31", "form": "verbund"}
    assert FamilienzentrumFilter.parse(parsed.query()) == parsed
    empty = FamilienzentrumFilter.parse({"zustand": "", "ort": "  "})
    assert empty == FamilienzentrumFilter() and not empty.active and empty.query() == {}


# -- query counts -------------------------------------------------------------------------------------------------


def _statements(db, action, *args, **kwargs) -> tuple[object, int]:
    sent: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        sent.append(statement)

    event.listen(db, "before_cursor_execute", count)
    try:
        result = _run(db, action, *args, **kwargs)
    finally:
        event.remove(db, "before_cursor_execute", count)
    return result, len(sent)


READS = {
    "dashboard": (board.dashboard, {}),
    "list": (board.familienzentren, {}),
    "filtered list": (board.familienzentren, {"filters": FamilienzentrumFilter(town="Ort 1", seal_before=DAY.replace(
        year=2027))}),
    "page": (board.familienzentren, {"limit": 10, "offset": 5}),
}


def test_the_number_of_queries_does_not_grow_with_the_jugendamt(world):
    with UnitOfWork(world, clock=FixedClock(START)) as uow:
        grow(uow, 0, 8)
    small = {name: _statements(world, action, "koord-a", **kw) for name, (action, kw) in READS.items()}
    with UnitOfWork(world, clock=FixedClock(START)) as uow:
        grow(uow, 8, 48)
    large = {name: _statements(world, action, "koord-a", **kw) for name, (action, kw) in READS.items()}
    assert {name: n for name, (_, n) in large.items()} == {name: n for name, (_, n) in small.items()}
    assert small["dashboard"][1] <= 6 and small["list"][1] <= 6  # 5 queries, and the transaction's BEGIN on SQLite
    assert (small["dashboard"][0].familienzentren, large["dashboard"][0].familienzentren) == (13, 53)
    assert len(large["dashboard"][0].lapsing) == 49 and large["list"][0].total == 53
    assert (len(small["filtered list"][0].rows), len(large["filtered list"][0].rows)) == (2, 12)
    assert (len(small["page"][0].rows), len(large["page"][0].rows)) == (8, 10)


# -- the actions ----------------------------------------------------------------------------------------------


def test_nominate_return_and_carry_over_from_the_dashboard(world):
    nominated = _run(world, board.nominate_in_jugendamt, "koord-a", "fz-5", KindergartenYear(2025), "Beschluss JHA")
    assert (nominated.event, nominated.procedure.familienzentrum_id, nominated.contingent.nominated) == (
        "procedure.nominated", "fz-5", 2)
    returned = _run(world, board.return_places_of_jugendamt, "koord-a", KindergartenYear(2025), 1, "nicht gebraucht")
    assert (returned.event, returned.contingent.returned, returned.contingent.free) == ("contingent.returned", 1, 0)
    carried = _run(world, board.carry_over_of_jugendamt, "koord-a", KindergartenYear(2024), "erneut anbieten")
    assert (carried.event, str(carried.contingent.kgj), carried.count) == ("contingent.carried_over", "2025/26", 1)
    seen = _run(world, board.dashboard, "koord-a")
    assert [(str(c.kgj), c.carried_in, c.carried_out, c.free) for c in seen.contingents] == [
        ("2024/25", 0, 1, 0), ("2025/26", 1, 0, 1)]
    assert seen.candidates == (("fz-4", "Familienzentrum Vier"),)


@pytest.mark.parametrize("fz_id", ["fz-9", "fz-gibtsnicht"])
def test_a_foreign_and_an_unknown_familienzentrum_are_refused_alike_and_nothing_changes(world, fz_id):
    before = _audit_count(world)
    with pytest.raises(Refused) as refused:
        _run(world, board.nominate_in_jugendamt, "koord-a", fz_id, KindergartenYear(2025), "Beschluss JHA")
    assert str(refused.value) == f"Ein Familienzentrum „{fz_id}“ gibt es im Jugendamt Musterkreis nicht"
    assert _audit_count(world) == before


@pytest.mark.parametrize("actor", ["leitung-1", "aud", "zert", "koord-ohne"])
def test_only_a_coordinator_acts_from_the_dashboard(world, actor):
    before = _audit_count(world)
    for action, args in ((board.nominate_in_jugendamt, ("fz-5", KindergartenYear(2025), "x")),
                         (board.return_places_of_jugendamt, (KindergartenYear(2025), 1, "x")),
                         (board.carry_over_of_jugendamt, (KindergartenYear(2024), "x"))):
        with pytest.raises(Refused):
            _run(world, action, actor, *args)
    assert _audit_count(world) == before
