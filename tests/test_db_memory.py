"""The in-memory unit of work (:mod:`certflow.db.memory`) against the real one: same scenarios, same outcomes.

Each scenario runs once on a :class:`MemoryDatabase` and once on a migrated database (SQLite and
PostgreSQL: the ``engine`` fixture) and returns its outcome: what the repositories returned, what
they refused (exception type and German message), what is stored afterwards and the committed
audit trail with its hashes. The two outcomes must be equal, so the twin cannot drift silently
from the repositories that the rule tests (tests/test_services_*.py) rely on it to stand in for.
A shape test checks that each twin has its repository's public methods with the same signatures
and that every repository of the real unit of work has a twin or is named in ``NOT_MIRRORED``.
"""

from __future__ import annotations

import ast
import inspect
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from certflow.assessment.model import Status
from certflow.calendar import KindergartenYear
from certflow.catalogue.model import Form
from certflow.db import UnitOfWork, Verdict, entries, memory
from certflow.db.memory import NOT_MIRRORED, NOT_MIRRORED_METHODS, MemoryDatabase, MemoryUnitOfWork
from certflow.db.repositories.base import Repository
from certflow.lifecycle import (
    AuditVisit, CertificateState, Decision, Familienzentrum, Kita, Outcome, ProcedureState, fire, fire_certificate,
    freeze, issue_certificate, next_revision,
)
from certflow.lifecycle import contingents as domain
from db_support import KGJ, USERS, FixedClock, db_url, engine, nominate_procedure, postgres_admin, seed  # noqa: F401

ANSWERS = {"catalogue": "familienzentrum-nrw", "answers": {"1.1": "erfuellt", "1.2": "offen"}}


@dataclass
class Backend:
    """One side of the comparison: new units of work on one store, its clock and its committed log."""

    unit_of_work: Callable[[], UnitOfWork]
    log: Callable[[], list]
    clock: FixedClock

    @classmethod
    def memory(cls) -> Backend:
        database, clock = MemoryDatabase(), FixedClock()
        return cls(lambda: MemoryUnitOfWork(database, clock=clock), database.entries, clock)

    @classmethod
    def real(cls, engine) -> Backend:
        clock = FixedClock()

        def log() -> list:
            with Session(engine) as session:
                return entries(session)
        return cls(lambda: UnitOfWork(engine, clock=clock), log, clock)

    def seeded(self, **kwargs) -> Backend:
        with self.unit_of_work() as uow:
            seed(uow, **kwargs)
        return self


def attempt(action: Callable[[], Any]) -> Any:
    """What ``action`` returned, or the refusal it raised as (type name, message)."""
    try:
        return action()
    except Exception as exc:  # noqa: BLE001 - the outcome to compare is the exception itself
        return type(exc).__name__, str(exc)


@pytest.fixture
def compare(engine):
    """``compare(scenario)``: run it on the twin and on the database; equal outcomes; the outcome."""
    def run(scenario: Callable[[Backend], dict]) -> dict:
        twin = scenario(Backend.memory())
        real = scenario(Backend.real(engine))
        assert twin.keys() == real.keys()
        for key in twin:
            assert twin[key] == real[key], key
        return twin
    return run


# --- scenarios -----------------------------------------------------------------------------------------------------


def parties(b: Backend) -> dict:
    b.seeded()
    with b.unit_of_work() as uow:
        out = {
            "jugendaemter": uow.jugendaemter.all(), "traeger": uow.traeger.all(), "users": uow.users.all(),
            "many": uow.users.many(["u-lead", "u-admin", "nobody"]), "kitas": uow.kitas.all(),
            "in_jugendamt": (uow.kitas.in_jugendamt("ja-a"), uow.kitas.in_jugendamt("ja-x")),
            "familienzentren": (uow.familienzentren.all(), uow.familienzentren.all("ja-a"),
                                uow.familienzentren.all("ja-x")),
            "of_kita": [uow.familienzentren.of_kita(k) for k in ("k1", "k2")],
            "jugendamt_of": [uow.familienzentren.jugendamt_of(f) for f in ("fz-1", "fz-9", None)],
            "find": (uow.users.find("nobody"), uow.kitas.find("k9"), uow.familienzentren.find("fz-9"),
                     uow.traeger.find("tr-1"), uow.kitas.find("k2")),
            "get_unknown": [attempt(lambda: uow.users.get("nobody")), attempt(lambda: uow.kitas.get("k9")),
                            attempt(lambda: uow.familienzentren.get("fz-9")),
                            attempt(lambda: uow.jugendaemter.get("ja-x"))],
            "versions": (uow.kitas.version("k1"), uow.familienzentren.version("fz-1")),
            "unread_version": attempt(lambda: uow.procedures.version("P-1")),
        }
    return {**out, "log": b.log()}


