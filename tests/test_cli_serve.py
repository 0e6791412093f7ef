"""``certflow serve`` refuses what it cannot serve (exit 2, German), and the account commands of
``certflow users``: password (prompted), token (printed once), tokens, token-revoke, invite."""

from __future__ import annotations

import socket

import pytest
from click.testing import CliRunner
from db_support import clock, db_url, engine, postgres_admin, seed, seeded  # noqa: F401

from certflow import services
from certflow.cli import cli
from certflow.db import UnitOfWork, make_engine
from certflow.services.runner import Application, UseCaseError
from certflow.settings import Settings
from conftest import TOKENS


def _cli(url, *args, input=None):
    """``certflow --db URL ARGS``, proving ``--as`` with that user's token (conftest)."""
    return CliRunner().invoke(cli, ["--db", url, *args], input=input, env=TOKENS.env(args, db=url))


def _app(url):
    return Application(Settings(database_url=url), after_commit=[])


def test_serve_refuses_a_database_that_is_not_set_up(tmp_path):
    result = CliRunner().invoke(cli, ["serve", "--db", str(tmp_path / "leer.sqlite")])
    assert result.exit_code == 2
    assert "certflow db upgrade" in result.output
    assert "Traceback" not in result.output


def test_serve_refuses_a_port_in_use(seeded, db_url):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = _cli(db_url, "serve", "--port", str(port))
    assert result.exit_code == 2 and f"127.0.0.1:{port} ist schon belegt" in result.output


def test_users_password_prompts_and_sets_it(seeded, db_url):
    result = _cli(db_url, "users", "password", "u-lead", "--as", "u-admin",
                  input="Lindenblüte-Sommerfest-7\nLindenblüte-Sommerfest-7\n")
    assert result.exit_code == 0, result.output
    assert "Passwort für u-lead gesetzt." in result.output
    with _app(db_url) as app:
        assert app.run(lambda uow: services.verify_login(uow, "u-lead", "Lindenblüte-Sommerfest-7",
                                                         address="cli")).ok
    mismatch = _cli(db_url, "users", "password", "u-lead", "--as", "u-admin", input="Eins-Zwei-Drei-4\nanders\n")
    assert mismatch.exit_code == 2 and "stimmen nicht überein" in mismatch.output
    weak = _cli(db_url, "users", "password", "u-lead", "--as", "u-admin", input="kurz\nkurz\n")
    assert weak.exit_code == 2 and "mindestens 10 Zeichen" in weak.output
    self_wrong = _cli(db_url, "users", "password", "u-lead", "--as", "u-lead",
                      input="falsch-falsch\nNeu-und-lang-2026\nNeu-und-lang-2026\n")
    assert self_wrong.exit_code == 3 and "bisherige Passwort stimmt nicht" in self_wrong.output


def test_users_token_is_printed_once_and_can_be_revoked(seeded, db_url):
    made = CliRunner().invoke(cli, ["--db", db_url, "users", "token", "u-coord", "--label", "Laptop",
                                    "--expires", "2030-12-31", "--as", "u-coord"],
                              env=TOKENS.env(["--as", "u-coord"], db=db_url))
    assert made.exit_code == 0, made.output
    token = made.stdout.strip().splitlines()[-1]
    assert token.startswith("cft_")
    number = made.stderr.split()[1]  # "Zugangsschlüssel NR „Laptop“ für u-coord …" (the tests' own tokens come first)
    with _app(db_url) as app:
        assert app.run(lambda uow: services.authenticate_token(uow, token)).id == "u-coord"
    listed = _cli(db_url, "users", "tokens", "u-coord", "--as", "u-admin")
    assert listed.exit_code == 0 and "Laptop" in listed.output and token not in listed.output
    foreign = _cli(db_url, "users", "token-revoke", number, "--as", "u-lead")
    assert foreign.exit_code == 3 and "gibt es nicht" in foreign.output
    revoked = _cli(db_url, "users", "token-revoke", number, "--as", "u-coord")
    assert revoked.exit_code == 0 and "widerrufen" in revoked.output
    with _app(db_url) as app, pytest.raises(UseCaseError, match="widerrufen"):
        app.run(lambda uow: services.authenticate_token(uow, token))
    bad = _cli(db_url, "users", "token", "u-coord", "--label", " ", "--as", "u-coord")
    assert bad.exit_code == 2 and "Bezeichnung" in bad.output


