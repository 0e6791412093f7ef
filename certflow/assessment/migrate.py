"""Carry a self-assessment from one catalogue version to another.

Answers are kept for items whose id exists in the new version with the same
title, description and rules; an answer to an item that was removed or
changed is dropped, because the question it answered is no longer asked in
that form. Activities and evidence are facts and stay wherever the item they
belong to still exists. Everything dropped is reported.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..catalogue.diff import item_changes, items_by_id
from ..catalogue.model import Catalogue
from .model import Assessment


@dataclass(frozen=True, slots=True)
class Dropped:
    where: str
    reason: str

    def __str__(self) -> str:
        return f"{self.where}: {self.reason}"


def migrate_assessment(a: Assessment, old: Catalogue, new: Catalogue) -> tuple[Assessment, list[Dropped]]:
    old_items, new_items = items_by_id(old), items_by_id(new)
    dropped: list[Dropped] = []
    gone = f"entfällt in {new.key}"

    answers = {}
    for key, answer in a.answers.items():
        if key not in new_items:
            dropped.append(Dropped(f"Antwort {key}", gone))
            continue
        changes = item_changes(old_items[key], new_items[key]) if key in old_items else ["neu"]
        if changes:
            dropped.append(
                Dropped(f"Antwort {key}", f"in {new.key} geändert ({', '.join(changes)}), bitte neu beantworten")
            )
            continue
        answers[key] = answer

    activities = []
    for i, act in enumerate(a.activities):
        if act.item not in new_items:
            dropped.append(Dropped(f"Angebot {i + 1} ({act.item}, {act.date:%d.%m.%Y})", gone))
        elif act.kind not in new.activity_kinds:
            dropped.append(
                Dropped(f"Angebot {i + 1} ({act.item}, {act.date:%d.%m.%Y})", f"Angebotsart '{act.kind}' {gone}")
            )
        else:
            activities.append(act)

    evidence = []
    for i, ev in enumerate(a.evidence):
        where = f"Nachweis {i + 1} („{ev.title}“)"
        if ev.kind not in new.evidence_kinds:
            dropped.append(Dropped(where, f"Nachweisart '{ev.kind}' {gone}"))
            continue
        refs = [r for r in ev.items if r in new_items]
        for r in ev.items:
            if r not in new_items:
                dropped.append(Dropped(f"{where}, Bezug {r}", gone))
        if refs:
            evidence.append(ev.model_copy(update={"items": refs}))
        else:
            dropped.append(Dropped(where, "kein Bezug bleibt übrig"))

    new_profiles = {p.id for area in new.areas for p in area.profiles}
    profiles = [p for p in a.profiles if p in new_profiles]
    dropped += [Dropped(f"Profil {p}", gone) for p in a.profiles if p not in new_profiles]

    carried = a.model_copy(update={
        "catalogue": new.programme, "catalogue_version": new.version, "answers": answers,
        "activities": activities, "evidence": evidence, "profiles": profiles,
    })
    return carried, dropped
