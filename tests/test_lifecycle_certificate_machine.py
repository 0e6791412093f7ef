"""The certificate machine: open the re-certification window, renew, expire, revoke."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest
from test_lifecycle_world import ADMIN, AUDITOR, CERTIFIER, LEAD, certificate

from certflow.lifecycle import (
    CERTIFICATE_MACHINE, CertificateState, Refused, fire_certificate, issue_certificate,
)

C = CertificateState


def at(year: int, month: int, day: int):
    # 10:00 UTC is the same day in NRW
    return lambda: datetime(year, month, day, 10, tzinfo=timezone.utc)


def test_issue_is_valid_four_years_to_the_end_of_the_kindergartenjahr() -> None:
    cert = issue_certificate("FZ-0001", "fz-1", date(2022, 5, 10))
    assert (cert.valid_until, cert.state, cert.key) == (date(2026, 7, 31), C.VALID, "FZ-0001/2022-05-10")
    assert issue_certificate("FZ-0001", "fz-1", date(2022, 8, 2)).valid_until == date(2027, 7, 31)


def test_open_recertification_only_in_its_window() -> None:
    cert = certificate()  # valid until 31.07.2026, documents from 01.10.2024
    with pytest.raises(Refused, match="beginnt frühestens am 01.10.2024"):
        fire_certificate(cert, "open_recertification", CERTIFIER, "x", clock=at(2024, 9, 30))
    change = fire_certificate(cert, "open_recertification", ADMIN, "Unterlagen verschickt", clock=at(2024, 10, 1))
    assert (change.subject_kind, change.subject_id, change.from_state, change.to_state) == (
        "certificate", "FZ-0001/2022-05-10", "valid", "recertification_due")
    assert cert.state is C.RECERTIFICATION_DUE and CERTIFICATE_MACHINE.models == []


def test_renew_with_the_next_term() -> None:
    cert = certificate()
    cert.state = C.RECERTIFICATION_DUE
    successor = issue_certificate("FZ-0001", "fz-1", date(2026, 5, 5))
    with pytest.raises(TypeError, match="successor"):
        fire_certificate(cert, "renew", CERTIFIER, "x", clock=at(2026, 5, 5))
    with pytest.raises(Refused, match="muss auf das Gütesiegel FZ-0001"):
        fire_certificate(cert, "renew", CERTIFIER, "x", clock=at(2026, 5, 5), successor=certificate())
    with pytest.raises(Refused, match="gehört zu fz-2"):
        fire_certificate(cert, "renew", CERTIFIER, "x", clock=at(2026, 5, 5),
                         successor=issue_certificate("FZ-0001", "fz-2", date(2026, 5, 5)))
    with pytest.raises(Refused, match="am 31.07.2026 abgelaufen"):
        fire_certificate(cert, "renew", CERTIFIER, "x", clock=at(2026, 8, 1), successor=successor)
    change = fire_certificate(cert, "renew", CERTIFIER, "re-zertifiziert", clock=at(2026, 5, 5), successor=successor)
    assert change.to_state == "renewed" and successor.valid_until == date(2030, 7, 31)


def test_renew_needs_the_recertification_to_be_open() -> None:
    with pytest.raises(Refused, match="Verlängern ist im Zustand 'gültig' nicht möglich"):
        fire_certificate(certificate(), "renew", CERTIFIER, "x", clock=at(2026, 5, 5),
                         successor=issue_certificate("FZ-0001", "fz-1", date(2026, 5, 5)))


@pytest.mark.parametrize("state", [C.VALID, C.RECERTIFICATION_DUE])
def test_expire_only_after_the_validity_end(state: CertificateState) -> None:
    cert = certificate()
    cert.state = state
    with pytest.raises(Refused, match="noch bis 31.07.2026 gültig"):
        fire_certificate(cert, "expire", ADMIN, "Fristablauf", clock=at(2026, 7, 31))
    assert fire_certificate(cert, "expire", ADMIN, "Fristablauf", clock=at(2026, 8, 1)).to_state == "expired"


def test_dates_are_days_in_nrw() -> None:
    cert = certificate()
    # 31.07.2026 22:30 UTC is already 01.08.2026 in NRW (CEST, UTC+2)
    late = lambda: datetime(2026, 7, 31, 22, 30, tzinfo=timezone.utc)  # noqa: E731
    assert fire_certificate(cert, "expire", ADMIN, "Fristablauf", clock=late).to_state == "expired"


@pytest.mark.parametrize("state", [C.VALID, C.RECERTIFICATION_DUE])
def test_revoke(state: CertificateState) -> None:
    cert = certificate()
    cert.state = state
    with pytest.raises(Refused, match="Widerrufen: bitte einen Grund angeben"):
        fire_certificate(cert, "revoke", CERTIFIER, "", clock=at(2025, 1, 1))
    change = fire_certificate(cert, "revoke", CERTIFIER, "Verbund aufgelöst", clock=at(2025, 1, 1))
    assert (change.to_state, change.reason, change.actor_id) == ("revoked", "Verbund aufgelöst", CERTIFIER.id)


@pytest.mark.parametrize("actor", [LEAD, AUDITOR, ADMIN])
def test_only_the_certifier_revokes(actor) -> None:
    with pytest.raises(Refused, match=f"Widerrufen ist der Rolle '{actor.role.label}' nicht erlaubt"):
        fire_certificate(certificate(), "revoke", actor, "x", clock=at(2025, 1, 1))


@pytest.mark.parametrize("state", [C.RENEWED, C.EXPIRED, C.REVOKED])
@pytest.mark.parametrize("event", ["open_recertification", "expire", "revoke"])
def test_final_states_accept_nothing(state: CertificateState, event: str) -> None:
    cert = certificate()
    cert.state = state
    with pytest.raises(Refused, match="nicht möglich$"):
        fire_certificate(cert, event, CERTIFIER, "x", clock=at(2026, 9, 1))
    assert cert.state is state


def test_one_machine_for_all_certificates() -> None:
    a, b = certificate(), certificate(number="FZ-0002")
    fire_certificate(a, "open_recertification", CERTIFIER, "x", clock=at(2025, 1, 1))
    fire_certificate(b, "revoke", CERTIFIER, "y", clock=at(2025, 1, 1))
    fire_certificate(a, "expire", CERTIFIER, "z", clock=at(2026, 8, 1))
    assert (a.state, b.state) == (C.EXPIRED, C.REVOKED)
    assert CERTIFICATE_MACHINE.models == []


@pytest.mark.parametrize("state", [C.VALID, C.RECERTIFICATION_DUE])
def test_a_restructured_verbund_s_new_seal_supersedes_the_old_one(state: CertificateState) -> None:
    old = certificate()                                                   # FZ-0001, valid until 31.07.2026
    old.state = state
    same_number = issue_certificate("FZ-0001", "fz-1", date(2026, 5, 4))
    with pytest.raises(Refused, match="dieselbe Nummer FZ-0001: das ist eine Verlängerung, keine Ablösung"):
        fire_certificate(old, "supersede", CERTIFIER, "x", clock=at(2026, 5, 4), successor=same_number)
    with pytest.raises(Refused, match="nicht erlaubt"):
        fire_certificate(old, "supersede", ADMIN, "x", clock=at(2026, 5, 4),
                         successor=issue_certificate("FZ-2026-001", "fz-1", date(2026, 5, 4)))
    with pytest.raises(Refused, match="gehört zu fz-2"):
        fire_certificate(old, "supersede", CERTIFIER, "x", clock=at(2026, 5, 4),
                         successor=issue_certificate("FZ-2026-001", "fz-2", date(2026, 5, 4)))
    assert old.state is state
    new = issue_certificate("FZ-2026-001", "fz-1", date(2026, 5, 4))
    change = fire_certificate(old, "supersede", CERTIFIER, "Verbund zertifiziert", clock=at(2026, 5, 4), successor=new)
    assert (old.state, change.from_state, change.to_state, change.event) == (
        C.RENEWED, state.value, "renewed", "supersede")
    with pytest.raises(Refused, match="abgelaufen"):
        late = certificate()
        fire_certificate(late, "supersede", CERTIFIER, "x", clock=at(2026, 8, 3),
                         successor=issue_certificate("FZ-2026-002", "fz-1", date(2026, 8, 3)))
