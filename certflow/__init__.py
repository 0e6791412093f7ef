"""certflow: a certification workflow engine for the Gütesiegel Familienzentrum NRW.

The public surface: load a catalogue and a self-assessment, score one against
the other, compare catalogue versions and carry assessments between them.

The names are imported on first use (PEP 562), so ``import certflow`` (and ``certflow --help``) does not
load pydantic, YAML and the models until a program asks for one of them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # what type checkers and editors see; at run time __getattr__ imports on demand
    from .assessment import Assessment, Period, load_assessment, parse_assessment
    from .assessment.migrate import migrate_assessment
    from .catalogue import Catalogue, load_catalogue, parse_catalogue
    from .catalogue.diff import diff_catalogues
    from .errors import AssessmentError, CatalogueError, InputError, Problem
    from .scoring import Report, Scorer

_WHERE = {
    "Assessment": ".assessment", "Period": ".assessment", "load_assessment": ".assessment",
    "parse_assessment": ".assessment", "migrate_assessment": ".assessment.migrate",
    "Catalogue": ".catalogue", "load_catalogue": ".catalogue", "parse_catalogue": ".catalogue",
    "diff_catalogues": ".catalogue.diff",
    "AssessmentError": ".errors", "CatalogueError": ".errors", "InputError": ".errors", "Problem": ".errors",
    "Report": ".scoring", "Scorer": ".scoring",
}

__all__ = [
    "Assessment", "AssessmentError", "Catalogue", "CatalogueError", "InputError", "Period", "Problem",
    "Report", "Scorer", "diff_catalogues", "load_assessment", "load_catalogue", "migrate_assessment",
    "parse_assessment", "parse_catalogue",
]


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        value = getattr(importlib.import_module(_WHERE[name], __name__), name)
        globals()[name] = value  # once imported, a plain attribute
        return value
    raise AttributeError(f"module 'certflow' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
