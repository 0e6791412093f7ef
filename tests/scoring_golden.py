"""The scoring engine's golden file: generated self-assessments and the reports the engine gave for them.

``tests/data/golden/scoring-reports.json.gz`` holds each case's input (catalogue file, assessment, Prüfzeitraum)
and the full report (``Report.to_dict()``), captured from the engine before it was made faster.
``tests/test_scoring_golden.py`` scores every case again and compares. The inputs are stored, not regenerated,
so a change to :mod:`certflow.samples` cannot move the goalposts. Only after an intended change to what the
engine says, write the file anew with::

    python tests/scoring_golden.py
"""

from __future__ import annotations

import gzip
import json
import random
from datetime import date
from pathlib import Path
from typing import Any

from certflow.assessment import Assessment, Period, load_assessment
from certflow.catalogue import load_catalogue
from certflow.catalogue.model import ALL_VARIANTS
from certflow.resources import criteria_dir, examples_dir
from certflow.samples import satisfying_assessment, spoil
from certflow.scoring import Scorer

GOLDEN = Path(__file__).parent / "data" / "golden" / "scoring-reports.json.gz"

#: Prüfzeitraum the cases are scored for besides their own: cut weeks, month ends, a leap day, a short one.
OTHER_PERIODS = [
    Period(start=date(2025, 8, 1), end=date(2026, 7, 31)),
    Period(start=date(2024, 1, 31), end=date(2025, 1, 30)),
    Period(start=date(2024, 2, 29), end=date(2025, 2, 27)),
    Period(start=date(2025, 8, 13), end=date(2026, 3, 2)),
    Period(start=date(2026, 1, 1), end=date(2026, 1, 31)),
]


def _thin(a: Assessment, seed: int) -> Assessment:
    """A copy with some activities and evidence dropped or moved, so frequency and evidence rules fail too."""
    rng = random.Random(seed)
    acts = []
    for act in a.activities:
        roll = rng.random()
        if roll < 0.15:
            continue
        if roll < 0.25:
            act = act.model_copy(update={"date": date.fromordinal(act.date.toordinal() + rng.randint(-400, 400))})
        elif roll < 0.3:
            act = act.model_copy(update={"sessions": 1})
        acts.append(act)
    evs = []
    for ev in a.evidence:
        roll = rng.random()
        if roll < 0.2:
            continue
        if ev.kind == "fortbildung" and roll < 0.5:
            ev = ev.model_copy(update={"date": date.fromordinal(ev.date.toordinal() - 2900)})  # too old
        elif roll < 0.4:
            ev = ev.model_copy(update={"date": date.fromordinal(ev.date.toordinal() - rng.randint(0, 4000))})
        elif roll < 0.45:
            ev = ev.model_copy(update={"hours": None if rng.random() < 0.5 else 1.5})
        evs.append(ev)
    profiles = list(a.profiles)
    if seed % 5 == 0 and profiles:
        profiles = profiles[:-1]
    return a.model_copy(update={"activities": acts, "evidence": evs, "profiles": profiles})


def cases() -> list[tuple[str, Assessment, Period]]:
    """``(catalogue file name, assessment, period)`` for every golden case, from the current generators."""
    out: list[tuple[str, Assessment, Period]] = []
    for example in sorted(examples_dir().glob("assessment-*.yaml")):
        a = load_assessment(example)
        assert a.period is not None
        out.append(("familienzentrum-nrw-2020.yaml", a, a.period))
    for name in ("familienzentrum-nrw-2020.yaml", "familienzentrum-nrw-2010.yaml"):
        cat = load_catalogue(criteria_dir() / name)
        for v, variant in enumerate(ALL_VARIANTS):
            base = satisfying_assessment(cat, variant)
            for k in range(4):
                seed = 100 * v + k
                a = spoil(base, share=k / 12, seed=seed)
                if k >= 2:
                    a = _thin(a, seed)
                assert a.period is not None
                out.append((name, a, a.period))
                out.append((name, a, OTHER_PERIODS[(v + k) % len(OTHER_PERIODS)]))
    return out


def normalise(report_dict: dict[str, Any]) -> Any:
    """The report as JSON values (tuples become lists), for comparing with the stored one."""
    return json.loads(json.dumps(report_dict, ensure_ascii=False))


def write() -> None:
    scorers: dict[str, Scorer] = {}
    rows = []
    for name, a, period in cases():
        scorer = scorers.setdefault(name, Scorer(load_catalogue(criteria_dir() / name)))
        rows.append({
            "catalogue": name,
            "assessment": a.model_dump(mode="json"),
            "period": {"start": period.start.isoformat(), "end": period.end.isoformat()},
            "report": normalise(scorer.score(a, period).to_dict()),
        })
    data = json.dumps(rows, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()
    GOLDEN.write_bytes(gzip.compress(data, compresslevel=9, mtime=0))
    print(f"{GOLDEN}: {len(rows)} Fälle, {GOLDEN.stat().st_size} Bytes")


if __name__ == "__main__":
    write()