def versions(b: Backend) -> dict:
    b.seeded()
    out: dict[str, Any] = {}
    with b.unit_of_work() as uow:  # A opens the form ...
        form, form_version = uow.kitas.get("k3"), uow.kitas.version("k3")
    with b.unit_of_work() as uow:  # ... B saves twice meanwhile ...
        kita = uow.kitas.get("k3")
        out["saved"] = [uow.kitas.save(replace(kita, name="Kita Sonne"), actor_id="u-admin", reason="Umbenannt"),
                        uow.kitas.save(replace(kita, city="Neustadt"), actor_id="u-admin", reason="Umzug")]
    with b.unit_of_work() as uow:  # ... A saves what she saw: refused, and on load too
        out["stale_save"] = attempt(lambda: uow.kitas.save(replace(form, postcode="54321"), actor_id="u-admin",
                                                           reason="PLZ", expected_version=form_version))
        out["stale_load"] = attempt(lambda: uow.kitas.get("k3", expected_version=form_version))
        out["stale_fz"] = attempt(lambda: uow.familienzentren.get("fz-1", expected_version=7))
        out["unread"] = attempt(lambda: uow.kitas.save(replace(form, id="k2"), actor_id="u-admin", reason="x"))
        out["gone"] = attempt(lambda: uow.kitas.save(replace(form, id="k9"), actor_id="u-admin", reason="x",
                                                     expected_version=1))
        out["kita"] = uow.kitas.get("k3")
    return {**out, "log": b.log()}


def memberships(b: Backend) -> dict:
    b.seeded()
    out: dict[str, Any] = {}
    with b.unit_of_work() as uow:
        uow.kitas.add(Kita("k4", "Kita Muster 4", "tr-1", "ja-a", "Musterweg 4", "12345", "Musterstadt", 51.0, 7.0),
                      actor_id="u-admin", reason="neu")
        uow.familienzentren.add(Familienzentrum("fz-v", "Verbund", Form.VERBUND, ("k2", "k3"), "k2", "ja-a"),
                                actor_id="u-admin", reason="Verbund gebildet", joined_on=date(2024, 1, 1))
    b.clock.advance(days=1)
    with b.unit_of_work() as uow:
        fz = uow.familienzentren.get("fz-v")
        out["saved"] = uow.familienzentren.save(replace(fz, member_kita_ids=("k2", "k4"), name="Verbund Mitte"),
                                                actor_id="u-coord", reason="k3 geht, k4 kommt", on=date(2025, 3, 1))
        out["today"] = uow.familienzentren.save(replace(uow.familienzentren.get("fz-v"),
                                                        member_kita_ids=("k2", "k4", "k3")),
                                                actor_id="u-coord", reason="k3 kommt zurück")
    with b.unit_of_work() as uow:
        out["fz"] = uow.familienzentren.get("fz-v")
        out["members_on"] = [uow.familienzentren.members_on("fz-v", day) for day in (
            date(2023, 12, 31), date(2024, 1, 1), date(2025, 2, 28), date(2025, 3, 1), date(2025, 9, 2))]
        out["of_kita"] = [uow.familienzentren.of_kita(k) for k in ("k1", "k2", "k3", "k4")]
        out["all"] = uow.familienzentren.all()
    return {**out, "log": b.log()}


