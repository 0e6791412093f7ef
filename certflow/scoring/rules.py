"""Frequency and evidence rules, checked against one assessment's records.

Each check returns the German reasons why a rule is not met; an empty tuple
means the rule holds.
"""

from __future__ import annotations

from datetime import date
from typing import Sequence

from dateutil.relativedelta import relativedelta

from ..assessment.model import Activity, Evidence, Period
from ..catalogue.model import EvidenceRule, FrequencyRule
from ..catalogue.wording import WINDOW_LABEL, frequency_text
from .periods import fmt, windows
from .report import missing

#: How many failing windows a reason names before it says "und N weitere".
MAX_WINDOWS_NAMED = 3


def check_frequency(
    rule: FrequencyRule, activities: Sequence[Activity], period: Period, activity_label: str | None
) -> tuple[str, ...]:
    """At least ``rule.min`` sessions (or records) in the period, or in every window of it."""
    counted: list[tuple[date, int]] = []
    outside = 0
    for act in activities:
        if rule.activity is not None and act.kind != rule.activity:
            continue
        if rule.each_min_sessions is not None and act.sessions < rule.each_min_sessions:
            continue
        value = act.sessions if rule.count == "sessions" else 1
        if period.start <= act.date <= period.end:
            counted.append((act.date, value))
        else:
            outside += value
    demand = frequency_text(rule, activity_label) + " gefordert"
    note = f"; {outside} außerhalb des Prüfzeitraums nicht gezählt" if outside else ""
    if rule.every is None:
        total = sum(v for _, v in counted)
        if total >= rule.min:
            return ()
        return (f"{demand}, {total} nachgewiesen ({missing(rule.min - total)}){note}",)
    short: list[str] = []
    for first, last in windows(period.start, period.end, rule.every):
        got = sum(v for d, v in counted if first <= d <= last)
        if got < rule.min:
            short.append(f"{fmt(first)}–{fmt(last)}: {got}")
    if not short:
        return ()
    named = "; ".join(short[:MAX_WINDOWS_NAMED])
    more = f" und {len(short) - MAX_WINDOWS_NAMED} weitere" if len(short) > MAX_WINDOWS_NAMED else ""
    label = WINDOW_LABEL[rule.every]
    return (f"{demand}, zu wenig in {len(short)} {label if len(short) == 1 else label + 'en'} ({named}{more}){note}",)


def _evidence_fault(rule: EvidenceRule, ev: Evidence, period: Period) -> str | None:
    if ev.date > period.end:
        return f"„{ev.title}“ ({fmt(ev.date)}) liegt nach dem Ende des Prüfzeitraums"
    if rule.within_period and ev.date < period.start:
        return f"„{ev.title}“ ({fmt(ev.date)}) liegt vor dem Beginn des Prüfzeitraums"
    if rule.min_hours is not None and (ev.hours is None or ev.hours < rule.min_hours):
        got = "ohne Stundenangabe" if ev.hours is None else f"nur {ev.hours:g} Std."
        return f"„{ev.title}“ {got}, mindestens {rule.min_hours:g} Std. gefordert"
    if rule.max_age_years is not None and ev.date < period.end - relativedelta(years=rule.max_age_years):
        return (
            f"„{ev.title}“ ({fmt(ev.date)}) ist älter als {rule.max_age_years} Jahre "
            f"(Stichtag {fmt(period.end)})"
        )
    return None


def check_evidence(
    rule: EvidenceRule, evidence: Sequence[Evidence], period: Period, kind_label: str
) -> tuple[str, ...]:
    """At least ``rule.min_count`` pieces of evidence of the kind that pass every condition."""
    candidates = [ev for ev in evidence if ev.kind == rule.kind]
    faults = [f for f in (_evidence_fault(rule, ev, period) for ev in candidates) if f is not None]
    valid = len(candidates) - len(faults)
    if valid >= rule.min_count:
        return ()
    if not candidates:
        if rule.min_count == 1:
            return (f"Nachweis „{kind_label}“ fehlt",)
        return (f"{rule.min_count} Nachweise „{kind_label}“ gefordert, keiner vorhanden",)
    head = f"{valid} von {rule.min_count} gültigen Nachweisen „{kind_label}“"
    return (head + (": " + "; ".join(faults) if faults else ""),)
