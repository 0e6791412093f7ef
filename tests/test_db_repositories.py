"""Repositories: rows <-> domain entities, optimistic locking (German conflict message), edits in the audit trail."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from certflow.catalogue.model import Form
from certflow.db import ConflictError, NotFoundError, UnitOfWork, entries
from certflow.db.tables import FamilienzentrumMemberRow
from certflow.lifecycle import (
    CertificateState, Decision, Familienzentrum, Jugendamt, Kita, Outcome, ProcedureState, fire, fire_certificate,
    issue_certificate,
)
from db_support import (  # noqa: F401
    KGJ, USERS, backend, clock, db_url, engine, nominate_procedure, postgres_admin, seeded,
)


def _log(engine, kind=None, subject=None):
    with UnitOfWork(engine) as uow:
        return entries(uow.session, kind, subject)


def test_parties_round_trip(seeded):
    with UnitOfWork(seeded) as uow:
        assert uow.jugendaemter.get("ja-a") == Jugendamt("ja-a", "Jugendamt Musterkreis")
        assert uow.kitas.get("k2") == Kita("k2", "Kita Muster 2", "tr-1", "ja-a", "Musterweg 2", "12345",
                                          "Musterstadt", 51.005, 7.005)
        assert uow.familienzentren.get("fz-1") == Familienzentrum(
            "fz-1", "Familienzentrum Muster", Form.EINZEL, ("k1",), "k1", "ja-a")
        assert uow.users.get("u-lead") == USERS["lead"]
        assert [k.id for k in uow.kitas.in_jugendamt("ja-a")] == ["k1", "k2", "k3"]
        assert uow.users.find("nobody") is None
        with pytest.raises(NotFoundError, match="Kita k9 gibt es nicht"):
            uow.kitas.get("k9")


def test_an_edit_bumps_the_version_and_is_logged_with_what_changed(seeded, clock):
    with UnitOfWork(seeded, clock=clock) as uow:
        kita = uow.kitas.get("k2")
        assert uow.kitas.version("k2") == 1
        assert uow.kitas.save(replace(kita, street="Neuer Weg 5"), actor_id="u-admin", reason="Umzug") == 2
    with UnitOfWork(seeded) as uow:
        assert uow.kitas.get("k2").street == "Neuer Weg 5"
    last = _log(seeded, "kita", "k2")[-1]
    assert (last.action, last.actor_id, last.reason, last.at) == ("kita.update", "u-admin", "Umzug", clock.at)
    assert last.payload == {"street": ["Musterweg 2", "Neuer Weg 5"]}


def test_a_conflicting_edit_is_refused_with_a_clear_message(seeded):
    """A opens the form, B saves, A saves what she saw: refused, nothing of A's edit is written."""
    with UnitOfWork(seeded) as a:
        mine, form_version = a.kitas.get("k3"), a.kitas.version("k3")
    with UnitOfWork(seeded) as b:
        b.kitas.save(replace(b.kitas.get("k3"), name="Kita Sonnenschein"), actor_id="u-admin", reason="Umbenannt")
    with pytest.raises(ConflictError) as refused:
        with UnitOfWork(seeded) as a:
            a.kitas.save(replace(mine, postcode="54321"), actor_id="u-admin", reason="PLZ korrigiert",
                         expected_version=form_version)
    assert refused.value.message == ("Der Datensatz Kita k3 wurde inzwischen von jemand anderem geändert "
                                     "(Version 2 statt 1). Bitte neu laden.")
    with UnitOfWork(seeded) as uow:
        assert (uow.kitas.get("k3").name, uow.kitas.get("k3").postcode) == ("Kita Sonnenschein", "12345")


