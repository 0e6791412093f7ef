"""The score chart: per area (and chosen profile) a bar of points and a bar of Basis criteria against the minimum.

Plain HTML built in code, deterministic (no ids from counters or clocks, fixed number formatting),
embedded in the packet's HTML; packet.css lays it out (``.score-chart``). Text is HTML text and each
bar is one box painted by two gradient layers (the mark of the minimum over the filled share): WeasyPrint
lays that out far faster than SVG ``<text>``. The colours are arguments, so a template can brand the
chart: ``{{ score_chart(report, met="#2e7d32", unmet="#c62828") }}``.
"""

from __future__ import annotations

from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

from ..scoring.report import Report, Tally

__all__ = ["ChartRow", "chart_rows", "score_chart"]

MARK_W = 0.9  # width of the minimum's mark, in percent of the bar


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
    return f"{x:.2f}".rstrip("0").rstrip(".")


def _short(text: str, limit: int = 42) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _bar(value: int, total: int, minimum: int, caption: str, fill: str, track: str, mark: str) -> str:
    share = 100 * value / total if total else 0.0
    layers = []
    if total:
        at = min(max(100 * minimum / total, MARK_W / 2), 100 - MARK_W / 2)
        a, b = _num(at - MARK_W / 2), _num(at + MARK_W / 2)
        layers.append(f"linear-gradient(to right, transparent {a}%, {mark} {a}%, {mark} {b}%, transparent {b}%)")
    layers.append(f"linear-gradient(to right, {fill} {_num(share)}%, {track} {_num(share)}%)")
    style = quoteattr("background-image: " + ", ".join(layers))
    return (f'<div class="sc-bar"><span class="sc-track" style={style}></span>'
            f'{escape(caption)} {value}/{total} (min. {minimum})</div>')


def score_chart(report: Report, met: str = "#3b7d4f", unmet: str = "#b23b3b", track: str = "#e6e6e6",
                mark: str = "#1a1a1a", text: str = "#1a1a1a", font: str = "DejaVu Sans, sans-serif") -> str:
    """The chart as an HTML ``<div>`` (a string); bars in ``met``/``unmet``, the minimum as a ``mark`` line."""
    def key(colour: str, first: bool = False) -> str:
        return f'<span class="sc-key{" first" if first else ""}" style={quoteattr("background: " + colour)}></span>'

    mark_key = f"linear-gradient(to right, transparent 40%, {mark} 40%, {mark} 60%, transparent 60%)"
    parts = [
        (f'<div class="score-chart" role="img" style={quoteattr(f"color: {text}; font-family: {font}")} '
         f'aria-label="Punkte und Basiskriterien je Bereich gegen die Mindestanforderung">'),
        (f'<div class="sc-legend">{key(met, first=True)}erreicht{key(unmet)}nicht erreicht'
         f'<span class="sc-key" style={quoteattr("background-image: " + mark_key)}></span>Mindestanforderung</div>'),
    ]
    for row in chart_rows(report):
        t = row.tally
        label = escape(_short(row.label, 42 if not row.profile else 40))
        label = label if row.profile else f"<strong>{label}</strong>"
        parts.append(f'<div class="sc-row"><div class="sc-label{" profile" if row.profile else ""}">{label}<br/>'
                     f'{"erfüllt" if row.met else "nicht erfüllt"}</div>')
        parts.append(_bar(t.points, t.max_points, t.min_points, "Punkte",
                          met if t.points >= t.min_points else unmet, track, mark))
        parts.append(_bar(t.basis_met, t.basis_total, t.min_basis, "Basis",
                          met if t.basis_met >= t.min_basis else unmet, track, mark) + "</div>")
    parts.append("</div>")
    return "\n".join(parts)
