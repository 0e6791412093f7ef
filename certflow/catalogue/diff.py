"""What changed between two versions of a catalogue."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .model import Catalogue, Criterion, Item, Threshold, format_logic


@dataclass(frozen=True, slots=True)
class Change:
    """One difference; ``what`` is ``added``, ``removed`` or ``changed``."""

    what: str
    subject: str
    details: tuple[str, ...] = ()

    def __str__(self) -> str:
        sign = {"added": "+", "removed": "-", "changed": "~"}[self.what]
        tail = ": " + "; ".join(self.details) if self.details else ""
        return f"{sign} {self.subject}{tail}"


@dataclass(frozen=True, slots=True)
class CatalogueDiff:
    old: str
    new: str
    criteria: tuple[Change, ...]
    thresholds: tuple[Change, ...]

    @property
    def empty(self) -> bool:
        return not self.criteria and not self.thresholds


_ITEM_FIELDS = {
    "title": "Titel",
    "description": "Beschreibung",
    "frequency": "Häufigkeitsregeln",
    "evidence": "Nachweisregeln",
    "applies_to": "Geltungsbereich",
}


def _dump(value: Any) -> Any:
    if isinstance(value, list):
        return [_dump(v) for v in value]
    return value.model_dump(mode="json") if hasattr(value, "model_dump") else value


def item_changes(old: Item, new: Item) -> list[str]:
    """Which of an item's answer-relevant fields differ (empty: the item is unchanged)."""
    return [label for field, label in _ITEM_FIELDS.items() if _dump(getattr(old, field)) != _dump(getattr(new, field))]


def items_by_id(cat: Catalogue) -> dict[str, Item]:
    return {item.id: item for _, _, crit in cat.all_criteria() for item in crit.all_items()}


def _criterion_changes(old: Criterion, new: Criterion, old_home: str, new_home: str) -> list[str]:
    out = []
    if old_home != new_home:
        out.append(f"verschoben von {old_home} nach {new_home}")
    if old.level != new.level:
        out.append(f"Stufe {old.level.value} → {new.level.value}")
    if old.points != new.points:
        out.append(f"Punkte {old.points} → {new.points}")
    if format_logic(old.effective_logic()) != format_logic(new.effective_logic()):
        out.append(f"Verknüpfung {format_logic(old.effective_logic())} → {format_logic(new.effective_logic())}")
    out += [f"{label} geändert" for label in item_changes(old.own_item(), new.own_item())]
    old_items = {i.id: i for i in old.items}
    new_items = {i.id: i for i in new.items}
    out += [f"Unterpunkt {i} neu" for i in new_items if i not in old_items]
    out += [f"Unterpunkt {i} entfällt" for i in old_items if i not in new_items]
    for i in old_items.keys() & new_items.keys():
        out += [f"Unterpunkt {i}: {label} geändert" for label in item_changes(old_items[i], new_items[i])]
    return out


def _thresholds(cat: Catalogue) -> dict[str, Threshold]:
    out = {}
    for area in cat.areas:
        out[f"Bereich {area.id}"] = area.threshold
        for prof in area.profiles:
            out[f"Profil {prof.id}"] = prof.threshold
    return out


def diff_catalogues(old: Catalogue, new: Catalogue) -> CatalogueDiff:
    def index(cat: Catalogue) -> dict[str, tuple[str, Criterion]]:
        return {c.id: (p.id if p else a.id, c) for a, p, c in cat.all_criteria()}

    o, n = index(old), index(new)
    crit: list[Change] = []
    for cid, (home, c) in n.items():
        if cid not in o:
            crit.append(Change("added", f"{cid} {c.title}", (f"in {home}, {c.level.value}, {c.points} Punkt(e)",)))
        else:
            details = _criterion_changes(o[cid][1], c, o[cid][0], home)
            if details:
                crit.append(Change("changed", f"{cid} {c.title}", tuple(details)))
    crit += [Change("removed", f"{cid} {c.title}") for cid, (_, c) in o.items() if cid not in n]

    ot, nt = _thresholds(old), _thresholds(new)
    thr: list[Change] = []
    for key, t in nt.items():
        if key not in ot:
            thr.append(Change("added", key, (f"mindestens {t.min_points} Punkte, {t.min_basis} Basiskriterien",)))
            continue
        before = ot[key]
        details = []
        if before.min_points != t.min_points:
            details.append(f"Mindestpunkte {before.min_points} → {t.min_points}")
        if before.min_basis != t.min_basis:
            details.append(f"Mindestzahl Basiskriterien {before.min_basis} → {t.min_basis}")
        if _dump(before.overrides) != _dump(t.overrides):
            details.append("Abweichungen je Verfahrensart geändert")
        if details:
            thr.append(Change("changed", key, tuple(details)))
    thr += [Change("removed", key) for key in ot if key not in nt]
    return CatalogueDiff(old.key, new.key, tuple(crit), tuple(thr))
