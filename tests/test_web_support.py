"""What the web tests share: a small world on SQLite and PostgreSQL, a client, logging in.

Not a test module of its own (no tests here); ``from test_web_support import ...``. The world:
Jugendamt ja-a with fz-1 (procedure P-17, lead u-lead) and fz-2 (P-20, lead u-lead-b),
Jugendamt ja-b with fz-9 (P-90, lead u-lead-9, coordinator u-coord-b), and the users of
db_support; every user has the password ``PASSWORDS[user]``. Hashing uses cheap argon2
parameters here (the service tests use the real ones).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from db_support import KGJ, USERS, FixedClock, nominate_procedure, pg_schema, seed
from fastapi.testclient import TestClient

from certflow import services
from certflow.catalogue.model import Form
from certflow.db import UnitOfWork, make_engine, upgrade
from certflow.lifecycle import Contingent, Familienzentrum, Jugendamt, Kita, Role, User
from certflow.services import accounts
from certflow.services.runner import Application
from certflow.settings import Settings
from certflow.web import WebConfig, create_app

__all__ = ["EXTRA_USERS", "PASSWORDS", "csrf_of", "log_in", "login", "make_world", "module_world", "web_client",
           "world_url"]

EXTRA_USERS = [
    User("u-lead-b", "Kita-Leitung Regenbogen B", Role.KITA_LEAD, familienzentrum_id="fz-2"),
    User("u-lead-9", "Kita-Leitung Nordlicht", Role.KITA_LEAD, familienzentrum_id="fz-9"),
    User("u-coord-b", "Koordinator B", Role.COORDINATOR, jugendamt_id="ja-b"),
]
PASSWORDS = {user.id: f"Kennwort-{user.id}-Sommer!".replace("u-", "x") for user in
             [*USERS.values(), *EXTRA_USERS]}
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def cheap_hashing(monkeypatch):
    monkeypatch.setattr(accounts, "_HASHER", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    monkeypatch.setattr(accounts, "_DUMMY_HASH", None)


def make_world(engine, clock) -> Application:
    """Fill the migrated database behind ``engine`` (see the module) and return its Application."""
    by, why = "u-admin", "Testdaten"
    with UnitOfWork(engine, clock=clock) as uow:
        seed(uow)
        uow.jugendaemter.add(Jugendamt("ja-b", "Jugendamt Anderswo"), actor_id=by, reason=why)
        uow.kitas.add(Kita("k9", "Kita Nordlicht", "tr-1", "ja-b", "Nordweg 9", "54321", "Anderswo", 52.0, 8.0),
                      actor_id=by, reason=why)
        uow.familienzentren.add(Familienzentrum("fz-2", "Familienzentrum Regenbogen", Form.EINZEL, ("k2",), "k2",
                                                "ja-a"), actor_id=by, reason=why)
        uow.familienzentren.add(Familienzentrum("fz-9", "Familienzentrum Nordlicht", Form.EINZEL, ("k9",), "k9",
                                                "ja-b"), actor_id=by, reason=why)
        for user in EXTRA_USERS:
            uow.users.add(user, actor_id=by, reason=why)
        uow.contingents.add(Contingent("ja-b", KGJ, granted=2), actor_id=by, reason=why)
        nominate_procedure(uow, clock)  # P-17 for fz-1
    app = Application(Settings(database_url=engine.url.render_as_string(hide_password=False)), clock=clock,
                      engine=engine, after_commit=[])
    app.run(lambda uow: services.nominate(uow, "u-coord", "fz-2", KGJ, "Beschluss des JHA", procedure_id="P-20"))
    app.run(lambda uow: services.nominate(uow, "u-coord-b", "fz-9", KGJ, "Beschluss des JHA", procedure_id="P-90"))

    def passwords(uow):
        for user_id, password in PASSWORDS.items():
            services.set_password(uow, "u-admin", user_id, password)
    app.run(passwords)
    return app


def web_client(app: Application, **config) -> TestClient:
    return TestClient(create_app(app, WebConfig(secret_key="test-schluessel-0123456789", **config)),
                      raise_server_exceptions=False, follow_redirects=False)


def csrf_of(html: str) -> str:
    match = CSRF.search(html)
    assert match, "no CSRF field in the page"
    return match.group(1)


def log_in(client: TestClient, user_id: str, password: str | None = None):
    page = client.get("/anmelden")
    return client.post("/anmelden", data={"login": user_id, "password": password or PASSWORDS[user_id],
                                          "csrf_token": csrf_of(page.text)})


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def world_url(request, tmp_path_factory):
    """A fresh database of the module using it (SQLite file, or a PostgreSQL schema dropped afterwards)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('welt') / 'welt.sqlite'}"
        return
    with pg_schema(request.getfixturevalue("postgres_admin")) as url:
        yield url


@contextlib.contextmanager
def module_world(url: str, build: Callable[..., Application], evidence_dir: Path) -> Iterator[Application]:
    """``build(engine, clock, evidence_dir)`` on the migrated database at ``url``, with cheap password hashing
    while it lives (for a module-scoped ``world`` fixture); closed afterwards."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(accounts, "_HASHER", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
        patch.setattr(accounts, "_DUMMY_HASH", None)
        engine = make_engine(url)
        upgrade(engine)
        app = build(engine, FixedClock(), evidence_dir)
        try:
            yield app
        finally:
            app.close()
            engine.dispose()


@pytest.fixture
def login(request, world):
    """``login(user_id)``: a client logged in as that user (closed after the test); needs a ``world`` fixture.
    The passwords are the test module's ``PASSWORDS`` (if it has its own, with users of its own) or these."""
    passwords = getattr(request.module, "PASSWORDS", PASSWORDS)
    with contextlib.ExitStack() as stack:
        def as_user(user_id: str):
            c = stack.enter_context(web_client(world))
            assert log_in(c, user_id, passwords[user_id]).status_code == 303, user_id
            return c
        yield as_user
