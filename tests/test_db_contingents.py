"""Contingents: a place is taken atomically; never overbooked, also when many coordinators nominate at once."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from certflow.db import ConflictError, UnitOfWork, entries, make_engine, release_place, reserve_place
from certflow.lifecycle import Contingent, Refused, grant, nominate, return_place
from db_support import KGJ, backend, clock, db_url, engine, postgres_admin, seeded  # noqa: F401

FULL = "Kein freier Platz im Kontingent des Jugendamts Jugendamt Musterkreis für 2025/26 (3 von 3 vergeben)"


def _reserve(engine, actor="u-coord"):
    with UnitOfWork(engine) as uow:
        return reserve_place(uow, "ja-a", KGJ, actor_id=actor, reason="Beschluss des JHA")


def test_reserving_takes_places_until_none_is_left(seeded):
    assert [_reserve(seeded).nominated for _ in range(3)] == [1, 2, 3]
    with pytest.raises(Refused) as refused:
        _reserve(seeded)
    assert refused.value.message == FULL
    with pytest.raises(Refused, match=FULL.replace("(", r"\(").replace(")", r"\)")):
        nominate(_reserve_state(seeded), "Jugendamt Musterkreis")  # the domain's own wording is the same
    with UnitOfWork(seeded) as uow:
        log = entries(uow.session, "contingent")
    assert [e.action for e in log] == ["contingent.create"] + ["contingent.reserve"] * 3
    assert log[-1].payload == {"nominated": [2, 3]}


def _reserve_state(engine) -> Contingent:
    with UnitOfWork(engine) as uow:
        return uow.contingents.get("ja-a", KGJ)


def test_no_contingent_means_no_place(seeded):
    with pytest.raises(Refused, match=r"für 2026/27 \(0 von 0 vergeben\)"):
        with UnitOfWork(seeded) as uow:
            reserve_place(uow, "ja-a", KGJ.next(), actor_id="u-coord", reason="zu früh")


def test_a_rolled_back_nomination_gives_its_place_back(seeded):
    with pytest.raises(RuntimeError):
        with UnitOfWork(seeded) as uow:
            reserve_place(uow, "ja-a", KGJ, actor_id="u-coord", reason="JHA")
            raise RuntimeError("the procedure could not be created")
    assert _reserve_state(seeded).nominated == 0


def test_release_frees_a_place(seeded):
    _reserve(seeded)
    with UnitOfWork(seeded) as uow:
        assert release_place(uow, "ja-a", KGJ, actor_id="u-coord", reason="zurückgezogen").nominated == 0
    with pytest.raises(Refused, match="kein Platz vergeben"):
        with UnitOfWork(seeded) as uow:
            release_place(uow, "ja-a", KGJ, actor_id="u-coord", reason="nochmal")


def test_domain_changes_are_saved_with_optimistic_locking(seeded):
    with UnitOfWork(seeded) as uow:
        contingent = uow.contingents.get("ja-a", KGJ)
        version = uow.contingents.version("ja-a/2025/26")
    _reserve(seeded)  # someone nominates meanwhile: the row's version moves on
    with pytest.raises(ConflictError, match=r"Kontingent ja-a/2025/26 .* \(Version 2 statt 1\)"):
        with UnitOfWork(seeded) as uow:
            uow.contingents.save(grant(contingent, 2), actor_id="u-admin", reason="Erlass", expected_version=version)
    with UnitOfWork(seeded) as uow:  # reloaded: fine
        fresh = return_place(grant(uow.contingents.get("ja-a", KGJ), 2), 1)
        uow.contingents.save(fresh, actor_id="u-admin", reason="Nachtrag zum Erlass")
    state = _reserve_state(seeded)
    assert (state.granted, state.nominated, state.returned, state.free) == (5, 1, 1, 3)


def test_the_database_itself_refuses_overbooking(seeded):
    with pytest.raises(IntegrityError):
        with seeded.begin() as connection:
            connection.execute(text("UPDATE contingent SET nominated = granted + 1"))


def test_twenty_coordinators_race_for_the_last_three_places(db_url, backend, seeded):
    """20 threads, each with its own connection, reserve at the same moment: exactly 3 win.

    PostgreSQL: all 20 transactions are open when the barrier falls, the row lock
    decides. SQLite: BEGIN IMMEDIATE queues the transactions (busy timeout).
    """
    with UnitOfWork(seeded) as uow:  # 10 granted, 7 already taken: 3 left
        contingent = uow.contingents.get("ja-a", KGJ)
        uow.contingents.save(Contingent("ja-a", KGJ, granted=10, nominated=7), actor_id="u-admin", reason="Stand")
    racers = 20
    pool = make_engine(db_url, pool_size=racers, max_overflow=0) if backend == "postgresql" else make_engine(db_url)
    barrier = threading.Barrier(racers)
    won: list[int] = []
    refused: list[str] = []
    errors: list[BaseException] = []

    def race() -> None:
        try:
            with UnitOfWork(pool) as uow:
                if backend == "postgresql":
                    uow.session.connection()  # connected, transaction begun, before the barrier falls
                barrier.wait(timeout=20)
                won.append(reserve_place(uow, "ja-a", KGJ, actor_id="u-coord", reason="JHA").nominated)
        except Refused as exc:
            refused.append(exc.message)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=race) for _ in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    pool.dispose()
    assert errors == []
    assert sorted(won) == [8, 9, 10]
    assert len(refused) == racers - 3
    assert set(refused) == {"Kein freier Platz im Kontingent des Jugendamts Jugendamt Musterkreis für 2025/26 "
                            "(10 von 10 vergeben)"}
    final = _reserve_state(seeded)
    assert final.nominated == final.granted == 10 and contingent.granted == 3
