"""Entities: frozen where facts never change, validated where cheap."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, timezone

import pytest
from test_lifecycle_world import FZ, KITAS, LEAD, procedure

from certflow.catalogue.model import Form
from certflow.lifecycle import (
    PROCEDURE_FINAL_STATES, PROCEDURE_STATE_LABELS, Actor, AuditVisit, Certificate, CertificateState, Decision,
    Familienzentrum, Outcome, ProcedureState, Role, User,
)


def test_facts_are_frozen() -> None:
    for fact in (FZ, KITAS[0], LEAD, AuditVisit("p", date(2026, 1, 1), "a", ("k1",)),
                 Decision("p", "u", datetime(2026, 1, 1, tzinfo=timezone.utc), Outcome.CERTIFIED, "ok")):
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(fact, dataclasses.fields(fact)[0].name, "x")
    assert not hasattr(FZ, "__dict__")  # slots


def test_procedure_and_certificate_are_mutable_state_holders() -> None:
    proc = procedure()
    proc.state = ProcedureState.REGISTERED
    assert proc.version == 0 and proc.submitted_revision is None and proc.auditor_id is None
    cert = Certificate("FZ-1", "fz-1", date(2022, 5, 10), date(2026, 7, 31))
    assert cert.state is CertificateState.VALID and cert.key == "FZ-1/2022-05-10"


def test_familienzentrum_members() -> None:
    fz = Familienzentrum("f", "F", Form.VERBUND, ["k1", "k2"], "k1", "ja")
    assert fz.member_kita_ids == ("k1", "k2")
    with pytest.raises(ValueError, match="mindestens eine"):
        Familienzentrum("f", "F", Form.EINZEL, (), None, "ja")
    with pytest.raises(ValueError, match="doppelt"):
        Familienzentrum("f", "F", Form.VERBUND, ("k1", "k1"), "k1", "ja")


def test_labels_and_final_states() -> None:
    assert set(PROCEDURE_STATE_LABELS) == set(ProcedureState)
    assert PROCEDURE_FINAL_STATES == {ProcedureState.CERTIFIED, ProcedureState.NOT_CERTIFIED, ProcedureState.WITHDRAWN}
    assert Role.CERTIFIER.label == "Zertifizierungsstelle" and Actor is User
