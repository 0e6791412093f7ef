"""The Land in bulk (certflow.demo_land, ``certflow demo --scale``): deterministic, the shape of a Land, an audit
trail that verifies, a login for every role, Verbünde of at most five Kitas near each other, inside NRW."""

from __future__ import annotations

import math
from collections import Counter
from datetime import date

import pytest
from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session

from certflow.cli import cli
from certflow.db.audit_log import verify
from certflow.db.audit_replay import replay
from certflow.db.tables import ProcedureRow
from certflow.demo_land import NRW_BOX, SCALES, VERBUND_MAX, Generator, demo_logins, load, rows_digest
from db_support import db_url, postgres_admin  # noqa: F401

DAY = date(2026, 3, 10)


@pytest.fixture(scope="module")
def kreis() -> dict[str, list[dict]]:
    return Generator.for_scale("kreis", DAY, 2026).generate()


def test_the_same_seed_gives_the_same_rows_and_another_seed_others(kreis):
    assert rows_digest(Generator.for_scale("kreis", DAY, 2026).generate()) == rows_digest(kreis)
    assert rows_digest(Generator.for_scale("kreis", DAY, 7).generate()) != rows_digest(kreis)


def test_the_bench_interface_stays(kreis):
    """``Generator(n_fz, as_of, seed).generate()`` (NRW's shape) as benchmarks/bench_*.py call it."""
    rows = Generator(40, date(2026, 11, 23), 1).generate()
    assert len(rows["jugendamt"]) == 186 and len(rows["familienzentrum"]) == 40


def test_a_kreis_has_the_shape_of_a_kreis(kreis):
    scale = SCALES["kreis"]
    assert len(kreis["jugendamt"]) == scale.jugendaemter
    assert kreis["jugendamt"][0]["name"].startswith("Jugendamt Kreis ")
    assert all(j["name"].startswith("Jugendamt der Stadt ") for j in kreis["jugendamt"][1:])
    assert len(kreis["familienzentrum"]) == scale.familienzentren
    assert len(kreis["traeger"]) == scale.traeger
    forms = Counter(f["form"] for f in kreis["familienzentrum"])
    assert forms["einzel"] > 0 and forms["verbund"] > 0
    roles = Counter(u["role"] for u in kreis["app_user"])
    assert roles["admin"] == 1 and roles["auditor"] == scale.auditors and roles["certifier"] == scale.certifiers
    assert roles["coordinator"] >= scale.jugendaemter and roles["kita_lead"] >= scale.familienzentren
    states = Counter(p["state"] for p in kreis["procedure"])
    assert states["certified"] > 0 and len(states) >= 4
    assert {c["state"] for c in kreis["certificate"]} >= {"renewed", "valid"}
    terms = Counter(c["familienzentrum_id"] for c in kreis["certificate"])
    assert max(terms.values()) >= 4  # four terms of the seal


def test_verbuende_have_at_most_five_kitas_within_3_km_and_everything_lies_in_nrw(kreis):
    south, north, west, east = NRW_BOX
    kitas = {k["id"]: k for k in kreis["kita"]}
    assert all(south <= k["lat"] <= north and west <= k["lon"] <= east for k in kitas.values())
    members: dict[str, list[str]] = {}
    for m in kreis["familienzentrum_member"]:
        members.setdefault(m["familienzentrum_id"], []).append(m["kita_id"])
    for fz in kreis["familienzentrum"]:
        size = len(members[fz["id"]])
        assert (size == 1) if fz["form"] == "einzel" else (2 <= size <= VERBUND_MAX)
        for a in members[fz["id"]]:
            for b in members[fz["id"]]:
                dy = (kitas[a]["lat"] - kitas[b]["lat"]) * 111.2
                dx = (kitas[a]["lon"] - kitas[b]["lon"]) * 111.2 * math.cos(math.radians(kitas[a]["lat"]))
                assert math.hypot(dx, dy) <= 3.0


def test_written_the_trail_verifies_and_every_role_can_log_in(db_url, kreis):  # noqa: F811
    from certflow.db import make_engine, upgrade
    from certflow.services import verify_login
    from certflow.services.runner import Application
    from certflow.settings import Settings

    engine = make_engine(db_url)
    try:
        upgrade(engine)
        load(engine, kreis)
        logins = demo_logins(engine, kreis, DAY)
        with Session(engine) as session:
            result = verify(session)
            assert result.ok, result.problem
            assert result.checked == len(kreis["audit_log"]) + len(logins)  # a password set each, chained on
            replayed = replay(session)
            assert replayed.mismatches == ()
            assert replayed.procedures == len(kreis["procedure"])
            assert len(session.execute(select(ProcedureRow.id)).all()) == len(kreis["procedure"])
        assert {role for _, _, role, _ in logins} == {"admin", "coordinator", "kita_lead", "auditor", "certifier"}
        app = Application(Settings(database_url=db_url), engine=engine, check_schema=False, after_commit=())
        for user_id, _name, _role, password in logins:
            outcome = app.run(lambda uow, u=user_id, p=password: verify_login(uow, u, p, address="127.0.0.1"))
            assert outcome.ok and outcome.user is not None and outcome.user.id == user_id, outcome
    finally:
        engine.dispose()


def test_the_command_builds_a_kreis_with_a_progress_bar(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner(env={"COLUMNS": "120"}).invoke(
        cli, ["demo", "--scale", "kreis", "--today", DAY.isoformat(), "--db", "kreis.sqlite", "--progress"],
        catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "Land erzeugen" in result.stderr  # the progress bar, on stderr
    assert result.stdout.startswith("Demo-Datenbank kreis.sqlite angelegt (ein Kreis")
    assert "60 Familienzentren" in result.stdout and "Demo-Zugänge" in result.stdout
    verified = CliRunner().invoke(cli, ["audit", "verify", "--url", "sqlite:///kreis.sqlite"])
    assert verified.exit_code == 0, verified.output
    assert "Prüfprotokoll in Ordnung" in verified.output


@pytest.mark.parametrize("value", ["land", "NRW2", ""])
def test_an_unknown_scale_is_refused_in_german(tmp_path, value):
    result = CliRunner().invoke(cli, ["demo", "--scale", value, "--db", str(tmp_path / "x.sqlite")])
    assert result.exit_code == 2
    assert result.stderr == f"Fehler: --scale „{value}“ gibt es nicht; erlaubt sind: kreis, nrw.\n"
    assert not (tmp_path / "x.sqlite").exists()
