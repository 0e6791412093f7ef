"""The start page of each role, and the history of one procedure.

Each role's start page is the same service, :func:`certflow.services.overview`, seen in that
role's scope: the Kita lead's "Meine Aufgaben" (their Familienzentrum's procedure, its state
and next deadline), the coordinator's Familienzentren of their Jugendamt, the auditor's
assigned procedures, and the certification body's and administration's overview of all, with
a chart of the states. ``/start/uebersicht`` returns the table alone (htmx filter by state).
"""

from __future__ import annotations

from collections import Counter

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from ... import services
from ...lifecycle.entities import PROCEDURE_STATE_LABELS, ProcedureState, Role, User
from ...lifecycle.machinery import local_date
from ..auth import CurrentUser
from ..charts import bar_chart
from ..use_cases import application, run

__all__ = ["router"]

router = APIRouter()

HEADINGS = {
    Role.KITA_LEAD: ("Meine Aufgaben", "Ihr Familienzentrum: Stand des Verfahrens und die nächste Frist."),
    Role.COORDINATOR: ("Familienzentren im Jugendamt",
                       "Alle Familienzentren Ihres Jugendamts mit Verfahren, Fristen und Gütesiegeln."),
    Role.AUDITOR: ("Meine Verfahren", "Die Verfahren, die Ihnen zur Begehung zugewiesen sind."),
    Role.CERTIFIER: ("Übersicht der Zertifizierungsstelle", "Alle Familienzentren, ihre Verfahren und Gütesiegel."),
    Role.ADMIN: ("Übersicht", "Alle Familienzentren, ihre Verfahren und Gütesiegel."),
}
STATE_CHOICES = [(s.value, PROCEDURE_STATE_LABELS[s]) for s in ProcedureState]


def _rows(request: Request, user: User, state: str):
    rows = run(request, lambda uow: services.overview(uow, user.id))
    shown = [r for r in rows if not state or (r.state is not None and r.state.value == state)]
    return rows, shown


@router.get("/")
def root() -> Response:
    return RedirectResponse("/start", status_code=303)


@router.get("/start")
def start(request: Request, user: CurrentUser, zustand: str = "") -> Response:
    rows, shown = _rows(request, user, zustand)
    heading, lead = HEADINGS[user.role]
    counts = Counter(r.state_label for r in rows if r.state is not None)
    chart_rows = [(PROCEDURE_STATE_LABELS[s], counts[PROCEDURE_STATE_LABELS[s]]) for s in ProcedureState
                  if counts.get(PROCEDURE_STATE_LABELS[s])]
    chart = bar_chart(chart_rows, title="Verfahren nach Zustand") if user.role is not Role.KITA_LEAD else ""
    return request.app.state.pages.render(
        request, "home.html", user=user, title=heading, heading=heading, lead=lead, rows=shown, total=len(rows),
        chart=chart, chart_rows=chart_rows, states=STATE_CHOICES, zustand=zustand,
        today=local_date(application(request).now()))


@router.get("/start/uebersicht")
def start_table(request: Request, user: CurrentUser, zustand: str = "") -> Response:
    _, shown = _rows(request, user, zustand)
    return request.app.state.pages.render(request, "_overview.html", user=user, rows=shown,
                                          today=local_date(application(request).now()))


@router.get("/verfahren/{procedure_id}")
def procedure_history(request: Request, procedure_id: str, user: CurrentUser) -> Response:
    rows = run(request, lambda uow: services.history(uow, user.id, procedure_id), conceal=True)
    return request.app.state.pages.render(request, "procedure.html", user=user, title=f"Verfahren {procedure_id}",
                                          procedure_id=procedure_id, rows=rows)
