"""The engine still says exactly what it said before it was made faster (golden file, see scoring_golden.py)."""

from __future__ import annotations

import gzip
import json

import pytest

from certflow.assessment import Assessment, Period
from certflow.catalogue import load_catalogue
from certflow.resources import criteria_dir
from certflow.scoring import Scorer

from scoring_golden import GOLDEN, normalise

ROWS = json.loads(gzip.decompress(GOLDEN.read_bytes()))


@pytest.fixture(scope="module")
def scorers() -> dict[str, Scorer]:
    return {name: Scorer(load_catalogue(criteria_dir() / name)) for name in {row["catalogue"] for row in ROWS}}


def test_the_golden_file_covers_passing_and_failing_cases():
    assert len(ROWS) >= 60
    assert {row["report"]["passed"] for row in ROWS} == {True, False}
    reasons = " ".join(d["message"] for row in ROWS for d in row["report"]["deficits"])
    for words in ("keine Angabe", "außerhalb des Prüfzeitraums", "älter als", "Std.", "zu wenig in", "fehlt"):
        assert words in reasons


@pytest.mark.parametrize("index", range(len(ROWS)))
def test_report_is_unchanged(index, scorers):
    row = ROWS[index]
    assessment = Assessment.model_validate(row["assessment"])
    period = Period.model_validate(row["period"])
    report = scorers[row["catalogue"]].score(assessment, period)
    assert normalise(report.to_dict()) == row["report"]


def test_one_scorer_gives_the_same_reports_in_any_order(scorers):
    """The compiled plan and the caches hold nothing from one assessment to the next."""
    rows = [row for row in ROWS if row["catalogue"] == "familienzentrum-nrw-2020.yaml"]
    scorer = Scorer(load_catalogue(criteria_dir() / "familienzentrum-nrw-2020.yaml"))
    for row in reversed(rows):
        report = scorer.score(Assessment.model_validate(row["assessment"]), Period.model_validate(row["period"]))
        assert normalise(report.to_dict()) == row["report"]
