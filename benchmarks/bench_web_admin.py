"""Server time and SQL queries of the administration's main pages on the demo database.

As ``bench_web_certifier.py`` (helpers in ``web_timing.py``): the demo (built, or ``--db`` copied), logged in as
``admin``, each page requested ``--runs`` times; printed per page: median and 95th percentile of the time
and the SQL statements of one request.

    python benchmarks/bench_web_admin.py [--runs 30] [--db certflow-demo.sqlite] [--json results.json]
"""

from __future__ import annotations

from web_timing import run_bench

from certflow.services.runner import Application


def _admin_pages(app: Application) -> list[tuple[str, str, int | None]]:
    return [
        ("Benutzer und Rollen", "/verwaltung/benutzer", None),
        ("Ein Benutzer", "/verwaltung/benutzer/leitung-senfkorn", None),
        ("Jugendämter und Träger", "/verwaltung/stammdaten", None),
        ("Kitas", "/verwaltung/kitas", None),
    ]


if __name__ == "__main__":
    run_bench(__doc__, "admin", _admin_pages, "Verwaltung")
