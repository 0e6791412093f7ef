"""The Verbund rules and the re-certification window through the services, on SQLite and PostgreSQL (DVO § 11).

(``db_world``: the members certified are replayed from the audit trail the database keeps; the last test runs
the same-day case on the in-memory twin too.)

* the members certified are those at issue, also when members leave or join on the day of issue;
* a sixth member or one beyond 3 km joins with a recorded exception;
* a certified Einzeleinrichtung becomes a Verbund: a new certification with a new number;
* a re-certification opened before its window is refused unless forced.
"""

from __future__ import annotations

from datetime import date

import pytest

from certflow import services
from certflow.calendar import KindergartenYear
from certflow.catalogue.model import Form, ProcedureKind
from certflow.lifecycle import CertificateState, Outcome, ProcedureState, Refused
from certflow.services.certificates import start_recertification
from certflow.messages import describe
from certflow.services.verbund import join, leave, restructure
from db_support import db_url, engine, postgres_admin  # noqa: F401
from test_services_world import db_world, memory_world  # noqa: F401

ISSUE_DAY = date(2026, 5, 11)          # world.certify decides on this day (09:00 UTC), the clock moves an hour a step

MORE_KITAS = """id;name;traeger_id;jugendamt_id;strasse;plz;ort;lat;lon
k7;Kita Sieben;tr-a;ja-a;Weg 7;50001;Musterstadt;51,0060;7,0020
k8;Kita Acht;tr-a;ja-a;Weg 8;50001;Musterstadt;51,0030;7,0090
k9;Kita Weit;tr-a;ja-a;Fernweg 9;50009;Fern;51,0500;7,0000
"""


def _trail(world, kind: str, subject: str):
    return world.entries(kind, subject)


def _certificates(world, fz_id: str):
    return world.read(lambda uow: [(c.number, c.issued, c.valid_until, c.state)
                                   for c in uow.certificates.of_familienzentrum(fz_id)])


# --- the members certified are those at issue --------------------------------------------------------------------


def test_members_leaving_on_the_issue_day_still_count_among_those_certified(db_world):
    world = db_world
    world.do(join, "coord-a", "fz-v", "k5", "Kooperation vereinbart")            # k2, k3, k4, k5 before the seal
    world.certify("fz-v", "lead-v", sites=("k2", "k3"))                           # issued 11.05.2026
    assert world.clock.at.date() == ISSUE_DAY
    kept = world.do(leave, "coord-a", "fz-v", "k3", "Trägerwechsel")             # still the day of issue
    assert describe(kept).startswith("k3 verliert das Gütesiegel; der Verbund behält es (3 von 4 zertifizierten")
    # a second leave that day leaves 2 of the 4 certified: exactly half, the seal must go
    with pytest.raises(Refused, match=r"nur 2 von 4 zertifizierten Einrichtungen bleiben.*zusammen mit dem Widerruf"):
        world.do(leave, "coord-a", "fz-v", "k4", "Schließung")
    assert world.clock.at.date() == ISSUE_DAY
    revoked = world.do(leave, "cert-1", "fz-v", "k4", "Schließung")
    assert "nur 2 von 4 zertifizierten Einrichtungen bleiben" in describe(revoked)
    assert describe(revoked).endswith("Gütesiegel FZ-2026-001 widerrufen")
    assert [c[3] for c in _certificates(world, "fz-v")] == [CertificateState.REVOKED]


def test_a_kita_joining_on_the_issue_day_after_the_seal_was_issued_does_not_count(db_world):
    world = db_world
    world.certify("fz-v", "lead-v", sites=("k2", "k3"))                           # k2, k3, k4 certified
    world.do(join, "coord-a", "fz-v", "k5", "Kooperation vereinbart")            # same day, after the decision
    kept = world.do(leave, "coord-a", "fz-v", "k3", "Trägerwechsel")
    assert describe(kept).startswith("k3 verliert das Gütesiegel; der Verbund behält es (2 von 3 zertifizierten")
    world.at(date(2026, 9, 1))
    with pytest.raises(Refused, match=r"nur 1 von 3 zertifizierten Einrichtungen bleiben"):
        world.do(leave, "coord-a", "fz-v", "k4", "Schließung")


def test_members_certified_count_on_later_days_too(db_world):
    world = db_world
    world.certify("fz-v", "lead-v", sites=("k2", "k3"))
    world.at(date(2026, 6, 1))
    world.do(join, "coord-a", "fz-v", "k5", "Kooperation vereinbart")
    world.at(date(2026, 7, 1))
    kept = world.do(leave, "coord-a", "fz-v", "k4", "Trägerwechsel")
    assert "(2 von 3 zertifizierten Einrichtungen bleiben)" in describe(kept)


# --- exceptions to "in der Regel höchstens 5 Einrichtungen im Umkreis von 3 km" -----------------------------------


