"""What the API tests share: the demo world behind the web app with the API mounted, and tokens.

Not a test module of its own (no tests here); ``from test_api_support import ...``. ``api_world(db)``
builds the Application on a copy of the demo (clock pinned to the demo's day), mints a write and a
read token for every demo user and yields an :class:`ApiWorld` whose ``client(user)`` sends that
user's bearer token.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, UTC
from pathlib import Path

from db_support import FixedClock, demo_url  # noqa: F401 - demo_url: re-exported for the API tests
from fastapi import FastAPI
from fastapi.testclient import TestClient

from certflow import services
from certflow.demo_data import USERS
from certflow.services.runner import Application
from certflow.settings import Settings
from certflow.web import WebConfig, create_app
from certflow.web.api import API_PREFIX, create_api

__all__ = ["DEMO_NOON", "ApiWorld", "api_world", "demo_url", "web_with_api"]

DEMO_NOON = datetime(2026, 3, 10, 11, 0, tzinfo=UTC)


def web_with_api(app: Application) -> FastAPI:
    """The web app of ``app`` with the API mounted (as certflow.web.app does once the API is wired in)."""
    web = create_app(app, WebConfig(secret_key="test-schluessel-0123456789"))
    if not any(getattr(route, "path", None) == API_PREFIX for route in web.routes):
        web.mount(API_PREFIX, create_api(app))
    return web


@dataclass
class ApiWorld:
    app: Application
    web: FastAPI
    clock: FixedClock
    write: dict[str, str] = field(default_factory=dict)
    read: dict[str, str] = field(default_factory=dict)

    def client(self, user: str | None = None, *, scope: str = "write") -> TestClient:
        client = TestClient(self.web, raise_server_exceptions=False, follow_redirects=False,
                            base_url="http://testserver")
        if user is not None:
            token = (self.write if scope == "write" else self.read)[user]
            client.headers["Authorization"] = f"Bearer {token}"
        return client


@contextlib.contextmanager
def api_world(db: Path | str, evidence: Path | None = None) -> Iterator[ApiWorld]:
    """``db``: a SQLite file or a database URL."""
    clock = FixedClock(DEMO_NOON)
    url = db if isinstance(db, str) else f"sqlite:///{db}"
    settings = Settings(database_url=url, **({"evidence_dir": evidence} if evidence else {}))
    app = Application(settings, clock=clock, after_commit=[])
    world = ApiWorld(app, web_with_api(app), clock)

    def mint(uow):
        for user in USERS:
            world.write[user.id] = services.create_token(uow, user.id, user.id, label="API-Test").token
            world.read[user.id] = services.create_token(uow, user.id, user.id, label="API-Test lesend",
                                                        scope="read").token
    app.run(mint)
    try:
        yield world
    finally:
        app.close()
