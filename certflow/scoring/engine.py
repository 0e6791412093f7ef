"""The scoring engine: catalogue + self-assessment + Prüfzeitraum in, :class:`Report` out.

A :class:`Scorer` compiles the catalogue once per variant (Erst/Re ×
Einzel/Verbund): which criteria, items and rules apply, labels looked up,
rules and combination rules ready to evaluate, the results of the plain cases
made in advance; the plans are shared by every scorer of the same catalogue
object. Scoring an assessment then only walks that plan; nothing is parsed or
validated on the way. Where every rule of a criterion's items answered
"erfüllt" holds, the criterion's result follows from its answers alone and is
taken from a memo per combination of answers.
"""

from __future__ import annotations

import weakref
from collections import defaultdict
from dataclasses import dataclass
from typing import TypeAlias

from ..assessment.model import Activity, Assessment, Evidence, Period, Status
from ..catalogue.checks import applies
from ..catalogue.model import (
    AllOf,
    AnyOf,
    Area,
    Catalogue,
    Criterion,
    EvidenceRule,
    Item,
    Level,
    Logic,
    Threshold,
    Variant,
    format_logic,
    logic_children,
)
from .report import AreaResult, CriterionResult, Deficit, ItemResult, ProfileResult, Report, Tally
from .rules import EvidenceCheck, FrequencyCheck


@dataclass(frozen=True, slots=True)
class _PlanItem:
    """One applicable item: its rules compiled, its results for the plain cases made in advance."""

    id: str
    prefix: str  # "1.3.1: " when a sub-item, so its reasons name it; "" for the criterion's own statement
    frequency: tuple[FrequencyCheck, ...]
    evidence: tuple[EvidenceCheck, ...]
    met: ItemResult  # answered "erfüllt" and every rule holds
    by_status: dict[Status, ItemResult]  # answered "nicht erfüllt" or not at all


@dataclass(frozen=True, slots=True)
class _Alternatives:
    """A compiled combination rule: ``all`` (``every``) or ``any`` of its children."""

    every: bool
    children: tuple[_Logic, ...]
    text: str  # format_logic of the rule, for "keine Alternative erfüllt (…)"


_Logic: TypeAlias = "str | _Alternatives"


@dataclass(frozen=True, slots=True)
class _PlanCriterion:
    criterion: Criterion
    items: tuple[_PlanItem, ...]
    ids: tuple[str, ...]  # the items' ids
    ruled: tuple[int, ...]  # positions of the items with a frequency or evidence rule
    logic: _Logic
    basis: bool
    met: CriterionResult  # the result when every item is met
    #: Results by the items' answers (``None``: no answer) where every rule of an item answered "erfüllt"
    #: holds (then the answers alone decide). At most 4^items entries, filled as met.
    by_answers: dict[tuple[Status | None, ...], CriterionResult]


@dataclass(frozen=True, slots=True)
class _PlanGroup:
    """An area's own criteria, or one profile's."""

    id: str
    title: str
    criteria: tuple[_PlanCriterion, ...]
    min_points: int
    min_basis: int
    max_points: int
    basis_total: int


@dataclass(frozen=True, slots=True)
class _PlanArea:
    area: Area
    own: _PlanGroup
    profiles: tuple[_PlanGroup, ...]


Plan: TypeAlias = tuple[_PlanArea, ...]

#: Compiled plans per catalogue object (by identity, dropped with the catalogue), shared by every
#: :class:`Scorer` of that catalogue: the services build a scorer per request.
_SHARED_PLANS: dict[int, dict[Variant, Plan]] = {}


def _shared_plans(catalogue: Catalogue) -> dict[Variant, Plan]:
    key = id(catalogue)
    plans = _SHARED_PLANS.get(key)
    if plans is None:
        plans = _SHARED_PLANS[key] = {}
        weakref.finalize(catalogue, _SHARED_PLANS.pop, key, None)
    return plans


_STATUS_REASON: dict[Status, str] = {
    Status.NICHT_ERFUELLT: "als nicht erfüllt angegeben",
    Status.OFFEN: "keine Angabe",
}


