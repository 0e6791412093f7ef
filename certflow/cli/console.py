"""One place that makes the rich console, so output is the same in a terminal and in tests."""

from __future__ import annotations

import os

from rich.console import Console


def make_console(stderr: bool = False) -> Console:
    width = int(os.environ.get("COLUMNS", "0") or 0) or 110
    return Console(width=width, stderr=stderr, soft_wrap=False, highlight=False, emoji=False, markup=False)


def bar(value: int, maximum: int, minimum: int, width: int = 20) -> str:
    """A text bar: filled up to ``value``, a ``|`` where the threshold lies."""
    if maximum <= 0:
        return "·" * width
    filled = round(width * min(value, maximum) / maximum)
    cells = ["█" if i < filled else "░" for i in range(width)]
    mark = min(width - 1, round(width * minimum / maximum)) if minimum else None
    if mark is not None:
        cells[mark] = "┃"
    return "".join(cells)