def test_a_sixth_member_or_one_beyond_3_km_joins_with_a_recorded_exception(db_world):
    world = db_world
    world.do(services.import_kitas, "admin", "mehr.csv", "neue Kitas", text=MORE_KITAS)
    world.certify("fz-v", "lead-v", sites=("k2", "k3"))
    world.at(date(2026, 6, 1))
    world.do(join, "coord-a", "fz-v", "k5", "Kooperation vereinbart")
    world.do(join, "coord-a", "fz-v", "k7", "Kooperation vereinbart")            # five members
    with pytest.raises(Refused, match=r"Kita Acht kann dem Verbund nicht beitreten: Ein Verbund hat höchstens 5 "
                                      r"Einrichtungen, Verbund Mitte hätte 6\. In der Regel; eine Ausnahme"):
        world.do(join, "coord-a", "fz-v", "k8", "Kooperation vereinbart")
    sixth = world.do(join, "coord-a", "fz-v", "k8", "Kooperation vereinbart",
                     exception_reason="Ausnahme des Ministeriums vom 20.05.2026")
    assert describe(sixth).startswith("Kita Acht trägt das Gütesiegel des Verbunds bis 31.07.2030; Ausnahme erfasst")
    assert world.read(lambda uow: uow.familienzentren.get("fz-v").member_kita_ids) == (
        "k2", "k3", "k4", "k5", "k7", "k8")

    world.do(leave, "coord-a", "fz-v", "k7", "Trägerwechsel")                   # back to four
    world.do(leave, "coord-a", "fz-v", "k8", "Trägerwechsel")
    with pytest.raises(Refused, match="Kita Weit kann dem Verbund nicht beitreten: Kita Zwei und Kita Weit liegen"):
        world.do(join, "admin", "fz-v", "k9", "Neubau am Ortsrand")
    far = world.do(join, "admin", "fz-v", "k9", "Neubau am Ortsrand",
                   exception_reason="Ländlicher Raum, Jugendhilfeplanung vom 02.06.2026")
    assert "Ausnahme erfasst" in describe(far) and "km auseinander" in describe(far)

    exceptions = [e for e in _trail(world, "familienzentrum", "fz-v") if e.action == "familienzentrum.exception"]
    assert [(e.actor_id, e.reason, e.payload["kita_id"]) for e in exceptions] == [
        ("coord-a", "Ausnahme des Ministeriums vom 20.05.2026", "k8"),
        ("admin", "Ländlicher Raum, Jugendhilfeplanung vom 02.06.2026", "k9"),
    ]
    assert exceptions[0].payload["rules"] == ["Ein Verbund hat höchstens 5 Einrichtungen, Verbund Mitte hätte 6"]
    assert exceptions[0].payload["join_reason"] == "Kooperation vereinbart"
    assert all("km auseinander (erlaubt: 3,0 km)" in r for r in exceptions[1].payload["rules"])


# --- Einzel -> Verbund ---------------------------------------------------------------------------------------------


def test_a_certified_einzel_becomes_a_verbund_with_a_new_certificate_number(db_world):
    world = db_world
    world.certify("fz-1", "lead-1")                                              # FZ-2026-001, valid to 31.07.2030
    world.at(date(2029, 9, 2))
    with pytest.raises(Refused, match="Neue Zertifizierung als Verbund eröffnen ist der Rolle 'Koordination"):
        world.do(restructure, "coord-a", "fz-1", ["k1", "k5"], "k1", "Zusammenschluss")
    with pytest.raises(Refused, match="Kita Sechs gehört schon zum Familienzentrum fz-b"):
        world.do(restructure, "cert-1", "fz-1", ["k1", "k6"], "k1", "Zusammenschluss")
    opened = world.do(restructure, "cert-1", "fz-1", ["k1", "k5"], "k1", "Zusammenschluss mit Kita Fünf")
    p = opened.procedure
    assert (p.id, p.kind, p.state, p.kgj) == ("V-2029-001", ProcedureKind.ERST, ProcedureState.REGISTERED,
                                              KindergartenYear(2029))
    assert opened.event == "verbund.restructured" and opened.changes[0].to_state == "registered"
    assert opened.facts["outcome"] == (
        "Neue Zertifizierung V-2029-001 für Familienzentrum Eins als Verbund eröffnet (Kindergartenjahr 2029/30, "
        "Einrichtungen k1, k5, Zuschussempfänger k1); nach der Entscheidung erhält der Verbund eine neue "
        "Zertifizierungsnummer; das bisherige Gütesiegel FZ-2026-001 gilt bis dahin, längstens bis 31.07.2030, "
        "und wird nicht re-zertifiziert")
    fz = world.read(lambda uow: uow.familienzentren.get("fz-1"))
    assert (fz.form, fz.member_kita_ids, fz.zuschussempfaenger_id, fz.certificate_number) == (
        Form.VERBUND, ("k1", "k5"), "k1", None)
    assert _certificates(world, "fz-1")[0][3] is CertificateState.VALID       # the old seal runs until then
    with pytest.raises(Refused, match="bereits ein Verbund"):
        world.do(restructure, "cert-1", "fz-1", ["k1", "k5"], "k1", "nochmal")

    world.do(services.start_development, "lead-1", p.id, "Verbund entwickelt sich")
    world.at(date(2030, 3, 2))
    world.submit(p.id)
    world.schedule(p.id)
    world.record(p.id, sites=("k1", "k5"))
    world.sign_off(p.id)
    world.at(date(2030, 5, 12))
    world.do(services.decide, "cert-2", p.id, Outcome.CERTIFIED, "Verbund erfüllt alle Bereiche")
    assert _certificates(world, "fz-1") == [
        ("FZ-2026-001", date(2026, 5, 11), date(2030, 7, 31), CertificateState.RENEWED),
        ("FZ-2030-001", date(2030, 5, 12), date(2034, 7, 31), CertificateState.VALID),
    ]
    assert world.read(lambda uow: uow.familienzentren.get("fz-1").certificate_number) == "FZ-2030-001"
    superseded = [e for e in _trail(world, "certificate", "FZ-2026-001/2026-05-11") if e.to_state == "renewed"]
    assert len(superseded) == 1 and superseded[0].action == "certificate.supersede"


