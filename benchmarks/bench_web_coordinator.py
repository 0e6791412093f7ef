"""Server time and SQL queries of the coordinator's main pages on the demo database.

As ``bench_web_certifier.py`` (helpers in ``web_timing.py``): the demo (built, or ``--db`` copied), logged in as
``koord-hellbach``, each page requested ``--runs`` times; printed per page: median and 95th percentile of the
time and the SQL statements of one request (the login check included). The calendar feed is fetched with a
subscription made for the run (no session: its queries include the token check). The packets' ZIP renders
the Jugendamt's five audit packets in worker processes each time, so it runs only a few times; its queries
are the parent's reading (each worker reads its packet itself).

    python benchmarks/bench_web_coordinator.py [--runs 30] [--db certflow-demo.sqlite] [--json results.json]
"""

from __future__ import annotations

from web_timing import run_bench

from certflow.services import exports
from certflow.services.runner import Application

COORDINATOR = "koord-hellbach"


def _coordinator_pages(app: Application) -> list[tuple[str, str, int | None]]:
    made = app.run(lambda uow: exports.create_calendar_subscription(uow, COORDINATOR, "Benchmark"))
    return [
        ("Übersicht des Jugendamts", "/koordination", None),
        ("Familienzentren", "/koordination/familienzentren", None),
        ("Familienzentren, gefiltert", "/koordination/familienzentren?ort=Hellbach&form=einzel&siegel_vor=2028-01-01",
         None),
        ("Export XLSX", "/koordination/familienzentren.xlsx", None),
        ("Export CSV", "/koordination/familienzentren.csv", None),
        ("Kalender-Abo", "/koordination/kalender", None),
        ("Kalender-Feed (iCal)", f"/kalender/{made.facts['secret']}/jugendamt.ics", None),
        ("Auditpakete als ZIP (5 PDF)", "/koordination/pakete.zip", 3),
    ]


if __name__ == "__main__":
    run_bench(__doc__, COORDINATOR, _coordinator_pages, "Koordination im Jugendamt")
