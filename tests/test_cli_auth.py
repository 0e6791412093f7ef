"""Who acts at the command line is proven (certflow.cli.session.require_proof, certflow.services.identity).

Every command that takes ``--as`` is enumerated from the click tree (a new one is tested without being
listed here) and refused with exit 3, changing nothing, without proof, with another user's token, with an
expired or revoked token, and, if it changes something, with a read-only token. Then: the password typed at
the terminal (right, wrong, throttled), ``certflow --local-admin`` and what the audit trail says about it.
On SQLite and PostgreSQL: one database per backend for the module, its tokens minted once through the
service.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from sqlalchemy import select, text

from certflow import services
from certflow.cli import cli, session
from certflow.db import UnitOfWork, audit_log, make_engine, upgrade
from certflow.db.tables import metadata
from certflow.services.identity import LOCAL_ADMIN_NOTE
from certflow.services.runner import Application
from certflow.settings import Settings
from db_support import FixedClock, postgres_admin, seed  # noqa: F401

NOT_PROVEN = "Abgelehnt: nicht angemeldet. Bitte ausweisen, wer handelt"
INVALID = "Abgelehnt: Der Zugangsschlüssel ist ungültig, abgelaufen oder widerrufen"
READ_ONLY = "erlaubt nur Lesen"
PASSWORDS = {"u-lead": "Lindenblüte-Sommerfest-7", "u-lead2": "Kastanien-Herbstwind-42"}

READING = {"overview", "history", "qualitaetsprofil", "packet render", "packet verify", "certificate render",
           "users list", "users tokens", "reminders plan", "reminders outbox", "reminders contact", "inbox",
           "calendar"}
"""What only reads (a read-only token may do it), said here independently of certflow.cli.session.READING."""


def _commands(group: click.Group, path: tuple[str, ...] = ()):
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            yield from _commands(command, (*path, name))
        else:
            yield (*path, name), command


ACTOR_COMMANDS = {" ".join(path): command for path, command in _commands(cli)
                  if any(param.name == "actor" for param in command.params)}


def test_the_tree_has_the_commands_this_module_expects():
    assert len(ACTOR_COMMANDS) >= 45
    assert READING <= set(ACTOR_COMMANDS)
    assert {"procedure decide", "users token", "reminders run", "scheduler run", "kitas import"} <= set(ACTOR_COMMANDS)
    assert set(session.READING) == {tuple(name.split()) for name in READING}
    for command in ACTOR_COMMANDS.values():  # every one can prove who acts; none takes a token as an argument
        names = {param.name for param in command.params}
        assert "token_file" in names and "token" not in names


# --- the database: users of every role, tokens of every kind ---------------------------------------------------


@dataclass(frozen=True)
class AuthDb:
    url: str
    tokens: dict[str, str]  # admin, coord (write), read (admin, read only), expired, revoked (admin)

    def env(self, token: str | None = None, **more: str | None) -> dict[str, str | None]:
        return {"CERTFLOW_TOKEN": token, "CERTFLOW_ADMIN_USER": None, "COLUMNS": "250", **more}


def _mint(url: str) -> dict[str, str]:
    def token(user, clock=None, **options):
        with Application(Settings(database_url=url), after_commit=(), **({"clock": clock} if clock else {})) as app:
            return app.run(lambda uow: services.create_token(uow, user, user, label="Test", **options))

    past = FixedClock(datetime.now(timezone.utc) - timedelta(days=10))
    revoked = token("u-admin")
    with Application(Settings(database_url=url), after_commit=()) as app:
        app.run(lambda uow: services.revoke_token(uow, "u-admin", revoked.id))
        for user, password in PASSWORDS.items():
            app.run(lambda uow, user=user, password=password: services.set_password(uow, "u-admin", user, password))
    return {"admin": token("u-admin").token, "coord": token("u-coord").token,
            "read": token("u-admin", scope="read").token, "revoked": revoked.token,
            "expired": token("u-admin", past, expires_at=past.at + timedelta(days=1)).token}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def auth_db(request, tmp_path_factory):
    schema = None
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('auth') / 'certflow.sqlite'}"
    else:
        admin = request.getfixturevalue("postgres_admin")
        schema = f"t_{uuid.uuid4().hex[:16]}"
        with admin.begin() as connection:
            connection.execute(text(f"CREATE SCHEMA {schema}"))
        url = admin.url.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)
    engine = make_engine(url)
    try:
        upgrade(engine)
        with UnitOfWork(engine) as uow:
            seed(uow)
    finally:
        engine.dispose()
    yield AuthDb(url, _mint(url))
    if schema is not None:
        with request.getfixturevalue("postgres_admin").begin() as connection:
            connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))


def state(url: str) -> str:
    """A digest of every row of every table: equal digests, nothing changed."""
    engine = make_engine(url)
    try:
        digest = hashlib.sha256()
        with engine.connect() as connection:
            for table in metadata.sorted_tables:
                rows = sorted(repr(tuple(row)) for row in connection.execute(select(table)))
                digest.update(f"{table.name}:{rows}".encode())
        return digest.hexdigest()
    finally:
        engine.dispose()


def invoke(db: AuthDb, *args, env=None, input=None):
    runner = CliRunner(env=env if env is not None else db.env())
    return runner.invoke(cli, ["--db", db.url, *map(str, args)], input=input, catch_exceptions=False)


def _dummy(param: click.Parameter, folder: Path) -> str:
    """A value that parses (the command is refused before it runs, or runs harmlessly on it)."""
    kind = param.type
    if isinstance(kind, click.Path):
        if not kind.exists:
            return str(folder / "neu.pdf")
        if not kind.file_okay:
            return str(folder)
        (folder / "datei.txt").write_text("x\n", encoding="utf-8")
        return str(folder / "datei.txt")
    if isinstance(kind, click.Choice):
        return str(kind.choices[0])
    if isinstance(kind, (click.types.IntParamType, click.types.FloatParamType)):
        return str(max(1, getattr(kind, "min", None) or 1))
    return {"DATUM": "2026-03-10", "KGJ": "2025/26"}.get(kind.name, "x")


def command_line(name: str, folder: Path) -> list[str]:
    """``name`` with a value for each required argument and option."""
    args = name.split()
    for param in ACTOR_COMMANDS[name].params:
        if not param.required or param.name in ("actor", "token_file", "db"):
            continue
        value = _dummy(param, folder)
        args += [value] if isinstance(param, click.Argument) else [param.opts[0], value]
    return args


# --- every command with an actor ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(ACTOR_COMMANDS))
def test_every_command_with_an_actor_is_refused_without_valid_proof(auth_db, name, tmp_path):
    args = command_line(name, tmp_path)
    before = state(auth_db.url)
    unproven = invoke(auth_db, *args, "--as", "u-admin")
    assert unproven.exit_code == 3, unproven.output
    assert NOT_PROVEN in unproven.output and "certflow --local-admin" in unproven.output
    foreign = invoke(auth_db, *args, "--as", "u-admin", env=auth_db.env(auth_db.tokens["coord"]))
    assert (foreign.exit_code, foreign.output) == (3, "Abgelehnt: Der Zugangsschlüssel gehört nicht zu u-admin\n")
    for kind in ("expired", "revoked"):
        stale = invoke(auth_db, *args, "--as", "u-admin", env=auth_db.env(auth_db.tokens[kind]))
        assert (stale.exit_code, stale.output) == (3, INVALID + "\n"), kind
    assert state(auth_db.url) == before
    read_only = invoke(auth_db, *args, "--as", "u-admin", env=auth_db.env(auth_db.tokens["read"]))
    if name in READING:  # accepted (what the command then makes of its made-up arguments does not matter here)
        assert READ_ONLY not in read_only.output and "Abgelehnt: Der Zugangsschlüssel" not in read_only.output
        assert NOT_PROVEN not in read_only.output
        assert state(auth_db.url) != before  # the token's last use is noted
    else:
        assert (read_only.exit_code, read_only.output) == (3, "Abgelehnt: Der Zugangsschlüssel „Test“ erlaubt nur "
                                                              "Lesen\n")
        assert state(auth_db.url) == before


@pytest.mark.parametrize("args", [
    ("inbox", "--mark-read"),
    ("reminders", "contact", "--email", "neu@example.org", "--reason", "neue Adresse"),
    ("reminders", "contact", "--preference", "weekly", "--reason", "lieber gesammelt"),
])
def test_a_reading_command_that_changes_something_needs_a_full_token(auth_db, args):
    before = state(auth_db.url)
    result = invoke(auth_db, *args, "--as", "u-admin", env=auth_db.env(auth_db.tokens["read"]))
    assert result.exit_code == 3 and READ_ONLY in result.output
    assert state(auth_db.url) == before


def test_the_token_names_the_user_and_may_come_from_a_file(auth_db, tmp_path):
    named = invoke(auth_db, "users", "list", env=auth_db.env(auth_db.tokens["admin"]))  # no --as: the admin's token
    assert named.exit_code == 0 and "u-lead" in named.output
    denied = invoke(auth_db, "reminders", "outbox", env=auth_db.env(auth_db.tokens["coord"]))  # the coordinator
    assert denied.exit_code == 3 and "Den Postausgang ansehen ist der Rolle" in denied.output
    token_file = tmp_path / "koord.token"
    token_file.write_text(auth_db.tokens["coord"] + "\n", encoding="utf-8")
    from_file = invoke(auth_db, "reminders", "contact", "--as", "u-coord", "--token-file", token_file)
    assert from_file.exit_code == 0, from_file.output
    assert from_file.output.startswith("u-coord: ")
    # the file wins over the environment; an empty file is bad input; no token on the command line at all
    wins = invoke(auth_db, "reminders", "contact", "--token-file", token_file,
                  env=auth_db.env(auth_db.tokens["admin"]))
    assert wins.exit_code == 0 and wins.output.startswith("u-coord: ")
    (tmp_path / "leer.token").write_text("\n", encoding="utf-8")
    empty = invoke(auth_db, "overview", "--as", "u-coord", "--token-file", tmp_path / "leer.token")
    assert (empty.exit_code, empty.output) == (2, f"{tmp_path / 'leer.token'}: enthält keinen Zugangsschlüssel\n")
    argument = invoke(auth_db, "overview", "--token", auth_db.tokens["coord"])
    assert argument.exit_code == 2 and "No such option '--token'" in argument.output
    unknown = invoke(auth_db, "overview", "--as", "niemand", env=auth_db.env(auth_db.tokens["coord"]))
    assert (unknown.exit_code, unknown.output) == (3, "Abgelehnt: Unbekannter Benutzer 'niemand'\n")


def test_a_command_added_later_proves_its_actor_too(auth_db):
    """require_proof is installed on the tree, not on a list: a new command with --as cannot skip it."""
    @click.group()
    def tool() -> None:
        pass

    @tool.command("neu")
    @session.as_option
    @session.with_db
    def neu(ctx, actor) -> None:
        click.echo(f"ich bin {actor}")

    session.require_proof(tool)
    runner = CliRunner(env=auth_db.env())
    refused = runner.invoke(tool, ["neu", "--as", "u-admin", "--db", auth_db.url])
    assert refused.exit_code == 3 and NOT_PROVEN in refused.output
    proven = CliRunner(env=auth_db.env(auth_db.tokens["coord"])).invoke(tool, ["neu", "--db", auth_db.url])
    assert (proven.exit_code, proven.output) == (0, "ich bin u-coord\n")


# --- the password at the terminal --------------------------------------------------------------------------------


@pytest.fixture
def terminal(monkeypatch):
    monkeypatch.setattr(session, "stdin_is_terminal", lambda: True)


def _attempts(url: str, login: str) -> list[str]:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return list(connection.execute(text("SELECT outcome FROM login_attempt WHERE login = :l ORDER BY id"),
                                           {"l": login}).scalars())
    finally:
        engine.dispose()


def test_the_password_typed_at_the_terminal_right_and_wrong(auth_db, terminal):
    right = invoke(auth_db, "reminders", "contact", "--as", "u-lead", input=PASSWORDS["u-lead"] + "\n")
    assert right.exit_code == 0, right.output
    assert "Passwort für u-lead: " in right.output and "u-lead: " in right.output.split("Passwort für u-lead: ")[1]
    assert PASSWORDS["u-lead"] not in right.output  # hidden input
    wrong = invoke(auth_db, "reminders", "contact", "u-lead", "--email", "x@example.org", "--reason", "r",
                   "--as", "u-lead", input="geraten-geraten\n")
    assert wrong.exit_code == 3 and "Abgelehnt: Benutzername oder Passwort ist falsch." in wrong.output
    assert _attempts(auth_db.url, "u-lead")[-2:] == ["success", "failure"]  # committed, though refused
    stranger = invoke(auth_db, "overview", "--as", "niemand", input="irgendwas-langes\n")
    assert stranger.exit_code == 3 and "Abgelehnt: Benutzername oder Passwort ist falsch." in stranger.output
    nameless = invoke(auth_db, "overview", input="x\n")  # no --as, no token: nobody to ask the password of
    assert nameless.exit_code == 3 and NOT_PROVEN in nameless.output


def test_repeated_wrong_passwords_are_throttled(auth_db, terminal):
    for _ in range(5):
        wrong = invoke(auth_db, "overview", "--as", "u-lead2", input="geraten-geraten\n")
        assert wrong.exit_code == 3 and "Benutzername oder Passwort ist falsch" in wrong.output
    throttled = invoke(auth_db, "overview", "--as", "u-lead2", input=PASSWORDS["u-lead2"] + "\n")  # even the right one
    assert throttled.exit_code == 3
    assert "Abgelehnt: Zu viele fehlgeschlagene Anmeldeversuche" in throttled.output
    assert _attempts(auth_db.url, "u-lead2")[-6:] == ["failure"] * 5 + ["throttled"]


# --- certflow --local-admin --------------------------------------------------------------------------------------


def test_local_admin_acts_as_the_administrator_account_and_the_audit_trail_says_so(auth_db):
    admin = auth_db.env(CERTFLOW_ADMIN_USER="u-admin")
    nominated = invoke(auth_db, "--local-admin", "procedure", "nominate", "fz-1", "--kgj", "2025/26",
                       "--reason", "Beschluss des JHA", env=admin)
    assert nominated.exit_code == 0, nominated.output
    procedure_id = nominated.output.split("Verfahren ")[1].split()[0]
    history = invoke(auth_db, "--local-admin", "history", procedure_id, env=admin)
    assert history.exit_code == 0, history.output
    flat = " ".join(history.output.split())
    assert "Administration" in flat and f"Beschluss des JHA {LOCAL_ADMIN_NOTE}" in flat
    engine = make_engine(auth_db.url)
    try:
        with UnitOfWork(engine) as uow:
            (entry,) = [e for e in audit_log.procedure_history(uow.session, procedure_id)]
    finally:
        engine.dispose()
    assert (entry.actor_id, entry.reason, entry.payload["via"]) == (
        "u-admin", f"Beschluss des JHA {LOCAL_ADMIN_NOTE}", "local-admin")
    same = invoke(auth_db, "--local-admin", "users", "list", "--as", "u-admin", env=admin)  # --as of itself: fine
    assert same.exit_code == 0, same.output


@pytest.mark.parametrize("args, env, code, message", [
    (("--local-admin", "overview", "--as", "u-coord"), {"CERTFLOW_ADMIN_USER": "u-admin"}, 2,
     "--local-admin handelt als u-admin (CERTFLOW_ADMIN_USER); --as u-coord passt nicht dazu.\n"),
    (("--local-admin", "overview", "--token-file", "{token}"), {"CERTFLOW_ADMIN_USER": "u-admin"}, 2,
     "--local-admin und --token-file schließen einander aus"),
    (("--local-admin", "overview"), {}, 3,
     "Abgelehnt: Das Verwaltungskonto „admin“ (CERTFLOW_ADMIN_USER) gibt es nicht oder es hat nicht die Rolle "
     "Administration\n"),
    (("--local-admin", "overview"), {"CERTFLOW_ADMIN_USER": "u-coord"}, 3,
     "Abgelehnt: Das Verwaltungskonto „u-coord“ (CERTFLOW_ADMIN_USER) gibt es nicht"),
])
def test_local_admin_is_refused_with_someone_else_or_without_an_administrator_account(auth_db, tmp_path, args,
                                                                                         env, code, message):
    (tmp_path / "t").write_text(auth_db.tokens["admin"], encoding="utf-8")
    before = state(auth_db.url)
    result = invoke(auth_db, *(a.format(token=tmp_path / "t") for a in args), env=auth_db.env(**env))
    assert result.exit_code == code and message in result.output, result.output
    assert state(auth_db.url) == before