class Scorer:
    """Scores self-assessments against one catalogue. Build once, reuse for every assessment."""

    def __init__(self, catalogue: Catalogue):
        self.catalogue = catalogue
        self._plans = _shared_plans(catalogue)

    def plan(self, variant: Variant) -> Plan:
        plan = self._plans.get(variant)
        if plan is None:
            plan = self._plans[variant] = tuple(self._compile_area(a, variant) for a in self.catalogue.areas)
        return plan

    def _compile_area(self, area: Area, variant: Variant) -> _PlanArea:
        return _PlanArea(
            area,
            self._compile_group(area.id, area.title, area.criteria, area.threshold, variant),
            tuple(self._compile_group(p.id, p.title, p.criteria, p.threshold, variant) for p in area.profiles),
        )

    def _compile_item(self, item: Item, criterion_id: str, variant: Variant) -> _PlanItem:
        cat = self.catalogue
        prefix = "" if item.id == criterion_id else f"{item.id}: "
        return _PlanItem(
            item.id,
            prefix,
            tuple(FrequencyCheck.compile(r, cat.activity_kinds.get(r.activity) if r.activity else None)
                  for r in item.frequency if applies(r.applies_to, variant)),
            tuple(EvidenceCheck.compile(r, *_kind_labels(cat, r))
                  for r in item.evidence if applies(r.applies_to, variant)),
            ItemResult(item.id, True, ()),
            {status: ItemResult(item.id, False, (prefix + reason,)) for status, reason in _STATUS_REASON.items()},
        )

    def _compile_group(
        self, gid: str, title: str, criteria: list[Criterion], threshold: Threshold, variant: Variant,
    ) -> _PlanGroup:
        plan: list[_PlanCriterion] = []
        for crit in criteria:
            if not applies(crit.applies_to, variant):
                continue
            items = tuple(self._compile_item(item, crit.id, variant)
                          for item in crit.all_items() if applies(item.applies_to, variant))
            live = {i.id for i in items}
            logic = _prune(crit.effective_logic(), live) or crit.id
            met = CriterionResult(crit.id, crit.title, crit.level.value, crit.points, True, format_logic(logic),
                                  tuple(i.met for i in items), ())
            plan.append(_PlanCriterion(
                crit, items, tuple(i.id for i in items),
                tuple(n for n, i in enumerate(items) if i.frequency or i.evidence),
                _compile_logic(logic), crit.level is Level.BASIS, met, {},
            ))
        min_points, min_basis = threshold.for_variant(variant)
        return _PlanGroup(
            gid, title, tuple(plan), min_points, min_basis,
            max_points=sum(p.criterion.points for p in plan),
            basis_total=sum(1 for p in plan if p.basis),
        )

    def score(self, assessment: Assessment, period: Period) -> Report:
        """Score ``assessment`` for the Prüfzeitraum ``period``."""
        acts: dict[str, list[Activity]] = defaultdict(list)
        for act in assessment.activities:
            acts[act.item].append(act)
        evs: dict[str, list[Evidence]] = defaultdict(list)
        for ev in assessment.evidence:
            for ref in ev.items:
                evs[ref].append(ev)
        ctx = _Context({key: answer.status for key, answer in assessment.answers.items()}, period, acts, evs)
        chosen = set(assessment.profiles)

        areas: list[AreaResult] = []
        deficits: list[Deficit] = []
        for plan in self.plan(assessment.variant):
            own_results, own_tally = _score_group(plan.own, ctx)
            reasons = own_tally.shortfalls()
            profiles: list[ProfileResult] = []
            for group in plan.profiles:
                results, tally = _score_group(group, ctx)
                preasons = tuple(f"Profil {group.id}: {s}" for s in tally.shortfalls())
                profiles.append(
                    ProfileResult(group.id, group.title, group.id in chosen, tally, tally.met, results, preasons)
                )
            rule = plan.area.profile_rule
            if rule is not None:
                picked = [p for p in profiles if p.chosen]
                met = sum(1 for p in picked if p.met)
                if len(picked) < rule.min_chosen:
                    reasons.append(f"{len(picked)} Profil(e) gewählt, mindestens {rule.min_chosen} gefordert")
                if rule.max_chosen is not None and len(picked) > rule.max_chosen:
                    reasons.append(f"{len(picked)} Profile gewählt, höchstens {rule.max_chosen} erlaubt")
                if met < rule.required_met:
                    failed = ", ".join(p.id for p in picked if not p.met) or "keines"
                    reasons.append(
                        f"{met} gewählte(s) Profil(e) erfüllt, mindestens {rule.required_met} gefordert "
                        f"(nicht erfüllt: {failed})"
                    )
            area_met = not reasons
            areas.append(AreaResult(
                plan.area.id, plan.area.kind.value, plan.area.title, own_tally, area_met,
                own_results, tuple(profiles), tuple(reasons),
            ))
            deficits.extend(_deficits(plan.area.id, reasons, own_results, profiles, area_met, own_tally.met))
        return Report(
            self.catalogue.programme, self.catalogue.version, str(assessment.variant),
            period.start, period.end, all(a.met for a in areas), tuple(areas), tuple(deficits),
        )


def _kind_labels(cat: Catalogue, rule: EvidenceRule) -> tuple[str, tuple[str, ...]]:
    """The label of the rule's own kind of evidence and those of its alternatives."""
    labels = [cat.evidence_kinds[k] for k in (rule.kind, *(option.kind for option in rule.alternatives))]
    return labels[0], tuple(labels[1:])


@dataclass(slots=True)
class _Context:
    status: dict[str, Status]
    period: Period
    activities: dict[str, list[Activity]]
    evidence: dict[str, list[Evidence]]


