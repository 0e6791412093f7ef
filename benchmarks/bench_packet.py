"""Rendering audit packets: how long, how big, how much memory, and what parallel workers buy.

Measures, on the sample data of certflow.packet.sample:
  - the median time of render_packet for an Einzel packet and a Verbund of five (``--runs``, after one
    warm-up render), pages and seconds per page;
  - the same final HTML rendered by WeasyPrint alone (HTML(string).write_pdf(), no PDF/A, no attachments),
    and the ratio certflow / WeasyPrint alone; Jinja2 (HTML) time on its own;
  - how the criteria are laid out: blocks with a hanging indent (shipped), blocks with floated labels,
    one long table with the same content (both alternatives are template folders made here, as a
    certification body would brand: no code);
  - peak memory of one render in a fresh process (ru_maxrss, and tracemalloc's peak of Python allocations);
  - a batch of ``--batch`` packets with 1 and with 2 worker processes, and the speed-up.

    python benchmarks/bench_packet.py [--runs 5] [--batch 8] [--json results.json]
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
from certflow.packet.render import _stamp_meta, packet_html
from certflow.packet.sample import einzel_packet, verbund_packet
from certflow.resources import templates_dir

SAMPLES = {"Einzel": lambda: einzel_packet(), "Verbund (5)": lambda: verbund_packet(members=5)}

FLOAT_ROWS = """
.row { padding-left: 31mm; text-indent: 0; }
.row .k { display: block; float: left; width: 29mm; margin-left: -31mm; }
"""

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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    console = Console(width=150)
    import weasyprint

    results: dict = {"runs": args.runs}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        table = Table(title=f"Audit-Paket, Median aus {args.runs} Läufen (nach einem Aufwärmlauf)")
        for col in ("Paket", "Seiten", "certflow", "s/Seite", "CPU", "nur HTML (Jinja2)", "WeasyPrint allein",
                    "Verhältnis", "Verhältnis CPU", "Peak RSS", "Peak Python"):
            table.add_column(col, justify="left" if col == "Paket" else "right")
        for kind, make in SAMPLES.items():
            data = make()
            first = time.perf_counter()
            pages = render_packet(data, tmp / "warm.pdf").pages
            cold = time.perf_counter() - first
            jinja = median_time(lambda: packet_html(data), args.runs)
            html = _stamp_meta(packet_html(data), data.document_date)
            weasyprint.HTML(string=html).write_pdf()
            # certflow and WeasyPrint alone take turns, so a busy neighbour hurts both alike
            runs = {"certflow": ([], []), "alone": ([], [])}
            for _ in range(args.runs):
                for name, fn in (("certflow", lambda: render_packet(data, tmp / "p.pdf")),
                                 ("alone", lambda: weasyprint.HTML(string=html).write_pdf())):
                    w0, c0 = time.perf_counter(), time.process_time()
                    fn()
                    runs[name][0].append(time.perf_counter() - w0)
                    runs[name][1].append(time.process_time() - c0)
            full, cpu = (statistics.median(x) for x in runs["certflow"])
            alone, alone_cpu = (statistics.median(x) for x in runs["alone"])
            base_rss, rss, py = peak_memory(kind, tmp / "mem.pdf")
            results[kind] = {"pages": pages, "first_render_s": cold, "median_s": full, "s_per_page": full / pages,
                             "jinja_s": jinja, "weasyprint_alone_s": alone, "ratio": full / alone,
                             "cpu_s": cpu, "weasyprint_alone_cpu_s": alone_cpu, "ratio_cpu": cpu / alone_cpu,
                             "rss_before_mb": base_rss, "peak_rss_mb": rss, "peak_python_mb": py}
            table.add_row(kind, str(pages), f"{full:.2f} s", f"{full / pages:.3f}", f"{cpu:.2f} s",
                          f"{jinja * 1e3:.0f} ms", f"{alone:.2f} s", f"{full / alone:.2f}", f"{cpu / alone_cpu:.2f}",
                          f"{rss:.0f} MB (vorher {base_rss:.0f})",
                          f"{py:.0f} MB")
        console.print(table)

        layouts = Table(title="Kriterien-Layout, Einzel-Paket (Median, Varianten abwechselnd gemessen)")
        for col in ("Layout", "Seiten", "Zeit", "CPU"):
            layouts.add_column(col, justify="left" if col == "Layout" else "right")
        data = einzel_packet()
        variants = variant_folders(tmp / "variants")
        walls: dict[str, list[float]] = {name: [] for name in variants}
        cpus: dict[str, list[float]] = {name: [] for name in variants}
        pages_of = {name: render_packet(data, tmp / "v.pdf", templates_dir=f).pages for name, f in variants.items()}
        for _ in range(args.runs):
            for name, folder in variants.items():
                w0, c0 = time.perf_counter(), time.process_time()
                render_packet(data, tmp / "v.pdf", templates_dir=folder)
                walls[name].append(time.perf_counter() - w0)
                cpus[name].append(time.process_time() - c0)
        results["layouts"] = {}
        for name in variants:
            w, c = statistics.median(walls[name]), statistics.median(cpus[name])
            results["layouts"][name] = {"pages": pages_of[name], "median_s": w, "cpu_s": c}
            layouts.add_row(name, str(pages_of[name]), f"{w:.2f} s", f"{c:.2f} s")
        console.print(layouts)

        jobs = [BatchJob(f"paket-{i:02d}", einzel_packet(i) if i % 2 == 0 else verbund_packet(5, i))
                for i in range(args.batch)]
        walls = {}
        for workers in (1, 2):
            report = render_batch(jobs, tmp / f"batch-{workers}", workers=workers, progress=False)
            assert not report.failed, report.summary()
            walls[workers] = report.seconds
        results["loadavg_after"] = os.getloadavg()
        results["batch"] = {"jobs": args.batch, "wall_1_s": walls[1], "wall_2_s": walls[2],
                            "speedup": walls[1] / walls[2]}
        console.print(f"Stapel mit {args.batch} Paketen: 1 Prozess {walls[1]:.1f} s, 2 Prozesse {walls[2]:.1f} s, "
                      f"Beschleunigung {walls[1] / walls[2]:.2f}x (inklusive Start der Arbeitsprozesse)")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, ensure_ascii=False), encoding="utf-8")


if __name__ == "__main__":
    main()
