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
