"""Scoring an NRW-sized year: 3,500 generated self-assessments against the 2020 catalogue.

Measures, over several rounds, the median time to
  - parse the 3,500 assessment files (YAML text -> checked Assessment): the baseline,
  - score the parsed assessments (the engine alone),
and reports the ratio score / parse. Usage:

    python benchmarks/bench_scoring.py [--count 3500] [--rounds 5] [--format yaml|json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import yaml
from rich.console import Console
from rich.progress import track
from rich.table import Table

from certflow.assessment import parse_assessment
from certflow.catalogue import load_catalogue
from certflow.catalogue.model import ALL_VARIANTS
from certflow.resources import default_catalogue
from certflow.samples import satisfying_assessment, spoil
from certflow.scoring import Scorer


def generate(cat, count: int, fmt: str) -> list[str]:
    bases = [satisfying_assessment(cat, v) for v in ALL_VARIANTS]
    texts = []
    for i in track(range(count), description=f"{count} Selbstbewertungen erzeugen"):
        a = spoil(bases[i % len(bases)], share=(i % 7) / 40, seed=i)
        data = a.model_dump(mode="json", exclude_defaults=True)
        texts.append(json.dumps(data, ensure_ascii=False) if fmt == "json"
                     else yaml.safe_dump(data, allow_unicode=True, sort_keys=False))
    return texts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--count", type=int, default=3500)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--format", choices=["yaml", "json"], default="yaml")
    args = ap.parse_args()
    console = Console()

    cat = load_catalogue(default_catalogue())
    texts = generate(cat, args.count, args.format)
    parse_times, score_times = [], []
    passed = 0
    for _ in track(range(args.rounds), description="Messrunden"):
        t0 = time.perf_counter()
        parsed = [parse_assessment(t, "bench", cat) for t in texts]
        t1 = time.perf_counter()
        scorer = Scorer(cat)  # a fresh scorer each round: compiling the plan is part of the cost
        reports = [scorer.score(a, a.period) for a in parsed]
        t2 = time.perf_counter()
        parse_times.append(t1 - t0)
        score_times.append(t2 - t1)
        passed = sum(r.passed for r in reports)

    p, s = statistics.median(parse_times), statistics.median(score_times)
    table = Table(title=f"{args.count} Selbstbewertungen, Katalog {cat.key} ({len(cat.all_criteria())} Kriterien), "
                        f"{args.rounds} Runden, Format {args.format}")
    for col in ("Schritt", "Median gesamt", "je Selbstbewertung"):
        table.add_column(col, justify="right" if col != "Schritt" else "left")
    table.add_row("nur einlesen (Basis)", f"{p:.3f} s", f"{p / args.count * 1e3:.3f} ms")
    table.add_row("bewerten", f"{s:.3f} s", f"{s / args.count * 1e3:.3f} ms")
    console.print(table)
    console.print(f"Verhältnis bewerten / einlesen: {s / p:.3f}   ({passed} von {args.count} erfüllt)")


if __name__ == "__main__":
    main()