def test_users_invite_needs_an_address_and_queues_the_mail(seeded, db_url):
    missing = _cli(db_url, "users", "invite", "u-lead", "--as", "u-admin")
    assert missing.exit_code == 3 and "keine E-Mail-Adresse" in missing.output
    engine = make_engine(db_url)
    try:
        with UnitOfWork(engine) as uow:
            uow.contacts.set("u-lead", now=uow.now(), email="leitung@example.org")
    finally:
        engine.dispose()
    sent = _cli(db_url, "users", "invite", "u-lead", "--as", "u-admin", "--url", "https://certflow.example")
    assert sent.exit_code == 0, sent.output
    assert "leitung@example.org" in sent.output and "Postausgang" in sent.output


def test_serve_refuses_a_short_web_secret(seeded, db_url):
    result = CliRunner().invoke(cli, ["serve", "--db", db_url, "--workers", "2"],
                                env={"CERTFLOW_WEB_SECRET": "zu-kurz"})
    assert result.exit_code == 2 and "CERTFLOW_WEB_SECRET ist zu kurz (7 Zeichen, mindestens 32)" in result.output
    assert "Traceback" not in result.output


def test_serve_refuses_an_unknown_evidence_store_and_a_memory_store_for_several_workers(seeded, db_url):
    unknown = CliRunner().invoke(cli, ["serve", "--db", db_url], env={"CERTFLOW_EVIDENCE_STORE": "s3:eimer"})
    assert unknown.exit_code == 2 and "ist kein Belegspeicher" in unknown.output
    memory = CliRunner().invoke(cli, ["serve", "--db", db_url, "--workers", "2"],
                                env={"CERTFLOW_EVIDENCE_STORE": "memory:test"})
    assert memory.exit_code == 2 and "gehört zu einem Prozess" in memory.output


def test_every_worker_signs_with_the_shared_secret(seeded, db_url, monkeypatch):
    """What ``serve --workers N`` hands to its workers: a cookie one worker's app signed, another's accepts."""
    from fastapi.testclient import TestClient

    from certflow.web.app import app_from_env

    with _app(db_url) as app:
        app.run(lambda uow: services.set_password(uow, "u-admin", "u-admin", "Geteilter-Schluessel-2026",
                                                  reason="Test"))
    settings = Settings(database_url=db_url, web_secret="s" * 40)
    for name, value in settings.environment().items():
        monkeypatch.setenv(name, value)
    first, second = TestClient(app_from_env(), follow_redirects=False), TestClient(app_from_env())
    with first, second:
        token = first.get("/anmelden").text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        login = first.post("/anmelden", data={"login": "u-admin", "password": "Geteilter-Schluessel-2026",
                                              "csrf_token": token})
        assert login.status_code == 303
        second.cookies = first.cookies
        page = second.get("/start", follow_redirects=False)
        assert page.status_code == 200, page.headers.get("location")


def test_serve_workers_hands_uvicorn_the_factory_and_a_patient_health_check(seeded, db_url, monkeypatch):
    """``serve --workers 2`` runs uvicorn's supervisor with the app factory and a health-check timeout that a worker
    busy with a burst of logins can meet (uvicorn's default of 5 s had workers killed mid-request under load)."""
    import uvicorn

    from certflow.cli import serve as serving

    seen: dict = {}
    monkeypatch.setattr(uvicorn, "run", lambda target, **options: seen.update(target=target, **options))
    monkeypatch.setattr(serving, "_check_port", lambda host, port: None)
    result = CliRunner().invoke(cli, ["serve", "--db", db_url, "--workers", "2", "--port", "8765"],
                                env={"CERTFLOW_WEB_SECRET": "s" * 40})
    assert result.exit_code == 0, result.output
    assert (seen["target"], seen["factory"], seen["workers"], seen["port"]) == (
        "certflow.web.app:app_from_env", True, 2, 8765)
    assert seen["timeout_worker_healthcheck"] == serving.HEALTHCHECK_SECONDS >= 30
