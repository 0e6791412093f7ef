"""Read use cases for documents: which procedures of a Jugendamt have a packet, which seals an Urkunde (scoped).

On the demo database (``demo_db`` in conftest), read only.
"""

from __future__ import annotations

import pytest

from certflow import services
from certflow.db import UnitOfWork, make_engine
from certflow.errors import InputError
from certflow.lifecycle import Refused
from db_support import db_url, engine, postgres_admin  # noqa: F401
from test_services_world import world  # noqa: F401

WIESENTAL = ["V-2020-001", "V-2024-001", "V-2025-005", "V-2025-007"]
HELLBACH = ["V-2020-002", "V-2022-001", "V-2024-002", "V-2025-004", "V-2025-006"]


@pytest.fixture(scope="module")
def read(demo_db):
    engine = make_engine(f"sqlite:///{demo_db.db}")

    def run(action, *args, **kwargs):
        with UnitOfWork(engine) as uow:
            return action(uow, *args, **kwargs)

    yield run
    engine.dispose()


@pytest.mark.parametrize("user, jugendamt, expected", [
    ("admin", "ja-wiesental", WIESENTAL),
    ("zert-1", "ja-hellbach", HELLBACH),
    ("koord-wiesental", "ja-wiesental", WIESENTAL),
    ("koord-hellbach", "ja-hellbach", HELLBACH),
    ("auditor-1", "ja-wiesental", ["V-2020-001", "V-2024-001", "V-2025-007"]),
    ("auditor-1", "ja-hellbach", ["V-2020-002", "V-2022-001"]),
    ("auditor-2", "ja-wiesental", []),
    ("leitung-muehlenbach", "ja-wiesental", ["V-2020-001", "V-2024-001"]),
    ("leitung-sonnenblume", "ja-wiesental", []),  # withdrawn before submitting, then nominated again
])
def test_packet_procedures_are_those_with_a_submission_the_user_may_see(read, user, jugendamt, expected):
    assert read(services.packet_procedures, user, jugendamt) == expected


def test_packet_procedures_decided_only(read):
    assert read(services.packet_procedures, "admin", "ja-hellbach", decided=True) == [
        "V-2020-002", "V-2022-001", "V-2024-002"]
    assert read(services.packet_procedures, "koord-wiesental", "ja-wiesental", decided=True) == [
        "V-2020-001", "V-2024-001"]


@pytest.mark.parametrize("user, message", [
    ("koord-hellbach", "Kein Zugriff: Murat Kaya (Koordination im Jugendamt) darf die Verfahren des Jugendamts "
                       "ja-wiesental nicht sehen"),
    ("leitung-nordstern", "Kein Zugriff: Jan Pieper (Kita-Leitung) darf die Verfahren des Jugendamts "
                          "ja-wiesental nicht sehen"),
    ("niemand", "Unbekannter Benutzer"),
])
def test_packet_procedures_of_another_jugendamt_are_refused(read, user, message):
    with pytest.raises(Refused) as caught:
        read(services.packet_procedures, user, "ja-wiesental")
    assert caught.value.message.startswith(message)


def test_packet_procedures_of_an_unknown_jugendamt_is_bad_input(read):
    with pytest.raises(InputError) as caught:
        read(services.packet_procedures, "admin", "ja-nirgendwo")
    assert [str(p) for p in caught.value.problems] == ["ja-nirgendwo: ein Jugendamt mit dieser Kennung gibt es nicht"]


@pytest.mark.parametrize("user, expected", [
    ("admin", ["FZ-2021-001", "FZ-2021-002", "FZ-2023-001"]),
    ("koord-wiesental", ["FZ-2021-002"]),
    ("koord-hellbach", ["FZ-2021-001", "FZ-2023-001"]),
    ("auditor-2", ["FZ-2021-001"]),  # Zechenhaus, through the Re-Zertifizierung assigned to them
    ("leitung-senfkorn", ["FZ-2023-001"]),
    ("leitung-kunterbunt", []),
])
def test_seal_numbers_are_scoped(read, user, expected):
    assert read(services.seal_numbers, user) == expected


def test_packet_procedures_on_both_databases(world):
    """The same scopes through the world fixture, which runs on SQLite and PostgreSQL."""
    from certflow.services import packet_procedures

    submitted = world.nominate()
    world.to_development(submitted)
    world.submit(submitted)
    draft = world.nominate("fz-v")  # nominated, nothing submitted: no packet

    def ids(user, jugendamt="ja-a", **kw):
        return world.read(lambda uow: packet_procedures(uow, user, jugendamt, **kw))

    assert draft != submitted
    assert ids("cert-1") == ids("coord-a") == ids("lead-1") == [submitted]
    assert ids("lead-v") == [] and ids("aud-1") == []  # not theirs / not assigned yet
    assert ids("cert-1", decided=True) == []
    with pytest.raises(Refused, match="Kein Zugriff"):
        ids("coord-b")
    with pytest.raises(InputError):
        ids("cert-1", "ja-x")