def test_restructuring_needs_a_seal_and_a_year_not_past(db_world):
    world = db_world
    with pytest.raises(Refused, match="^Familienzentrum Eins hat kein gültiges Gütesiegel; eine neue Zertifizierung "
                                      "als Verbund ohne Kontingentplatz gibt es nur für ein zertifiziertes"):
        world.do(restructure, "cert-1", "fz-1", ["k1", "k5"], "k1", "Zusammenschluss")
    world.certify("fz-1", "lead-1")
    world.at(date(2027, 9, 1))
    with pytest.raises(Refused, match="das Kindergartenjahr 2026/27 ist vorbei"):
        world.do(restructure, "cert-1", "fz-1", ["k1", "k5"], None, "x", kgj=KindergartenYear(2026))
    with pytest.raises(Refused, match="spätestens im Kindergartenjahr 2029/30"):
        world.do(restructure, "cert-1", "fz-1", ["k1", "k5"], None, "x", kgj=KindergartenYear(2030))
    with pytest.raises(Refused, match="Die bisherige Einrichtung k1 muss zum neuen Verbund gehören"):
        world.do(restructure, "cert-1", "fz-1", ["k5"], None, "x")
    early = world.do(restructure, "cert-1", "fz-1", ["k1", "k5"], None, "früher Zusammenschluss",
                     kgj=KindergartenYear(2027))
    assert (early.procedure.kgj, early.procedure.period_start) == (KindergartenYear(2027), date(2027, 8, 1))
    assert early.familienzentrum.zuschussempfaenger_id == "k1"


# --- the re-certification window ------------------------------------------------------------------------------------


def test_a_recertification_for_a_seal_issued_today_is_refused_unless_forced(db_world):
    world = db_world
    world.certify("fz-1", "lead-1")                                              # issued today, valid to 31.07.2030
    with pytest.raises(Refused, match=r"^Die Re-Zertifizierung des Gütesiegels FZ-2026-001 \(gültig bis 31\.07\.2030\) "
                                      r"beginnt frühestens am 01\.10\.2028; vorher nur erzwungen, mit Begründung$"):
        world.do(start_recertification, "cert-1", "fz-1", "gleich mit erledigen")
    assert world.read(lambda uow: uow.procedures.of_familienzentrum("fz-1"))[-1].kind is ProcedureKind.ERST
    forced = world.do(start_recertification, "cert-1", "fz-1", "Träger wünscht frühen Beginn", force=True)
    assert forced.procedure.kind is ProcedureKind.RE and forced.procedure.kgj == KindergartenYear(2029)
    assert forced.warnings == ("Vor dem Re-Zertifizierungsfenster eröffnet (erzwungen): es beginnt am 01.10.2028",)
    (opening,) = [e for e in world.read(lambda uow: uow.procedures.history(forced.procedure.id))
                  if e.action == "procedure.open_recertification"]
    assert (opening.actor_id, opening.reason) == ("cert-1", "Träger wünscht frühen Beginn")
    assert opening.payload["warnings"] == [
        "Vor dem Re-Zertifizierungsfenster eröffnet (erzwungen): es beginnt am 01.10.2028"]
    assert _certificates(world, "fz-1")[0][3] is CertificateState.VALID        # the window itself is not open yet


def test_the_in_memory_twin_counts_the_members_at_issue_too(tmp_path):
    world = memory_world(tmp_path)
    world.do(join, "coord-a", "fz-v", "k5", "Kooperation vereinbart")
    world.certify("fz-v", "lead-v", sites=("k2", "k3"))
    world.do(leave, "coord-a", "fz-v", "k3", "Trägerwechsel")
    with pytest.raises(Refused, match=r"nur 2 von 4 zertifizierten Einrichtungen bleiben"):
        world.do(leave, "coord-a", "fz-v", "k4", "Schließung")