def contingents(b: Backend) -> dict:
    b.seeded(granted=2)
    out: dict[str, Any] = {}
    reserve = lambda uow: uow.contingents.reserve_place("ja-a", KGJ, actor_id="u-coord", reason="JHA")
    release = lambda uow: uow.contingents.release_place("ja-a", KGJ, actor_id="u-coord", reason="zurück")
    with b.unit_of_work() as uow:
        out["reserved"] = [attempt(lambda: reserve(uow)) for _ in range(3)]
        out["version"] = uow.contingents.version("ja-a/2025/26")
    with b.unit_of_work() as uow:
        out["released"] = [attempt(lambda: release(uow)) for _ in range(3)]
        out["unknown"] = (attempt(lambda: uow.contingents.reserve_place("ja-x", KGJ, actor_id="u-coord",
                                                                        reason="x")),
                          attempt(lambda: uow.contingents.release_place("ja-a", KGJ.next(), actor_id="u-coord",
                                                                        reason="x")))
    with b.unit_of_work() as uow:
        current = uow.contingents.get("ja-a", KGJ)
        out["stale"] = attempt(lambda: uow.contingents.save(domain.grant(current, 1), actor_id="u-admin",
                                                            reason="Erlass", expected_version=1))
        out["granted"] = uow.contingents.save(domain.grant(current, 1), actor_id="u-admin", reason="Nachtrag")
        this_year, next_year = domain.carry_over(domain.return_place(uow.contingents.get("ja-a", KGJ), 2), None)
        uow.contingents.save(this_year, actor_id="u-coord", reason="zurück")
        uow.contingents.add(next_year, actor_id="u-coord", reason="übertragen")
        out["missing"] = attempt(lambda: uow.contingents.save(domain.Contingent("ja-a", KindergartenYear(2030),
                                                                                granted=1),
                                                              actor_id="u-admin", reason="x", expected_version=1))
    with b.unit_of_work() as uow:
        out["all"] = (uow.contingents.all(), uow.contingents.all("ja-a"), uow.contingents.all("ja-x"))
        out["find"] = (uow.contingents.find("ja-a", KGJ), uow.contingents.find("ja-a", KindergartenYear(2024)))
        out["get_empty"] = uow.contingents.get("ja-a", KindergartenYear(2024))
    return {**out, "log": b.log()}


def procedures(b: Backend) -> dict:
    b.seeded()
    out: dict[str, Any] = {}
    with b.unit_of_work() as uow:
        nominate_procedure(uow, b.clock, "V-2025-002")
        uow.familienzentren.add(Familienzentrum("fz-2", "Zwei", Form.EINZEL, ("k2",), "k2", "ja-a"),
                                actor_id="u-admin", reason="neu")
        for pid in ("V-2025-010", "V-2025-x1", "V-2024-099", "V-2025-%"):
            p = replace(uow.procedures.get("V-2025-002"), id=pid, familienzentrum_id="fz-2", version=0,
                        state=ProcedureState.WITHDRAWN)  # closed: a Familienzentrum has one open procedure at most
            uow.procedures.add(p, replace(_creation(uow, "V-2025-002"), subject_id=pid))
        out["next_id"] = [uow.procedures.next_id(prefix) for prefix in ("V-2025-", "V-2024-", "V-2026-", "V-20")]
        out["next_id_wide"] = uow.procedures.next_id("V-2025-", width=5)
    for event, who in (("register", "lead"), ("start_development", "lead")):
        b.clock.advance(days=1)
        with b.unit_of_work() as uow:
            procedure = uow.procedures.get("V-2025-002")
            change = fire(procedure, event, USERS[who], f"{event} bitte", clock=b.clock,
                          familienzentrum=uow.familienzentren.get("fz-1"))
            out[event] = uow.procedures.save(procedure, change)
    with b.unit_of_work() as uow:  # an edit without a state change, and one with a stale version
        procedure = uow.procedures.get("V-2025-002")
        out["edit"] = uow.procedures.save(replace(procedure, planned_audit_date=date(2026, 3, 16)),
                                          actor_id="u-cert", reason="Termin")
        out["stale"] = attempt(lambda: uow.procedures.save(procedure, actor_id="u-cert", reason="x",
                                                           expected_version=0))
        out["no_reason"] = attempt(lambda: uow.procedures.save(procedure, actor_id="u-cert", reason=""))
        out["unknown"] = attempt(lambda: uow.procedures.get("V-1999-001"))
    with b.unit_of_work() as uow:
        out["all"] = uow.procedures.all()
        out["in_state"] = (uow.procedures.all(ProcedureState.IN_DEVELOPMENT), uow.procedures.all("nominated"))
        out["of_fz"] = (uow.procedures.of_familienzentrum("fz-1"), uow.procedures.of_familienzentrum("fz-9"))
        out["history"] = uow.procedures.history("V-2025-002")
        out["versions"] = uow.procedures.version("V-2025-002")
    return {**out, "log": b.log()}


