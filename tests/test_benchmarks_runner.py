"""benchmarks/run_all.py: runs each listed benchmark with --json (and --quick), one table, skips what is missing.

Fake benchmark scripts in tmp_path stand in for the real ones (which take minutes).
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest
from rich.console import Console

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def runner():
    spec = importlib.util.spec_from_file_location("run_all", ROOT / "benchmarks" / "run_all.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["run_all"] = module
    spec.loader.exec_module(module)
    yield module
    del sys.modules["run_all"]


FAKE = '''
import argparse, json, sys
ap = argparse.ArgumentParser()
ap.add_argument("--json")
ap.add_argument("--quick", action="store_true")
args = ap.parse_args()
rows = [{"measure": "Seite" + (" kurz" if args.quick else ""), "figure": 0.05, "unit": "s", "baseline": 0.1,
         "baseline_label": "ohne Index", "ratio": 0.5, "goal": "≤ 1×", "met": True},
        {"measure": "Abfragen", "figure": 12, "unit": "queries", "baseline": None, "baseline_label": "",
         "ratio": None, "goal": "≤ 10", "met": False}]
open(args.json, "w").write(json.dumps(rows))
'''


def _fakes(folder: Path, runner, *names: str, body: str = FAKE) -> None:
    for name in names:
        assert name in dict(runner.SCRIPTS), name
        (folder / name).write_text(body, encoding="utf-8")


def test_every_benchmark_is_listed_once_with_its_arguments(runner):
    names = [name for name, _ in runner.SCRIPTS]
    assert len(names) == len(set(names))
    assert {"bench_scoring.py", "bench_reminders.py", "bench_web_scale.py", "bench_packet.py", "bench_cli.py",
            "bench_web_load.py"} <= set(names)
    assert all(isinstance(args, tuple) for _, args in runner.SCRIPTS)


def test_rows_of_all_scripts_in_one_table_and_missing_ones_skipped(runner, tmp_path):
    _fakes(tmp_path, runner, "bench_scoring.py", "bench_packet.py")
    outcome = runner.run_all(tmp_path, quick=True)
    assert [(r["script"], r["measure"]) for r in outcome.rows] == [
        ("bench_scoring.py", "Seite kurz"), ("bench_scoring.py", "Abfragen"),  # --quick was passed on
        ("bench_packet.py", "Seite kurz"), ("bench_packet.py", "Abfragen")]
    skipped = {n.split(":")[0] for n in outcome.notes}
    assert skipped == {name for name, _ in runner.SCRIPTS} - {"bench_scoring.py", "bench_packet.py"}
    assert all("übersprungen" in n for n in outcome.notes) and not outcome.failed

    console = Console(width=200, record=True)
    console.print(runner.table(outcome))
    text = console.export_text()
    for header in ("Messung", "Wert", "Basis", "Verhältnis", "Ziel", "erfüllt"):
        assert header in text
    assert "50 ms" in text or "0,05 s" in text
    assert "ohne Index" in text and "0.50" in text and "✓" in text and "✗" in text


def test_main_writes_all_rows_and_fails_on_a_missed_goal_or_a_broken_script(runner, tmp_path, capsys):
    _fakes(tmp_path, runner, "bench_packet.py")
    _fakes(tmp_path, runner, "bench_cli.py", body="import sys; sys.exit('kaputt')")
    out = tmp_path / "alle.json"
    code = runner.main(["--dir", str(tmp_path), "--json", str(out)])
    rows = json.loads(out.read_text(encoding="utf-8"))
    assert [r["measure"] for r in rows] == ["Seite", "Abfragen"]  # no --quick: the full run
    assert code == 1
    printed = capsys.readouterr().out
    assert "bench_cli.py: fehlgeschlagen (Exit-Code 1): kaputt" in printed
    assert "bench_scoring.py: übersprungen" in printed


def test_only_the_named_scripts_and_all_goals_met_is_exit_0(runner, tmp_path):
    good = FAKE.replace('"met": False', '"met": True')
    _fakes(tmp_path, runner, "bench_packet.py", "bench_scoring.py", body=good)
    assert runner.main(["--dir", str(tmp_path), "--only", "bench_packet.py"]) == 0
    outcome = runner.run_all(tmp_path, only=["bench_packet.py"])
    assert {r["script"] for r in outcome.rows} == {"bench_packet.py"} and not outcome.notes
