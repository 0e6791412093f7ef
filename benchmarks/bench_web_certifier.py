"""Server time and SQL queries of the certification body's main pages on the demo database.

Builds the demo (``certflow demo --today 2026-03-10``: about half a minute; or ``--db`` a demo database
built before, which is copied, never changed), gives its users their demo logins, logs in as ``zert-1``
with FastAPI's TestClient (in this process: the time is the server's, without a network) and requests each
page ``--runs`` times. Printed per page: median and 95th percentile of the time, and the SQL statements one
request runs (a ``before_cursor_execute`` listener on the application's engine; the login check included).
The Qualitätsprofil's PDF is rendered in a worker process: its queries are the reading only.

    python benchmarks/bench_web_certifier.py [--runs 30] [--db certflow-demo.sqlite] [--json results.json]

The timing, the login and the table are :mod:`web_timing`'s, shared by all web benchmarks.
"""

from __future__ import annotations

from web_timing import run_bench

from certflow.services.runner import Application


def _certifier_pages(app: Application) -> list[tuple[str, str, int | None]]:
    def ids(uow):
        by_fz = {}
        for p in uow.procedures.all():
            by_fz[p.familienzentrum_id] = p.id  # ordered by Kindergartenjahr: the newest wins
        return by_fz, sorted(c.number for c in uow.certificates.all())
    by_fz, numbers = app.run(ids)
    return [
        ("Verfahren (Schreibtisch)", "/zertifizierung", None),
        ("Verfahren: Begehung planen", f"/zertifizierung/verfahren/{by_fz['fz-nordstern']}", None),
        ("Verfahren: entscheiden", f"/zertifizierung/verfahren/{by_fz['fz-kunterbunt']}", None),
        ("Verfahren: entschieden", f"/zertifizierung/verfahren/{by_fz['fz-muehlenbach']}", None),
        ("Qualitätsprofil (PDF)", f"/zertifizierung/verfahren/{by_fz['fz-muehlenbach']}/qualitaetsprofil.pdf", 5),
        ("Urkunde (PDF)", f"/zertifizierung/urkunde/{numbers[0]}.pdf", 5),
    ]


if __name__ == "__main__":
    run_bench(__doc__, "zert-1", _certifier_pages, "Zertifizierungsstelle")