def _creation(uow: UnitOfWork, procedure_id: str):
    """A creation change like the one that opened ``procedure_id`` (to add more procedures in a scenario)."""
    from certflow.lifecycle import StateChange

    p = uow.procedures.get(procedure_id)
    return StateChange("procedure", p.id, None, "nominated", "nominate", "u-coord", uow.now(), "Vorlage")


def _submit(uow: UnitOfWork, answers: dict, passed: bool = True):
    revision = next_revision(uow.submissions.latest_submitted("P-17"))
    snapshot = freeze(answers, revision, procedure_id="P-17", submitted_by="u-lead", submitted_at=uow.now(),
                      passed=passed)
    uow.submissions.add_snapshot(snapshot)
    return snapshot


def submissions(b: Backend) -> dict:
    b.seeded()
    out: dict[str, Any] = {}
    with b.unit_of_work() as uow:
        nominate_procedure(uow, b.clock)
        out["nothing"] = (uow.submissions.draft("P-17"), uow.submissions.latest_submitted("P-17"),
                          uow.submissions.submitted("P-17"), uow.submissions.snapshot("P-17", 1))
        out["drafts"] = [uow.submissions.save_draft("P-17", {**ANSWERS, "answers": {}}, by="u-lead"),
                         uow.submissions.save_draft("P-17", ANSWERS, by="u-lead", reason="weiter"),
                         uow.submissions.save_draft("P-17", ANSWERS, by="u-lead")]  # unchanged: not logged
    b.clock.advance(hours=2)
    with b.unit_of_work() as uow:
        first = _submit(uow, ANSWERS)
        out["again"] = attempt(lambda: uow.submissions.add_snapshot(
            freeze({**ANSWERS, "profiles": []}, 1, procedure_id="P-17", submitted_by="u-lead",
                   submitted_at=uow.now(), passed=False)))
        out["bad_hash"] = attempt(lambda: uow.submissions.add_snapshot(replace(first, revision=2, sha256="0" * 64)))
        out["after"] = (uow.submissions.draft("P-17"), uow.submissions.snapshot("P-17", 1))
        out["next_draft"] = uow.submissions.save_draft("P-17", {**ANSWERS, "answers": {"1.2": "erfuellt"}},
                                                       by="u-lead")
    b.clock.advance(hours=2)
    with b.unit_of_work() as uow:
        out["second"] = _submit(uow, {**ANSWERS, "answers": {"1.2": "nicht_erfuellt"}}, passed=False)
        out["third"] = _submit(uow, ANSWERS)  # straight to a submission, no draft
    with b.unit_of_work() as uow:
        out["read"] = (uow.submissions.latest_submitted("P-17"), uow.submissions.submitted("P-17"),
                       uow.submissions.snapshot("P-17", 2), uow.submissions.snapshot("P-17", 9),
                       uow.submissions.draft("P-17"))
        out["history"] = uow.procedures.history("P-17")
    return {**out, "log": b.log()}


