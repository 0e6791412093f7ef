"""The score chart: per area (and chosen profile) a bar of points and a bar of Basis criteria against the minimum.

Plain SVG text built in code, deterministic (no ids from counters or clocks, fixed number
formatting), embedded inline in the packet's HTML. The colours are arguments, so a template
can brand the chart: ``{{ score_chart(report, met="#2e7d32", unmet="#c62828") }}``.
"""

from __future__ import annotations

from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

from ..scoring.report import Report, Tally

__all__ = ["ChartRow", "chart_rows", "score_chart"]

WIDTH = 640
LABEL_W = 250
VALUE_W = 116
BAR_X = LABEL_W + 6
BAR_W = WIDTH - BAR_X - VALUE_W
BAR_H = 11
ROW_H = 40


@dataclass(frozen=True, slots=True)
class ChartRow:
    label: str
    tally: Tally
    met: bool
    profile: bool = False


def chart_rows(report: Report) -> list[ChartRow]:
    """The rows shown: every area, then under it each chosen profile."""
    rows = []
    for area in report.areas:
        rows.append(ChartRow(f"{area.id} {area.title}", area.tally, area.met))
        for p in area.profiles:
            if p.chosen:
                rows.append(ChartRow(f"Profil {p.id} {p.title}", p.tally, p.met, profile=True))
    return rows


def _num(x: float) -> str:
    return f"{x:.1f}".rstrip("0").rstrip(".")


def _short(text: str, limit: int = 42) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _bar(y: float, value: int, total: int, minimum: int, caption: str, fill: str, track: str, mark: str) -> list[str]:
    scale = BAR_W / total if total else 0.0
    out = [
        f'<rect x="{BAR_X}" y="{_num(y)}" width="{BAR_W}" height="{BAR_H}" fill={quoteattr(track)}/>',
        f'<rect x="{BAR_X}" y="{_num(y)}" width="{_num(value * scale)}" height="{BAR_H}" fill={quoteattr(fill)}/>',
    ]
    if total:
        mx = BAR_X + minimum * scale
        out.append(f'<line x1="{_num(mx)}" y1="{_num(y - 3)}" x2="{_num(mx)}" y2="{_num(y + BAR_H + 3)}" '
                   f'stroke={quoteattr(mark)} stroke-width="2"/>')
    out.append(f'<text x="{BAR_X + BAR_W + 8}" y="{_num(y + BAR_H - 1.5)}" font-size="10">'
               f'{escape(caption)} {value}/{total} (min. {minimum})</text>')
    return out


def score_chart(report: Report, met: str = "#3b7d4f", unmet: str = "#b23b3b", track: str = "#e6e6e6",
                mark: str = "#1a1a1a", text: str = "#1a1a1a", font: str = "DejaVu Sans, sans-serif") -> str:
    """The chart as an ``<svg>`` element (a string); bars in ``met``/``unmet``, minimum as a ``mark`` line."""
    rows = chart_rows(report)
    legend_h = 26
    height = legend_h + ROW_H * len(rows) + 4
    parts = [
        (f'<svg xmlns="http://www.w3.org/2000/svg" class="score-chart" width="{WIDTH}" height="{height}" '
         f'viewBox="0 0 {WIDTH} {height}" font-family={quoteattr(font)} fill={quoteattr(text)} role="img" '
         f'aria-label="Punkte und Basiskriterien je Bereich gegen die Mindestanforderung">'),
        f'<rect x="{BAR_X}" y="6" width="12" height="{BAR_H}" fill={quoteattr(met)}/>',
        f'<text x="{BAR_X + 16}" y="{6 + BAR_H - 1.5}" font-size="10">erreicht</text>',
        f'<rect x="{BAR_X + 80}" y="6" width="12" height="{BAR_H}" fill={quoteattr(unmet)}/>',
        f'<text x="{BAR_X + 96}" y="{6 + BAR_H - 1.5}" font-size="10">nicht erreicht</text>',
        (f'<line x1="{BAR_X + 190}" y1="4" x2="{BAR_X + 190}" y2="{6 + BAR_H + 2}" stroke={quoteattr(mark)} '
         f'stroke-width="2"/>'),
        f'<text x="{BAR_X + 196}" y="{6 + BAR_H - 1.5}" font-size="10">Mindestanforderung</text>',
    ]
    for i, row in enumerate(rows):
        y = legend_h + i * ROW_H
        t = row.tally
        weight = "normal" if row.profile else "bold"
        indent = 12 if row.profile else 0
        parts.append(f'<text x="{indent}" y="{y + 14}" font-size="10" font-weight="{weight}">'
                     f'{escape(_short(row.label, 42 - indent // 5))}</text>')
        parts.append(f'<text x="{indent}" y="{y + 27}" font-size="9">{"erfüllt" if row.met else "nicht erfüllt"}'
                     f'</text>')
        points_fill = met if t.points >= t.min_points else unmet
        basis_fill = met if t.basis_met >= t.min_basis else unmet
        parts += _bar(y + 4, t.points, t.max_points, t.min_points, "Punkte", points_fill, track, mark)
        parts += _bar(y + 4 + BAR_H + 5, t.basis_met, t.basis_total, t.min_basis, "Basis", basis_fill, track, mark)
        if i:
            parts.append(f'<line x1="0" y1="{y - 3}" x2="{WIDTH}" y2="{y - 3}" stroke={quoteattr(track)} '
                         f'stroke-width="0.6"/>')
    parts.append("</svg>")
    return "\n".join(parts)
