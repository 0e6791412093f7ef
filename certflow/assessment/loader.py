"""Read a self-assessment (YAML or JSON) and check it against its catalogue."""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from pathlib import Path

from ..catalogue.model import Catalogue
from ..errors import AssessmentError
from ..validation import validate_model
from ..yamlsource import gc_paused, read_document, read_text
from .model import Assessment


def parse_assessment(text: str, source: str = "<assessment>", catalogue: Catalogue | None = None) -> Assessment:
    """Parse a self-assessment; with ``catalogue``, also check every id and kind it names."""
    with gc_paused():
        return _parse(text, source, catalogue)


def _parse(text: str, source: str, catalogue: Catalogue | None) -> Assessment:
    doc = read_document(text, source, AssessmentError)
    if not isinstance(doc.data, dict):
        raise AssessmentError(
            [doc.problem((), "eine Selbstbewertung ist ein Abschnitt mit Schlüsseln (catalogue, answers, ...)")]
        )
    assessment = validate_model(Assessment, doc, AssessmentError)
    if catalogue is not None:
        problems = [doc.problem(p, m) for p, m in check_against(assessment, catalogue)]
        if problems:
            raise AssessmentError(problems)
    return assessment


def load_assessment(path: str | Path, catalogue: Catalogue | None = None) -> Assessment:
    path = Path(path)
    text = read_text(path, AssessmentError)
    return parse_assessment(text, str(path), catalogue)


#: The ids each catalogue object names, kept while it lives (the checks run for every file read).
_NAMES: dict[int, tuple[frozenset[str], frozenset[str]]] = {}


def _names(cat: Catalogue) -> tuple[frozenset[str], frozenset[str]]:
    """``(item ids, profile ids)`` of ``cat``: criteria and their sub-items, and the profiles."""
    key = id(cat)
    names = _NAMES.get(key)
    if names is None:
        names = _NAMES[key] = (
            frozenset(item.id for _, _, crit in cat.all_criteria() for item in (crit, *crit.items)),
            frozenset(p.id for area in cat.areas for p in area.profiles),
        )
        weakref.finalize(cat, _NAMES.pop, key, None)
    return names


def check_against(a: Assessment, cat: Catalogue) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """Every place where the assessment names something its catalogue does not have."""
    if a.catalogue != cat.programme:
        yield ("catalogue",), f"Selbstbewertung gehört zu '{a.catalogue}', der Katalog ist '{cat.programme}'"
    if a.catalogue_version != cat.version:
        yield ("catalogue_version",), (
            f"Selbstbewertung gehört zu Version {a.catalogue_version}, der Katalog hat Version {cat.version} "
            "(mit 'certflow assessment migrate' übertragen)"
        )
    item_ids, profile_ids = _names(cat)
    for i, code in enumerate(a.profiles):
        if code not in profile_ids:
            known = ", ".join(sorted(profile_ids)) or "keine"
            yield ("profiles", i), f"Profil '{code}' gibt es im Katalog nicht (vorhanden: {known})"
    for key in a.answers:
        if key not in item_ids:
            yield ("answers", key), f"Kriterium oder Unterpunkt '{key}' gibt es im Katalog {cat.key} nicht"
    for i, act in enumerate(a.activities):
        if act.item not in item_ids:
            yield ("activities", i, "item"), f"Kriterium oder Unterpunkt '{act.item}' gibt es im Katalog nicht"
        if act.kind not in cat.activity_kinds:
            yield ("activities", i, "kind"), (
                f"Angebotsart '{act.kind}' ist im Katalog nicht erklärt (vorhanden: {', '.join(cat.activity_kinds)})"
            )
    for i, ev in enumerate(a.evidence):
        for j, ref in enumerate(ev.items):
            if ref not in item_ids:
                yield ("evidence", i, "items", j), f"Kriterium oder Unterpunkt '{ref}' gibt es im Katalog nicht"
        if ev.kind not in cat.evidence_kinds:
            yield ("evidence", i, "kind"), (
                f"Nachweisart '{ev.kind}' ist im Katalog nicht erklärt (vorhanden: {', '.join(cat.evidence_kinds)})"
            )