def test_interleaved_units_of_work_conflict_on_postgresql(seeded, backend):
    """On PostgreSQL two transactions can be open at once (SQLite's BEGIN IMMEDIATE queues them instead)."""
    if backend != "postgresql":
        pytest.skip("SQLite serialises whole transactions")
    with UnitOfWork(seeded) as first, UnitOfWork(seeded) as second:
        mine, theirs = first.kitas.get("k3"), second.kitas.get("k3")
        second.kitas.save(replace(theirs, name="Kita Sonnenschein"), actor_id="u-admin", reason="Umbenannt")
        second.commit()
        with pytest.raises(ConflictError, match=r"\(Version 2 statt 1\)"):
            first.kitas.save(replace(mine, postcode="54321"), actor_id="u-admin", reason="PLZ korrigiert")


def test_a_stale_form_version_is_refused_on_load_and_on_save(seeded):
    with UnitOfWork(seeded) as uow:
        uow.kitas.save(replace(uow.kitas.get("k1"), city="Neustadt"), actor_id="u-admin", reason="Ort")
    with UnitOfWork(seeded) as uow:
        with pytest.raises(ConflictError, match=r"Version 2 statt 1"):
            uow.kitas.get("k1", expected_version=1)
    with pytest.raises(ConflictError, match=r"Version 2 statt 1"):
        with UnitOfWork(seeded) as uow:
            uow.kitas.save(Kita("k1", "Kita Muster 1", "tr-1", "ja-a", "Musterweg 1", "12345", "Altstadt", 51.0, 7.0),
                           actor_id="u-admin", reason="Ort", expected_version=1)


def test_familienzentrum_members_join_and_leave_with_history(seeded):
    with UnitOfWork(seeded) as uow:
        fz = uow.familienzentren.get("fz-1")
        verbund = replace(fz, form=Form.VERBUND, member_kita_ids=("k1", "k2", "k3"))
        uow.familienzentren.save(verbund, actor_id="u-admin", reason="Verbund gebildet", on=date(2026, 1, 1))
    with UnitOfWork(seeded) as uow:
        fz = uow.familienzentren.get("fz-1")
        assert (fz.form, fz.member_kita_ids) == (Form.VERBUND, ("k1", "k2", "k3"))
        assert uow.familienzentren.version("fz-1") == 2
        uow.familienzentren.save(replace(fz, member_kita_ids=("k1", "k3")), actor_id="u-admin", reason="k2 verlässt",
                                 on=date(2026, 6, 1))
    with UnitOfWork(seeded) as uow:
        assert uow.familienzentren.get("fz-1").member_kita_ids == ("k1", "k3")
        rows = uow.session.execute(select(FamilienzentrumMemberRow).order_by(FamilienzentrumMemberRow.id)).scalars()
        history = [(r.kita_id, r.joined_on, r.left_on) for r in rows]
    assert ("k2", date(2026, 1, 1), date(2026, 6, 1)) in history
    last = _log(seeded, "familienzentrum", "fz-1")[-1]
    assert last.payload["member_kita_ids"] == [["k1", "k2", "k3"], ["k1", "k3"]]


def test_a_procedure_moves_through_its_states_and_every_change_is_logged(seeded, clock):
    with UnitOfWork(seeded, clock=clock) as uow:
        nominate_procedure(uow, clock)
    for event, reason in [("register", "Anmeldung bei der Zertifizierungsstelle"), ("start_development", "Los")]:
        with UnitOfWork(seeded, clock=clock) as uow:
            procedure = uow.procedures.get("P-17")
            change = fire(procedure, event, USERS["lead"], reason, clock=clock,
                          familienzentrum=uow.familienzentren.get("fz-1"))
            uow.procedures.save(procedure, change)
        clock.advance(days=1)
    with UnitOfWork(seeded) as uow:
        procedure = uow.procedures.get("P-17")
        assert (procedure.state, procedure.version, procedure.kgj) == (ProcedureState.IN_DEVELOPMENT, 2, KGJ)
        assert uow.contingents.get("ja-a", KGJ).nominated == 1
    log = _log(seeded, "procedure", "P-17")
    assert [(e.action, e.from_state, e.to_state) for e in log] == [
        ("procedure.nominate", None, "nominated"), ("procedure.register", "nominated", "registered"),
        ("procedure.start_development", "registered", "in_development")]
    assert log[1].payload == {"state": ["nominated", "registered"]}
    assert log[1].actor_id == "u-lead" and log[1].reason == "Anmeldung bei der Zertifizierungsstelle"


