"""Frequency and evidence rules, checked against one assessment's records.

Each check returns the German reasons why a rule is not met; an empty tuple
means the rule holds.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from dateutil.relativedelta import relativedelta

from ..assessment.model import Activity, Evidence, Period
from ..catalogue.model import EvidenceOption, EvidenceRule, FrequencyRule
from ..catalogue.wording import WINDOW_LABEL, WINDOW_PLURAL, frequency_text
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
    label = WINDOW_LABEL[rule.every] if len(short) == 1 else WINDOW_PLURAL[rule.every]
    return (f"{demand}, zu wenig in {len(short)} {label} ({named}{more}){note}",)


def _evidence_fault(rule: EvidenceOption, ev: Evidence, period: Period) -> str | None:
    """Why ``ev`` does not count for ``rule`` (``None``: it counts).

    Its age is measured on the last day of the Prüfzeitraum (the Stichtag), from the evidence's
    own date (a training: the day it ended); exactly ``max_age_years`` old still counts.
    """
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


def _check_option(
    rule: EvidenceOption, evidence: Sequence[Evidence], period: Period, kind_label: str
) -> tuple[int, str | None]:
    """``(candidates, reason)`` for one kind of evidence; the reason is ``None`` when it holds."""
    candidates = [ev for ev in evidence if ev.kind == rule.kind]
    faults = [f for f in (_evidence_fault(rule, ev, period) for ev in candidates) if f is not None]
    valid = len(candidates) - len(faults)
    if valid >= rule.min_count:
        return len(candidates), None
    if not candidates:
        if rule.min_count == 1:
            return 0, f"Nachweis „{kind_label}“ fehlt"
        return 0, f"{rule.min_count} Nachweise „{kind_label}“ gefordert, keiner vorhanden"
    head = f"{valid} von {rule.min_count} gültigen Nachweisen „{kind_label}“"
    return len(candidates), head + (": " + "; ".join(faults) if faults else "")


def check_evidence(
    rule: EvidenceRule, evidence: Sequence[Evidence], period: Period, kind_label: str,
    alternative_labels: Sequence[str] = (),
) -> tuple[str, ...]:
    """At least ``min_count`` pieces of evidence of the rule's kind that pass every condition, or of one
    of its alternatives (each with its own conditions; ``alternative_labels`` name their kinds)."""
    labels = [kind_label, *alternative_labels]
    labels += [option.kind for option in rule.alternatives[len(labels) - 1:]]
    # A caller may name more labels than the rule has alternatives; the surplus is not judged.
    outcomes = [
        _check_option(option, evidence, period, label)
        for option, label in zip(rule.options(), labels, strict=False)
    ]
    reasons = [reason for _, reason in outcomes if reason is not None]
    if len(reasons) < len(outcomes):
        return ()
    if len(reasons) == 1:
        return (reasons[0],)
    if not any(found for found, _ in outcomes) and all(option.min_count == 1 for option in rule.options()):
        return ("Nachweis " + " oder ".join(f"„{label}“" for label in labels) + " fehlt",)
    return ("keine Alternative erfüllt: " + "; ".join(reasons),)
