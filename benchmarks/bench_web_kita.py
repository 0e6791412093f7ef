"""Server time and SQL queries of the Kita lead's main pages on the demo database.

Builds the demo (``certflow demo --today 2026-03-10``: about half a minute; or ``--db`` a demo database built
before, which is copied, never changed), gives its users their demo logins and, with FastAPI's TestClient (in
this process: the time is the server's, without a network), requests each page ``--runs`` times as the Kita
lead whose procedure it is: Arche Noah (in its development year: the self-assessment's form, the live score,
the submit page, an upload), Am Schlossgarten (changes requested: the area with its threads) and Am
Mühlenbach (certified: the Qualitätsprofil and the Urkunde, rendered in a worker process; their queries are
the reading only). Printed per page: median and 95th percentile of the time, and the SQL statements one
request runs (a ``before_cursor_execute`` listener on the application's engine; the login check included).

    python benchmarks/bench_web_kita.py [--runs 30] [--db certflow-demo.sqlite] [--json results.json]
"""

from __future__ import annotations

from web_timing import CSRF, demo_session, logged_in, report, timed

from certflow.packet.sample import tiny_pdf
from certflow.services.runner import Application

PREVIEW = {"antwort:1.1": "erfuellt", "antwort:1.1.1": "erfuellt", "antwort:1.2": "nicht_erfuellt",
           "akt:1.5:punkt": "1.5", "akt:1.5:datum": "2026-02-03", "akt:1.5:art": "sprechstunde"}


def _procedures(app: Application) -> dict[str, str]:
    def current(uow):
        by_fz = {}
        for p in uow.procedures.all():
            by_fz[p.familienzentrum_id] = p.id  # ordered by Kindergartenjahr: the newest wins
        return by_fz
    return app.run(current)


def _seal(app: Application, fz_id: str) -> str:
    return app.run(lambda uow: max(uow.certificates.of_familienzentren([fz_id]), key=lambda c: c.issued).number)


def main() -> None:
    with demo_session(__doc__) as (args, console, app, passwords):
        ids = _procedures(app)
        arche, schloss, muehle = ids["fz-arche-noah"], ids["fz-schlossgarten"], ids["fz-muehlenbach"]
        lead = logged_in(app, "leitung-arche-noah", passwords["leitung-arche-noah"])
        token = lead.get("/passwort").text.split(CSRF, 1)[1].split('"', 1)[0]
        htmx = {"HX-Request": "true", "X-CSRF-Token": token}
        changes = logged_in(app, "leitung-schlossgarten", passwords["leitung-schlossgarten"])
        certified = logged_in(app, "leitung-muehlenbach", passwords["leitung-muehlenbach"])
        seal = _seal(app, "fz-muehlenbach")
        upload_files = {"beleg:1.7:datei": ("weiterbildung.pdf", tiny_pdf("Weiterbildung"), "application/pdf")}
        upload_fields = {"beleg:1.7:punkt": "1.7", "beleg:1.7:art": "fortbildung",
                         "beleg:1.7:titel": "Weiterbildung", "beleg:1.7:datum": "2025-11-20",
                         "beleg:1.7:stunden": "32"}

        def get(client, path):
            return lambda: (path, client.get(path))

        def post(client, path, **kwargs):
            return lambda: (f"POST {path}", client.post(path, headers=htmx, **kwargs))

        pages = [
            ("Meine Aufgaben", get(lead, "/aufgaben"), args.runs),
            ("Selbstbewertung: Übersicht", get(lead, f"/selbstbewertung/{arche}"), args.runs),
            ("Bereich 1 (Formular)", get(lead, f"/selbstbewertung/{arche}/bereich/1"), args.runs),
            ("Bereich 4 (Profile)", get(lead, f"/selbstbewertung/{arche}/bereich/4"), args.runs),
            ("Live-Bewertung (htmx)", post(lead, f"/selbstbewertung/{arche}/bereich/1/vorschau", data=PREVIEW),
             args.runs),
            ("Beleg hochladen (htmx)", post(lead, f"/selbstbewertung/{arche}/belege?kriterium=1.7",
                                             data=upload_fields, files=upload_files), 10),
            ("Einreichen (Prüfung)", get(lead, f"/selbstbewertung/{arche}/einreichen"), args.runs),
            ("Nachbesserung: Bereich 1", get(changes, f"/selbstbewertung/{schloss}/bereich/1"), args.runs),
            ("Qualitätsprofil (PDF)", get(certified, f"/aufgaben/qualitaetsprofil/{muehle}"), 5),
            ("Urkunde (PDF)", get(certified, f"/aufgaben/urkunde/{seal}"), 5),
        ]
        rows = [timed(app, request, label, runs) for label, request, runs in pages]
        report(rows, "Kita-Leitung", console, args.json)


if __name__ == "__main__":
    main()
