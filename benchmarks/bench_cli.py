"""The command line's own speed: ``certflow demo`` (the small demo, a Kreis, NRW) and ``certflow --help``.

Each measure runs the real program in a fresh process (``python -m`` is not used: the console script
``certflow`` the README names, else ``python -c "from certflow.cli import main; main()"``), in a
temporary working directory, and reports the median (and the single runs) of the wall time:

* **certflow demo --today 2026-03-10** (database and documents), goal ≤ 10 s;
* **certflow demo --scale kreis** (three Jugendämter, 60 Familienzentren, in bulk), no goal;
* **certflow demo --scale nrw** (186 Jugendämter, 3,500 Familienzentren; not with ``--quick``), no goal;
* **certflow --help** against its baseline ``python -c "import click"`` (the interpreter and click, measured
  in the same run, interleaved), goal ≤ 2× the baseline.

The machine is shared: absolute times are noisy, the ``--help`` ratio much less so (both sides pay the
same load). ``--json PATH`` writes the rows (measure, figure, unit, baseline, ratio, goal, met)::

    python benchmarks/bench_cli.py [--quick] [--runs 3] [--help-runs 15] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DAY = "2026-03-10"


def _program() -> list[str]:
    script = shutil.which("certflow")
    if script:
        return [script]
    return [sys.executable, "-c", "from certflow.cli import main; main()"]


def _timed(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> float:
    started = time.perf_counter()
    subprocess.run(args, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def _demo(extra: list[str], runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        folder = Path(tempfile.mkdtemp(prefix="certflow-bench-cli-"))
        try:
            env = {**os.environ, "CERTFLOW_EVIDENCE_DIR": str(folder / "certflow-evidence")}
            times.append(_timed([*_program(), "demo", "--today", DAY, *extra], folder, env))
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    return times


def _row(measure: str, figure: float, unit: str, goal: str, met: bool | None, baseline: float | None = None,
         baseline_label: str = "", runs: list[float] | None = None) -> dict:
    return {"measure": measure, "figure": round(figure, 4), "unit": unit, "baseline": baseline and round(baseline, 4),
            "baseline_label": baseline_label, "ratio": round(figure / baseline, 3) if baseline else None,
            "goal": goal, "met": met, "runs": [round(t, 3) for t in runs or []]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="kurz: ohne NRW, weniger Läufe")
    parser.add_argument("--runs", type=int, default=None, help="Läufe je Demo (3, --quick: 1)")
    parser.add_argument("--help-runs", type=int, default=None, help="Läufe von --help und Basis (15, --quick: 7)")
    parser.add_argument("--json", type=Path, default=None, help="Ergebnis als JSON-Liste in diese Datei")
    args = parser.parse_args(argv)
    runs = args.runs or (1 if args.quick else 3)
    help_runs = args.help_runs or (7 if args.quick else 15)
    rows = []

    here = Path(tempfile.mkdtemp(prefix="certflow-bench-help-"))
    try:
        baseline, helped = [], []
        _timed([sys.executable, "-c", "import click"], here)  # warm the file cache
        _timed([*_program(), "--help"], here)
        for _ in range(help_runs):  # interleaved: both sides see the same load
            baseline.append(_timed([sys.executable, "-c", "import click"], here))
            helped.append(_timed([*_program(), "--help"], here))
    finally:
        shutil.rmtree(here, ignore_errors=True)
    base, fig = statistics.median(baseline), statistics.median(helped)
    rows.append(_row("certflow --help", fig, "s", "≤ 2× python -c pass + click", fig <= 2 * base, base,
                     'python -c "import click"', helped))

    demo = _demo([], runs)
    rows.append(_row("certflow demo", statistics.median(demo), "s", "≤ 10 s", statistics.median(demo) <= 10.0,
                     runs=demo))
    kreis = _demo(["--scale", "kreis"], runs)
    rows.append(_row("certflow demo --scale kreis", statistics.median(kreis), "s", "", None, runs=kreis))
    if not args.quick:
        nrw = _demo(["--scale", "nrw"], 1)
        rows.append(_row("demo --scale nrw", statistics.median(nrw), "s", "", None, runs=nrw))

    width = max(len(r["measure"]) for r in rows)
    for r in rows:
        extra = f"  Basis {r['baseline']:.3f} s ({r['baseline_label']}), {r['ratio']:.2f}×" if r["baseline"] else ""
        verdict = "" if r["met"] is None else ("  erfüllt" if r["met"] else "  NICHT erfüllt")
        print(f"{r['measure']:<{width}}  Median {r['figure']:.3f} s{extra}  Ziel {r['goal'] or '–'}{verdict}  "
              f"Läufe: {', '.join(f'{t:.2f}' for t in r['runs'])}")
    if args.json:
        args.json.write_text(json.dumps([{k: v for k, v in r.items() if k != "runs"} for r in rows], indent=2,
                                        ensure_ascii=False), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
