"""Sample self-assessments made from a catalogue: demo data, examples and benchmarks.

:func:`satisfying_assessment` answers every applicable item as met and adds
just enough dated activities and evidence to satisfy every rule; ``spoil``
then turns a share of the answers into "nicht erfüllt" or "offen" so that
generated data also covers failing cases. Deterministic for a given seed.
"""

from __future__ import annotations

import hashlib
import random
from datetime import date, timedelta

from .assessment.model import Answer, Assessment, Period, Status
from .catalogue.checks import applies
from .catalogue.model import Catalogue, Form, ProcedureKind, Variant
from .scoring.periods import windows


def _middle(first: date, last: date) -> date:
    return first + timedelta(days=(last - first).days // 2)


ERST_EINZEL = Variant(ProcedureKind.ERST, Form.EINZEL)


def satisfying_assessment(
    cat: Catalogue,
    variant: Variant = ERST_EINZEL,
    period: Period | None = None,
    profiles: list[str] | None = None,
    name: str = "Familienzentrum Beispiel",
) -> Assessment:
    period = period or Period(start=date(2025, 8, 1), end=date(2026, 7, 31))
    if profiles is None:
        profiles = []
        for area in cat.areas:
            if area.profile_rule is not None:
                need = max(area.profile_rule.min_chosen, area.profile_rule.required_met)
                profiles += [p.id for p in area.profiles[:need]]
    chosen = set(profiles)
    answers: dict[str, str] = {}
    activities: list[dict] = []
    evidence: list[dict] = []
    for _area, profile, crit in cat.all_criteria():
        if (profile is not None and profile.id not in chosen) or not applies(crit.applies_to, variant):
            continue
        for item in crit.all_items():
            if not applies(item.applies_to, variant):
                continue
            answers[item.id] = "erfuellt"
            for rule in item.frequency:
                if not applies(rule.applies_to, variant):
                    continue
                kind = rule.activity or next(iter(cat.activity_kinds))
                sessions = rule.each_min_sessions or 1
                spans = windows(period.start, period.end, rule.every) if rule.every else ((period.start, period.end),)
                for first, last in spans:
                    if rule.count == "records":
                        activities += [{"item": item.id, "date": _middle(first, last).isoformat(), "kind": kind,
                                        "sessions": sessions} for _ in range(rule.min)]
                    else:
                        activities.append({"item": item.id, "date": _middle(first, last).isoformat(), "kind": kind,
                                           "sessions": max(rule.min, sessions)})
            for rule in item.evidence:
                if not applies(rule.applies_to, variant):
                    continue
                for n in range(rule.min_count):
                    title = f"{cat.evidence_kinds[rule.kind]} zu {item.id}" + (f" ({n + 1})" if n else "")
                    file = f"nachweise/{item.id}-{rule.kind}-{n + 1}.pdf"
                    record = {"items": [item.id], "kind": rule.kind, "title": title,
                              "date": (period.start + timedelta(days=30)).isoformat(), "file": file,
                              "sha256": hashlib.sha256(file.encode()).hexdigest()}
                    if rule.min_hours is not None:
                        record["hours"] = rule.min_hours
                    evidence.append(record)
    return Assessment.model_validate({
        "catalogue": cat.programme, "catalogue_version": cat.version, "familienzentrum": name,
        "procedure": variant.procedure, "form": variant.form,
        "period": {"start": period.start, "end": period.end}, "profiles": profiles,
        "answers": answers, "activities": activities, "evidence": evidence,
    })


def spoil(a: Assessment, share: float, seed: int) -> Assessment:
    """A copy with ``share`` of the answers turned into "nicht_erfuellt" or "offen"."""
    rng = random.Random(seed)
    answers = {
        key: Answer(status=rng.choice([Status.NICHT_ERFUELLT, Status.OFFEN])) if rng.random() < share else answer
        for key, answer in a.answers.items()
    }
    return a.model_copy(update={"answers": answers})