def _score_item(item: _PlanItem, status: Status | None, ctx: _Context) -> ItemResult:
    """One item; its reasons name the item when it is a sub-item of the criterion."""
    if status is not Status.ERFUELLT:
        return item.by_status[status or Status.OFFEN]
    if not item.frequency and not item.evidence:
        return item.met
    reasons: list[str] = []
    prefix = item.prefix
    if item.frequency:
        acts = ctx.activities.get(item.id, ())
        for frequency in item.frequency:
            reasons.extend(prefix + r for r in frequency(acts, ctx.period))
    if item.evidence:
        evs = ctx.evidence.get(item.id, ())
        for evidence in item.evidence:
            reasons.extend(prefix + r for r in evidence(evs, ctx.period))
    return ItemResult(item.id, False, tuple(reasons)) if reasons else item.met


def _score_criterion(pc: _PlanCriterion, answers: tuple[Status | None, ...], ctx: _Context) -> CriterionResult:
    items = [_score_item(i, status, ctx) for i, status in zip(pc.items, answers, strict=True)]
    if all(res is pi.met for res, pi in zip(items, pc.items, strict=True)):
        return pc.met
    met, reasons = _evaluate(pc.logic, {res.id: res for res in items})
    crit = pc.criterion
    return CriterionResult(
        crit.id, crit.title, crit.level.value, crit.points, met, pc.met.logic, tuple(items), tuple(reasons),
    )


def _evaluate(logic: _Logic, results: dict[str, ItemResult]) -> tuple[bool, list[str]]:
    if isinstance(logic, str):
        res = results[logic]
        return res.met, list(res.reasons)
    outcomes = [_evaluate(child, results) for child in logic.children]
    if logic.every:
        return all(ok for ok, _ in outcomes), [r for ok, rs in outcomes if not ok for r in rs]
    if any(ok for ok, _ in outcomes):
        return True, []
    return False, [f"keine Alternative erfüllt ({logic.text})"] + [r for _, rs in outcomes for r in rs]


def _rules_hold(item: _PlanItem, ctx: _Context) -> bool:
    """Whether every frequency and evidence rule of an item answered "erfüllt" holds."""
    if item.frequency:
        acts = ctx.activities.get(item.id, ())
        for frequency in item.frequency:
            if frequency(acts, ctx.period):
                return False
    if item.evidence:
        evs = ctx.evidence.get(item.id, ())
        for evidence in item.evidence:
            if evidence(evs, ctx.period):
                return False
    return True


def _score_group(group: _PlanGroup, ctx: _Context) -> tuple[tuple[CriterionResult, ...], Tally]:
    results: list[CriterionResult] = []
    points = basis = 0
    answer_of = ctx.status.get
    erfuellt = Status.ERFUELLT
    for pc in group.criteria:
        answers = tuple(map(answer_of, pc.ids))
        # Where every rule of the items answered "erfüllt" holds, the result follows from the answers alone.
        plain = True
        for n in pc.ruled:
            if answers[n] is erfuellt and not _rules_hold(pc.items[n], ctx):
                plain = False
                break
        if plain:
            result = pc.by_answers.get(answers)
            if result is None:
                result = pc.by_answers[answers] = _score_criterion(pc, answers, ctx)
        else:
            result = _score_criterion(pc, answers, ctx)
        results.append(result)
        if result.met:
            points += result.points
            basis += pc.basis
    return tuple(results), Tally(points, group.max_points, group.min_points, basis, group.basis_total, group.min_basis)


def _deficits(
    area_id: str, reasons: list[str], own_results: tuple[CriterionResult, ...], profiles: list[ProfileResult],
    area_met: bool, own_met: bool,
) -> list[Deficit]:
    out = [Deficit(area_id, f"Bereich {area_id}", r, True) for r in reasons]
    # An unmet criterion blocks when its area (or its chosen profile) misses the threshold.
    for res in own_results:
        if not res.met:
            out.append(Deficit(area_id, res.id, "; ".join(res.reasons), not own_met))
    for prof in profiles:
        if prof.chosen:
            for res in prof.criteria:
                if not res.met:
                    out.append(Deficit(area_id, res.id, "; ".join(res.reasons), not area_met and not prof.met))
    return out


def _compile_logic(logic: Logic) -> _Logic:
    if isinstance(logic, str):
        return logic
    return _Alternatives(
        isinstance(logic, AllOf), tuple(_compile_logic(c) for c in logic_children(logic)), format_logic(logic),
    )


def _prune(logic: Logic, live: set[str]) -> Logic | None:
    """Drop items that do not apply to the variant from a combination rule."""
    if isinstance(logic, str):
        return logic if logic in live else None
    kept = [c for c in (_prune(c, live) for c in logic_children(logic)) if c is not None]
    if not kept:
        return None
    if len(kept) == 1:
        return kept[0]
    return AllOf(all=kept) if isinstance(logic, AllOf) else AnyOf(any=kept)

