"""Run every benchmark and print one table of their results: measure, figure, baseline, ratio, goal, met.

Each script in :data:`SCRIPTS` runs in its own process (``python SCRIPT ARGS --json FILE``, with ``--quick``
when this runner has it) one after the other, and writes its rows (measure, figure, unit, baseline,
baseline_label, ratio, goal, met) to that file. A script that does not exist (yet) is skipped with a note;
one that fails or writes no rows is noted with its exit code and the end of its output. The runner exits 1
if a goal was missed or a script failed.

    python benchmarks/run_all.py [--quick] [--json alle.json] [--only bench_packet.py ...]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.table import Table

HERE = Path(__file__).resolve().parent

# every benchmark that writes --json rows, with the arguments it runs with here (--quick is added by --quick)
SCRIPTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("bench_scoring.py", ()),
    ("bench_reminders.py", ("--postgres",)),
    ("bench_web_scale.py", ()),
    ("bench_api.py", ()),  # after bench_web_scale.py: it reads the NRW database that one caches
    ("bench_packet.py", ()),
    ("bench_cli.py", ()),
    ("bench_web_load.py", ()),
    ("bench_admin_registers.py", ()),
)

UNITS = {"s": "s", "ms": "ms", "queries": "Abfragen", "x": "×", "count": ""}


@dataclass
class Outcome:
    """What the scripts gave: their rows (each with ``script``) and a note per script skipped or failed."""

    rows: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    failed: bool = False


def run_script(path: Path, args: tuple[str, ...], quick: bool, timeout: float | None) -> tuple[list[dict], str]:
    """Run one benchmark; its rows, or ``[]`` and why not."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "rows.json"
        cmd = [sys.executable, str(path), *args, *(["--quick"] if quick else []), "--json", str(out)]
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=path.parent.parent)
        except subprocess.TimeoutExpired:
            return [], f"nach {timeout:g} s abgebrochen"
        if done.returncode != 0:
            tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
            return [], f"fehlgeschlagen (Exit-Code {done.returncode}): " + " | ".join(tail)
        try:
            rows = json.loads(out.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            return [], f"keine lesbaren Ergebniszeilen ({exc})"
        if not isinstance(rows, list) or not all(isinstance(r, dict) and "measure" in r for r in rows):
            return [], "Ergebnisdatei ist keine Liste von Zeilen"
        return rows, ""


def run_all(folder: Path = HERE, quick: bool = False, only: list[str] | None = None, timeout: float | None = None,
            console: Console | None = None) -> Outcome:
    outcome = Outcome()
    for name, args in SCRIPTS:
        if only and name not in only:
            continue
        path = folder / name
        if not path.is_file():
            outcome.notes.append(f"{name}: übersprungen, gibt es (noch) nicht")
            continue
        if console is not None:
            console.print(f"[dim]{name} {' '.join(args)}{' --quick' if quick else ''} …[/dim]")
        started = time.perf_counter()
        rows, problem = run_script(path, args, quick, timeout)
        if problem:
            outcome.failed = True
            outcome.notes.append(f"{name}: {problem}")
            continue
        if console is not None:
            console.print(f"[dim]{name}: {len(rows)} Zeilen in {time.perf_counter() - started:.0f} s[/dim]")
        outcome.rows += [{"script": name, **r} for r in rows]
    return outcome


def _number(value: float | None, unit: str = "") -> str:
    if value is None:
        return "–"
    text = f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}" if abs(value) >= 1 else f"{value:.3g}"
    text = text.replace(",", " ").replace(".", ",")
    suffix = UNITS.get(unit, unit)
    return f"{text} {suffix}".strip() if suffix != "×" else f"{text}×"


def table(outcome: Outcome) -> Table:
    t = Table(title="certflow: alle Benchmarks")
    for col in ("Skript", "Messung", "Wert", "Basis", "Verhältnis", "Ziel", "erfüllt"):
        t.add_column(col, justify="right" if col in ("Wert", "Basis", "Verhältnis") else "left")
    for r in outcome.rows:
        baseline = _number(r.get("baseline"), r.get("unit", ""))
        if r.get("baseline_label"):
            baseline = f"{baseline} ({r['baseline_label']})" if r.get("baseline") is not None else r["baseline_label"]
        met = r.get("met")
        t.add_row(r["script"], str(r["measure"]), _number(r.get("figure"), r.get("unit", "")), baseline,
                  "–" if r.get("ratio") is None else f"{r['ratio']:.2f}", r.get("goal") or "–",
                  "–" if met is None else "[green]✓[/green]" if met else "[red]✗[/red]")
    return t


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="jedes Skript mit --quick (je unter etwa 2 Minuten)")
    ap.add_argument("--json", type=Path, help="alle Zeilen (mit dem Skript) als JSON-Liste")
    ap.add_argument("--only", nargs="+", metavar="SKRIPT", help="nur diese Skripte")
    ap.add_argument("--timeout", type=float, help="Sekunden je Skript, danach abgebrochen")
    ap.add_argument("--dir", type=Path, default=HERE, help=argparse.SUPPRESS)  # the tests' fake scripts
    args = ap.parse_args(argv)
    console = Console(width=160)
    outcome = run_all(args.dir, args.quick, args.only, args.timeout, console)
    console.print(table(outcome))
    for note in outcome.notes:
        console.print(f"Hinweis: {note}")
    if args.json:
        args.json.write_text(json.dumps(outcome.rows, indent=2, ensure_ascii=False), encoding="utf-8")
    missed = [r for r in outcome.rows if r.get("met") is False]
    return 1 if missed or outcome.failed else 0


if __name__ == "__main__":
    sys.exit(main())
