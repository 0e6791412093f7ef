"""Rendering audit packets: how long, how big, how much memory, and what parallel workers buy.

Measures, on the sample data of certflow.packet.sample:
  - the median time of render_packet for an Einzel packet and a Verbund of five (``--runs``, after one
    warm-up render), pages and milliseconds per page, wall clock and CPU time of this process (the machine
    may be shared: CPU time is what a busy neighbour disturbs least);
  - the same final HTML and stylesheet rendered by WeasyPrint alone (HTML(string).write_pdf(stylesheets=
    [CSS(string)]): parsed afresh, a fresh font configuration, no PDF/A, no attachments), and the ratio
    certflow / WeasyPrint alone: certflow's own overhead; Jinja2 (HTML) time on its own;
  - how the criteria are laid out: blocks with a hanging indent (shipped), blocks with floated labels,
    one long table with the same content (both alternatives are template folders made here, as a
    certification body would brand: no code);
  - peak memory of one render in a fresh process (ru_maxrss, and tracemalloc's peak of Python allocations);
  - a batch of ``--batch`` packets (Einzel and Verbund taking turns) with each of ``--workers`` processes
    (1 and 2), the speed-up, and the year's ``--year`` packets projected from the 2-process rate.

    python benchmarks/bench_packet.py [--runs 5] [--batch 40] [--workers 1 2] [--json rows.json] [--quick]

``--quick`` (for benchmarks/run_all.py): 3 runs, a batch of 16, no layout variants and no memory probe.
``--json`` writes the rows every benchmark writes (measure, figure, unit, baseline, ratio, goal, met).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import statistics
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from certflow.packet import BatchJob, render_batch, render_packet
from certflow.packet.render import _stamp_meta, packet_css, packet_html
from certflow.packet.sample import einzel_packet, verbund_packet
from certflow.resources import templates_dir

SAMPLES = {"Einzel": lambda: einzel_packet(), "Verbund (5)": lambda: verbund_packet(members=5)}

FLOAT_ROWS = """
.row { padding-left: 31mm; text-indent: 0; }
.row .k { display: block; float: left; width: 29mm; margin-left: -31mm; white-space: normal; }
"""
PAGE_GOAL_MS = 120  # per page
RATIO_GOAL = 1.10  # certflow / WeasyPrint alone
SPEEDUP_GOAL = 1.8  # 2 processes over 1
YEAR_GOAL_S = 600  # the year's packets on 2 cores

TABLE_CRITERIA = """<section class="chapter" id="kriterien">
<h1>3 Kriterien im Einzelnen</h1>
<table class="grid"><thead><tr><th>Kriterium</th><th>Selbstbewertung</th><th>Nachweise</th><th>Bewertung</th>
<th>Votum Audit</th></tr></thead><tbody>
{% for a in areas %}<tr id="{{ a.anchor }}"><th colspan="5">{{ a.kind }} {{ a.id }}: {{ a.title }} –
{{ a.tally.points }} von {{ a.tally.max_points }} Punkten (mindestens {{ a.tally.min_points }})</th></tr>
{% for c in a.all_criteria() %}<tr id="{{ c.anchor }}"><td><strong>{{ c.id }}</strong> {{ c.title }}<br>{{ c.level }},
{{ c.points }} P.</td>
<td>{% for i in c.items %}<strong>{{ i.id }}</strong> {{ i.answer }}{% if i.title and i.id != c.id %} – {{ i.title }}
{% endif %}<br>{% endfor %}</td>
<td>{% for e in c.evidence %}<strong>{{ e.number }}</strong> {{ e.file.title }} ({{ e.file.file_name }})<br>{% endfor %}</td>
<td>{{ "erfüllt" if c.met else "nicht erfüllt" }} (Regel: {{ c.logic }}){% for r in c.reasons %}<br>{{ r }}{% endfor %}</td>
<td>{% if c.verdict %}{{ c.verdict.verdict }}{% if c.verdict.remark %} – {{ c.verdict.remark }}{% endif %}{% endif %}</td>
</tr>{% endfor %}{% endfor %}
</tbody></table>
</section>
"""


def median_time(fn, runs: int) -> float:
    """Median wall time of ``runs`` calls (the machine may be shared: see also cpu_time)."""
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def variant_folders(root: Path) -> dict[str, Path | None]:
    shipped_css = (templates_dir() / "packet" / "packet.css").read_text(encoding="utf-8")
    floats = root / "floats" / "packet"
    floats.mkdir(parents=True)
    (floats / "packet.css").write_text(shipped_css + FLOAT_ROWS, encoding="utf-8")
    table = root / "table" / "packet"
    table.mkdir(parents=True)
    (table / "_criteria.html").write_text(TABLE_CRITERIA, encoding="utf-8")
    return {"Blöcke, hängender Einzug (ausgeliefert)": None, "Blöcke, Beschriftung als float": floats.parent,
            "eine lange Tabelle, gleicher Inhalt": table.parent}


def _peak_child(kind: str, out: str, queue) -> None:
    import resource
    import tracemalloc

    data = SAMPLES[kind]()
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tracemalloc.start()
    render_packet(data, out)
    _, peak = tracemalloc.get_traced_memory()
    queue.put((base / 1024, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, peak / 2 ** 20))


def peak_memory(kind: str, out: Path) -> tuple[float, float, float]:
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_peak_child, args=(kind, str(out), queue))
    proc.start()
    result = queue.get(timeout=600)
    proc.join()
    return result


def row(measure: str, figure: float, unit: str, goal: str = "", met: bool | None = None,
        baseline: float | None = None, baseline_label: str = "") -> dict:
    """One result row as every benchmark of certflow writes it (``--json``)."""
    return {"measure": measure, "figure": round(figure, 4), "unit": unit,
            "baseline": None if baseline is None else round(baseline, 4), "baseline_label": baseline_label,
            "ratio": round(figure / baseline, 4) if baseline else None, "goal": goal, "met": met}


def single(kind: str, make, runs: int, tmp: Path, console: Console, rows: list[dict], memory: bool) -> dict:
    import weasyprint

    data = make()
    first = time.perf_counter()
    pages = render_packet(data, tmp / "warm.pdf").pages
    cold = time.perf_counter() - first
    jinja = median_time(lambda: packet_html(data), runs)
    html, css = _stamp_meta(packet_html(data), data.document_date), packet_css()

    def alone() -> None:
        weasyprint.HTML(string=html).write_pdf(stylesheets=[weasyprint.CSS(string=css)])

    alone()
    # certflow and WeasyPrint alone take turns, so a busy neighbour hurts both alike
    times = {"certflow": ([], []), "alone": ([], [])}
    for _ in range(runs):
        for name, fn in (("certflow", lambda: render_packet(data, tmp / "p.pdf")), ("alone", alone)):
            w0, c0 = time.perf_counter(), time.process_time()
            fn()
            times[name][0].append(time.perf_counter() - w0)
            times[name][1].append(time.process_time() - c0)
    full, cpu = (statistics.median(x) for x in times["certflow"])
    solo, solo_cpu = (statistics.median(x) for x in times["alone"])
    label = f"Audit-Paket {kind} ({pages} S.)"
    rows += [
        row(f"{label}: certflow", full, "s", f"≤ {RATIO_GOAL:.2f}× WeasyPrint allein", full / solo <= RATIO_GOAL,
            solo, "WeasyPrint allein, gleiches HTML und CSS"),
        row(f"{label}: certflow, CPU", cpu, "s", f"≤ {RATIO_GOAL:.2f}×", cpu / solo_cpu <= RATIO_GOAL,
            solo_cpu, "WeasyPrint allein, CPU"),
        row(f"{label}: je Seite", full / pages * 1e3, "ms", f"≤ {PAGE_GOAL_MS} ms", full / pages * 1e3 <= PAGE_GOAL_MS),
        row(f"{label}: je Seite, CPU", cpu / pages * 1e3, "ms", f"≤ {PAGE_GOAL_MS} ms",
            cpu / pages * 1e3 <= PAGE_GOAL_MS),
        row(f"{label}: HTML (Jinja2)", jinja * 1e3, "ms"),
    ]
    peak = ""
    if memory:
        base_rss, rss, py = peak_memory(kind, tmp / "mem.pdf")
        rows.append(row(f"{label}: Spitzenspeicher (RSS)", rss, "count", baseline=base_rss,
                        baseline_label="MB vor dem Rendern"))
        peak = f"{rss:.0f} MB (vorher {base_rss:.0f}), Python {py:.0f} MB"
    return {"kind": kind, "pages": pages, "cold": cold, "full": full, "cpu": cpu, "solo": solo,
            "solo_cpu": solo_cpu, "jinja": jinja, "peak": peak}


def layout_variants(runs: int, tmp: Path, console: Console) -> None:
    layouts = Table(title="Kriterien-Layout, Einzel-Paket (Median, Varianten abwechselnd gemessen)")
    for col in ("Layout", "Seiten", "Zeit", "CPU"):
        layouts.add_column(col, justify="left" if col == "Layout" else "right")
    data = einzel_packet()
    variants = variant_folders(tmp / "variants")
    walls: dict[str, list[float]] = {name: [] for name in variants}
    cpus: dict[str, list[float]] = {name: [] for name in variants}
    pages_of = {name: render_packet(data, tmp / "v.pdf", templates_dir=f).pages for name, f in variants.items()}
    for _ in range(runs):
        for name, folder in variants.items():
            w0, c0 = time.perf_counter(), time.process_time()
            render_packet(data, tmp / "v.pdf", templates_dir=folder)
            walls[name].append(time.perf_counter() - w0)
            cpus[name].append(time.process_time() - c0)
    for name in variants:
        layouts.add_row(name, str(pages_of[name]), f"{statistics.median(walls[name]):.2f} s",
                        f"{statistics.median(cpus[name]):.2f} s")
    console.print(layouts)


def batch(count: int, workers: list[int], year: int, tmp: Path, console: Console, rows: list[dict]) -> None:
    jobs = [BatchJob(f"paket-{i:03d}", einzel_packet(i) if i % 2 == 0 else verbund_packet(5, i))
            for i in range(count)]
    walls: dict[int, float] = {}
    for n in workers:
        load = os.getloadavg()[0]
        report = render_batch(jobs, tmp / f"batch-{n}", workers=n, progress=False)
        assert not report.failed, report.summary()
        walls[n] = report.seconds
        busy = sum(item.seconds for item in report.ok)
        pages = sum(item.pages for item in report.ok)
        console.print(f"Stapel mit {count} Paketen ({pages} Seiten), {n} Prozess(e): {report.seconds:.1f} s, "
                      f"{report.seconds / count:.2f} s je Paket, Auslastung {busy / report.seconds:.2f} Prozesse "
                      f"(Systemlast vorher {load:.1f} auf {os.cpu_count()} Kernen)")
        rows.append(row(f"Stapel {count} Pakete, {n} Prozess(e)", report.seconds, "s",
                        baseline=busy / n, baseline_label="Renderzeit je Prozess (Summe der Aufträge / Prozesse)"))
    if 1 in walls and 2 in walls:
        speedup = walls[1] / walls[2]
        rows.append(row("Beschleunigung 2 Prozesse gegenüber 1", speedup, "x", f"≥ {SPEEDUP_GOAL}×",
                        speedup >= SPEEDUP_GOAL))
        console.print(f"Beschleunigung {speedup:.2f}x (inklusive Start der Arbeitsprozesse)")
    two = walls.get(2)
    if two is not None:
        projected = two / count * year
        rows.append(row(f"{year} Pakete (Jahr) auf 2 Prozessen" + (" (hochgerechnet)" if count < year else ""),
                        projected, "s", f"< {YEAR_GOAL_S} s", projected < YEAR_GOAL_S))
    rows.append(row("Systemlast (1 min) nach dem Stapel", os.getloadavg()[0], "count"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, help="gemessene Läufe je Paket (5; --quick: 3)")
    ap.add_argument("--batch", type=int, help="Pakete im Stapel (40; --quick: 16; 0: kein Stapel)")
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="Prozesse je Stapellauf (1 2)")
    ap.add_argument("--year", type=int, default=850, help="Pakete eines Jahres, hochgerechnet (850)")
    ap.add_argument("--quick", action="store_true", help="kurz: für benchmarks/run_all.py")
    ap.add_argument("--json", type=Path, help="die Ergebniszeilen als JSON-Liste")
    args = ap.parse_args()
    runs = args.runs or (3 if args.quick else 5)
    count = args.batch if args.batch is not None else (16 if args.quick else 40)
    console = Console(width=150)
    rows: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        table = Table(title=f"Audit-Paket, Median aus {runs} Läufen (nach einem Aufwärmlauf)")
        for col in ("Paket", "Seiten", "certflow", "ms/Seite", "CPU", "CPU ms/Seite", "nur HTML (Jinja2)",
                    "WeasyPrint allein", "Verhältnis", "Verhältnis CPU", "Spitzenspeicher"):
            table.add_column(col, justify="left" if col == "Paket" else "right")
        for kind, make in SAMPLES.items():
            r = single(kind, make, runs, tmp, console, rows, memory=not args.quick)
            table.add_row(kind, str(r["pages"]), f"{r['full']:.2f} s", f"{r['full'] / r['pages'] * 1e3:.0f}",
                          f"{r['cpu']:.2f} s", f"{r['cpu'] / r['pages'] * 1e3:.0f}", f"{r['jinja'] * 1e3:.0f} ms",
                          f"{r['solo']:.2f} s", f"{r['full'] / r['solo']:.2f}", f"{r['cpu'] / r['solo_cpu']:.2f}",
                          r["peak"] or "–")
        console.print(table)
        if not args.quick:
            layout_variants(runs, tmp, console)
        if count:
            batch(count, sorted(set(args.workers)), args.year, tmp, console, rows)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2, ensure_ascii=False), encoding="utf-8")


if __name__ == "__main__":
    main()
