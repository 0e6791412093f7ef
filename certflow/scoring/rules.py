"""Frequency and evidence rules, checked against one assessment's records.

A rule is compiled once (:class:`FrequencyCheck`, :class:`EvidenceCheck`: its labels looked up, its
wording and options ready) and then called for each assessment; :func:`check_frequency` and
:func:`check_evidence` compile and check in one go. Each check returns the German reasons why a rule
is not met; an empty tuple means the rule holds.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from dateutil.relativedelta import relativedelta

from ..assessment.model import Activity, Evidence, Period
from ..catalogue.model import EvidenceOption, EvidenceRule, FrequencyRule, Window
from ..catalogue.wording import WINDOW_LABEL, WINDOW_PLURAL, frequency_text
from .periods import fmt, window_starts, windows
from .report import missing

#: How many failing windows a reason names before it says "und N weitere".
MAX_WINDOWS_NAMED = 3


@dataclass(frozen=True, slots=True)
class FrequencyCheck:
    """A :class:`FrequencyRule` ready to check: at least ``min`` sessions (or records) in the period,
    or in every window of it."""

    activity: str | None
    each_min_sessions: int | None
    by_sessions: bool
    min: int
    every: Window | None
    demand: str  # "mindestens 1 Termin „Kurs“ je Monat gefordert"

    @classmethod
    def compile(cls, rule: FrequencyRule, activity_label: str | None) -> FrequencyCheck:
        return cls(rule.activity, rule.each_min_sessions, rule.count == "sessions", rule.min, rule.every,
                   frequency_text(rule, activity_label) + " gefordert")

    def __call__(self, activities: Sequence[Activity], period: Period) -> tuple[str, ...]:
        start, end, every = period.start, period.end, self.every
        kind, each, by_sessions = self.activity, self.each_min_sessions, self.by_sessions
        # The windows are consecutive and cover the period exactly: each day in it falls in one.
        starts = window_starts(start, end, every) if every is not None else (start,)
        got = [0] * len(starts)
        outside = 0
        for act in activities:
            if kind is not None and act.kind != kind:
                continue
            if each is not None and act.sessions < each:
                continue
            value = act.sessions if by_sessions else 1
            day = act.date
            if start <= day <= end:
                got[bisect_right(starts, day) - 1] += value
            else:
                outside += value
        if min(got) >= self.min:
            return ()
        note = f"; {outside} außerhalb des Prüfzeitraums nicht gezählt" if outside else ""
        if every is None:
            total = got[0]
            return (f"{self.demand}, {total} nachgewiesen ({missing(self.min - total)}){note}",)
        cut = windows(start, end, every)
        short = [f"{fmt(first)}–{fmt(last)}: {n}" for (first, last), n in zip(cut, got, strict=True) if n < self.min]
        named = "; ".join(short[:MAX_WINDOWS_NAMED])
        more = f" und {len(short) - MAX_WINDOWS_NAMED} weitere" if len(short) > MAX_WINDOWS_NAMED else ""
        label = WINDOW_LABEL[every] if len(short) == 1 else WINDOW_PLURAL[every]
        return (f"{self.demand}, zu wenig in {len(short)} {label} ({named}{more}){note}",)


@lru_cache(maxsize=256)
def _years_before(day: date, years: int) -> date:
    return day - relativedelta(years=years)


@dataclass(frozen=True, slots=True)
class _Option:
    """One kind of evidence of a rule, with its conditions and its label."""

    kind: str
    min_count: int
    min_hours: float | None
    max_age_years: int | None
    within_period: bool
    label: str

    def fault(self, ev: Evidence, period: Period) -> str | None:
        """Why ``ev`` does not count (``None``: it counts).

        Its age is measured on the last day of the Prüfzeitraum (the Stichtag), from the evidence's
        own date (a training: the day it ended); exactly ``max_age_years`` old still counts.
        """
        if ev.date > period.end:
            return f"„{ev.title}“ ({fmt(ev.date)}) liegt nach dem Ende des Prüfzeitraums"
        if self.within_period and ev.date < period.start:
            return f"„{ev.title}“ ({fmt(ev.date)}) liegt vor dem Beginn des Prüfzeitraums"
        if self.min_hours is not None and (ev.hours is None or ev.hours < self.min_hours):
            got = "ohne Stundenangabe" if ev.hours is None else f"nur {ev.hours:g} Std."
            return f"„{ev.title}“ {got}, mindestens {self.min_hours:g} Std. gefordert"
        if self.max_age_years is not None and ev.date < _years_before(period.end, self.max_age_years):
            return (
                f"„{ev.title}“ ({fmt(ev.date)}) ist älter als {self.max_age_years} Jahre "
                f"(Stichtag {fmt(period.end)})"
            )
        return None

    def check(self, evidence: Sequence[Evidence], period: Period) -> tuple[int, str | None]:
        """``(candidates, reason)``; the reason is ``None`` when the option holds."""
        kind = self.kind
        candidates = [ev for ev in evidence if ev.kind == kind]
        faults = [f for f in (self.fault(ev, period) for ev in candidates) if f is not None]
        valid = len(candidates) - len(faults)
        if valid >= self.min_count:
            return len(candidates), None
        if not candidates:
            if self.min_count == 1:
                return 0, f"Nachweis „{self.label}“ fehlt"
            return 0, f"{self.min_count} Nachweise „{self.label}“ gefordert, keiner vorhanden"
        head = f"{valid} von {self.min_count} gültigen Nachweisen „{self.label}“"
        return len(candidates), head + (": " + "; ".join(faults) if faults else "")


def _option(option: EvidenceOption | EvidenceRule, label: str) -> _Option:
    return _Option(option.kind, option.min_count, option.min_hours, option.max_age_years, option.within_period, label)


@dataclass(frozen=True, slots=True)
class EvidenceCheck:
    """An :class:`EvidenceRule` ready to check: at least ``min_count`` pieces of evidence of the rule's kind
    that pass every condition, or of one of its alternatives (each with its own conditions)."""

    options: tuple[_Option, ...]
    labels: tuple[str, ...]  # every label named, for "Nachweis „A“ oder „B“ fehlt"
    singles: bool  # every option asks for one piece

    @classmethod
    def compile(cls, rule: EvidenceRule, kind_label: str, alternative_labels: Sequence[str] = ()) -> EvidenceCheck:
        """``alternative_labels`` name the alternatives' kinds (else their ids); a caller may name more labels
        than the rule has alternatives: the surplus is not judged."""
        labels = [kind_label, *alternative_labels]
        labels += [option.kind for option in rule.alternatives[len(labels) - 1:]]
        options = (rule, *rule.alternatives)
        return cls(
            tuple(_option(option, label) for option, label in zip(options, labels, strict=False)),
            tuple(labels),
            all(option.min_count == 1 for option in options),
        )

    def __call__(self, evidence: Sequence[Evidence], period: Period) -> tuple[str, ...]:
        for option in self.options:  # the usual case first: enough valid pieces of one kind
            kind, need = option.kind, option.min_count
            for ev in evidence:
                if ev.kind == kind and option.fault(ev, period) is None:
                    need -= 1
                    if not need:
                        return ()
        outcomes = [option.check(evidence, period) for option in self.options]
        reasons = [reason for _, reason in outcomes if reason is not None]
        if len(reasons) < len(outcomes):
            return ()
        if len(reasons) == 1:
            return (reasons[0],)
        if not any(found for found, _ in outcomes) and self.singles:
            return ("Nachweis " + " oder ".join(f"„{label}“" for label in self.labels) + " fehlt",)
        return ("keine Alternative erfüllt: " + "; ".join(reasons),)


def check_frequency(
    rule: FrequencyRule, activities: Sequence[Activity], period: Period, activity_label: str | None
) -> tuple[str, ...]:
    """At least ``rule.min`` sessions (or records) in the period, or in every window of it."""
    return FrequencyCheck.compile(rule, activity_label)(activities, period)


def check_evidence(
    rule: EvidenceRule, evidence: Sequence[Evidence], period: Period, kind_label: str,
    alternative_labels: Sequence[str] = (),
) -> tuple[str, ...]:
    """At least ``min_count`` pieces of evidence of the rule's kind that pass every condition, or of one
    of its alternatives (each with its own conditions; ``alternative_labels`` name their kinds)."""
    return EvidenceCheck.compile(rule, kind_label, alternative_labels)(evidence, period)
