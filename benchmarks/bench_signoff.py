"""The sign-off with its packet: what storing the packet's SHA-256 at the sign-off costs.

On a copy of the demo database (SQLite) per run, the auditor of the scheduled visit (Rheinwiese)
records it and signs it off. Measured, medians of ``--runs``:
  - ``packet_data`` alone: reading the procedure and scoring it (no PDF);
  - ``packet_pdf`` alone on that data: WeasyPrint, PDF/A, attachments (the packet as rendered);
  - the whole sign-off use case (read, render in a worker process, hash, check again, write, commit);
and the ratio sign-off / render alone: how much of the sign-off is the packet.

    python benchmarks/bench_signoff.py [--runs 5] [--json results.json]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
import time
from datetime import date
from pathlib import Path

from rich.console import Console
from rich.table import Table

from certflow import services
from certflow.db import UnitOfWork, make_engine, upgrade
from certflow.demo_data import DemoClock, build_demo
from certflow.packet import packet_pdf
from certflow.services.documents import packet_data
from certflow.services.runner import Application
from certflow.settings import Settings

DAY = date(2026, 3, 10)
FZ = "fz-rheinwiese"


def _procedure(engine) -> tuple[str, str, date]:
    with UnitOfWork(engine, clock=DemoClock.on(DAY)) as uow:
        proc = [p for p in uow.procedures.of_familienzentrum(FZ) if p.planned_audit_date][-1]
        return proc.id, proc.auditor_id, proc.planned_audit_date


def _record(engine, pid: str, auditor: str, visit: date) -> None:
    with UnitOfWork(engine, clock=DemoClock.on(visit)) as uow:
        services.record_audit(uow, auditor, pid, visit, "Begehung vor Ort", verdicts={})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    console = Console()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp, "demo.sqlite")
        engine = make_engine(f"sqlite:///{base}")
        upgrade(engine)
        started = time.perf_counter()
        settings = Settings(evidence_dir=Path(tmp, "belege"))
        build_demo(engine, DAY, settings=settings)
        console.print(f"Demo-Datenbank aufgebaut in {time.perf_counter() - started:.1f} s")
        pid, auditor, visit = _procedure(engine)
        engine.dispose()

        data_s, render_s, signoff_s, pages = [], [], [], 0
        for run in range(args.runs + 1):  # the first run warms fonts and templates up
            copy = Path(tmp, f"run-{run}.sqlite")
            shutil.copy(base, copy)
            engine = make_engine(f"sqlite:///{copy}")
            _record(engine, pid, auditor, visit)
            app = Application(settings, engine=engine, clock=DemoClock.on(visit), after_commit=(), check_schema=False)
            with app.unit_of_work() as uow:
                t0 = time.perf_counter()
                data = packet_data(uow, auditor, pid, evidence_store=app.evidence_store())
                t1 = time.perf_counter()
            _pdf, pages = packet_pdf(data)
            t2 = time.perf_counter()
            services.sign_off(app, auditor, pid, "Bericht fertig")
            t3 = time.perf_counter()
            engine.dispose()
            if run:
                data_s.append(t1 - t0)
                render_s.append(t2 - t1)
                signoff_s.append(t3 - t2)
            console.print(f"Lauf {run}: Daten {t1 - t0:.3f} s, Paket {t2 - t1:.2f} s, Abzeichnung {t3 - t2:.2f} s",
                          style="dim")

    result = {"pages": pages, "runs": args.runs, "packet_data_s": statistics.median(data_s),
              "packet_pdf_s": statistics.median(render_s), "sign_off_s": statistics.median(signoff_s)}
    result["ratio_sign_off_to_render"] = result["sign_off_s"] / result["packet_pdf_s"]
    table = Table(title=f"Abzeichnung mit Auditpaket ({pages} Seiten), Median aus {args.runs} Läufen")
    table.add_column("Schritt")
    table.add_column("Sekunden", justify="right")
    table.add_row("packet_data (Datenbank, Bewertung)", f"{result['packet_data_s']:.3f}")
    table.add_row("packet_pdf allein", f"{result['packet_pdf_s']:.2f}")
    table.add_row("sign_off (alles, mit Commit)", f"{result['sign_off_s']:.2f}")
    table.add_row("Verhältnis sign_off / packet_pdf", f"{result['ratio_sign_off_to_render']:.2f}")
    console.print(table)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
