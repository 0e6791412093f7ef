"""certflow: a certification workflow engine for the Gütesiegel Familienzentrum NRW.

The public surface: load a catalogue and a self-assessment, score one against
the other, compare catalogue versions and carry assessments between them.
"""

from .assessment import Assessment, Period, load_assessment, parse_assessment
from .assessment.migrate import migrate_assessment
from .catalogue import Catalogue, load_catalogue, parse_catalogue
from .catalogue.diff import diff_catalogues
from .errors import AssessmentError, CatalogueError, InputError, Problem
from .scoring import Report, Scorer

__all__ = [
    "Assessment", "AssessmentError", "Catalogue", "CatalogueError", "InputError", "Period", "Problem",
    "Report", "Scorer", "diff_catalogues", "load_assessment", "load_catalogue", "migrate_assessment",
    "parse_assessment", "parse_catalogue",
]
