"""The catalogue of criteria as typed, immutable data.

The model is the catalogue file's schema too: every field here is a key a
catalogue editor may write (see docs/catalogue.md). Unknown keys are errors.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any, Literal, TypeAlias

from pydantic import BaseModel, ConfigDict, Field, field_validator


class Level(StrEnum):
    BASIS = "basis"
    AUFBAU = "aufbau"


class AreaKind(StrEnum):
    LEISTUNG = "leistung"
    PROFIL = "profil"
    STRUKTUR = "struktur"


class ProcedureKind(StrEnum):
    ERST = "erst"
    RE = "re"


class Form(StrEnum):
    EINZEL = "einzel"
    VERBUND = "verbund"


Window = Literal["week", "month", "quarter", "half_year", "year"]
"""The windows of an ``every`` rule; how each is cut from a Prüfzeitraum: :mod:`certflow.scoring.periods`."""

AREA_KIND_LABEL = {
    AreaKind.LEISTUNG: "Leistungsbereich",
    AreaKind.PROFIL: "Profilbereich",
    AreaKind.STRUKTUR: "Strukturbereich",
}


@dataclass(frozen=True, slots=True, order=True)
class Variant:
    """Which kind of procedure an assessment belongs to: Erst/Re × Einzel/Verbund."""

    procedure: ProcedureKind
    form: Form

    def __str__(self) -> str:
        return f"{self.procedure.value}-{self.form.value}"


ALL_VARIANTS = tuple(Variant(p, f) for p in ProcedureKind for f in Form)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class English(_Model):
    """Optional English texts beside the German ones."""

    title: str | None = None
    description: str | None = None


class AppliesTo(_Model):
    """Restricts a criterion, item or rule to some procedure kinds and forms."""

    procedure: list[ProcedureKind] = Field(default_factory=lambda: list(ProcedureKind), min_length=1)
    form: list[Form] = Field(default_factory=lambda: list(Form), min_length=1)

    def matches(self, variant: Variant) -> bool:
        return variant.procedure in self.procedure and variant.form in self.form


class FrequencyRule(_Model):
    """How often an offer must take place, counted on dated activity records."""

    activity: str | None = None
    count: Literal["sessions", "records"] = "sessions"
    min: int = Field(default=1, ge=1)
    every: Window | None = None
    each_min_sessions: int | None = Field(default=None, ge=1)
    applies_to: AppliesTo | None = None


class EvidenceOption(_Model):
    """One kind of evidence and what makes a piece of it count."""

    kind: str
    min_count: int = Field(default=1, ge=1)
    min_hours: float | None = Field(default=None, gt=0)
    max_age_years: int | None = Field(default=None, ge=1)
    within_period: bool = False


class EvidenceRule(EvidenceOption):
    """Which evidence an item needs: a kind with its conditions, or any of its ``alternatives`` instead.

    "Zusatzausbildung oder Fortbildung": ``{kind: qualifikation, min_hours: 30, alternatives:
    [{kind: fortbildung, min_hours: 30}]}``. Each alternative is judged on its own, with its own
    conditions; the rule holds when one of them does.
    """

    alternatives: list[EvidenceOption] = Field(default_factory=list)
    applies_to: AppliesTo | None = None

    def options(self) -> tuple[EvidenceOption, ...]:
        """The rule's own kind first, then its alternatives, each as an :class:`EvidenceOption`."""
        own = EvidenceOption(**{name: getattr(self, name) for name in EvidenceOption.model_fields})
        return (own, *self.alternatives)

    @property
    def kinds(self) -> tuple[str, ...]:
        """Every kind of evidence that can satisfy the rule, its own first."""
        return tuple(option.kind for option in self.options())


class AllOf(_Model):
    all: list[Logic] = Field(min_length=1)


class AnyOf(_Model):
    any: list[Logic] = Field(min_length=1)


Logic: TypeAlias = str | AllOf | AnyOf


def _parse_logic(value: Any, where: str = "") -> Logic:
    """Parse ``{all: [...]}`` / ``{any: [...]}`` / ``"1.1"`` with messages that name the spot."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and len(value) == 1 and next(iter(value)) in ("all", "any"):
        (op, children), = value.items()
        if not isinstance(children, list) or not children:
            raise ValueError(f"{where}{op} muss eine nicht leere Liste sein")
        parsed = [_parse_logic(c, f"{where}{op}[{i}]: ") for i, c in enumerate(children)]
        return AllOf(all=parsed) if op == "all" else AnyOf(any=parsed)
    raise ValueError(f"{where}erwartet eine Kennung oder genau einen Schlüssel 'all' oder 'any'")


def logic_children(logic: AllOf | AnyOf) -> list[Logic]:
    """The operands of an ``all`` or ``any`` node."""
    return logic.all if isinstance(logic, AllOf) else logic.any


def logic_leaves(logic: Logic) -> list[str]:
    if isinstance(logic, str):
        return [logic]
    return [leaf for child in logic_children(logic) for leaf in logic_leaves(child)]


def format_logic(logic: Logic) -> str:
    """``{any: [1.3, 1.3.1]}`` -> ``1.3 ODER 1.3.1`` (German, as in the checklists)."""
    if isinstance(logic, str):
        return logic
    parts = [format_logic(c) if isinstance(c, str) else f"({format_logic(c)})" for c in logic_children(logic)]
    return (" UND " if isinstance(logic, AllOf) else " ODER ").join(parts)


class Item(_Model):
    """One checkable statement: a criterion's own, or one of its sub-items."""

    id: str = Field(min_length=1)
    title: str = Field(min_length=1)
    description: str = ""
    en: English | None = None
    frequency: list[FrequencyRule] = Field(default_factory=list)
    evidence: list[EvidenceRule] = Field(default_factory=list)
    applies_to: AppliesTo | None = None
    provisional: bool = False
    note: str | None = None


