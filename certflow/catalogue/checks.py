"""Rules a catalogue must follow beyond its schema.

Each check yields ``(path, message)`` pairs; the loader turns them into located
problems. Checked: ids unique and well-formed, sub-item and criterion ids
nested in their parent's number, every reference resolvable (evidence kinds
of alternatives too, none repeating another), every threshold
reachable in every variant, profile rules satisfiable, and a note on
everything marked provisional.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TypeAlias

from .model import (
    ALL_VARIANTS,
    AppliesTo,
    AreaKind,
    Catalogue,
    Criterion,
    EvidenceRule,
    Level,
    Threshold,
    Variant,
    logic_leaves,
)

Path: TypeAlias = tuple[str | int, ...]
Found: TypeAlias = Iterator[tuple[Path, str]]

ID_PATTERN = re.compile(r"^[0-9A-Z][0-9A-Za-z]*(\.[0-9A-Za-z]+)*$")


def applies(applies_to: AppliesTo | None, variant: Variant) -> bool:
    return applies_to is None or applies_to.matches(variant)


def check_catalogue(cat: Catalogue) -> Found:
    if cat.valid_until is not None and cat.valid_until < cat.valid_from:
        yield ("valid_until",), f"valid_until {cat.valid_until} liegt vor valid_from {cat.valid_from}"
    yield from _check_ids(cat)
    yield from _check_references(cat)
    yield from _check_thresholds(cat)
    yield from _check_provisional(cat)


def _criteria_with_paths(cat: Catalogue) -> Iterator[tuple[Path, str, Criterion]]:
    """Every criterion with its path and the id of the area or profile that holds it."""
    for a, area in enumerate(cat.areas):
        for c, crit in enumerate(area.criteria):
            yield ("areas", a, "criteria", c), area.id, crit
        for p, profile in enumerate(area.profiles):
            for c, crit in enumerate(profile.criteria):
                yield ("areas", a, "profiles", p, "criteria", c), profile.id, crit


def _check_ids(cat: Catalogue) -> Found:
    groups: dict[str, Path] = {}
    for a, area in enumerate(cat.areas):
        group_ids: list[tuple[Path, str]] = [(("areas", a, "id"), area.id)]
        group_ids += [(("areas", a, "profiles", p, "id"), prof.id) for p, prof in enumerate(area.profiles)]
        for group_path, gid in group_ids:
            if not ID_PATTERN.match(gid):
                yield group_path, f"Kennung '{gid}' hat nicht die Form 1, 4B oder 5"
            if gid in groups:
                yield group_path, f"Kennung '{gid}' doppelt (schon bei {_fmt(groups[gid])})"
            else:
                groups[gid] = group_path
    items: dict[str, Path] = {}
    for path, parent_id, crit in _criteria_with_paths(cat):
        entries: list[tuple[Path, str, str, str, str]] = [
            (path + ("id",), crit.id, parent_id, "Kriterium", "Bereichs- bzw. Profilkennung")
        ]
        entries += [
            (path + ("items", i, "id"), item.id, crit.id + ".", "Unterpunkt", "Kennung des Kriteriums und einen Punkt")
            for i, item in enumerate(crit.items)
        ]
        for id_path, ident, prefix, what, prefix_name in entries:
            if not ID_PATTERN.match(ident):
                yield id_path, f"Kennung '{ident}' hat nicht die Form 1.1, 1.1.1 oder 4B1"
            elif not ident.startswith(prefix) or ident == prefix:
                yield id_path, f"{what} '{ident}' muss mit '{prefix}' beginnen ({prefix_name})"
            if ident in items:
                yield id_path, f"Kennung '{ident}' doppelt (schon bei {_fmt(items[ident])})"
            else:
                items[ident] = id_path


def _check_references(cat: Catalogue) -> Found:
    for path, _, crit in _criteria_with_paths(cat):
        own = {crit.id, *(i.id for i in crit.items)}
        if crit.logic is not None:
            leaves = logic_leaves(crit.logic)
            if crit.id not in leaves:
                yield path + ("logic",), (
                    f"nennt das Kriterium {crit.id} selbst nicht (seine eigene Aussage zählte sonst nie)"
                )
            for leaf in sorted({x for x in leaves if leaves.count(x) > 1}):
                yield path + ("logic",), f"nennt '{leaf}' mehrfach"
            for leaf in leaves:
                if leaf not in own:
                    yield path + ("logic",), (
                        f"verweist auf '{leaf}', das weder das Kriterium {crit.id} noch einer seiner Unterpunkte ist"
                    )
            for i, item in enumerate(crit.items):
                if item.id not in leaves:
                    yield path + ("items", i, "id"), f"Unterpunkt '{item.id}' kommt in logic von {crit.id} nicht vor"
        for i, item in enumerate(crit.all_items()):
            base = path if i == 0 else path + ("items", i - 1)
            for r, frequency in enumerate(item.frequency):
                if frequency.activity is not None and frequency.activity not in cat.activity_kinds:
                    yield base + ("frequency", r, "activity"), (
                        f"Angebotsart '{frequency.activity}' ist nicht unter activity_kinds erklärt"
                    )
                if frequency.each_min_sessions is not None and frequency.count != "records":
                    yield base + ("frequency", r, "each_min_sessions"), (
                        "each_min_sessions gilt nur mit count: records (gezählt werden Angebote, nicht Termine)"
                    )
            for r, evidence in enumerate(item.evidence):
                yield from _check_evidence_rule(cat, evidence, base + ("evidence", r))


def _check_evidence_rule(cat: Catalogue, rule: EvidenceRule, path: Path) -> Found:
    """Every kind declared; no alternative that repeats the rule or another alternative."""
    options = rule.options()
    for a, option in enumerate(options):
        where = path if a == 0 else path + ("alternatives", a - 1)
        if option.kind not in cat.evidence_kinds:
            yield where + ("kind",), f"Nachweisart '{option.kind}' ist nicht unter evidence_kinds erklärt"
        for b, earlier in enumerate(options[:a]):
            if earlier == option:
                what = "die Regel selbst" if b == 0 else f"Alternative {b - 1}"
                yield where, f"dieselbe Nachweisregel wie {what} (Art '{option.kind}', gleiche Bedingungen)"
                break


def _reachable(criteria: list[Criterion], threshold: Threshold, variant: Variant) -> Iterator[tuple[str, str]]:
    live = [c for c in criteria if applies(c.applies_to, variant)]
    points = sum(c.points for c in live)
    basis = sum(1 for c in live if c.level is Level.BASIS)
    min_points, min_basis = threshold.for_variant(variant)
    if min_points > points:
        yield "min_points", (
            f"Schwelle {min_points} Punkte ist nicht erreichbar: "
            f"höchstens {points} Punkte möglich ({variant})"
        )
    if min_basis > basis:
        yield "min_basis", (
            f"Schwelle {min_basis} Basiskriterien ist nicht erreichbar: "
            f"nur {basis} Basiskriterien vorhanden ({variant})"
        )


def _check_thresholds(cat: Catalogue) -> Found:
    for a, area in enumerate(cat.areas):
        apath: Path = ("areas", a)
        reported: set[Path] = set()
        for variant in ALL_VARIANTS:
            for field, msg in _reachable(area.criteria, area.threshold, variant):
                if apath + ("threshold", field) not in reported:
                    reported.add(apath + ("threshold", field))
                    yield apath + ("threshold", field), msg
            for p, prof in enumerate(area.profiles):
                for field, msg in _reachable(prof.criteria, prof.threshold, variant):
                    fpath = apath + ("profiles", p, "threshold", field)
                    if fpath not in reported:
                        reported.add(fpath)
                        yield fpath, msg
        if area.profiles and area.kind is not AreaKind.PROFIL:
            yield apath + ("profiles",), "Profile gibt es nur in einem Bereich mit kind: profil"
        if area.profiles and area.profile_rule is None:
            yield apath + ("profiles",), "ein Bereich mit Profilen braucht eine profile_rule"
        if area.profile_rule is not None:
            rule, rpath = area.profile_rule, apath + ("profile_rule",)
            n = len(area.profiles)
            if rule.min_chosen > n:
                yield rpath + ("min_chosen",), f"{rule.min_chosen} Profile zu wählen, aber nur {n} vorhanden"
            if rule.max_chosen is not None and rule.max_chosen < rule.min_chosen:
                yield rpath + ("max_chosen",), (
                    f"max_chosen {rule.max_chosen} ist kleiner als min_chosen {rule.min_chosen}"
                )
            if rule.min_met is not None and rule.min_met > rule.min_chosen:
                yield rpath + ("min_met",), (
                    f"min_met {rule.min_met} ist größer als min_chosen {rule.min_chosen}: min_chosen anheben"
                )
            elif rule.min_met is not None and rule.min_met > min(n, rule.max_chosen or n):
                yield rpath + ("min_met",), (
                    f"{rule.min_met} erfüllte Profile verlangt, aber höchstens {min(n, rule.max_chosen or n)} wählbar"
                )


def _check_provisional(cat: Catalogue) -> Found:
    def walk(obj: object, path: Path) -> Found:
        if getattr(obj, "provisional", False) and not (getattr(obj, "note", None) or "").strip():
            yield path + ("provisional",), "provisional: true braucht eine note, die sagt, warum der Wert vorläufig ist"
        for name in ("areas", "criteria", "profiles", "items"):
            for i, child in enumerate(getattr(obj, name, None) or []):
                yield from walk(child, path + (name, i))
        for name in ("threshold", "profile_rule"):
            child = getattr(obj, name, None)
            if child is not None:
                yield from walk(child, path + (name,))

    yield from walk(cat, ())


def _fmt(path: Path) -> str:
    from ..errors import format_path

    return format_path(path)