def test_two_people_firing_on_the_same_procedure(seeded, clock):
    with UnitOfWork(seeded, clock=clock) as uow:
        nominate_procedure(uow, clock)
    with UnitOfWork(seeded) as a:  # the Kita lead opens the procedure (version 0) ...
        stale, fz = a.procedures.get("P-17"), a.familienzentren.get("fz-1")
    with UnitOfWork(seeded) as b:  # ... the coordinator withdraws it meanwhile ...
        theirs = b.procedures.get("P-17")
        b.procedures.save(theirs, fire(theirs, "withdraw", USERS["coordinator"], "Kita zieht zurück",
                                       familienzentrum=fz))
    change = fire(stale, "register", USERS["lead"], "Anmeldung", familienzentrum=fz)  # ... then she registers
    with pytest.raises(ConflictError, match=r"^Der Datensatz Verfahren P-17 wurde inzwischen von jemand anderem "
                                            r"geändert \(Version 1 statt 0\)\. Bitte neu laden\.$"):
        with UnitOfWork(seeded) as a:
            a.procedures.save(stale, change, expected_version=0)
    with UnitOfWork(seeded) as uow:
        assert uow.procedures.get("P-17").state is ProcedureState.WITHDRAWN
    assert [e.action for e in _log(seeded, "procedure")] == ["procedure.nominate", "procedure.withdraw"]


def test_certificates_and_decisions(seeded, clock):
    with UnitOfWork(seeded, clock=clock) as uow:
        nominate_procedure(uow, clock)
        cert = issue_certificate("FZ-2026-001", "fz-1", date(2026, 5, 5))
        uow.certificates.add(cert, actor_id="u-cert", reason="Zertifiziert")
        uow.decisions.add(Decision("P-17", "u-cert", clock(), Outcome.CERTIFIED, "Alle Kriterien erfüllt"))
    with UnitOfWork(seeded, clock=clock) as uow:
        cert = uow.certificates.latest("FZ-2026-001")
        assert (cert.valid_until, cert.state) == (date(2030, 7, 31), CertificateState.VALID)
        change = fire_certificate(cert, "revoke", USERS["certifier"], "Verbund aufgelöst", clock=clock)
        assert uow.certificates.save(cert, change) == 2
        assert uow.decisions.find("P-17").outcome is Outcome.CERTIFIED
    with UnitOfWork(seeded) as uow:
        assert uow.certificates.get("FZ-2026-001", date(2026, 5, 5)).state is CertificateState.REVOKED
        assert [c.key for c in uow.certificates.of_familienzentrum("fz-1")] == ["FZ-2026-001/2026-05-05"]
    assert [e.action for e in _log(seeded, "certificate")] == ["certificate.issue", "certificate.revoke"]
    with pytest.raises(IntegrityError):  # the same term twice
        with UnitOfWork(seeded) as uow:
            uow.certificates.add(issue_certificate("FZ-2026-001", "fz-1", date(2026, 5, 5)), actor_id="u-cert",
                                 reason="doppelt")


def test_a_failed_unit_of_work_leaves_nothing_behind(seeded):
    before = len(_log(seeded))
    with pytest.raises(ConflictError):
        with UnitOfWork(seeded) as uow:
            uow.kitas.save(replace(uow.kitas.get("k1"), name="X"), actor_id="u-admin", reason="eins")
            uow.kitas.save(replace(uow.kitas.get("k1"), name="Y"), actor_id="u-admin", reason="zwei",
                           expected_version=1)
    assert len(_log(seeded)) == before
    with seeded.connect() as connection:
        assert connection.execute(text("SELECT name, version FROM kita WHERE id = 'k1'")).one() == ("Kita Muster 1", 1)


