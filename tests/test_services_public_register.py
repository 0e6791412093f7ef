"""The public register and its open data, on SQLite and PostgreSQL: only Familienzentren with a live seal, only
what the seal makes public (never a person), the filters and pages, the three file formats parsed back, and a
fixed number of queries whatever the size.

The world, as of 1 March 2026: Jugendamt A with fz-1 (Einzel, Musterstadt, seal valid until 31.07.2026, certified
with the profiles 4B and 4F), fz-3 (Verbund of k3 in Nebenort and k4 in Musterdorf, seal valid until 31.07.2027),
fz-2 (no seal), fz-4 (seal expired), fz-5 (seal revoked); Jugendamt B with fz-9 (seal due for
re-certification, still valid until 31.07.2026).
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime

import pytest
from db_support import FixedClock, db_url, engine, postgres_admin, sent_statements  # noqa: F401

from certflow.calendar import KindergartenYear
from certflow.catalogue.model import Form, ProcedureKind
from certflow.db import UnitOfWork
from certflow.db.errors import NotFoundError
from certflow.errors import InputError
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
from certflow.services import public_register as register

DAY = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
BY, WHY = "admin", "Testdaten"
PERSON = User("leitung-1", "Lea Geheimname", Role.KITA_LEAD, familienzentrum_id="fz-1")


def _certified(uow, pid: str, fz: str, year: int, profiles: list[str], state=ProcedureState.CERTIFIED) -> None:
    procedure = Procedure(pid, fz, ProcedureKind.ERST, "familienzentrum-nrw@2020", KindergartenYear(year),
                          date(year, 8, 1), date(year + 1, 7, 31), state=state, submitted_revision=1)
    uow.procedures.add(procedure, StateChange("procedure", pid, None, state.value, "nominate", BY, DAY, WHY))
    text = json.dumps({"profiles": profiles, "answers": {}, "remark": "interne Notiz von Lea Geheimname"})
    uow.submissions.add_snapshot(SubmissionSnapshot(pid, 1, sha256_hex(text), text, DAY, BY, True))


def build(db) -> None:
    with UnitOfWork(db, clock=FixedClock(DAY)) as uow:
        for ja in (Jugendamt("ja-a", "Jugendamt Musterkreis"), Jugendamt("ja-b", "Jugendamt Anderswo")):
            uow.jugendaemter.add(ja, actor_id=BY, reason=WHY)
        uow.traeger.add(Traeger("tr", "Träger e. V."), actor_id=BY, reason=WHY)
        uow.traeger.add(Traeger("tr-2", "=HYPERLINK(\"http://x\")"), actor_id=BY, reason=WHY)
        kitas = [("k1", "Musterstadt", "50667", "tr"), ("k2", "Musterstadt", "50667", "tr"),
                 ("k3", "Nebenort", "41000", "tr"), ("k4", "Musterdorf", "41002", "tr-2"),
                 ("k5", "Musterstadt", "50668", "tr"), ("k6", "Musterstadt", "50668", "tr"),
                 ("k9", "Anderswo", "33000", "tr")]
        for i, (kita, town, plz, traeger) in enumerate(kitas):
            ja = "ja-b" if kita == "k9" else "ja-a"
            uow.kitas.add(Kita(kita, f"Kita {kita}", traeger, ja, f"Weg {i}", plz, town, 51.0 + i / 100, 7.0),
                          actor_id=BY, reason=WHY)
        fzs = [("fz-1", "Familienzentrum Eins", Form.EINZEL, ("k1",), "ja-a"),
               ("fz-2", "Familienzentrum Zwei", Form.EINZEL, ("k2",), "ja-a"),
               ("fz-3", "Familienzentrum Drei", Form.VERBUND, ("k3", "k4"), "ja-a"),
               ("fz-4", "Familienzentrum Vier", Form.EINZEL, ("k5",), "ja-a"),
               ("fz-5", "Familienzentrum Fünf", Form.EINZEL, ("k6",), "ja-a"),
               ("fz-9", "Familienzentrum Neun", Form.EINZEL, ("k9",), "ja-b")]
        for fz_id, name, form, members, ja in fzs:
            uow.familienzentren.add(Familienzentrum(fz_id, name, form, members, members[0], ja), actor_id=BY,
                                    reason=WHY)
        uow.users.add(User(BY, "Ada Admin", Role.ADMIN), actor_id=BY, reason=WHY)
        uow.users.add(PERSON, actor_id=BY, reason=WHY)
        _certified(uow, "V-2017-001", "fz-1", 2017, ["4C"])
        _certified(uow, "V-2021-001", "fz-1", 2021, ["4B", "4F"])
        _certified(uow, "V-2022-003", "fz-3", 2022, [])
        _certified(uow, "V-2019-004", "fz-4", 2019, ["4B"])
        _certified(uow, "V-2019-005", "fz-5", 2019, ["4B"])
        _certified(uow, "V-2021-009", "fz-9", 2021, ["4B"])
        seals = [("FZ-1", "fz-1", date(2018, 5, 1), date(2022, 7, 31), CertificateState.RENEWED),
                 ("FZ-1", "fz-1", date(2022, 5, 1), date(2026, 7, 31), CertificateState.VALID),
                 ("FZ-3", "fz-3", date(2023, 5, 1), date(2027, 7, 31), CertificateState.VALID),
                 ("FZ-4", "fz-4", date(2020, 5, 1), date(2024, 7, 31), CertificateState.EXPIRED),
                 ("FZ-5", "fz-5", date(2023, 5, 1), date(2027, 7, 31), CertificateState.REVOKED),
                 ("FZ-9", "fz-9", date(2022, 5, 1), date(2026, 7, 31), CertificateState.RECERTIFICATION_DUE)]
        for number, fz_id, issued, until, state in seals:
            uow.certificates.add(Certificate(number, fz_id, issued, until, state), actor_id=BY, reason=WHY)


@pytest.fixture
def world(engine):  # noqa: F811 - the fixture of db_support
    build(engine)
    return engine


def read(db, action, at: datetime = DAY):
    with UnitOfWork(db, clock=FixedClock(at)) as uow:
        return action(uow)


def names(page) -> list[str]:
    return [e.familienzentrum.id for e in page.entries]


def test_only_familienzentren_with_a_live_seal_that_has_not_ended_are_published(world):
    page = read(world, lambda uow: register.register_page(uow))
    assert names(page) == ["fz-3", "fz-1", "fz-9"]  # by name: Drei, Eins, Neun; no seal, expired, revoked: not
    assert page.total == 3 and page.pages == 1
    after = read(world, lambda uow: register.register_page(uow), at=datetime(2026, 8, 1, 9, tzinfo=UTC))
    assert names(after) == ["fz-3"]  # the seals valid until 31.07.2026 have ended


def test_an_entry_holds_its_kitas_with_traeger_its_profiles_of_the_newest_certification_and_the_seal(world):
    eins = read(world, lambda uow: register.published_familienzentrum(uow, "fz-1"))
    assert eins.profiles == (("4B", "Berufstätigkeit und zeitsensible Angebotsgestaltung"),
                             ("4F", "Familienbegleitung"))  # of 2021, not the 4C of 2017
    assert eins.familienzentrum.valid_until == date(2026, 7, 31)
    assert eins.familienzentrum.jugendamt == "Jugendamt Musterkreis"
    drei = read(world, lambda uow: register.published_familienzentrum(uow, "fz-3"))
    assert [(k.name, k.city, k.traeger) for k in drei.kitas] == [
        ("Kita k3", "Nebenort", "Träger e. V."), ("Kita k4", "Musterdorf", '=HYPERLINK("http://x")')]
    assert drei.form_label == "Verbund" and drei.towns == ("Nebenort", "Musterdorf") and drei.profiles == ()


@pytest.mark.parametrize("fz_id", ["fz-2", "fz-4", "fz-5", "fz-unbekannt"])
def test_a_familienzentrum_without_a_live_seal_is_not_found_like_an_unknown_one(world, fz_id):
    with pytest.raises(NotFoundError, match=f"{fz_id} gibt es nicht"):
        read(world, lambda uow: register.published_familienzentrum(uow, fz_id))


@pytest.mark.parametrize(("place", "expected"), [
    ("Musterdorf", ["fz-3"]),           # a town of any member Kita
    ("muster", ["fz-3", "fz-1"]),       # part of a town, any case
    ("506", ["fz-1"]),                  # the start of a postcode
    ("41002", ["fz-3"]),
    ("Irgendwo", []),
    ("100%_", []),                      # LIKE's wildcards are taken literally
])
def test_search_by_town_or_postcode(world, place, expected):
    assert names(read(world, lambda uow: register.register_page(uow, place=place))) == expected


def test_filter_by_jugendamt_and_the_jugendaemter_with_their_counts(world):
    page = read(world, lambda uow: register.register_page(uow, jugendamt_id="ja-b"))
    assert names(page) == ["fz-9"]
    assert page.jugendaemter == (("ja-b", "Jugendamt Anderswo", 1), ("ja-a", "Jugendamt Musterkreis", 2))


def test_pages_and_a_page_past_the_end_is_the_last(world):
    first = read(world, lambda uow: register.register_page(uow, page_size=2))
    last = read(world, lambda uow: register.register_page(uow, page=99, page_size=2))
    assert (names(first), first.pages) == (["fz-3", "fz-1"], 2)
    assert (names(last), last.page) == (["fz-9"], 2)


def test_a_search_text_longer_than_100_characters_is_refused_in_german(world):
    with pytest.raises(InputError, match="ort: darf höchstens 100 Zeichen lang sein"):
        read(world, lambda uow: register.register_page(uow, place="x" * 101))


def test_open_data_as_csv_one_row_per_kita_with_the_licence_and_formulas_escaped(world):
    export = read(world, lambda uow: register.open_data(uow, "csv"))
    assert (export.filename, export.media_type) == ("familienzentren-nrw.csv", "text/csv; charset=utf-8")
    assert export.body.startswith("\ufeff".encode())
    rows = list(csv.DictReader(io.StringIO(export.body.decode("utf-8-sig")), delimiter=";"))
    assert list(rows[0]) == list(register.CSV_COLUMNS)
    assert [(r["familienzentrum_id"], r["kita"]) for r in rows] == [
        ("fz-3", "Kita k3"), ("fz-3", "Kita k4"), ("fz-1", "Kita k1"), ("fz-9", "Kita k9")]
    assert {r["lizenz"] for r in rows} == {"dl-de/by-2-0"}
    assert rows[1]["traeger"] == "'=HYPERLINK(\"http://x\")"
    assert (rows[2]["breite"], rows[2]["laenge"], rows[2]["guetesiegel_gueltig_bis"]) == ("51.0", "7.0", "2026-07-31")


def test_open_data_as_geojson_points_in_lon_lat_order(world):
    export = read(world, lambda uow: register.open_data(uow, "geojson", jugendamt_id="ja-a",
                                                        page_url="https://fz.example/familienzentren/"))
    document = json.loads(export.body)
    assert (export.filename, export.media_type) == ("familienzentren-ja-a.geojson", "application/geo+json")
    assert document["type"] == "FeatureCollection" and document["lizenz"]["kennung"] == "dl-de/by-2-0"
    assert document["anzahl"] == 2 and len(document["features"]) == 3
    k1 = next(f for f in document["features"] if f["properties"]["kita"] == "Kita k1")
    assert k1["geometry"] == {"type": "Point", "coordinates": [7.0, 51.0]}
    assert k1["properties"]["url"] == "https://fz.example/familienzentren/fz-1"
    assert k1["properties"]["profile"] == ["Berufstätigkeit und zeitsensible Angebotsgestaltung",
                                           "Familienbegleitung"]


def test_open_data_as_json_holds_exactly_the_published_fields_and_no_person(world):
    body = read(world, lambda uow: register.open_data(uow, "json")).body
    document = json.loads(body)
    assert set(document) == {"titel", "stand", "anzahl", "lizenz", "familienzentren"}
    assert document["stand"] == "2026-03-01" and document["anzahl"] == 3
    assert set(document["familienzentren"][0]) == {"id", "name", "form", "jugendamt", "guetesiegel_gueltig_bis",
                                                   "profile", "kitas"}
    assert set(document["familienzentren"][0]["kitas"][0]) == {"name", "traeger", "strasse", "plz", "ort", "breite",
                                                               "laenge"}
    for fmt in ("csv", "geojson", "json"):
        text = read(world, lambda uow, f=fmt: register.open_data(uow, f)).body.decode("utf-8")
        assert "Geheimname" not in text and "leitung-1" not in text and "Notiz" not in text


def test_open_data_of_an_unknown_jugendamt_or_format_is_refused(world):
    with pytest.raises(NotFoundError, match="ja-x gibt es nicht"):
        read(world, lambda uow: register.open_data(uow, "csv", jugendamt_id="ja-x"))
    with pytest.raises(InputError, match="unbekannt: xml"):
        read(world, lambda uow: register.open_data(uow, "xml"))


def _statements(db, action) -> int:
    with sent_statements(db, queries_only=True) as sent:
        read(db, action)
    return len(sent)


def test_a_page_costs_the_same_few_queries_whatever_the_size(engine):  # noqa: F811
    build(engine)
    small_page = _statements(engine, lambda uow: register.register_page(uow))
    small_file = _statements(engine, lambda uow: register.open_data(uow, "json"))
    build_more(engine, 30)
    assert _statements(engine, lambda uow: register.register_page(uow)) == small_page == 5
    assert _statements(engine, lambda uow: register.open_data(uow, "json")) == small_file == 3


def build_more(db, n: int) -> None:
    with UnitOfWork(db, clock=FixedClock(DAY)) as uow:
        for i in range(n):
            kita, fz_id = f"ky{i:03d}", f"fz-y{i:03d}"
            uow.kitas.add(Kita(kita, f"Kita Y{i}", "tr", "ja-a", "Weg 2", "50000", "Ort", 51.0, 7.0),
                          actor_id=BY, reason=WHY)
            uow.familienzentren.add(Familienzentrum(fz_id, f"Familienzentrum Y{i:03d}", Form.EINZEL, (kita,), kita,
                                                    "ja-a"), actor_id=BY, reason=WHY)
            _certified(uow, f"V-2021-Y{i:03d}", fz_id, 2021, ["4B"])
            uow.certificates.add(Certificate(f"FZ-Y{i:03d}", fz_id, date(2022, 5, 1), date(2026, 7, 31)),
                                 actor_id=BY, reason=WHY)
