"""Master data through the services: Kita CSV import (all or nothing), users, Familienzentren.

On the in-memory twin (``world``): no database needed for these rules.
"""

from __future__ import annotations

import pytest

from certflow import services
from certflow.db.memory import MemoryDatabase, MemoryUnitOfWork
from certflow.kita_csv import KitaCsvError
from certflow.lifecycle import Refused, Role, User
from db_support import FixedClock
from test_services_world import said, world  # noqa: F401

HEADER = "id;name;traeger_id;jugendamt_id;strasse;plz;ort;lat;lon\n"


def _import(world, actor: str, text: str):
    return world.do(services.import_kitas, actor, "neu.csv", "Liste des Jugendamts", text=text)


def test_a_good_file_is_imported_with_its_audit_trail(world):
    text = HEADER + "k7;Kita Sieben;tr-a;ja-a;Weg 7;50001;Musterstadt;51,02;7,02\n" \
                    "k8;Kita Acht;tr-b;ja-a;Weg 8;50001;Musterstadt;51,03;7,03\n"
    assert said(_import(world, "coord-a", text)) == "2 Kita(s) aus neu.csv eingelesen"
    assert {k.id for k in world.read(lambda uow: uow.kitas.in_jugendamt("ja-a"))} >= {"k7", "k8"}
    log = world.entries("kita", "k8")
    assert [(e.action, e.actor_id, e.reason) for e in log] == [("kita.create", "coord-a", "Liste des Jugendamts")]


def test_a_bad_file_reports_every_bad_row_by_line_and_imports_nothing(world):
    text = (HEADER
            + "k9;Kita Neun;tr-a;ja-a;Weg 9;50001;Musterstadt;51,02;7,02\n"       # line 2: fine
            + "k1;Kita Doppelt;tr-a;ja-a;Weg 1;50001;Musterstadt;51,0;7,0\n"      # line 3: exists
            + "k10;Kita Zehn;tr-x;ja-a;Weg 10;50001;Musterstadt;51,0;7,0\n"       # line 4: unknown Träger
            + "k11;Kita Elf;tr-a;ja-b;Weg 11;50002;Andersdorf;51,3;7,3\n"         # line 5: other Jugendamt
            + "k12;Kita Zwölf;tr-a;ja-q;Weg 12;50002;Andersdorf;51,3;7,3\n")      # line 6: unknown Jugendamt
    with pytest.raises(KitaCsvError) as exc:
        _import(world, "coord-a", text)
    assert [str(p) for p in exc.value.problems] == [
        "neu.csv:3: id: Kita 'k1' gibt es schon",
        "neu.csv:4: traeger_id: unbekannter Träger 'tr-x'",
        "neu.csv:5: jugendamt_id: Cora A darf nur Kitas des Jugendamts ja-a einlesen",
        "neu.csv:6: jugendamt_id: unbekanntes Jugendamt 'ja-q'",
    ]
    assert world.read(lambda uow: uow.kitas.find("k9")) is None


def test_format_errors_come_from_the_reader_with_their_lines(world):
    text = HEADER + "k9;Kita Neun;tr-a;ja-a;Weg 9;5000;Musterstadt;51,02;7,02\n" + "k10;Kita Zehn;tr-a\n"
    with pytest.raises(KitaCsvError) as exc:
        _import(world, "admin", text)
    assert [p.line for p in exc.value.problems] == [2, 3]
    assert world.read(lambda uow: len(uow.kitas.all())) == 6


def test_only_admin_and_coordinators_import(world):
    with pytest.raises(Refused, match="Kitas einlesen ist der Rolle 'Kita-Leitung' nicht erlaubt"):
        _import(world, "lead-1", HEADER + "k9;Kita Neun;tr-a;ja-a;Weg 9;50001;Musterstadt;51,02;7,02\n")


def test_the_first_user_of_an_empty_database_may_create_itself_as_admin():
    fresh = MemoryDatabase()
    with pytest.raises(Refused, match="Unbekannter Benutzer 'jemand'"), MemoryUnitOfWork(fresh) as uow:
        services.add_user(uow, "jemand", User("lead", "Lea", Role.KITA_LEAD, familienzentrum_id="x"), "x")
    with MemoryUnitOfWork(fresh, clock=FixedClock()) as uow:
        services.add_user(uow, "root", User("root", "Rita Root", Role.ADMIN), "Einrichtung")
    with pytest.raises(Refused, match="Unbekannter Benutzer 'root2'"), MemoryUnitOfWork(fresh) as uow:
        services.add_user(uow, "root2", User("root2", "Zweite", Role.ADMIN), "noch ein Admin")
    with MemoryUnitOfWork(fresh) as uow:
        assert [u.id for u in uow.users.all()] == ["root"]
    assert [(e.action, e.actor_id) for e in fresh.entries()] == [("user.create", "root")]


def test_users_are_created_by_admin_with_their_scope(world):
    with pytest.raises(Refused, match="Benutzer anlegen ist der Rolle 'Koordination im Jugendamt' nicht erlaubt"):
        world.do(services.add_user, "coord-a", User("x", "X", Role.AUDITOR), "neu")
    with pytest.raises(Refused, match="gehört zu einem Familienzentrum: bitte angeben"):
        world.do(services.add_user, "admin", User("x", "X", Role.KITA_LEAD), "neu")
    assert [u.id for u in world.read(lambda uow: services.list_users(uow, "coord-b"))] == ["coord-b", "lead-b"]
    assert [u.id for u in world.read(lambda uow: services.list_users(uow, "lead-1"))] == ["lead-1"]


def test_familienzentren_are_formed_by_their_jugendamt(world):
    with pytest.raises(Refused, match="Carl B gehört nicht zum Jugendamt des Familienzentrums Neu"):
        world.do(services.create_familienzentrum, "coord-b", "fz-neu", "Neu", ["k5"], "Beschluss")
    with pytest.raises(Refused, match="Kita Eins gehört schon zum Familienzentrum fz-1"):
        world.do(services.create_familienzentrum, "coord-a", "fz-neu", "Neu", ["k5", "k1"], "Beschluss",
                 zuschussempfaenger_id="k5")
    with pytest.raises(Refused, match=r"verschiedenen Jugendämtern \(ja-a, ja-b\)"):
        world.do(services.create_familienzentrum, "admin", "fz-neu", "Neu", ["k5", "k6"], "Beschluss")
    result = world.do(services.create_familienzentrum, "coord-a", "fz-neu", "Neu", ["k5"], "Beschluss")
    assert said(result) == "Familienzentrum Neu (fz-neu) angelegt: Einzeleinrichtung"