def _second_jugendamt(uow) -> None:
    """Jugendamt B with Kita k4 in an Einzel-Familienzentrum fz-2, and a user who is an auditor too."""
    by, why = "u-admin", "Testdaten"
    uow.jugendaemter.add(Jugendamt("ja-b", "Jugendamt Beispielstadt"), actor_id=by, reason=why)
    uow.kitas.add(Kita("k4", "Kita Muster 4", "tr-1", "ja-b", "Musterweg 4", "54321", "Beispielstadt", 51.5, 7.5),
                  actor_id=by, reason=why)
    uow.familienzentren.add(Familienzentrum("fz-2", "Familienzentrum Beispiel", Form.EINZEL, ("k4",), "k4", "ja-b"),
                            actor_id=by, reason=why)


def _ids(items):
    return [item.id for item in items]


def test_scoped_reads_filter_by_role_in_sql(seeded, clock):
    with UnitOfWork(seeded, clock=clock) as uow:
        _second_jugendamt(uow)
        nominate_procedure(uow, clock)
    visible = {}
    with UnitOfWork(seeded) as uow:
        for who, user in USERS.items():
            visible[who] = (_ids(uow.familienzentren.visible_to(user)), _ids(uow.procedures.visible_to(user)))
    assert visible == {
        "certifier": (["fz-1", "fz-2"], ["P-17"]), "admin": (["fz-1", "fz-2"], ["P-17"]),
        "coordinator": (["fz-1"], ["P-17"]), "lead": (["fz-1"], ["P-17"]),
        "lead2": ([], []),      # a Kita lead without a Familienzentrum
        "auditor": ([], []),    # nothing assigned yet
    }
    with UnitOfWork(seeded, clock=clock) as uow:
        procedure = uow.procedures.get("P-17")
        procedure.auditor_id = USERS["auditor"].id
        uow.procedures.save(procedure, actor_id="u-cert", reason="Auditor beauftragt")
    with UnitOfWork(seeded) as uow:
        auditor = USERS["auditor"]
        assert _ids(uow.familienzentren.visible_to(auditor)) == ["fz-1"]
        assert uow.familienzentren.visible_to(auditor)[0] == uow.familienzentren.get("fz-1")  # with its members
        assert _ids(uow.procedures.visible_to(auditor)) == ["P-17"]


def test_procedures_visible_narrowed_by_familienzentrum_jugendamt_state_and_submission(seeded, clock):
    with UnitOfWork(seeded, clock=clock) as uow:
        _second_jugendamt(uow)
        nominate_procedure(uow, clock)
    admin = USERS["admin"]
    with UnitOfWork(seeded) as uow:
        assert _ids(uow.procedures.visible_to(admin, familienzentrum_ids=["fz-1"])) == ["P-17"]
        assert _ids(uow.procedures.visible_to(admin, familienzentrum_ids=["fz-2"])) == []
        assert _ids(uow.procedures.visible_to(admin, familienzentrum_ids=[])) == []
        assert _ids(uow.procedures.visible_to(admin, jugendamt_id="ja-a")) == ["P-17"]
        assert _ids(uow.procedures.visible_to(admin, jugendamt_id="ja-b")) == []
        assert _ids(uow.procedures.visible_to(admin, states=[ProcedureState.NOMINATED])) == ["P-17"]
        assert _ids(uow.procedures.visible_to(admin, states=[ProcedureState.CERTIFIED])) == []
        assert _ids(uow.procedures.visible_to(admin, submitted=True)) == []
        uow.submissions.save_draft("P-17", {"answers": {}}, by="u-lead")
    with UnitOfWork(seeded) as uow:  # a draft is not a submission
        assert _ids(uow.procedures.visible_to(admin, submitted=True)) == []