def audits(b: Backend) -> dict:
    b.seeded()
    out: dict[str, Any] = {}
    aud, lead = USERS["auditor"].id, USERS["lead"].id
    with b.unit_of_work() as uow:
        nominate_procedure(uow, b.clock)
        out["before"] = (uow.audits.visit("P-17"), uow.audits.signed_off("P-17"), uow.audits.packet_sha256("P-17"),
                         uow.audits.verdicts("P-17"),
                         attempt(lambda: uow.audits.record_verdict(Verdict("P-17", "1.1", Status.ERFUELLT, None, aud))),
                         attempt(lambda: uow.audits.check_open("P-17", aud)))
        uow.audits.add_visit(AuditVisit("P-17", date(2025, 9, 15), aud, ("k1",)))
    b.clock.advance(hours=3)
    with b.unit_of_work() as uow:
        uow.audits.record_verdict(Verdict("P-17", "1.2", Status.NICHT_ERFUELLT, "fehlt", aud))
        uow.audits.record_verdict(Verdict("P-17", "1.10", Status.ERFUELLT, None, aud), reason="vor Ort")
        b.clock.advance(minutes=5)
        uow.audits.record_verdict(Verdict("P-17", "1.2", Status.ERFUELLT, "nachgereicht", aud), reason="Korrektur")
        out["not_theirs"] = attempt(lambda: uow.audits.record_verdict(
            Verdict("P-17", "1.3", Status.ERFUELLT, None, lead)))
        out["open"] = (uow.audits.check_open("P-17", aud), attempt(lambda: uow.audits.sign_off("P-17", by=lead)))
    b.clock.advance(days=1)
    with b.unit_of_work() as uow:
        out["signed"] = uow.audits.sign_off("P-17", by=aud, reason="Bericht fertig", packet_sha256="ab" * 32)
        out["frozen"] = (attempt(lambda: uow.audits.record_verdict(Verdict("P-17", "1.2", Status.OFFEN, None, aud))),
                         attempt(lambda: uow.audits.sign_off("P-17", by=aud)),
                         attempt(lambda: uow.audits.check_open("P-17", aud)))
    with b.unit_of_work() as uow:
        out["after"] = (uow.audits.visit("P-17"), uow.audits.signed_off("P-17"), uow.audits.packet_sha256("P-17"),
                        uow.audits.verdicts("P-17"))
        out["history"] = uow.procedures.history("P-17")
    return {**out, "log": b.log()}


def seals(b: Backend) -> dict:
    b.seeded()
    out: dict[str, Any] = {}
    with b.unit_of_work() as uow:
        nominate_procedure(uow, b.clock)
        for number, issued in (("FZ-2026-001", date(2026, 5, 5)), ("FZ-2026-001", date(2030, 5, 5)),
                               ("FZ-2026-007", date(2026, 6, 1)), ("FZ-2027-001", date(2027, 1, 2))):
            uow.certificates.add(issue_certificate(number, "fz-1", issued), actor_id="u-cert", reason="Zertifiziert")
        uow.decisions.add(Decision("P-17", "u-cert", b.clock(), Outcome.CERTIFIED, "Alle Kriterien erfüllt"))
        out["next_number"] = [uow.certificates.next_number(p) for p in ("FZ-2026-", "FZ-2028-", "FZ-20")]
    with b.unit_of_work() as uow:
        old = uow.certificates.get("FZ-2026-001", date(2026, 5, 5))
        change = fire_certificate(old, "revoke", USERS["certifier"], "Verbund aufgelöst", clock=b.clock)
        out["saved"] = uow.certificates.save(old, change)
        out["stale"] = attempt(lambda: uow.certificates.get("FZ-2027-001", date(2027, 1, 2), expected_version=3))
        out["unknown"] = attempt(lambda: uow.certificates.get("FZ-1999-001", date(1999, 1, 1)))
    with b.unit_of_work() as uow:
        out["latest"] = (uow.certificates.latest("FZ-2026-001"), uow.certificates.latest("FZ-1999-001"))
        out["all"] = (uow.certificates.all(), uow.certificates.all(CertificateState.REVOKED),
                      uow.certificates.all(CertificateState.VALID, CertificateState.EXPIRED))
        out["of"] = (uow.certificates.of_familienzentrum("fz-1"), uow.certificates.of_familienzentren(["fz-1", "x"]),
                     uow.certificates.of_familienzentren([]))
        out["numbers"] = {who: uow.certificates.numbers_visible_to(user) for who, user in USERS.items()}
        out["page"] = uow.certificates.numbers_visible_to(USERS["admin"], limit=2, offset=1)
        out["decision"] = (uow.decisions.find("P-17"), uow.decisions.find("P-99"))
    return {**out, "log": b.log()}


