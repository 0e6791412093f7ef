"""Reading the files a command names, shared by the commands."""

from __future__ import annotations

from pathlib import Path

from ..assessment import Assessment, load_assessment
from ..catalogue import Catalogue, load_catalogue
from ..errors import AssessmentError, Problem
from ..resources import shipped_catalogues


def catalogue_for(assessment_path: str, catalogue_path: str | None) -> Catalogue:
    """The catalogue named on the command line, else the shipped one the assessment names."""
    if catalogue_path:
        return load_catalogue(catalogue_path)
    # Peek at the assessment without the catalogue to learn which one it needs.
    bare = load_assessment(assessment_path)
    for path in shipped_catalogues():
        cat = load_catalogue(path)
        if cat.programme == bare.catalogue and cat.version == bare.catalogue_version:
            return cat
    raise AssessmentError([Problem(
        assessment_path, None, ("catalogue_version",),
        f"kein mitgelieferter Katalog {bare.catalogue}@{bare.catalogue_version}; mit --catalogue DATEI angeben",
    )])


def load_pair(assessment_path: str, catalogue_path: str | None) -> tuple[Catalogue, Assessment]:
    cat = catalogue_for(assessment_path, catalogue_path)
    return cat, load_assessment(Path(assessment_path), cat)
