from __future__ import annotations

import contextlib
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from certflow.assessment import Assessment, Period
from certflow.catalogue import load_catalogue

DATA = Path(__file__).parent / "data"
ROOT = Path(__file__).parent.parent


@pytest.fixture(scope="session")
def mini():
    return load_catalogue(DATA / "mini.yaml")


@pytest.fixture(scope="session")
def mini_text() -> str:
    return (DATA / "mini.yaml").read_text(encoding="utf-8")


KGJ = Period(start="2025-08-01", end="2026-07-31")


def make_assessment(**fields) -> Assessment:
    """An Erst/Einzel assessment for the mini catalogue; keyword arguments override fields."""
    base = dict(catalogue="test-programm", catalogue_version="1", procedure="erst", form="einzel")
    base.update(fields)
    return Assessment.model_validate(base)


DEMO_DAY = "2026-03-10"


@dataclass(frozen=True)
class DemoBuild:
    """What ``certflow demo --today 2026-03-10`` made in ``folder`` (its working directory), with its defaults."""

    folder: Path     # the working directory it ran in
    db: Path         # folder / certflow-demo.sqlite
    documents: Path  # folder / certflow-demo-dokumente
    output: str      # what it printed (paths relative to folder)

    def copy(self, target: Path) -> Path:
        """A private copy of the database (for a test that writes)."""
        return Path(shutil.copy(self.db, target))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test on the demo (``demo_db``, directly or through another fixture) is ``slow``: the first one
    builds it (half a minute). ``pytest -m "not slow"`` leaves them out; CI runs them."""
    for item in items:
        if "demo_db" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory) -> DemoBuild:
    """The demo, built once per test session (database and documents: slow), as the README's first
    command runs it: ``certflow demo`` in a fresh working directory. Read it, never change it: copy
    the database with :meth:`DemoBuild.copy` where a test writes."""
    from click.testing import CliRunner

    from certflow.cli import cli

    folder = tmp_path_factory.mktemp("demo")
    with contextlib.chdir(folder):
        result = CliRunner(env={"COLUMNS": "110"}).invoke(cli, ["demo", "--today", DEMO_DAY], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return DemoBuild(folder, folder / "certflow-demo.sqlite", folder / "certflow-demo-dokumente", result.output)


@pytest.fixture(scope="module")
def demo_evidence(demo_db):
    """``CERTFLOW_EVIDENCE_DIR`` set to the demo's evidence store for a module whose tests render packets in
    this process (else they would create ``./certflow-evidence`` wherever pytest runs)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CERTFLOW_EVIDENCE_DIR", str(demo_db.folder / "certflow-evidence"))
        yield demo_db.folder / "certflow-evidence"


# -- proving who acts at the command line (certflow.cli.session.require_proof) ----------------------------------


def cli_option(args, name: str) -> str | None:
    """The value of the last ``name VALUE`` in a command line (``None`` if it is not there)."""
    args = [str(a) for a in args]
    found = None
    for i, arg in enumerate(args[:-1]):
        if arg == name:
            found = args[i + 1]
    return found


class CliTokens:
    """API tokens for the command-line tests: minted through the service (``services.create_token``, by the
    owner), once per database and user; a copy of a database file keeps its tokens (:meth:`adopt`).

    ``env(args)`` is the environment that proves the ``--as`` of a command line on its ``--db``:
    ``{"CERTFLOW_TOKEN": …}``; empty without ``--as`` or ``--db``, or where no token can be made (a
    database that is not set up, a user it does not know: pass ``user=`` someone it knows).
    """

    def __init__(self):
        self._minted: dict[str, dict[str, str]] = {}

    @staticmethod
    def url(db) -> str:
        from certflow.cli.session import resolve_url

        return resolve_url(str(db))

    def mint(self, db, *users: str) -> dict[str, str]:
        """The tokens of ``users`` on ``db``, minting those not minted yet (in one unit of work)."""
        from certflow import services
        from certflow.services.runner import Application
        from certflow.settings import Settings

        known = self._minted.setdefault(self.url(db), {})
        missing = [user for user in dict.fromkeys(users) if user not in known]
        if missing:
            with Application(Settings(database_url=self.url(db)), after_commit=()) as app:
                known.update(app.run(lambda uow: {
                    user: services.create_token(uow, user, user, label="Tests").token for user in missing}))
        return {user: known[user] for user in users}

    def adopt(self, copy, original) -> None:
        """``copy`` is a copy of the database file ``original``: it holds the same tokens."""
        self._minted[self.url(copy)] = dict(self._minted.get(self.url(original), {}))

    def token(self, db, user: str) -> str:
        return self.mint(db, user)[user]

    def env(self, args, *, user: str | None = None, db=None) -> dict[str, str]:
        user = user or cli_option(args, "--as")
        db = db or cli_option(args, "--db")
        if user is None or db is None:
            return {}
        from certflow.services.runner import UseCaseError

        try:
            return {"CERTFLOW_TOKEN": self.token(db, user)}
        except UseCaseError:  # the command line meets the same problem, and the test says what it expects
            return {}


TOKENS = CliTokens()
"""The tokens of this test session (``from conftest import TOKENS`` in a module's ``invoke`` helper)."""


@pytest.fixture(scope="session")
def cli_tokens() -> CliTokens:
    return TOKENS


@dataclass(frozen=True)
class ProvenDemo(DemoBuild):
    """The demo with an API token for every demo user (:class:`CliTokens`); its copies hold the same tokens."""

    tokens: CliTokens | None = None

    def copy(self, target: Path) -> Path:
        copied = DemoBuild.copy(self, target)
        self.tokens.adopt(copied, self.db)
        return copied


@pytest.fixture(scope="session")
def demo_proven(demo_db, cli_tokens, tmp_path_factory) -> ProvenDemo:
    """A copy of the demo database with a token for every demo user, minted once per session through the
    service (the demo itself stays as built). Read it like ``demo_db`` (a command notes its token's use in
    it); copy it with :meth:`ProvenDemo.copy` where a test writes."""
    from certflow.demo_data import USERS

    db = demo_db.copy(tmp_path_factory.mktemp("demo-proven") / "certflow-demo.sqlite")
    cli_tokens.mint(db, *(user.id for user in USERS))
    return ProvenDemo(demo_db.folder, db, demo_db.documents, demo_db.output, tokens=cli_tokens)
