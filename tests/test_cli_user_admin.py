"""``certflow users change``: the same service as the web form (role, scope, standing; only the admin; a stale
``--expected-version`` is a conflict), German messages and exit codes, never a traceback."""

from __future__ import annotations

from click.testing import CliRunner
from db_support import clock, db_url, engine, postgres_admin, seed, seeded  # noqa: F401
from sqlalchemy import text
from sqlalchemy.orm import Session

from certflow.cli import cli
from certflow.db import make_engine
from conftest import TOKENS


def _cli(url, *args):
    return CliRunner().invoke(cli, ["--db", url, *args], env=TOKENS.env(args, db=url))


def _standing(url, user_id):
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            return tuple(session.execute(text("SELECT role, jugendamt_id, familienzentrum_id, active, version "
                                              "FROM app_user WHERE id = :id"), {"id": user_id}).one())
    finally:
        engine.dispose()


def test_users_change_by_the_admin_with_the_rules_and_exit_codes(seeded, db_url):
    done = _cli(db_url, "users", "change", "u-lead", "--role", "coordinator", "--jugendamt", "ja-a",
                "--expected-version", "1", "--as", "u-admin", "--reason", "Wechsel ins Jugendamt")
    assert done.exit_code == 0, done.output
    assert ("Benutzer Kita-Leitung Sonnenblume (u-lead) geändert: Kita-Leitung (Familienzentrum Muster) → "
            "Koordination im Jugendamt (Jugendamt Musterkreis)") in done.output
    assert _standing(db_url, "u-lead") == ("coordinator", "ja-a", None, True, 2)

    stale = _cli(db_url, "users", "change", "u-lead", "--inactive", "--expected-version", "1", "--as", "u-admin",
                 "--reason", "x")
    assert stale.exit_code == 3 and "inzwischen von jemand anderem geändert (Version 2 statt 1)" in stale.output
    bad = _cli(db_url, "users", "change", "u-lead", "--role", "kita_lead", "--as", "u-admin", "--reason", "x")
    assert bad.exit_code == 2 and "gehört zu einem Familienzentrum: bitte wählen." in bad.output
    unknown = _cli(db_url, "users", "change", "u-lead", "--role", "koenig", "--as", "u-admin", "--reason", "x")
    assert unknown.exit_code == 2 and "koenig" in unknown.output
    foreign = _cli(db_url, "users", "change", "u-aud", "--inactive", "--as", "u-coord", "--reason", "x")
    assert foreign.exit_code == 3 and "Die Verwaltung ist der Rolle" in foreign.output
    myself = _cli(db_url, "users", "change", "u-admin", "--inactive", "--as", "u-admin", "--reason", "x")
    assert myself.exit_code == 3 and "Sie können sich nicht selbst deaktivieren" in myself.output
    for result in (stale, bad, unknown, foreign, myself):
        assert "Traceback" not in result.output
    assert _standing(db_url, "u-lead") == ("coordinator", "ja-a", None, True, 2)

    off = _cli(db_url, "users", "change", "u-lead", "--inactive", "--as", "u-admin", "--reason", "Ausgeschieden")
    assert off.exit_code == 0 and "deaktiviert" in off.output
    assert _standing(db_url, "u-lead")[-2:] == (False, 3)


def test_local_admin_as_a_deactivated_admin_account_is_refused(seeded, db_url):
    """``--local-admin`` acts as the account CERTFLOW_ADMIN_USER names: once that account is deactivated, the switch
    is refused like its token and its password."""
    added = _cli(db_url, "users", "add", "u-admin-2", "--name", "Zweite Administration", "--role", "admin",
                 "--as", "u-admin", "--reason", "Vertretung")
    assert added.exit_code == 0, added.output
    off = _cli(db_url, "users", "change", "u-admin-2", "--inactive", "--as", "u-admin", "--reason", "Ausgeschieden")
    assert off.exit_code == 0, off.output
    refused = CliRunner().invoke(cli, ["--db", db_url, "--local-admin", "users", "list"],
                                 env={"CERTFLOW_ADMIN_USER": "u-admin-2"})
    assert refused.exit_code == 3, refused.output
    assert "Der Zugang von Zweite Administration (u-admin-2) ist deaktiviert" in refused.output
    still = CliRunner().invoke(cli, ["--db", db_url, "--local-admin", "users", "list"],
                               env={"CERTFLOW_ADMIN_USER": "u-admin"})
    assert still.exit_code == 0, still.output
