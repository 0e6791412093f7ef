"""A Familienzentrum's self-assessment for one procedure, as typed data.

This is the exchange format's schema (docs/assessment.md): what a Kita lead
submits — answers per criterion and sub-item, dated activity records and
evidence records.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ..catalogue.model import Form, ProcedureKind, Variant


class Status(StrEnum):
    ERFUELLT = "erfuellt"
    NICHT_ERFUELLT = "nicht_erfuellt"
    OFFEN = "offen"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Answer(_Model):
    status: Status
    comment: str = ""


class Period(_Model):
    """The Prüfzeitraum: first and last day, both inclusive."""

    start: date
    end: date

    @model_validator(mode="after")
    def _ordered(self) -> Period:
        if self.end < self.start:
            raise ValueError(f"Ende {self.end.isoformat()} liegt vor dem Beginn {self.start.isoformat()}")
        return self

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.end

    def __str__(self) -> str:
        return f"{self.start:%d.%m.%Y}–{self.end:%d.%m.%Y}"


class Activity(_Model):
    """A dated offer that took place: a course, a consultation hour, a home visit ..."""

    item: str = Field(min_length=1)
    date: date
    kind: str = Field(min_length=1)
    sessions: int = Field(default=1, ge=1)
    participants: int | None = Field(default=None, ge=0)
    note: str = ""


class Evidence(_Model):
    """A document relied on: a training certificate, a concept, an agreement ..."""

    items: list[str] = Field(min_length=1)
    kind: str = Field(min_length=1)
    title: str = Field(min_length=1)
    date: date
    hours: float | None = Field(default=None, ge=0)
    file: str | None = None
    sha256: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")


class Assessment(_Model):
    catalogue: str = Field(min_length=1)
    catalogue_version: str = Field(min_length=1)
    familienzentrum: str = ""
    procedure: ProcedureKind
    form: Form
    period: Period | None = None
    profiles: list[str] = Field(default_factory=list)
    answers: dict[str, Answer] = Field(default_factory=dict)
    activities: list[Activity] = Field(default_factory=list)
    evidence: list[Evidence] = Field(default_factory=list)

    @field_validator("answers", mode="before")
    @classmethod
    def _short_answers(cls, value: Any) -> Any:
        # "1.1: erfuellt" is shorthand for "1.1: {status: erfuellt}".
        if isinstance(value, dict):
            return {k: {"status": v} if isinstance(v, str) else v for k, v in value.items()}
        return value

    @property
    def variant(self) -> Variant:
        return Variant(self.procedure, self.form)

    def status_of(self, item_id: str) -> Status:
        answer = self.answers.get(item_id)
        return answer.status if answer is not None else Status.OFFEN