def test_familienzentren_in_pages_and_by_id(seeded, clock):
    with UnitOfWork(seeded, clock=clock) as uow:
        _second_jugendamt(uow)
    admin = USERS["admin"]
    with UnitOfWork(seeded) as uow:
        assert _ids(uow.familienzentren.visible_to(admin, limit=1)) == ["fz-1"]
        page = uow.familienzentren.visible_to(admin, limit=1, offset=1)
        assert page == [Familienzentrum("fz-2", "Familienzentrum Beispiel", Form.EINZEL, ("k4",), "k4", "ja-b")]
        assert uow.familienzentren.visible_to(admin, offset=2) == []
        assert _ids(uow.familienzentren.all("ja-b")) == ["fz-2"]
        assert (uow.familienzentren.jugendamt_of("fz-2"), uow.familienzentren.jugendamt_of("fz-9"),
                uow.familienzentren.jugendamt_of(None)) == ("ja-b", None, None)
        assert _ids(uow.jugendaemter.many({"ja-b", "ja-a", "ja-x"})) == ["ja-a", "ja-b"]
        assert uow.users.many([]) == [] and uow.users.many(["u-lead"]) == [USERS["lead"]]


def test_seal_numbers_scoped_each_once_and_sorted_by_code_point(seeded, clock):
    with UnitOfWork(seeded, clock=clock) as uow:
        _second_jugendamt(uow)
        for number, fz, issued in [("fz-2021-001", "fz-1", date(2021, 5, 1)),
                                   ("FZ2021-009", "fz-1", date(2021, 5, 1)),
                                   ("FZ-2021-010", "fz-2", date(2021, 5, 1)),
                                   ("FZ-2021-010", "fz-2", date(2025, 5, 1))]:
            uow.certificates.add(issue_certificate(number, fz, issued), actor_id="u-cert", reason="Zertifiziert")
    with UnitOfWork(seeded) as uow:
        everything = uow.certificates.numbers_visible_to(USERS["certifier"])
        assert everything == sorted({"fz-2021-001", "FZ2021-009", "FZ-2021-010"})  # as Python sorts, on both databases
        assert everything == ["FZ-2021-010", "FZ2021-009", "fz-2021-001"]
        assert uow.certificates.numbers_visible_to(USERS["coordinator"]) == ["FZ2021-009", "fz-2021-001"]
        assert uow.certificates.numbers_visible_to(USERS["lead2"]) == []
        assert uow.certificates.numbers_visible_to(USERS["admin"], limit=1, offset=1) == ["FZ2021-009"]
        assert [c.number for c in uow.certificates.of_familienzentren(["fz-2"])] == ["FZ-2021-010", "FZ-2021-010"]


def test_the_audit_trail_is_read_through_the_unit_of_work(seeded, clock):
    with UnitOfWork(seeded, clock=clock) as uow:
        nominate_procedure(uow, clock)
    nominated = clock.at
    clock.advance(days=2)
    with UnitOfWork(seeded, clock=clock) as uow:
        procedure = uow.procedures.get("P-17")
        uow.procedures.save(procedure, fire(procedure, "register", USERS["lead"], "Anmeldung", clock=clock,
                                            familienzentrum=uow.familienzentren.get("fz-1")))
        uow.submissions.save_draft("P-17", {"answers": {}}, by="u-lead")
    clock.advance(days=1)
    with UnitOfWork(seeded, clock=clock) as uow:  # an edit that is no state change
        procedure = uow.procedures.get("P-17")
        procedure.planned_audit_date = date(2026, 3, 1)
        uow.procedures.save(procedure, actor_id="u-cert", reason="Termin")
    with UnitOfWork(seeded) as uow:
        assert uow.audit_log.verify().ok
    with UnitOfWork(seeded) as uow:
        trail = uow.audit_log.procedure_history("P-17")
        assert [e.action for e in trail] == ["procedure.nominate", "procedure.register", "assessment_revision.create",
                                             "procedure.update"]
        assert trail == uow.procedures.history("P-17")
        assert [e.action for e in uow.audit_log.entries_for("procedure", "P-17")] == [
            "procedure.nominate", "procedure.register", "procedure.update"]
        assert [e.subject_id for e in uow.audit_log.entries_for("kita")] == ["k1", "k2", "k3"]
        assert uow.audit_log.state_since(["P-17", "P-99"]) == {"P-17": nominated + timedelta(days=2)}
        assert uow.audit_log.state_since([]) == {}
