"""The self-assessment a Familienzentrum submits: model, loader, carrying to a new catalogue version."""

from .loader import check_against, load_assessment, parse_assessment
from .model import Activity, Answer, Assessment, Evidence, Period, Status

__all__ = [
    "Activity", "Answer", "Assessment", "Evidence", "Period", "Status",
    "check_against", "load_assessment", "parse_assessment",
]
