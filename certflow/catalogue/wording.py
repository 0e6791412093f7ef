"""German wording of a catalogue's rules, shared by the catalogue view and the scoring reasons."""

from __future__ import annotations

from collections.abc import Mapping

from .model import AppliesTo, EvidenceOption, EvidenceRule, Form, FrequencyRule, ProcedureKind

WINDOW_LABEL = {"week": "Woche", "month": "Monat", "quarter": "Quartal", "half_year": "Halbjahr", "year": "Jahr"}
WINDOW_PLURAL = {"week": "Wochen", "month": "Monaten", "quarter": "Quartalen", "half_year": "Halbjahren",
                 "year": "Jahren"}
"""The dative plural, as in "zu wenig in 3 Wochen"."""


def unit(rule: FrequencyRule, n: int) -> str:
    if rule.count == "records":
        return "Angebot" if n == 1 else "Angebote"
    return "Termin" if n == 1 else "Termine"


def frequency_text(rule: FrequencyRule, activity_label: str | None) -> str:
    """``mindestens 1 Angebot „Kurs“ mit je mindestens 8 Terminen je Halbjahr``."""
    what = f" „{activity_label}“" if activity_label else ""
    each = f" mit je mindestens {rule.each_min_sessions} Terminen" if rule.each_min_sessions else ""
    when = f"je {WINDOW_LABEL[rule.every]}" if rule.every else "im Prüfzeitraum"
    return f"mindestens {rule.min} {unit(rule, rule.min)}{what}{each} {when}"


def evidence_text(rule: EvidenceRule, kind_label: str, labels: Mapping[str, str] | None = None) -> str:
    """``Nachweis „Fortbildungsnachweis“, mindestens 30 Std., höchstens 7 Jahre alt``; alternatives joined
    with ``oder`` (their kinds named by ``labels``, the catalogue's ``evidence_kinds``)."""
    parts = [_option_text(rule, kind_label)]
    for option in rule.alternatives:
        parts.append(_option_text(option, (labels or {}).get(option.kind, option.kind)))
    return " oder ".join(parts)


def _option_text(option: EvidenceOption, kind_label: str) -> str:
    """One kind of evidence with its conditions."""
    parts = [f"{option.min_count} Nachweise" if option.min_count > 1 else "Nachweis"]
    parts[0] += f" „{kind_label}“"
    if option.min_hours is not None:
        parts.append(f"mindestens {option.min_hours:g} Std.")
    if option.max_age_years is not None:
        parts.append(f"höchstens {option.max_age_years} Jahre alt")
    if option.within_period:
        parts.append("aus dem Prüfzeitraum")
    return ", ".join(parts)


def applies_text(applies_to: AppliesTo | None) -> str:
    """``nur Verbund``, ``nur Re-Zertifizierung``; empty when it applies to every variant."""
    if applies_to is None:
        return ""
    parts = []
    if set(applies_to.procedure) != set(ProcedureKind):
        parts += [{"erst": "Erst-Zertifizierung", "re": "Re-Zertifizierung"}[p.value] for p in applies_to.procedure]
    if set(applies_to.form) != set(Form):
        parts += [f.value.capitalize() for f in applies_to.form]
    return "nur " + ", ".join(parts) if parts else ""
