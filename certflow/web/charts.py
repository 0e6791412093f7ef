"""Plain SVG bar charts rendered on the server (no chart library, nothing loaded in the browser).

:func:`bar_chart` draws one labelled bar per (label, count), with a title and a description for
screen readers (``role="img"``); the pages show the same numbers in a table next to it.
"""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

__all__ = ["bar_chart"]

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
