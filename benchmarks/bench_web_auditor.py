"""Server time and SQL queries of the auditor's main pages on the demo database.

Builds the demo (``certflow demo --today 2026-03-10``: about half a minute; or ``--db`` a demo database built
before, which is copied, never changed), gives its users their demo logins and, with FastAPI's TestClient (in
this process: the time is the server's, without a network), requests each page ``--runs`` times as the auditor
whose procedure it is: ``auditor-2`` for Rheinwiese (visit scheduled: the list, the review before the visit,
an evidence file, a comment posted with htmx; then the visit recorded with verdicts, the review after it and
the sign-off, which renders the packet in a worker process, once each) and ``auditor-1`` for Kunterbunt
(signed off: the read-only review and the packet rendered again for download). Printed per page: median and
95th percentile of the time, and the SQL statements one request runs (a ``before_cursor_execute`` listener on
the application's engine; the login check included).

    python benchmarks/bench_web_auditor.py [--runs 30] [--db certflow-demo.sqlite] [--json results.json]
"""

from __future__ import annotations

import re
import time

from rich.console import Console
from web_timing import DAY, Request, demo_session, logged_in, report, timed

from certflow.services.runner import Application


def _assigned(app: Application, auditor: str, state: str) -> str:
    return app.run(lambda uow: next(p.id for p in uow.procedures.all() if p.auditor_id == auditor
                                    and p.state.value == state))


def main() -> None:
    with demo_session(__doc__) as (args, console, app, passwords):
        scheduled = _assigned(app, "auditor-2", "audit_scheduled")
        signed = _assigned(app, "auditor-1", "audited")
        second = logged_in(app, "auditor-2", passwords["auditor-2"])
        first = logged_in(app, "auditor-1", passwords["auditor-1"])
        review = second.get(f"/begehungen/{scheduled}").text
        token = re.search(r'name="csrf_token" value="([^"]+)"', review).group(1)
        evidence = re.search(rf'href="(/begehungen/{scheduled}/belege/[0-9a-f]{{64}})"', review).group(1)
        htmx = {"HX-Request": "true", "X-CSRF-Token": token}
        verdicts = {f"urteil-{c}": "erfuellt" for c in re.findall(r'name="urteil-([^"]+)"', review)[:12]}

        def get(client, path) -> Request:
            return lambda: (path, client.get(path))

        def post(client, path, data, headers=None) -> Request:
            return lambda: (f"POST {path}", client.post(path, data={**data, "csrf_token": token},
                                                        headers=headers or {}))

        rows = [
            timed(app, get(second, "/begehungen"), "Meine Begehungen", args.runs),
            timed(app, get(second, f"/begehungen/{scheduled}"), "Prüfansicht vor der Begehung", args.runs),
            timed(app, get(second, evidence), "Beleg herunterladen", args.runs),
            timed(app, post(second, f"/begehungen/{scheduled}/kommentare/1.2",
                            {"kommentar": "Bitte die Termine nachreichen."}, htmx),
                  "Rückfrage senden (htmx)", args.runs),
            timed(app, get(first, f"/begehungen/{signed}"), "Prüfansicht abgezeichnet", args.runs),
            timed(app, get(first, f"/begehungen/{signed}/auditpaket.pdf"), "Auditpaket (PDF)", 5),
            timed(app, post(second, f"/begehungen/{scheduled}",
                            {"besuchstag": DAY.isoformat(), "grund": "Begehung vor Ort", **verdicts}),
                  "Begehung mit 12 Bewertungen erfassen", 1, warm=False),
            timed(app, get(second, f"/begehungen/{scheduled}"), "Prüfansicht nach der Begehung", args.runs),
            timed(app, post(second, f"/begehungen/{scheduled}/abzeichnen",
                            {"abzeichnen_grund": "Begehung abgeschlossen"}),
                  "Abzeichnen (Paket wird erzeugt)", 1, warm=False),
        ]
        report(rows, "Auditor", console, args.json)


if __name__ == "__main__":
    started = time.perf_counter()
    main()
    Console().print(f"Gesamt: {time.perf_counter() - started:.1f} s")
