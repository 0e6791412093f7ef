"""The coordinator's pages: the Jugendamt's dashboard, the list of its Familienzentren, the calendar subscription.

* ``/koordination``: seals by state, seals lapsing in the next 12 months, procedures by state, the
  contingents per Kindergartenjahr (SVG charts with the numbers as tables), and the forms to nominate a
  Familienzentrum, return places and carry returned places over (each with a reason); the audit packets
  of the Jugendamt as one ZIP (``/koordination/pakete.zip``, streamed while the packets are rendered);
* ``/koordination/familienzentren``: the list with filters (htmx swaps the table as they change) and its
  export as XLSX and CSV with the same filters;
* ``/koordination/kalender``: calendar subscriptions (a link with a personal secret, made and ended here);
  ``/kalender/<secret>/jugendamt.ics`` is the feed a calendar program fetches without logging in.

Every route parses its form, runs one use case of :mod:`certflow.services.dashboard` or
:mod:`certflow.services.exports` as the logged-in user and renders; who may see and do what is the
services' matter (anyone but a coordinator is refused there).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from starlette.responses import Response, StreamingResponse

from ...calendar import KindergartenYear
from ...errors import InputError, Problem
from ...lifecycle.entities import CERTIFICATE_STATE_LABELS, PROCEDURE_STATE_LABELS, ProcedureState, User
from ...messages import describe
from ...services import dashboard, exports
from ...services.runner import ErrorKind, UseCaseError
from ..auth import CurrentUser
from ..charts import bar_chart, stacked_bar_chart
from ..errors import status_of
from ..use_cases import application, run

__all__ = ["router"]

router = APIRouter()

PAGE_SIZE = 50
REASON_MAX = 1000
ID_MAX = 64
PLACES_MAX = 999
NO_SEAL = "noch ohne Gütesiegel"
PLACE_SERIES = ("vergeben", "zurückgegeben", "frei")
STATE_CHOICES = [(dashboard.NO_PROCEDURE, "ohne Verfahren"), *((s.value, PROCEDURE_STATE_LABELS[s])
                                                                for s in ProcedureState)]


def _pages(request: Request):
    return request.app.state.pages


def _attachment(filename: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"}


# -- form fields ------------------------------------------------------------------------------------------------


def _reason(text: str, field: str, errors: dict[str, str]) -> str:
    reason = text.strip()
    if not reason:
        errors[field] = "Bitte einen Grund angeben (er steht im Prüfprotokoll)."
    elif len(reason) > REASON_MAX:
        errors[field] = f"Der Grund darf höchstens {REASON_MAX} Zeichen lang sein (jetzt: {len(reason)})."
    return reason


def _kgj(text: str, field: str, errors: dict[str, str]) -> KindergartenYear | None:
    if not text.strip():
        errors[field] = "Bitte ein Kindergartenjahr wählen."
        return None
    try:
        return KindergartenYear.parse(text[:40])
    except ValueError as exc:
        errors[field] = f"{exc}."
        return None


def _places(text: str, field: str, errors: dict[str, str]) -> int:
    text = text.strip()
    if not text.isdigit() or not 1 <= int(text) <= PLACES_MAX:
        errors[field] = f"Bitte eine ganze Zahl von 1 bis {PLACES_MAX} angeben."
        return 0
    return int(text)


# -- the dashboard ----------------------------------------------------------------------------------------------


def _charts(board: dashboard.Dashboard) -> dict[str, Any]:
    seals = [(CERTIFICATE_STATE_LABELS[state] if state else NO_SEAL, count) for state, count in board.seals]
    procedures = [(PROCEDURE_STATE_LABELS[state], count) for state, count in board.procedures]
    places = [(str(c.kgj), (c.nominated, c.returned, c.free)) for c in board.contingents]
    return {
        "seals": seals, "procedures": procedures,
        "seal_chart": bar_chart(seals, title="Familienzentren nach Zustand des Gütesiegels", chart_id="d-siegel"),
        "procedure_chart": bar_chart(procedures, title="Verfahren nach Zustand", chart_id="d-verfahren"),
        "place_chart": stacked_bar_chart(places, series=PLACE_SERIES, chart_id="d-plaetze",
                                         title="Plätze je Kindergartenjahr: vergeben, zurückgegeben, frei"),
    }


def _choices(board: dashboard.Dashboard) -> dict[str, list[tuple[str, str]]]:
    """The Kindergartenjahre each form offers, as (value, text)."""
    def pairs(years):
        return [(str(year), str(year)) for year in years]
    return {"nom": pairs(board.nomination_years), "rueck": pairs(board.returnable_years),
            "ueb": pairs(board.carryable_years)}


def _dashboard_page(request: Request, user: User, *, status: int = 200, notice: str | None = None,
                    errors: dict[str, str] | None = None, values: Mapping[str, str] | None = None) -> Response:
    board = run(request, lambda uow: dashboard.dashboard(uow, user.id))
    return _pages(request).render(
        request, "coordinator/dashboard.html", status=status, user=user, title=f"Übersicht {board.jugendamt}",
        board=board, charts=_charts(board), choices=_choices(board), notice=notice, errors=errors or {},
        values=values or {}, state_labels=PROCEDURE_STATE_LABELS, seal_labels=CERTIFICATE_STATE_LABELS,
        reason_max=REASON_MAX)


@router.get("/koordination")
def dashboard_page(request: Request, user: CurrentUser) -> Response:
    return _dashboard_page(request, user)


def _act(request: Request, user: User, form: str, action: Callable[[Any], Any], values: Mapping[str, str],
         errors: dict[str, str]) -> Response:
    """Run a dashboard action (unless its fields are bad: 422); its refusal is told at its form."""
    if errors:
        return _dashboard_page(request, user, status=422, errors=errors, values=values)
    try:
        result = run(request, action)
    except UseCaseError as exc:
        if exc.kind is ErrorKind.DATABASE:
            raise
        text = "; ".join(p.message for p in exc.problems) if exc.kind is ErrorKind.INPUT and exc.problems \
            else exc.message
        return _dashboard_page(request, user, status=status_of(exc), errors={f"{form}-form": f"{text}."},
                               values=values)
    return _dashboard_page(request, user, notice=describe(result))


@router.post("/koordination/nominieren")
def nominate(request: Request, user: CurrentUser, familienzentrum: str = Form(""), kgj: str = Form(""),
             grund: str = Form("")) -> Response:
    errors: dict[str, str] = {}
    fz_id = familienzentrum.strip()
    if not fz_id:
        errors["nom-fz"] = "Bitte ein Familienzentrum wählen."
    elif len(fz_id) > ID_MAX:
        errors["nom-fz"] = f"Die Kennung darf höchstens {ID_MAX} Zeichen lang sein."
    year = _kgj(kgj, "nom-kgj", errors)
    reason = _reason(grund, "nom-grund", errors)
    values = {"form": "nom", "familienzentrum": fz_id[:ID_MAX], "kgj": kgj[:40], "grund": grund[:REASON_MAX]}
    return _act(request, user, "nom",
                lambda uow: dashboard.nominate_in_jugendamt(uow, user.id, fz_id, year, reason), values, errors)


@router.post("/koordination/zurueckgeben")
def return_places(request: Request, user: CurrentUser, kgj: str = Form(""), plaetze: str = Form(""),
                  grund: str = Form("")) -> Response:
    errors: dict[str, str] = {}
    year = _kgj(kgj, "rueck-kgj", errors)
    places = _places(plaetze, "rueck-plaetze", errors)
    reason = _reason(grund, "rueck-grund", errors)
    values = {"form": "rueck", "kgj": kgj[:40], "plaetze": plaetze[:10], "grund": grund[:REASON_MAX]}
    return _act(request, user, "rueck",
                lambda uow: dashboard.return_places_of_jugendamt(uow, user.id, year, places, reason), values, errors)


@router.post("/koordination/uebertragen")
def carry_over(request: Request, user: CurrentUser, kgj: str = Form(""), grund: str = Form("")) -> Response:
    errors: dict[str, str] = {}
    year = _kgj(kgj, "ueb-kgj", errors)
    reason = _reason(grund, "ueb-grund", errors)
    values = {"form": "ueb", "kgj": kgj[:40], "grund": grund[:REASON_MAX]}
    return _act(request, user, "ueb", lambda uow: dashboard.carry_over_of_jugendamt(uow, user.id, year, reason),
                values, errors)


@router.get("/koordination/pakete.zip")
def packets_zip(request: Request, user: CurrentUser) -> Response:
    archive = exports.packet_archive(application(request), user.id)
    return StreamingResponse(archive.chunks(), media_type="application/zip", headers=_attachment(archive.filename))


# -- the list of Familienzentren --------------------------------------------------------------------------------


def _filters(request: Request) -> tuple[dashboard.FamilienzentrumFilter | None, dict[str, str]]:
    values = {name: request.query_params.get(name, "") for name in dashboard.FILTER_FIELDS}
    try:
        return dashboard.FamilienzentrumFilter.parse(values), {}
    except InputError as exc:
        return None, {str(p.path[0]): p.message for p in exc.problems}


def _page_number(text: str, errors: dict[str, str]) -> int:
    if not text:
        return 1
    if not text.isdigit() or not 1 <= int(text) <= 100_000:
        errors["seite"] = "Die Seite muss eine ganze Zahl ab 1 sein."
        return 1
    return int(text)


@router.get("/koordination/familienzentren")
def familienzentren_page(request: Request, user: CurrentUser, seite: str = "") -> Response:
    filters, errors = _filters(request)
    page = _page_number(seite[:10], errors)
    listing = run(request, lambda uow: dashboard.familienzentren(
        uow, user.id, filters if not errors else None, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE))
    raw = {name: request.query_params.get(name, "")[:200] for name in dashboard.FILTER_FIELDS}
    query = urlencode(filters.query()) if filters is not None and not errors else ""
    pages = max(1, -(-listing.total // PAGE_SIZE))
    name = "coordinator/_familienzentren.html" if request.headers.get("HX-Request") \
        else "coordinator/familienzentren.html"
    return _pages(request).render(
        request, name, status=422 if errors else 200, user=user, title=f"Familienzentren: {listing.jugendamt}",
        listing=listing, errors=errors, raw=raw, query=query, page=page, pages=pages, states=STATE_CHOICES,
        state_labels=PROCEDURE_STATE_LABELS, seal_labels=CERTIFICATE_STATE_LABELS)


def _bad_filters(errors: Mapping[str, str]) -> UseCaseError:
    return UseCaseError(ErrorKind.INPUT, "Die Filter sind fehlerhaft",
                        [Problem("Filter", None, (name,), message) for name, message in errors.items()], "Filter")


def _export(request: Request, user: User, fmt: str) -> Response:
    filters, errors = _filters(request)
    if errors:
        raise _bad_filters(errors)
    export = run(request, lambda uow: exports.export_familienzentren(uow, user.id, filters, fmt))
    return Response(export.body, media_type=export.media_type, headers=_attachment(export.filename))


@router.get("/koordination/familienzentren.xlsx")
def familienzentren_xlsx(request: Request, user: CurrentUser) -> Response:
    return _export(request, user, "xlsx")


@router.get("/koordination/familienzentren.csv")
def familienzentren_csv(request: Request, user: CurrentUser) -> Response:
    return _export(request, user, "csv")


# -- the calendar subscription ----------------------------------------------------------------------------------


def _feed_url(request: Request, secret: str) -> str:
    base = (request.app.state.config.base_url or str(request.base_url)).rstrip("/")
    return f"{base}/kalender/{secret}/jugendamt.ics"


def _calendar_page(request: Request, user: User, *, status: int = 200, notice: str | None = None,
                   url: str | None = None, errors: dict[str, str] | None = None, label: str = "") -> Response:
    subscriptions = run(request, lambda uow: exports.calendar_subscriptions(uow, user.id))
    return _pages(request).render(request, "coordinator/calendar.html", status=status, user=user,
                                  title="Kalender-Abo", subscriptions=subscriptions, notice=notice, url=url,
                                  errors=errors or {}, label=label)


@router.get("/koordination/kalender")
def calendar_page(request: Request, user: CurrentUser) -> Response:
    return _calendar_page(request, user)


@router.post("/koordination/kalender")
def calendar_subscribe(request: Request, user: CurrentUser, bezeichnung: str = Form("")) -> Response:
    label = bezeichnung.strip()
    if not label:
        return _calendar_page(request, user, status=422, label=label,
                              errors={"bezeichnung": "Bitte eine Bezeichnung angeben, z. B. „Outlook im Büro“."})
    if len(label) > 100:
        return _calendar_page(request, user, status=422, label=label[:100],
                              errors={"bezeichnung": f"Die Bezeichnung darf höchstens 100 Zeichen lang sein "
                                                     f"(jetzt: {len(label)})."})
    result = run(request, lambda uow: exports.create_calendar_subscription(uow, user.id, label))
    return _calendar_page(request, user, notice=describe(result), url=_feed_url(request, result.facts["secret"]))


@router.post("/koordination/kalender/{token_id}/beenden")
def calendar_unsubscribe(request: Request, user: CurrentUser, token_id: int) -> Response:
    try:
        result = run(request, lambda uow: exports.revoke_calendar_subscription(uow, user.id, token_id))
    except UseCaseError as exc:
        if exc.kind is not ErrorKind.REFUSED:
            raise
        return _calendar_page(request, user, status=403, errors={"abos": f"{exc.message}."})
    return _calendar_page(request, user, notice=describe(result))


@router.get("/kalender/{secret}/jugendamt.ics")
def calendar_feed(request: Request, secret: str) -> Response:
    feed = run(request, lambda uow: exports.jugendamt_calendar(uow, secret[:200]), conceal=True)
    return Response(feed.body, media_type="text/calendar; charset=utf-8",
                    headers={"Content-Disposition": 'inline; filename="jugendamt.ics"', "Cache-Control": "no-store"})
