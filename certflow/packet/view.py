"""What the templates iterate over: the packet's data arranged for reading, and the JSON manifest.

:func:`packet_view` joins the scoring report with the catalogue (titles of sub-items), the
self-assessment (answers, comments), the auditor's verdicts and the evidence files, so the
templates only print. :func:`manifest` is the machine-readable twin attached inside the PDF.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ..assessment.model import Status
from ..catalogue.model import AREA_KIND_LABEL, AreaKind, Criterion
from ..scoring.report import CriterionResult, Tally
from .model import AuditorVerdict, EvidenceFile, PacketData

__all__ = ["MANIFEST_FORMAT", "AreaView", "CriterionView", "EvidenceView", "ItemView", "ProfileView",
           "manifest", "manifest_bytes", "packet_view"]

MANIFEST_FORMAT = "certflow-packet/1"
MANIFEST_NAME = "manifest.json"
STATUS_LABELS = {Status.ERFUELLT: "erfüllt", Status.NICHT_ERFUELLT: "nicht erfüllt", Status.OFFEN: "offen"}
LEVEL_LABELS = {"basis": "Basis", "aufbau": "Aufbau"}


@dataclass(frozen=True, slots=True)
class EvidenceView:
    number: str          # "N-07": how the packet refers to it
    attachment: str      # the unique name of the attached file inside the PDF
    file: EvidenceFile


@dataclass(frozen=True, slots=True)
class ItemView:
    id: str
    title: str
    answer: str
    comment: str
    met: bool
    reasons: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class CriterionView:
    id: str
    anchor: str
    title: str
    level: str
    points: int
    met: bool
    logic: str
    reasons: tuple[str, ...]
    items: tuple[ItemView, ...]
    evidence: tuple[EvidenceView, ...]
    verdict: AuditorVerdict | None
    provisional: bool


@dataclass(frozen=True, slots=True)
class ProfileView:
    id: str
    title: str
    chosen: bool
    tally: Tally
    met: bool
    reasons: tuple[str, ...]
    criteria: tuple[CriterionView, ...]


@dataclass(frozen=True, slots=True)
class AreaView:
    id: str
    anchor: str
    kind: str
    title: str
    tally: Tally
    met: bool
    reasons: tuple[str, ...]
    criteria: tuple[CriterionView, ...]
    profiles: tuple[ProfileView, ...]

    def all_criteria(self) -> list[CriterionView]:
        return [*self.criteria, *(c for p in self.profiles for c in p.criteria)]


def anchor(prefix: str, ident: str) -> str:
    return prefix + "-" + "".join(ch if ch.isalnum() else "-" for ch in ident)


def evidence_views(data: PacketData) -> tuple[EvidenceView, ...]:
    """Number the evidence N-01, N-02 ... and give each attached file a unique name ("" if not attached)."""
    seen: set[str] = set()
    out = []
    for i, f in enumerate(data.evidence, 1):
        if not f.attached:
            out.append(EvidenceView(f"N-{i:02d}", "", f))
            continue
        name = f.file_name.replace("/", "_").replace("\\", "_") or f"nachweis-{i}"
        if name in seen or name == MANIFEST_NAME:
            name = f"{i:02d}-{name}"
        seen.add(name)
        out.append(EvidenceView(f"N-{i:02d}", name, f))
    return tuple(out)


def _criterion_view(data: PacketData, crit: Criterion | None, result: CriterionResult,
                    evidence: tuple[EvidenceView, ...]) -> CriterionView:
    titles = {i.id: i.title for i in crit.all_items()} if crit is not None else {}
    items = []
    for item in result.items:
        answer = data.assessment.answers.get(item.id)
        status = answer.status if answer is not None else Status.OFFEN
        items.append(ItemView(item.id, titles.get(item.id, ""), STATUS_LABELS[status],
                              answer.comment if answer is not None else "", item.met, item.reasons))
    ids = {i.id for i in result.items} | {result.id}
    used = tuple(e for e in evidence if ids.intersection(e.file.items))
    return CriterionView(
        id=result.id, anchor=anchor("k", result.id), title=result.title, level=LEVEL_LABELS.get(result.level,
                                                                                                 result.level),
        points=result.points, met=result.met, logic=result.logic, reasons=result.reasons, items=tuple(items),
        evidence=used, verdict=data.verdicts.get(result.id),
        provisional=bool(crit is not None and crit.provisional),
    )


def packet_view(data: PacketData) -> tuple[tuple[AreaView, ...], tuple[EvidenceView, ...]]:
    """Areas (with chosen profiles' criteria) in catalogue order, and the numbered evidence."""
    criteria = {c.id: c for _, _, c in data.catalogue.all_criteria()}
    evidence = evidence_views(data)
    areas = []
    for a in data.report.areas:
        own = tuple(_criterion_view(data, criteria.get(c.id), c, evidence) for c in a.criteria)
        profiles = tuple(
            ProfileView(p.id, p.title, p.chosen, p.tally, p.met, p.reasons,
                        tuple(_criterion_view(data, criteria.get(c.id), c, evidence) for c in p.criteria)
                        if p.chosen else ())
            for p in a.profiles
        )
        areas.append(AreaView(a.id, anchor("b", a.id), AREA_KIND_LABEL.get(AreaKind(a.kind), a.kind), a.title,
                              a.tally, a.met, a.reasons, own, profiles))
    return tuple(areas), evidence


def manifest(data: PacketData) -> dict[str, Any]:
    """The machine-readable content of the packet (attached as manifest.json)."""
    fz, proc, so = data.familienzentrum, data.procedure, data.signoff
    areas, evidence = packet_view(data)
    return {
        "format": MANIFEST_FORMAT,
        "procedure": {"id": proc.id, "number": proc.number, "kind": proc.kind,
                      "period_start": proc.period_start.isoformat(), "period_end": proc.period_end.isoformat()},
        "familienzentrum": {"name": fz.name, "form": fz.form, "zuschussempfaenger": fz.zuschussempfaenger,
                            "members": [{"name": m.name, "address": m.address} for m in fz.members]},
        "jugendamt": data.jugendamt,
        "certification_body": data.certification_body,
        "catalogue": {"key": proc.catalogue_key, "version": proc.catalogue_version},
        "result": {"passed": data.report.passed, "verdict": data.report.verdict,
                   "criteria": [c.id for a in areas for c in a.all_criteria()]},
        "verdicts": {k: {"verdict": v.verdict, "remark": v.remark} for k, v in sorted(data.verdicts.items())},
        "signoff": {"auditor": so.auditor, "date": so.date.isoformat(), "decision": so.decision,
                    "snapshot_sha256": so.snapshot_sha256, "chain_head": so.chain_head},
        "evidence": [{"number": e.number, "attachment": e.attachment or None, "file_name": e.file.file_name,
                      "kind": e.file.kind, "title": e.file.title, "sha256": e.file.sha256 or None,
                      "size": e.file.size, "items": list(e.file.items), "status": e.file.status}
                     for e in evidence],
        "report": data.report.to_dict(),
        "generated_on": data.generated_on.isoformat(),
    }


def manifest_bytes(data: PacketData) -> bytes:
    return (json.dumps(manifest(data), ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode("utf-8")
