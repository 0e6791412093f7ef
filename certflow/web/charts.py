"""Plain SVG bar charts rendered on the server (no chart library, nothing loaded in the browser).

:func:`bar_chart` draws one labelled bar per (label, count); :func:`stacked_bar_chart` one bar per
label made of segments, one per series (e.g. the places of a Kindergartenjahr: given, returned,
free), with a legend. Both carry a title and a description for screen readers (``role="img"``)
that say every number; the pages show the same numbers in a table next to them. Segments differ
by colour and by pattern (hatched, dotted), so they can be told apart without colour.
"""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

__all__ = ["bar_chart", "stacked_bar_chart"]

ROW_H = 28
LABEL_W = 210
BAR_W = 300
VALUE_W = 40


def bar_chart(rows: Sequence[tuple[str, int]], *, title: str, chart_id: str = "diagramm") -> Markup:
    """An accessible horizontal bar chart of ``rows``; empty ``rows`` give an empty string."""
    if not rows:
        return Markup("")
    top = max(count for _, count in rows) or 1
    height = ROW_H * len(rows) + 8
    width = LABEL_W + BAR_W + VALUE_W
    description = ", ".join(f"{label}: {count}" for label, count in rows)
    parts = [(f'<svg xmlns="http://www.w3.org/2000/svg" class="diagramm" role="img" width="{width}" '
              f'height="{height}" viewBox="0 0 {width} {height}" aria-labelledby="{chart_id}-t {chart_id}-d">'),
             f'<title id="{chart_id}-t">{escape(title)}</title>',
             f'<desc id="{chart_id}-d">{escape(description)}</desc>']
    for i, (label, count) in enumerate(rows):
        y = 4 + i * ROW_H
        bar = round(BAR_W * count / top) if count else 0
        parts.append(f'<text x="{LABEL_W - 8}" y="{y + 18}" text-anchor="end" class="d-label">{escape(label)}</text>')
        parts.append(f'<rect x="{LABEL_W}" y="{y + 4}" width="{max(bar, 2)}" height="{ROW_H - 8}" class="d-bar"/>')
        parts.append(f'<text x="{LABEL_W + max(bar, 2) + 6}" y="{y + 18}" class="d-value">{count}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


SERIES_CLASSES = ("d-seg-0", "d-seg-1", "d-seg-2", "d-seg-3")
"""The CSS classes of the segments, series by series (certflow.css gives each a colour and a pattern)."""
_PATTERNS = ('<pattern id="{id}-schraffur" width="8" height="8" patternUnits="userSpaceOnUse" '
             'patternTransform="rotate(45)"><rect width="8" height="8" class="d-seg-1-grund"/>'
             '<line x1="0" y1="0" x2="0" y2="8" class="d-seg-1-linie"/></pattern>'
             '<pattern id="{id}-punkte" width="6" height="6" patternUnits="userSpaceOnUse">'
             '<rect width="6" height="6" class="d-seg-2-grund"/><circle cx="3" cy="3" r="1.3" class="d-seg-2-punkt"/>'
             '</pattern>')


def _segment_fill(chart_id: str, series: int) -> str:
    """The fill of a series: plain, hatched, dotted, plain (again, in another colour)."""
    return {1: f' fill="url(#{chart_id}-schraffur)"', 2: f' fill="url(#{chart_id}-punkte)"'}.get(series, "")


def stacked_bar_chart(rows: Sequence[tuple[str, Sequence[int]]], *, series: Sequence[str], title: str,
                      chart_id: str = "gestapelt") -> Markup:
    """An accessible horizontal stacked bar chart: per (label, values) one bar of ``len(series)`` segments
    (at most four), the total at its end, a legend below. Empty ``rows`` give an empty string."""
    if not 1 <= len(series) <= len(SERIES_CLASSES):
        raise ValueError(f"between 1 and {len(SERIES_CLASSES)} series, not {len(series)}")
    if any(len(values) != len(series) or any(v < 0 for v in values) for _, values in rows):
        raise ValueError("every row needs one value of at least 0 per series")
    if not rows:
        return Markup("")
    top = max(sum(values) for _, values in rows) or 1
    legend_y = ROW_H * len(rows) + 12
    height = legend_y + ROW_H
    width = LABEL_W + BAR_W + VALUE_W
    description = "; ".join(
        f"{label}: " + ", ".join(f"{name} {value}" for name, value in zip(series, values, strict=True))
        + f" (zusammen {sum(values)})" for label, values in rows)
    parts = [(f'<svg xmlns="http://www.w3.org/2000/svg" class="diagramm" role="img" width="{width}" '
              f'height="{height}" viewBox="0 0 {width} {height}" aria-labelledby="{chart_id}-t {chart_id}-d">'),
             f'<title id="{chart_id}-t">{escape(title)}</title>',
             f'<desc id="{chart_id}-d">{escape(description)}</desc>',
             f"<defs>{_PATTERNS.format(id=chart_id)}</defs>"]
    for i, (label, values) in enumerate(rows):
        y = 4 + i * ROW_H
        parts.append(f'<text x="{LABEL_W - 8}" y="{y + 18}" text-anchor="end" class="d-label">{escape(label)}</text>')
        x = LABEL_W
        for n, value in enumerate(values):
            if not value:
                continue
            w = max(round(BAR_W * value / top), 2)
            parts.append(f'<rect x="{x}" y="{y + 4}" width="{w}" height="{ROW_H - 8}" '
                         f'class="{SERIES_CLASSES[n]}"{_segment_fill(chart_id, n)}>'
                         f"<title>{escape(label)}: {escape(series[n])} {value}</title></rect>")
            x += w
        parts.append(f'<text x="{x + 6}" y="{y + 18}" class="d-value">{sum(values)}</text>')
    x = 8
    for n, name in enumerate(series):
        parts.append(f'<rect x="{x}" y="{legend_y + 4}" width="16" height="16" class="{SERIES_CLASSES[n]}"'
                     f"{_segment_fill(chart_id, n)}/>")
        parts.append(f'<text x="{x + 22}" y="{legend_y + 17}" class="d-label">{escape(name)}</text>')
        x += 22 + 9 * len(name) + 24
    parts.append("</svg>")
    return Markup("".join(parts))
