from __future__ import annotations

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
