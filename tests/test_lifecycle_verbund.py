"""Verbund rules: size, radius, Zuschussempfänger, join, leave, restructuring, audit sites."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest
from test_lifecycle_world import FZ, KITAS, VERBUND, certificate, kita

from certflow.calendar import KindergartenYear
from certflow.catalogue.model import Form, ProcedureKind
from certflow.lifecycle import (
    CertificateState, Refused, audit_sites_refusal, composition_problems, composition_refusal, distance_km,
    haversine_km, join, leave, restructure_to_verbund,
)


def verbund(n: int, **changes):
    return replace(VERBUND, member_kita_ids=tuple(f"k{i}" for i in range(1, n + 1)), **changes)


def test_haversine() -> None:
    assert haversine_km(51.5, 7.0, 51.5, 7.0) == 0
    assert abs(haversine_km(0, 0, 0, 1) - 111.195) < 0.01  # one degree on the equator
    assert abs(distance_km(KITAS[0], KITAS[1]) - 0.5) < 1e-9


def test_five_members_are_fine_six_are_refused() -> None:
    assert composition_refusal(verbund(5), KITAS) is None
    assert composition_problems(verbund(6), KITAS) == [
        "Ein Verbund hat höchstens 5 Einrichtungen, Verbund Am Bach hätte 6"]


def test_a_verbund_needs_two_members_and_a_member_as_zuschussempfaenger() -> None:
    assert "mindestens 2" in composition_refusal(verbund(1), KITAS)
    assert "keine Einrichtung des Verbunds" in composition_refusal(verbund(3, zuschussempfaenger_id="k5"), KITAS)
    assert "genau einen Zuschussempfänger" in composition_refusal(verbund(3, zuschussempfaenger_id=None), KITAS)


def test_einzel_has_one_kita() -> None:
    assert composition_refusal(FZ, KITAS) is None
    assert "genau eine Kita" in composition_refusal(replace(FZ, member_kita_ids=("k1", "k2")), KITAS)


def test_radius_of_3_km() -> None:
    near, far = kita(8, km_north=2.9), kita(9, km_north=3.1)
    ok = replace(VERBUND, member_kita_ids=("k1", "k8"))
    assert composition_refusal(ok, [*KITAS, near]) is None
    too_far = replace(VERBUND, member_kita_ids=("k1", "k9"))
    assert composition_problems(too_far, [*KITAS, far]) == [
        "Kita 1 und Kita 9 liegen 3,1 km auseinander (erlaubt: 3,0 km); "
        "eine Ausnahme braucht eine dokumentierte Begründung"]
    assert "auseinander" in composition_refusal(replace(too_far, radius_exception_reason="  "), [*KITAS, far])
    excepted = replace(too_far, radius_exception_reason="Ländlicher Raum, Jugendhilfeplanung vom 12.03.2025")
    assert composition_refusal(excepted, [*KITAS, far]) is None


def test_missing_kita_records_are_a_programming_error() -> None:
    with pytest.raises(ValueError, match="missing"):
        composition_refusal(verbund(3), KITAS[:2])


def test_join_carries_the_seal_until_it_expires() -> None:
    cert = certificate(fz_id="fz-v", number="FZ-0007")
    outcome = join(verbund(3), KITAS, KITAS[3], cert, date(2025, 1, 1))
    assert outcome.familienzentrum.member_kita_ids == ("k1", "k2", "k3", "k4")
    assert outcome.seal_valid_until == date(2026, 7, 31)
    assert "trägt das Gütesiegel des Verbunds bis 31.07.2026" in outcome.message
    assert join(verbund(3), KITAS, KITAS[3], cert, date(2026, 8, 1)).seal_valid_until is None
    cert.state = CertificateState.REVOKED
    assert join(verbund(3), KITAS, KITAS[3], cert, date(2025, 1, 1)).seal_valid_until is None


def test_join_refusals() -> None:
    with pytest.raises(Refused, match="Kita 6 kann dem Verbund nicht beitreten: Ein Verbund hat höchstens 5"):
        join(verbund(5), KITAS, KITAS[5], None, date(2025, 1, 1))
    with pytest.raises(Refused, match="schon zum Verbund"):
        join(verbund(3), KITAS, KITAS[0], None, date(2025, 1, 1))
    with pytest.raises(Refused, match="Einzeleinrichtung"):
        join(FZ, KITAS, KITAS[1], None, date(2025, 1, 1))
    with pytest.raises(Refused, match="auseinander"):
        join(verbund(3), KITAS, kita(9, km_north=4.0), None, date(2025, 1, 1))


def test_leave_with_more_than_half_remaining_keeps_the_seal() -> None:
    outcome = leave(verbund(3), "k3", ["k1", "k2", "k3"])
    assert outcome.seal_kept and (outcome.remaining_certified, outcome.certified_members) == (2, 3)
    assert outcome.familienzentrum.member_kita_ids == ("k1", "k2")
    assert "k3 verliert das Gütesiegel; der Verbund behält es" in outcome.message


def test_leave_with_exactly_half_remaining_revokes_the_seal() -> None:
    certified = ["k1", "k2", "k3", "k4"]
    first = leave(verbund(4), "k4", certified)
    assert first.seal_kept
    second = leave(first.familienzentrum, "k3", certified)
    assert not second.seal_kept and (second.remaining_certified, second.certified_members) == (2, 4)
    assert "ist zu widerrufen" in second.message
    assert not leave(verbund(2), "k2", ["k1", "k2"]).seal_kept


def test_members_who_joined_later_do_not_count() -> None:
    members = verbund(4)  # k4 joined after the certification of k1..k3
    outcome = leave(leave(members, "k3", ["k1", "k2", "k3"]).familienzentrum, "k2", ["k1", "k2", "k3"])
    assert not outcome.seal_kept and outcome.familienzentrum.member_kita_ids == ("k1", "k4")


def test_leaving_zuschussempfaenger_needs_a_successor() -> None:
    with pytest.raises(Refused, match="neuen Zuschussempfänger"):
        leave(verbund(3), "k1", ["k1", "k2", "k3"])
    outcome = leave(verbund(3), "k1", ["k1", "k2", "k3"], new_zuschussempfaenger_id="k2")
    assert outcome.familienzentrum.zuschussempfaenger_id == "k2"
    with pytest.raises(Refused, match="gehört nicht zum Verbund"):
        leave(verbund(3), "k5", ["k1"])


def test_einzel_to_verbund_is_a_new_certification_with_a_new_number() -> None:
    fz = replace(FZ, certificate_number="FZ-0001")
    plan = restructure_to_verbund(fz, KITAS, ["k1", "k2"], "k1", certificate())
    assert plan.familienzentrum.form is Form.VERBUND and plan.familienzentrum.certificate_number is None
    assert (plan.procedure_kind, plan.kgj, plan.new_certificate_number_needed) == (
        ProcedureKind.ERST, KindergartenYear(2025), True)
    assert (plan.previous_certificate_number, plan.previous_valid_until) == ("FZ-0001", date(2026, 7, 31))
    assert not plan.contingent_place_needed and len(plan.steps) == 3
    with pytest.raises(Refused, match="bereits ein Verbund"):
        restructure_to_verbund(VERBUND, KITAS, ["k1", "k2"], "k1")
    with pytest.raises(Refused, match="muss zum neuen Verbund gehören"):
        restructure_to_verbund(fz, KITAS, ["k2", "k3"], "k2")
    with pytest.raises(Refused, match="höchstens 5"):
        restructure_to_verbund(fz, KITAS, [f"k{i}" for i in range(1, 7)], "k1")


@pytest.mark.parametrize(("fz", "sites", "message"), [
    (VERBUND, ("k1", "k2"), None),
    (VERBUND, ("k3", "k1"), None),
    (VERBUND, ("k1",), "genau 2 Standorten"),
    (VERBUND, ("k1", "k2", "k3"), "genau 2 Standorten"),
    (VERBUND, ("k2", "k3"), "schließt den Zuschussempfänger k1 ein"),
    (VERBUND, ("k1", "k1"), "doppelt"),
    (VERBUND, ("k1", "k6"), "k6 gehören nicht"),
    (FZ, ("k1",), None),
    (FZ, (), "genau einem Standort"),
])
def test_audit_sites(fz, sites, message) -> None:
    result = audit_sites_refusal(fz, sites)
    assert result is None if message is None else message in result


def test_a_sixth_member_joins_with_a_recorded_exception() -> None:
    cert = certificate(fz_id="fz-v", number="FZ-0007")
    with pytest.raises(Refused, match=r"^Kita 6 kann dem Verbund nicht beitreten: Ein Verbund hat höchstens 5 "
                                      r"Einrichtungen, Verbund Am Bach hätte 6\. In der Regel; eine Ausnahme ist "
                                      r"möglich, wenn ihre Begründung erfasst wird$"):
        join(verbund(5), KITAS, KITAS[5], cert, date(2025, 1, 1), exception_reason="   ")
    outcome = join(verbund(5), KITAS, KITAS[5], cert, date(2025, 1, 1),
                   exception_reason="Ausnahme des Ministeriums vom 02.12.2024")
    assert outcome.familienzentrum.member_kita_ids == ("k1", "k2", "k3", "k4", "k5", "k6")
    assert outcome.exceptions == ("Ein Verbund hat höchstens 5 Einrichtungen, Verbund Am Bach hätte 6",)
    assert outcome.exception_reason == "Ausnahme des Ministeriums vom 02.12.2024"
    assert outcome.message == (
        "Kita 6 trägt das Gütesiegel des Verbunds bis 31.07.2026; Ausnahme erfasst (Ein Verbund hat höchstens 5 "
        "Einrichtungen, Verbund Am Bach hätte 6): Ausnahme des Ministeriums vom 02.12.2024")
    assert outcome.familienzentrum.radius_exception_reason is None  # the size exception is no radius exception


def test_a_member_beyond_3_km_joins_with_a_recorded_exception() -> None:
    far = kita(9, km_north=5.0)
    with pytest.raises(Refused, match="Kita 1 und Kita 9 liegen 5,0 km auseinander"):
        join(verbund(3), KITAS, far, None, date(2025, 1, 1))
    outcome = join(verbund(3), KITAS, far, None, date(2025, 1, 1),
                   exception_reason="Ländlicher Raum, Beschluss der Jugendhilfeplanung vom 12.03.2025")
    assert outcome.exceptions == (
        "Kita 1 und Kita 9 liegen 5,0 km auseinander (erlaubt: 3,0 km)",
        "Kita 2 und Kita 9 liegen 4,5 km auseinander (erlaubt: 3,0 km)",
        "Kita 3 und Kita 9 liegen 4,0 km auseinander (erlaubt: 3,0 km)",
    )
    assert outcome.familienzentrum.member_kita_ids == ("k1", "k2", "k3", "k9")
    # the pairs already in the Verbund were accepted before: a later near Kita needs no exception for them
    near = kita(8, km_north=2.5)
    later = join(outcome.familienzentrum, [*KITAS, far], near, None, date(2025, 2, 1))
    assert later.exceptions == () and later.familienzentrum.member_kita_ids[-1] == "k8"


def test_an_exception_reason_waives_only_the_rules_that_say_in_der_regel() -> None:
    with pytest.raises(Refused, match="schon zum Verbund"):
        join(verbund(3), KITAS, KITAS[0], None, date(2025, 1, 1), exception_reason="egal")
    with pytest.raises(Refused, match="Einzeleinrichtung"):
        join(FZ, KITAS, KITAS[1], None, date(2025, 1, 1), exception_reason="egal")
    fine = join(verbund(3), KITAS, KITAS[3], None, date(2025, 1, 1), exception_reason="vorsorglich")
    assert (fine.exceptions, fine.exception_reason) == ((), None)
    assert fine.message.endswith("(keine Ausnahme nötig: die Regeln sind eingehalten)")


def test_restructuring_into_a_large_or_wide_verbund_needs_an_exception() -> None:
    fz = replace(FZ, certificate_number="FZ-0001")
    six = [f"k{i}" for i in range(1, 7)]
    plan = restructure_to_verbund(fz, KITAS, six, "k1", certificate(), exception_reason="Ausnahme des Ministeriums")
    assert plan.exceptions == ("Ein Verbund hat höchstens 5 Einrichtungen, Familienzentrum Sonnenhof hätte 6",)
    far = kita(9, km_north=5.0)
    wide = restructure_to_verbund(fz, [*KITAS, far], ["k1", "k9"], "k1", exception_reason="Ländlicher Raum")
    assert wide.familienzentrum.radius_exception_reason == "Ländlicher Raum"
    assert wide.exceptions == ("Kita 1 und Kita 9 liegen 5,0 km auseinander (erlaubt: 3,0 km)",)
