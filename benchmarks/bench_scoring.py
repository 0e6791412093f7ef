"""Scoring an NRW-sized year: 3,500 generated self-assessments against the 2020 catalogue.

Measures, over several rounds, the median of

* **loading** one file (YAML text -> checked ``Assessment``: ``parse_assessment``), against the same files
  read the way it was done before the fast path (composed with line tracking, every line noted, the
  collector running) and against the floor of ``json.loads`` of the same data plus pydantic's validation;
* **scoring** all 3,500 loaded assessments (a fresh ``Scorer`` each round: compiling is part of the cost),
  against pydantic's validation alone of the same 3,500 (``Assessment.model_validate`` of their dicts).

Goals (issue 12): loading ≤ 2 ms per file, scoring all 3,500 in < 1 s. The machine is shared: the figures
are CPU time of this process (``time.process_time``: wall time would count the others' load) and still
noisy; the ratios against the baselines measured in the same rounds less so. ``--quick`` generates
300 assessments and scales the scoring of all of them to 3,500 (said in the row). ``--profile`` prints
cProfile's top entries of one loading and one scoring pass. ``--json PATH`` writes the rows::

    python benchmarks/bench_scoring.py [--count 3500] [--rounds 5] [--format yaml|json] [--quick]
                                       [--profile] [--json out.json]
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import json
import pstats
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from rich.console import Console
from rich.progress import track
from rich.table import Table

from certflow.assessment import Assessment, parse_assessment
from certflow.assessment.loader import check_against
from certflow.catalogue import load_catalogue
from certflow.catalogue.model import ALL_VARIANTS, Catalogue
from certflow.errors import AssessmentError
from certflow.resources import default_catalogue
from certflow.samples import satisfying_assessment, spoil
from certflow.scoring import Scorer
from certflow.validation import validate_model
from certflow.yamlsource import _tracked

NRW = 3500
_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def generate(cat: Catalogue, count: int, fmt: str) -> tuple[list[str], list[dict[str, Any]]]:
    """``count`` self-assessments as file texts and as the plain data they hold."""
    bases = [satisfying_assessment(cat, v) for v in ALL_VARIANTS]
    texts, dicts = [], []
    for i in track(range(count), description=f"{count} Selbstbewertungen erzeugen"):
        a = spoil(bases[i % len(bases)], share=(i % 7) / 40, seed=i)
        data = a.model_dump(mode="json", exclude_defaults=True)
        dicts.append(data)
        texts.append(json.dumps(data, ensure_ascii=False) if fmt == "json"
                     else yaml.dump(data, Dumper=_DUMPER, allow_unicode=True, sort_keys=False))
    return texts, dicts


def load_tracked(text: str, cat: Catalogue) -> Assessment:
    """The way before the fast path: every line noted while converting, the collector running."""
    doc = _tracked(text, "bench", AssessmentError)
    a = validate_model(Assessment, doc, AssessmentError)
    problems = list(check_against(a, cat))
    assert not problems
    return a


def load_json(text: str) -> Assessment:
    return Assessment.model_validate(json.loads(text))


def timed(fn: Callable[[], Any]) -> float:
    """CPU seconds of this process (single-threaded work on a shared machine: wall time would count the others)."""
    gc.collect()
    start = time.process_time()
    fn()
    return time.process_time() - start


def row(measure: str, figure: float, unit: str, baseline: float | None, baseline_label: str, goal: str,
        met: bool | None) -> dict[str, Any]:
    return {"measure": measure, "figure": round(figure, 4), "unit": unit,
            "baseline": None if baseline is None else round(baseline, 4), "baseline_label": baseline_label,
            "ratio": None if not baseline else round(figure / baseline, 3), "goal": goal, "met": met}


def profile(texts: list[str], cat: Catalogue, console: Console) -> None:
    def show(label: str, prof: cProfile.Profile) -> None:
        console.print(f"[bold]cProfile {label} ({len(texts)} Selbstbewertungen), nach eigener Zeit[/bold]")
        pstats.Stats(prof).sort_stats("tottime").print_stats(12)

    prof = cProfile.Profile()
    parsed = prof.runcall(lambda: [parse_assessment(t, "bench", cat) for t in texts])
    show("Einlesen", prof)
    prof = cProfile.Profile()
    scorer = Scorer(cat)
    prof.runcall(lambda: [scorer.score(a, a.period) for a in parsed])
    show("Bewerten", prof)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--count", type=int, default=None, help=f"Selbstbewertungen ({NRW}, --quick: 300)")
    ap.add_argument("--rounds", type=int, default=None, help="Messrunden (5, --quick: 3)")
    ap.add_argument("--format", choices=["yaml", "json"], default="yaml")
    ap.add_argument("--quick", action="store_true", help="300 Selbstbewertungen, 3 Runden, auf 3.500 hochgerechnet")
    ap.add_argument("--profile", action="store_true", help="cProfile-Spitzenreiter von Einlesen und Bewerten zeigen")
    ap.add_argument("--json", type=Path, default=None, help="Ergebnis als JSON-Liste in diese Datei")
    args = ap.parse_args()
    count = args.count or (300 if args.quick else NRW)
    rounds = args.rounds or (3 if args.quick else 5)
    console = Console()

    cat = load_catalogue(default_catalogue())
    texts, dicts = generate(cat, count, args.format)
    json_texts = [json.dumps(d, ensure_ascii=False) for d in dicts]
    if args.profile:
        profile(texts[: min(count, 500)], cat, console)

    load, tracked, floor, score, validate = [], [], [], [], []
    passed = 0
    for _ in track(range(rounds), description="Messrunden"):
        parsed: list[Assessment] = []

        def load_all() -> None:
            parsed.extend(parse_assessment(t, "bench", cat) for t in texts)  # noqa: B023 (called in this round)

        load.append(timed(load_all))
        tracked.append(timed(lambda: [load_tracked(t, cat) for t in texts]))
        floor.append(timed(lambda: [load_json(t) for t in json_texts]))
        reports: list[Any] = []

        def score_all() -> None:
            scorer = Scorer(cat)  # compiling the plan is part of the cost
            reports.extend(scorer.score(a, a.period) for a in parsed)  # noqa: B023 (called in this round)

        score.append(timed(score_all))
        validate.append(timed(lambda: [Assessment.model_validate(d) for d in dicts]))
        passed = sum(r.passed for r in reports)

    per_file = {name: statistics.median(times) / count * 1e3
                for name, times in (("load", load), ("tracked", tracked), ("floor", floor))}
    scale = NRW / count
    s_all, v_all = statistics.median(score) * scale, statistics.median(validate) * scale
    scaled = "" if count == NRW else f" (gemessen an {count}, hochgerechnet)"
    rows = [
        row("Einlesen je Datei (Text → geprüfte Selbstbewertung)", per_file["load"], "ms", per_file["tracked"],
            "mit Zeilenverfolgung eingelesen wie bisher", "≤ 2 ms je Datei", per_file["load"] <= 2.0),
        row("Einlesen je Datei (Text → geprüfte Selbstbewertung)", per_file["load"], "ms", per_file["floor"],
            "json.loads + pydantic derselben Daten (Untergrenze)", "", None),
        row(f"Bewerten aller {NRW} Selbstbewertungen{scaled}", s_all, "s", v_all,
            f"nur pydantic-Validierung derselben {NRW}", "< 1 s", s_all < 1.0),
        row("Bewerten je Selbstbewertung", statistics.median(score) / count * 1e3, "ms",
            per_file["load"], "Einlesen je Datei", "", None),
    ]

    table = Table(title=f"{count} Selbstbewertungen, Katalog {cat.key} ({len(cat.all_criteria())} Kriterien), "
                        f"{rounds} Runden, Format {args.format}; Median")
    for col in ("Messung", "Wert", "Basis", "Verhältnis", "Ziel"):
        table.add_column(col, justify="left" if col in ("Messung", "Basis", "Ziel") else "right")
    for r in rows:
        goal = f"{r['goal']} {'✓' if r['met'] else '✗'}" if r["goal"] else ""
        table.add_row(r["measure"], f"{r['figure']:.3f} {r['unit']}",
                      f"{r['baseline']:.3f} {r['unit']} {r['baseline_label']}", f"{r['ratio']:.2f}×", goal)
    console.print(table)
    console.print(f"{passed} von {count} erfüllt. Der Rechner wird geteilt: Verhältnisse zur Basis derselben "
                  "Runden sind verlässlicher als die Zeiten selbst.")
    if args.json:
        args.json.write_text(json.dumps(rows, ensure_ascii=False, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
