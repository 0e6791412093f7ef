"""The pure scoring engine: which criteria are met, which are missing, and why."""

from .engine import Scorer
from .report import AreaResult, CriterionResult, Deficit, ItemResult, ProfileResult, Report, Tally

__all__ = ["AreaResult", "CriterionResult", "Deficit", "ItemResult", "ProfileResult", "Report", "Scorer", "Tally"]
