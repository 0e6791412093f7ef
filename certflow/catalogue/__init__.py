"""The versioned catalogue of criteria: model, loader and checks, diff."""

from .loader import load_catalogue, parse_catalogue
from .model import (
    ALL_VARIANTS,
    Area,
    AreaKind,
    Catalogue,
    Criterion,
    EvidenceOption,
    EvidenceRule,
    Form,
    FrequencyRule,
    Item,
    Level,
    ProcedureKind,
    Profile,
    ProfileRule,
    Threshold,
    Variant,
)

__all__ = [
    "ALL_VARIANTS", "Area", "AreaKind", "Catalogue", "Criterion", "EvidenceOption", "EvidenceRule", "Form",
    "FrequencyRule", "Item", "Level", "ProcedureKind", "Profile", "ProfileRule", "Threshold",
    "Variant", "load_catalogue", "parse_catalogue",
]
