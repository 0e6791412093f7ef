"""The scoring engine: catalogue + self-assessment + Prüfzeitraum in, :class:`Report` out.

A :class:`Scorer` compiles the catalogue once per variant (Erst/Re ×
Einzel/Verbund): which criteria, items and rules apply, labels looked up,
combination rules ready to evaluate. Scoring an assessment then only walks
that plan; nothing is parsed or validated on the way.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from ..assessment.model import Activity, Assessment, Evidence, Period, Status
from ..catalogue.checks import applies
from ..catalogue.model import (
    AllOf,
    AnyOf,
    Area,
    Catalogue,
    Criterion,
    EvidenceRule,
    FrequencyRule,
    Level,
    Logic,
    Threshold,
    Variant,
    format_logic,
    logic_children,
)
from .report import AreaResult, CriterionResult, Deficit, ItemResult, ProfileResult, Report, Tally
from .rules import check_evidence, check_frequency


@dataclass(frozen=True, slots=True)
class _PlanItem:
    id: str
    frequency: tuple[tuple[FrequencyRule, str | None], ...]
    evidence: tuple[tuple[EvidenceRule, tuple[str, ...]], ...]  # the rule, the labels of its kinds


@dataclass(frozen=True, slots=True)
class _PlanCriterion:
    criterion: Criterion
    items: tuple[_PlanItem, ...]
    logic: Logic
    logic_text: str


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


class Scorer:
    """Scores self-assessments against one catalogue. Build once, reuse for every assessment."""

    def __init__(self, catalogue: Catalogue):
        self.catalogue = catalogue
        self._plans: dict[Variant, tuple[_PlanArea, ...]] = {}

    def plan(self, variant: Variant) -> tuple[_PlanArea, ...]:
        if variant not in self._plans:
            self._plans[variant] = tuple(self._compile_area(a, variant) for a in self.catalogue.areas)
        return self._plans[variant]

    def _compile_area(self, area: Area, variant: Variant) -> _PlanArea:
        return _PlanArea(
            area,
            self._compile_group(area.id, area.title, area.criteria, area.threshold, variant),
            tuple(self._compile_group(p.id, p.title, p.criteria, p.threshold, variant) for p in area.profiles),
        )

    def _compile_group(
        self, gid: str, title: str, criteria: list[Criterion], threshold: Threshold, variant: Variant,
    ) -> _PlanGroup:
        cat = self.catalogue
        plan: list[_PlanCriterion] = []
        for crit in criteria:
            if not applies(crit.applies_to, variant):
                continue
            items = tuple(
                _PlanItem(
                    item.id,
                    tuple((r, cat.activity_kinds.get(r.activity) if r.activity else None)
                          for r in item.frequency if applies(r.applies_to, variant)),
                    tuple((r, tuple(cat.evidence_kinds[k] for k in r.kinds))
                          for r in item.evidence if applies(r.applies_to, variant)),
                )
                for item in crit.all_items()
                if applies(item.applies_to, variant)
            )
            live = {i.id for i in items}
            logic = _prune(crit.effective_logic(), live) or crit.id
            plan.append(_PlanCriterion(crit, items, logic, format_logic(logic)))
        min_points, min_basis = threshold.for_variant(variant)
        return _PlanGroup(
            gid, title, tuple(plan), min_points, min_basis,
            max_points=sum(p.criterion.points for p in plan),
            basis_total=sum(1 for p in plan if p.criterion.level is Level.BASIS),
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
        ctx = _Context(assessment, period, acts, evs)
        chosen = set(assessment.profiles)

        areas: list[AreaResult] = []
        deficits: list[Deficit] = []
        for plan in self.plan(assessment.variant):
            own_results, own_tally = _score_group(plan.own, ctx)
            reasons = list(own_tally.shortfalls())
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


@dataclass(slots=True)
class _Context:
    assessment: Assessment
    period: Period
    activities: dict[str, list[Activity]]
    evidence: dict[str, list[Evidence]]


_STATUS_REASON = {
    Status.NICHT_ERFUELLT: "als nicht erfüllt angegeben",
    Status.OFFEN: "keine Angabe",
}


def _score_item(item: _PlanItem, ctx: _Context, criterion_id: str) -> ItemResult:
    """One item; its reasons name the item when it is a sub-item of the criterion."""
    prefix = "" if item.id == criterion_id else f"{item.id}: "
    status = ctx.assessment.status_of(item.id)
    if status is not Status.ERFUELLT:
        return ItemResult(item.id, False, (f"{prefix}{_STATUS_REASON[status]}",))
    reasons: list[str] = []
    acts = ctx.activities.get(item.id, ())
    for frequency, label in item.frequency:
        reasons.extend(prefix + r for r in check_frequency(frequency, acts, ctx.period, label))
    evs = ctx.evidence.get(item.id, ())
    for evidence, labels in item.evidence:
        reasons.extend(prefix + r for r in check_evidence(evidence, evs, ctx.period, labels[0], labels[1:]))
    return ItemResult(item.id, not reasons, tuple(reasons))


def _evaluate(logic: Logic, results: dict[str, ItemResult]) -> tuple[bool, list[str]]:
    if isinstance(logic, str):
        res = results[logic]
        return res.met, list(res.reasons)
    outcomes = [_evaluate(child, results) for child in logic_children(logic)]
    if isinstance(logic, AllOf):
        return all(ok for ok, _ in outcomes), [r for ok, rs in outcomes if not ok for r in rs]
    if any(ok for ok, _ in outcomes):
        return True, []
    return False, [f"keine Alternative erfüllt ({format_logic(logic)})"] + [r for _, rs in outcomes for r in rs]


def _score_group(group: _PlanGroup, ctx: _Context) -> tuple[tuple[CriterionResult, ...], Tally]:
    results: list[CriterionResult] = []
    points = basis = 0
    for pc in group.criteria:
        items = {i.id: _score_item(i, ctx, pc.criterion.id) for i in pc.items}
        met, reasons = _evaluate(pc.logic, items)
        crit = pc.criterion
        results.append(CriterionResult(
            crit.id, crit.title, crit.level.value, crit.points, met, pc.logic_text,
            tuple(items.values()), tuple(reasons),
        ))
        if met:
            points += crit.points
            basis += crit.level is Level.BASIS
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

