"""The start page of each role, and the history of one procedure.

Each role's start page is the same service, :func:`certflow.services.queries.overview_page`, seen in
that role's scope: the Kita lead's "Meine Aufgaben" (their Familienzentrum's procedure, its state
and next deadline), the coordinator's Familienzentren of their Jugendamt, the auditor's
assigned procedures, and the certification body's and administration's overview of all, with
a chart of the states. The list is filtered by state (``?zustand=``) and shown a page at a time
(``?seite=``, :data:`~certflow.services.queries.OVERVIEW_PAGE_SIZE` per page), both by the service;
``/start/uebersicht`` returns the table alone (htmx filter by state).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from ... import services
from ...services import queries
from ...lifecycle.entities import PROCEDURE_STATE_LABELS, ProcedureState, Role, User
from ...lifecycle.machinery import local_date
from ..auth import CurrentUser
from ..charts import bar_chart
from ..pages import page_number
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


def _overview(request: Request, user: User, state: str, page: str):
    """The page of the overview the query asks for (the state filter and the paging are the service's)."""
    number = page_number(page)
    return run(request, lambda uow: queries.overview_page(uow, user.id, state=state[:40], page=number))


@router.get("/")
def root() -> Response:
    return RedirectResponse("/start", status_code=303)


@router.get("/start")
def start(request: Request, user: CurrentUser, zustand: str = "", seite: str = "") -> Response:
    view = _overview(request, user, zustand, seite)
    heading, lead = HEADINGS[user.role]
    chart_rows = [(PROCEDURE_STATE_LABELS[state], count) for state, count in view.by_state]
    chart = bar_chart(chart_rows, title="Verfahren nach Zustand") if user.role is not Role.KITA_LEAD else ""
    return request.app.state.pages.render(
        request, "home.html", user=user, title=heading, heading=heading, lead=lead, view=view, rows=view.rows,
        total=view.total, chart=chart, chart_rows=chart_rows, states=STATE_CHOICES, zustand=_value(view),
        today=local_date(application(request).now()))


@router.get("/start/uebersicht")
def start_table(request: Request, user: CurrentUser, zustand: str = "", seite: str = "") -> Response:
    view = _overview(request, user, zustand, seite)
    return request.app.state.pages.render(request, "_overview.html", user=user, view=view, rows=view.rows,
                                          zustand=_value(view), today=local_date(application(request).now()))


def _value(view) -> str:
    return view.state.value if view.state is not None else ""


@router.get("/verfahren/{procedure_id}")
def procedure_history(request: Request, procedure_id: str, user: CurrentUser) -> Response:
    rows = run(request, lambda uow: services.history(uow, user.id, procedure_id), conceal=True)
    return request.app.state.pages.render(request, "procedure.html", user=user, title=f"Verfahren {procedure_id}",
                                          procedure_id=procedure_id, rows=rows)