class Criterion(Item):
    """A scored criterion: its own statement, sub-items, and how they combine."""

    level: Level
    points: int = Field(default=1, ge=0)
    items: list[Item] = Field(default_factory=list)
    logic: Logic | None = None

    @field_validator("logic", mode="before")
    @classmethod
    def _logic(cls, value: Any) -> Logic | None:
        return None if value is None else _parse_logic(value)

    def effective_logic(self) -> Logic:
        """The combination rule; without one, the own statement and every sub-item must hold."""
        if self.logic is not None:
            return self.logic
        if not self.items:
            return self.id
        return AllOf(all=[self.id, *(item.id for item in self.items)])

    def own_item(self) -> Item:
        return Item(**{name: getattr(self, name) for name in Item.model_fields})

    def all_items(self) -> list[Item]:
        return [self.own_item(), *self.items]


class ThresholdOverride(_Model):
    """A different minimum for some variants, e.g. one more Basis item for a Verbund."""

    procedure: list[ProcedureKind] = Field(default_factory=lambda: list(ProcedureKind), min_length=1)
    form: list[Form] = Field(default_factory=lambda: list(Form), min_length=1)
    min_points: int | None = Field(default=None, ge=0)
    min_basis: int | None = Field(default=None, ge=0)

    def matches(self, variant: Variant) -> bool:
        return variant.procedure in self.procedure and variant.form in self.form


class Threshold(_Model):
    """The minimum an area (or a profile) must reach; the first matching override wins."""

    min_points: int = Field(default=0, ge=0)
    min_basis: int = Field(default=0, ge=0)
    overrides: list[ThresholdOverride] = Field(default_factory=list)
    provisional: bool = False
    note: str | None = None

    def for_variant(self, variant: Variant) -> tuple[int, int]:
        """``(min_points, min_basis)`` for ``variant``."""
        for o in self.overrides:
            if o.matches(variant):
                return (
                    self.min_points if o.min_points is None else o.min_points,
                    self.min_basis if o.min_basis is None else o.min_basis,
                )
        return self.min_points, self.min_basis


class Profile(_Model):
    """A Profilbereich a Familienzentrum may choose, e.g. 4B Berufstätigkeit."""

    id: str = Field(min_length=1)
    title: str = Field(min_length=1)
    description: str = ""
    en: English | None = None
    criteria: list[Criterion] = Field(default_factory=list)
    threshold: Threshold = Threshold()
    provisional: bool = False
    note: str | None = None


class ProfileRule(_Model):
    """How many profiles a Familienzentrum must choose, and how many of them it must meet."""

    min_chosen: int = Field(default=1, ge=0)
    max_chosen: int | None = Field(default=None, ge=1)
    min_met: int | None = Field(default=None, ge=0)
    provisional: bool = False
    note: str | None = None

    @property
    def required_met(self) -> int:
        return self.min_chosen if self.min_met is None else self.min_met


class Area(_Model):
    """A Leistungs-, Profil- or Strukturbereich."""

    id: str = Field(min_length=1)
    kind: AreaKind
    title: str = Field(min_length=1)
    description: str = ""
    en: English | None = None
    criteria: list[Criterion] = Field(default_factory=list)
    threshold: Threshold = Threshold()
    profiles: list[Profile] = Field(default_factory=list)
    profile_rule: ProfileRule | None = None
    provisional: bool = False
    note: str | None = None


class Catalogue(_Model):
    """One version of a programme's catalogue of criteria."""

    programme: str = Field(min_length=1, pattern=r"^[a-z0-9][a-z0-9-]*$")
    title: str = Field(min_length=1)
    version: str = Field(min_length=1)
    valid_from: date
    valid_until: date | None = None
    description: str = ""
    en: English | None = None
    provisional: bool = False
    note: str | None = None
    evidence_kinds: dict[str, str] = Field(default_factory=dict)
    activity_kinds: dict[str, str] = Field(default_factory=dict)
    areas: list[Area] = Field(min_length=1)

    @property
    def key(self) -> str:
        return f"{self.programme}@{self.version}"

    def all_criteria(self) -> list[tuple[Area, Profile | None, Criterion]]:
        """Every criterion with the area (and profile) it belongs to, in catalogue order."""
        out: list[tuple[Area, Profile | None, Criterion]] = []
        for area in self.areas:
            out.extend((area, None, c) for c in area.criteria)
            for profile in area.profiles:
                out.extend((area, profile, c) for c in profile.criteria)
        return out


AllOf.model_rebuild()
AnyOf.model_rebuild()
Criterion.model_rebuild()