def scopes(b: Backend) -> dict:
    """The scoped reads: procedures and Familienzentren each role may see, filtered and paged."""
    b.seeded()
    with b.unit_of_work() as uow:
        uow.familienzentren.add(Familienzentrum("fz-2", "Zwei", Form.EINZEL, ("k2",), "k2", "ja-a"),
                                actor_id="u-admin", reason="neu")
        nominate_procedure(uow, b.clock)
        other = replace(uow.procedures.get("P-17"), id="P-18", familienzentrum_id="fz-2", version=0,
                        auditor_id=USERS["auditor"].id)
        uow.procedures.add(other, replace(_creation(uow, "P-17"), subject_id="P-18"))
        _submit(uow, ANSWERS)
    out: dict[str, Any] = {}
    with b.unit_of_work() as uow:
        for who, user in USERS.items():
            out[who] = (uow.familienzentren.visible_to(user), uow.procedures.visible_to(user),
                        [p.id for p in uow.procedures.visible_to(user, submitted=True)],
                        [p.id for p in uow.procedures.visible_to(user, familienzentrum_ids=["fz-2"])],
                        [p.id for p in uow.procedures.visible_to(user, jugendamt_id="ja-x")],
                        [p.id for p in uow.procedures.visible_to(user, states=[ProcedureState.NOMINATED])])
        out["page"] = (uow.familienzentren.visible_to(USERS["admin"], limit=1),
                       uow.familienzentren.visible_to(USERS["admin"], limit=5, offset=1))
    return out


def rollback(b: Backend) -> dict:
    """An exception rolls back every change since the last commit: inserts, updates, memberships, the log."""
    b.seeded()
    out: dict[str, Any] = {"before": b.log()}

    def fail() -> None:
        with b.unit_of_work() as uow:
            nominate_procedure(uow, b.clock)
            uow.commit()  # this much stays
            fz = uow.familienzentren.get("fz-1")
            uow.familienzentren.save(replace(fz, member_kita_ids=("k1", "k2"), form=Form.VERBUND), actor_id="u-admin",
                                     reason="Verbund")
            uow.kitas.save(replace(uow.kitas.get("k1"), name="X"), actor_id="u-admin", reason="eins")
            uow.contingents.reserve_place("ja-a", KGJ, actor_id="u-coord", reason="zwei")
            uow.jugendaemter.add(replace(uow.jugendaemter.get("ja-a"), id="ja-b"), actor_id="u-admin", reason="neu")
            raise RuntimeError("mittendrin")
    out["raised"] = attempt(fail)
    with b.unit_of_work() as uow:
        out["after"] = (uow.familienzentren.get("fz-1"), uow.kitas.get("k1"), uow.kitas.version("k1"),
                        uow.contingents.get("ja-a", KGJ), uow.contingents.version("ja-a/2025/26"),
                        uow.jugendaemter.find("ja-b"), uow.familienzentren.of_kita("k2"),
                        uow.procedures.all())
    return {**out, "log": b.log()}


@pytest.mark.parametrize("scenario", [parties, versions, memberships, contingents, procedures, submissions, audits,
                                      seals, scopes, rollback])
def test_the_twin_and_the_database_give_the_same_outcome(compare, scenario):
    outcome = compare(scenario)
    assert outcome  # the expectations below say that each scenario reached what it is about
    check = EXPECTED.get(scenario.__name__)
    if check is not None:
        check(outcome)


def _refused(outcome, kind: str, start: str = "") -> bool:
    return isinstance(outcome, tuple) and outcome[0] == kind and outcome[1].startswith(start)


