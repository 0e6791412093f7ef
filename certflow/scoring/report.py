"""What the scoring engine says: per item, criterion, profile and area, and overall."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any


def missing(n: int) -> str:
    return "1 fehlt" if n == 1 else f"{n} fehlen"


@dataclass(frozen=True, slots=True)
class ItemResult:
    id: str
    met: bool
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class CriterionResult:
    id: str
    title: str
    level: str
    points: int
    met: bool
    logic: str
    items: tuple[ItemResult, ...]
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Tally:
    """Points and Basis criteria reached against a threshold."""

    points: int
    max_points: int
    min_points: int
    basis_met: int
    basis_total: int
    min_basis: int

    @property
    def met(self) -> bool:
        return self.points >= self.min_points and self.basis_met >= self.min_basis

    def shortfalls(self) -> list[str]:
        out: list[str] = []
        if self.points < self.min_points:
            out.append(
                f"{self.points} von mindestens {self.min_points} Punkten ({missing(self.min_points - self.points)})"
            )
        if self.basis_met < self.min_basis:
            out.append(
                f"{self.basis_met} von mindestens {self.min_basis} Basiskriterien erfüllt "
                f"({missing(self.min_basis - self.basis_met)})"
            )
        return out


@dataclass(frozen=True, slots=True)
class ProfileResult:
    id: str
    title: str
    chosen: bool
    tally: Tally
    met: bool
    criteria: tuple[CriterionResult, ...]
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class AreaResult:
    id: str
    kind: str
    title: str
    tally: Tally
    met: bool
    criteria: tuple[CriterionResult, ...]
    profiles: tuple[ProfileResult, ...] = ()
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Deficit:
    """Something missing, in catalogue order; ``blocking`` when it keeps its area below threshold."""

    area: str
    subject: str
    message: str
    blocking: bool


@dataclass(frozen=True, slots=True)
class Report:
    catalogue: str
    version: str
    variant: str
    period_start: date
    period_end: date
    passed: bool
    areas: tuple[AreaResult, ...]
    deficits: tuple[Deficit, ...] = field(default=())

    @property
    def verdict(self) -> str:
        return "erfüllt" if self.passed else "nicht erfüllt"

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["verdict"] = self.verdict
        data["period_start"] = self.period_start.isoformat()
        data["period_end"] = self.period_end.isoformat()
        for area, area_data in zip(self.areas, data["areas"], strict=True):
            area_data["tally"]["met"] = area.tally.met
            for prof, prof_data in zip(area.profiles, area_data["profiles"], strict=True):
                prof_data["tally"]["met"] = prof.tally.met
        return data
