"""``verbund join --exception-reason``, ``verbund restructure`` and ``certificate recertify --force`` on the command
line, on a database built through the services (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import date

import pytest
from click.testing import CliRunner

from certflow import services
from certflow.calendar import format_date_de, recertification_opens, validity_end
from certflow.cli import cli
from certflow.lifecycle import Outcome, local_date, utc_now
from conftest import TOKENS
from db_support import db_url, engine, postgres_admin  # noqa: F401
from test_services_world import database_world

NEAR = """id;name;traeger_id;jugendamt_id;strasse;plz;ort;lat;lon
k7;Kita Sieben;tr-a;ja-a;Weg 7;50001;Musterstadt;51,0060;7,0020
k8;Kita Acht;tr-a;ja-a;Weg 8;50001;Musterstadt;51,0030;7,0090
"""


def invoke(db_url, *args):
    """``certflow ARGS --db URL``, proving ``--as`` with that user's token (conftest)."""
    runner = CliRunner(env={"COLUMNS": "200", **TOKENS.env(args, db=db_url)})
    return runner.invoke(cli, [*map(str, args), "--db", db_url], catch_exceptions=False)


@pytest.fixture
def world(engine, tmp_path):
    return database_world(engine, tmp_path)


def certify_today(world, fz_id: str, lead: str, sites=None) -> date:
    """A whole Erst-Zertifizierung whose seal is issued today (the command line runs on the real clock)."""
    pid = world.nominate(fz_id)
    world.to_development(pid, lead)
    world.at(date(2026, 3, 2))
    world.submit(pid, lead)
    world.schedule(pid)
    world.record(pid, sites=sites)
    world.sign_off(pid)
    today = local_date(utc_now())
    world.at(today)
    world.do(services.decide, "cert-2", pid, Outcome.CERTIFIED, "Alle Bereiche erfüllt")
    return today


def test_recertify_before_the_window_needs_force(world, db_url):
    issued = certify_today(world, "fz-1", "lead-1")
    opens = format_date_de(recertification_opens(validity_end(issued)))
    refused = invoke(db_url, "certificate", "recertify", "fz-1", "--as", "cert-1", "--reason", "gleich mit")
    assert refused.exit_code == 3, refused.output
    assert f"beginnt frühestens am {opens}; vorher nur erzwungen, mit Begründung" in refused.output
    forced = invoke(db_url, "certificate", "recertify", "fz-1", "--force", "--as", "cert-1",
                    "--reason", "Träger wünscht frühen Beginn")
    assert forced.exit_code == 0, forced.output
    assert "Re-Zertifizierung V-" in forced.output
    assert f"Hinweis: Vor dem Re-Zertifizierungsfenster eröffnet (erzwungen): es beginnt am {opens}" in forced.output


def test_join_beyond_the_rules_needs_an_exception_reason(world, db_url):
    world.do(services.import_kitas, "admin", "nah.csv", "neue Kitas", text=NEAR)
    world.do(services.join, "coord-a", "fz-v", "k5", "Kooperation")
    world.do(services.join, "coord-a", "fz-v", "k7", "Kooperation")
    refused = invoke(db_url, "verbund", "join", "fz-v", "k8", "--as", "coord-a", "--reason", "Kooperation")
    assert refused.exit_code == 3
    assert ("Kita Acht kann dem Verbund nicht beitreten: Ein Verbund hat höchstens 5 Einrichtungen, Verbund Mitte "
            "hätte 6. In der Regel; eine Ausnahme ist möglich") in " ".join(refused.output.split())
    joined = invoke(db_url, "verbund", "join", "fz-v", "k8", "--exception-reason", "Erlass des Ministeriums",
                    "--as", "coord-a", "--reason", "Kooperation")
    assert joined.exit_code == 0, joined.output
    assert "Ausnahme erfasst (Ein Verbund hat höchstens 5 Einrichtungen, Verbund Mitte hätte 6)" in joined.output
    (exception,) = [e for e in world.entries("familienzentrum", "fz-v") if e.action == "familienzentrum.exception"]
    assert (exception.actor_id, exception.reason, exception.payload["kita_id"]) == (
        "coord-a", "Erlass des Ministeriums", "k8")


def test_restructure_an_einzel_into_a_verbund(world, db_url):
    issued = certify_today(world, "fz-1", "lead-1")
    refused = invoke(db_url, "verbund", "restructure", "fz-1", "--kita", "k1", "--kita", "k5",
                     "--as", "coord-a", "--reason", "Zusammenschluss")
    assert refused.exit_code == 3 and "nicht erlaubt" in refused.output
    opened = invoke(db_url, "verbund", "restructure", "fz-1", "--kita", "k1", "--kita", "k5",
                    "--as", "cert-1", "--reason", "Zusammenschluss mit Kita Fünf")
    assert opened.exit_code == 0, opened.output
    year = recertification_opens(validity_end(issued)).year + 1     # the Kindergartenjahr the seal is due in
    assert f"V-{year}-001" in opened.output
    fz = world.read(lambda uow: uow.familienzentren.get("fz-1"))
    assert (fz.form.value, fz.member_kita_ids, fz.zuschussempfaenger_id) == ("verbund", ("k1", "k5"), "k1")
    again = invoke(db_url, "verbund", "restructure", "fz-1", "--kita", "k1", "--kita", "k5",
                   "--as", "cert-1", "--reason", "nochmal")
    assert again.exit_code == 3 and "bereits ein Verbund" in again.output