def _expect_versions(o):
    assert o["saved"] == [2, 3]
    assert o["stale_save"] == ("ConflictError", "Der Datensatz Kita k3 wurde inzwischen von jemand anderem geändert "
                                                "(Version 3 statt 1). Bitte neu laden.")
    assert _refused(o["stale_load"], "ConflictError") and _refused(o["stale_fz"], "ConflictError")
    assert _refused(o["unread"], "ValueError", "kita k2: load it in this unit of work")
    assert o["gone"] == ("NotFoundError", "Kita k9 gibt es nicht")


def _expect_contingents(o):
    assert [c.nominated for c in o["reserved"][:2]] == [1, 2]
    assert o["reserved"][2] == ("Refused", "Kein freier Platz im Kontingent des Jugendamts Jugendamt Musterkreis "
                                           "für 2025/26 (2 von 2 vergeben)")
    assert [getattr(c, "nominated", c) for c in o["released"][:2]] == [1, 0]
    assert _refused(o["released"][2], "Refused",
                    "Im Kontingent des Jugendamts Jugendamt Musterkreis für 2025/26 ist kein")
    assert _refused(o["stale"], "ConflictError") and _refused(o["missing"], "ConflictError")
    assert "gibt es nicht mehr" in o["missing"][1]


def _expect_procedures(o):
    assert o["next_id"] == ["V-2025-011", "V-2024-100", "V-2026-001", "V-20001"]
    assert (o["register"], o["start_development"], o["edit"]) == (1, 2, 3)
    assert _refused(o["stale"], "ConflictError")
    assert o["unknown"] == ("NotFoundError", "Verfahren V-1999-001 gibt es nicht")
    assert [e.action for e in o["history"]] == ["procedure.nominate", "procedure.register",
                                                "procedure.start_development", "procedure.update"]


def _expect_submissions(o):
    assert [d.revision for d in o["drafts"]] == [1, 1, 1]
    assert _refused(o["again"], "FrozenError", "Revision 1 der Selbstbewertung im Verfahren P-17 ist eingereicht")
    assert _refused(o["bad_hash"], "ValueError")
    assert o["next_draft"].revision == 2 and [s.revision for s in o["read"][1]] == [1, 2, 3]


def _expect_audits(o):
    assert o["before"][4] == ("NotFoundError", "Begehung P-17 gibt es nicht")
    assert o["not_theirs"] == ("Refused", "Nur der Auditor der Begehung (u-aud) kann ihre Bewertungen erfassen "
                                          "und abzeichnen")
    assert all(_refused(f, "FrozenError", "Die Begehung im Verfahren P-17 wurde am") for f in o["frozen"])
    assert [(v.criterion_id, v.verdict, v.remark) for v in o["after"][3]] == [
        ("1.10", Status.ERFUELLT, None), ("1.2", Status.ERFUELLT, "nachgereicht")]


def _expect_seals(o):
    assert o["next_number"] == ["FZ-2026-008", "FZ-2028-001", "FZ-20001"]
    assert o["latest"][0].issued == date(2030, 5, 5) and o["saved"] == 2
    assert o["numbers"]["lead2"] == [] and o["numbers"]["admin"] == ["FZ-2026-001", "FZ-2026-007", "FZ-2027-001"]


def _expect_scopes(o):
    assert [p.id for p in o["auditor"][1]] == ["P-18"] and [f.id for f in o["auditor"][0]] == ["fz-2"]
    assert [p.id for p in o["lead"][1]] == ["P-17"] and o["lead"][2] == ["P-17"] and o["admin"][3] == ["P-18"]
    assert [f.id for f in o["page"][1]] == ["fz-2"]


def _expect_rollback(o):
    assert o["raised"] == ("RuntimeError", "mittendrin")
    fz, kita, version, contingent, _version, new_jugendamt, of_k2, procedures = o["after"]
    assert (fz.member_kita_ids, kita.name, version, contingent.nominated, new_jugendamt, of_k2) == (
        ("k1",), "Kita Muster 1", 1, 1, None, None)
    assert [p.id for p in procedures] == ["P-17"]
    assert [e.action for e in o["log"][len(o["before"]):]] == ["contingent.reserve", "procedure.nominate"]


