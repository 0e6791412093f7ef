"""The nomination report and the statistics as XLSX workbooks (openpyxl): one sheet per table, a header row in
bold, dates as dates, text that a spreadsheet would run as a formula escaped
(:func:`certflow.services.exports.spreadsheet_text`)."""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.worksheet.worksheet import Worksheet

from ..lifecycle.machinery import local_date
from ..services.exports import spreadsheet_text
from ..services.reports import NominationReport, Statistics

__all__ = ["nomination_xlsx", "statistics_xlsx"]

_FORMS = {"einzel": "Einzeleinrichtung", "verbund": "Verbund"}


def _cell(value: Any) -> Any:
    if isinstance(value, datetime):
        return local_date(value)
    return spreadsheet_text(value) if isinstance(value, str) else value


def _sheet(sheet: Worksheet, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    sheet.append(list(header))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append([_cell(v) for v in row])
    for column, title in zip(sheet.columns, header, strict=False):
        width = max([len(str(title)), *(len(str(c.value)) for c in column if c.value is not None)])
        sheet.column_dimensions[column[0].column_letter].width = min(60, width + 2)
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            if isinstance(cell.value, date):
                cell.number_format = "DD.MM.YYYY"


def _bytes(book: Workbook) -> bytes:
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def nomination_xlsx(report: NominationReport) -> bytes:
    book = Workbook()
    summary = book.active
    summary.title = "Meldung"
    _sheet(summary, ("Angabe", "Wert"), [
        ("Jugendamt", report.jugendamt), ("Kindergartenjahr", str(report.kgj)), ("Meldefrist", report.due),
        ("Stand", report.made_on), ("Plätze gewährt", report.granted),
        ("aus dem Vorjahr übertragen", report.carried_in),
        ("nominiert", report.nominated), ("zurückgegeben", report.returned),
        ("ins nächste Jahr übertragen", report.carried_out), ("frei", report.free),
        ("nach der Frist nominiert", len(report.late))])
    _sheet(book.create_sheet("Nominierungen"),
           ("Verfahren", "Kennung", "Familienzentrum", "Form", "Kitas", "Ort", "nominiert am", "fristgerecht",
            "Begründung", "Zustand heute"),
           [(line.nominated.procedure_id, line.nominated.familienzentrum_id, line.nominated.name,
             _FORMS.get(line.nominated.form.value, line.nominated.form.value), line.nominated.kitas,
             line.nominated.towns, line.nominated.nominated_at, "ja" if line.on_time else "nein",
             line.nominated.reason, line.state_label) for line in report.lines])
    _sheet(book.create_sheet("Bewegungen"), ("Datum", "Vorgang", "Plätze", "Begründung"),
           [(m.on, m.what, m.places, m.reason) for m in report.movements])
    return _bytes(book)


def statistics_xlsx(stats: Statistics) -> bytes:
    book = Workbook()
    towns = book.active
    towns.title = "Abdeckung"
    _sheet(towns, ("Ort", "Kitas", "Kitas in Familienzentren", "Anteil", "Familienzentren"),
           [(t.town, t.kitas, t.kitas_in_familienzentren, round(t.kitas_in_familienzentren / t.kitas, 4)
             if t.kitas else 0, t.familienzentren) for t in stats.towns])
    _sheet(book.create_sheet("Auslaufende Gütesiegel"), ("Jahr", "Gütesiegel"), stats.lapsing)
    _sheet(book.create_sheet("Ergebnisse je Bereich"),
           ("Bereich", "Titel", "Selbstbewertungen", "nicht erfüllt", "Anteil nicht erfüllt"),
           [(a.area_id, a.title, a.scored, a.not_met, round(a.share, 4)) for a in stats.shortfalls])
    return _bytes(book)
