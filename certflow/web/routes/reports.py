"""The reports: the nomination report to the Land and the statistics, for coordinators (their Jugendamt), the
certification body and the administration (any Jugendamt; the statistics also for the whole Land).

* ``/berichte/meldung?jugendamt=&kgj=``: the report of one Kindergartenjahr as a page, with its PDF
  (``/berichte/meldung.pdf``) and XLSX (``/berichte/meldung.xlsx``) for the same choice;
* ``/berichte/statistik?jugendamt=``: coverage per town, seals lapsing per year, results per area, each a chart
  with its numbers as a table; ``/berichte/statistik.xlsx`` the same as a workbook.

Every route parses its query, runs one use case of :mod:`certflow.services.reports` as the logged-in user and
renders; who may see which Jugendamt is the service's matter.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from ...calendar import KindergartenYear
from ...reports import nomination_pdf, nomination_xlsx, statistics_xlsx
from ...services import reports
from ..auth import CurrentUser
from ..charts import bar_chart
from ..use_cases import run

__all__ = ["router"]

router = APIRouter()

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _pages(request: Request):
    return request.app.state.pages


def _kgj(text: str) -> KindergartenYear | None:
    try:
        return KindergartenYear.parse(text[:20]) if text else None
    except ValueError:
        return None


def _attachment(filename: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"}


def _report(request: Request, user, jugendamt: str, kgj: str):
    choices = run(request, lambda uow: reports.report_choices(uow, user.id, jugendamt_id=jugendamt[:64] or None))
    year = _kgj(kgj) or (choices.years[0] if choices.years else None)
    if choices.jugendamt_id is None or year is None:
        return choices, None
    report = run(request, lambda uow: reports.nomination_report(uow, user.id, year, jugendamt_id=choices.jugendamt_id))
    return choices, report


@router.get("/berichte/meldung")
def nomination_page(request: Request, user: CurrentUser, jugendamt: str = "", kgj: str = "") -> Response:
    choices, report = _report(request, user, jugendamt, kgj)
    return _pages(request).render(request, "reports/nomination.html", user=user, title="Meldung an das Land",
                                  choices=choices, report=report)


def _nomination_file(request: Request, user, jugendamt: str, kgj: str, fmt: str) -> Response:
    _choices, report = _report(request, user, jugendamt, kgj)
    if report is None:
        return nomination_page(request, user, jugendamt, kgj)
    render, media_type = {"pdf": (nomination_pdf, "application/pdf"), "xlsx": (nomination_xlsx, XLSX)}[fmt]
    name = f"meldung-{report.jugendamt_id}-{report.kgj.start_year}.{fmt}"
    return Response(render(report), media_type=media_type, headers=_attachment(name))


@router.get("/berichte/meldung.pdf")
def nomination_as_pdf(request: Request, user: CurrentUser, jugendamt: str = "", kgj: str = "") -> Response:
    return _nomination_file(request, user, jugendamt, kgj, "pdf")


@router.get("/berichte/meldung.xlsx")
def nomination_as_xlsx(request: Request, user: CurrentUser, jugendamt: str = "", kgj: str = "") -> Response:
    return _nomination_file(request, user, jugendamt, kgj, "xlsx")


def _statistics(request: Request, user, jugendamt: str):
    choices = run(request, lambda uow: reports.report_choices(uow, user.id, jugendamt_id=jugendamt[:64] or None))
    stats = run(request, lambda uow: reports.statistics(uow, user.id, jugendamt_id=choices.jugendamt_id))
    return choices, stats


@router.get("/berichte/statistik")
def statistics_page(request: Request, user: CurrentUser, jugendamt: str = "") -> Response:
    choices, stats = _statistics(request, user, jugendamt)
    charts = {
        "abdeckung": bar_chart([(t.town, t.kitas_in_familienzentren) for t in stats.towns],
                               title="Kitas in Familienzentren mit gültigem Gütesiegel, je Ort", chart_id="abdeckung"),
        "auslaufend": bar_chart([(str(year), count) for year, count in stats.lapsing],
                                title="Gütesiegel nach dem Jahr, in dem sie auslaufen", chart_id="auslaufend"),
        "bereiche": bar_chart([(f"Bereich {a.area_id}", a.not_met) for a in stats.shortfalls],  # titles: the table
                              title="Bereiche nicht erfüllt, Zahl der Selbstbewertungen", chart_id="bereiche"),
    }
    return _pages(request).render(request, "reports/statistics.html", user=user, title=f"Statistik: {stats.scope}",
                                  choices=choices, stats=stats, charts=charts)


@router.get("/berichte/statistik.xlsx")
def statistics_as_xlsx(request: Request, user: CurrentUser, jugendamt: str = "") -> Response:
    _choices, stats = _statistics(request, user, jugendamt)
    name = f"statistik-{stats.jugendamt_id or 'nrw'}-{stats.day.isoformat()}.xlsx"
    return Response(statistics_xlsx(stats), media_type=XLSX, headers=_attachment(name))