EXPECTED: dict[str, Callable[[dict], None]] = {
    "versions": _expect_versions, "contingents": _expect_contingents, "procedures": _expect_procedures,
    "submissions": _expect_submissions, "audits": _expect_audits, "seals": _expect_seals, "scopes": _expect_scopes,
    "rollback": _expect_rollback,
}


# --- shape -------------------------------------------------------------------------------------------------------


def _repositories(uow: UnitOfWork) -> dict[str, object]:
    """The repositories a unit of work sets up on entering (attribute name -> repository)."""
    before = set(vars(uow))
    with uow:
        return {name: value for name, value in vars(uow).items() if name not in before and name != "session"}


def _public(cls: type, module: str | None = None) -> dict[str, inspect.Signature]:
    """The public methods of ``cls`` (those defined in ``module`` only) with their signatures; the base
    repository's own (``version``: the unit of work's version tracker) are shared, not mirrored."""
    return {name: inspect.signature(member) for name, member in inspect.getmembers(cls, inspect.isfunction)
            if not name.startswith("_") and member.__module__ != Repository.__module__
            and (module is None or member.__module__ == module)}


def test_every_repository_has_a_twin_with_the_same_methods_and_signatures(engine):
    """Each twin subclasses its repository (so it types as one) and overrides every public method of it
    with the same signature: none of the real, SQL-backed methods is left to be inherited."""
    real = _repositories(UnitOfWork(engine))
    twin = _repositories(MemoryUnitOfWork())
    assert set(twin) <= set(real), "the twin has repositories the real unit of work does not"
    assert set(real) - set(twin) == NOT_MIRRORED, "mirror a new repository in certflow.db.memory or list it there"
    assert NOT_MIRRORED.isdisjoint(twin)
    for name, repository in twin.items():
        assert isinstance(repository, type(real[name]))
        expected = {m: s for m, s in _public(type(real[name])).items() if f"{name}.{m}" not in NOT_MIRRORED_METHODS}
        actual = _public(type(repository), memory.__name__)
        assert actual == expected, f"uow.{name}: {type(repository).__name__} differs from {type(real[name]).__name__}"


def test_the_twin_imports_no_sqlalchemy():
    tree = ast.parse(Path(memory.__file__).read_text(encoding="utf-8"))
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert not {name for name in imported if name.split(".")[0] in ("sqlalchemy", "sqlmodel")}


def test_a_twin_unit_of_work_has_no_session_to_reach_past_its_repositories():
    with MemoryUnitOfWork() as uow:
        with pytest.raises(AttributeError):
            uow.session  # noqa: B018
        assert uow.engine is None and isinstance(uow, UnitOfWork)


def test_its_audit_chain_hashes_as_the_database_does_and_a_rollback_drops_the_queued_entries():
    database = MemoryDatabase()
    at = datetime(2025, 9, 1, 8, 0, tzinfo=timezone.utc)
    with MemoryUnitOfWork(database, clock=lambda: at) as uow:
        uow.record(actor_id="u-admin", action="x.create", subject_kind="x", subject_id="1", reason="weil")
    with pytest.raises(ValueError, match="needs a reason"), MemoryUnitOfWork(database, clock=lambda: at) as uow:
        uow.record(actor_id="u-admin", action="x.update", subject_kind="x", subject_id="1", reason="  ")
    with pytest.raises(RuntimeError), MemoryUnitOfWork(database, clock=lambda: at) as uow:
        uow.record(actor_id="u-admin", action="x.update", subject_kind="x", subject_id="1", reason="noch")
        raise RuntimeError
    [entry] = database.entries()
    assert (entry.seq, entry.prev_hash) == (1, "0" * 64)
    assert uow.written == [] and entry.hash == memory.entry_hash(
        seq=1, at=at, actor_id="u-admin", action="x.create", subject_kind="x", subject_id="1", from_state=None,
        to_state=None, reason="weil", payload="{}", prev_hash="0" * 64)
