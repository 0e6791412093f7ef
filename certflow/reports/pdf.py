"""The nomination report as a PDF: ``templates/report/nomination.html`` laid out by WeasyPrint through the packet's
renderer (:func:`certflow.packet.render.html_to_pdf`: fonts loaded once, reproducible bytes for a given day)."""

from __future__ import annotations

from ..packet.render import environment, html_to_pdf
from ..services.reports import NominationReport

__all__ = ["nomination_html", "nomination_pdf"]


def nomination_html(report: NominationReport) -> str:
    return environment(None).get_template("report/nomination.html").render(report=report)


def nomination_pdf(report: NominationReport) -> bytes:
    """The PDF of ``report``; the same report gives the same bytes."""
    pdf, _pages = html_to_pdf(nomination_html(report), day=report.made_on,
                              identifier=f"meldung-{report.jugendamt_id}-{report.kgj.start_year}")
    return pdf
