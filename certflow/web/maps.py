"""A dot map drawn on the server as SVG: no map library, no tiles, nothing loaded from the internet.

:func:`dot_map` places one dot per site (a Familienzentrum's member Kita) by its coordinates in a frame
around North Rhine-Westphalia (an equirectangular projection, longitude scaled by the cosine of the
frame's middle latitude, so distances look right at this latitude). Each dot is a link to the
Familienzentrum's page with its name as the link's title. The map is an addition: the page always shows
the same Familienzentren as a list, which is what a screen reader or a keyboard user follows; so the
map degrades to the list wherever SVG is not shown. A site outside the frame is left off the map (and
stays in the list).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

__all__ = ["NRW_FRAME", "Frame", "MapPoint", "dot_map"]


@dataclass(frozen=True, slots=True)
class Frame:
    south: float
    north: float
    west: float
    east: float


NRW_FRAME = Frame(south=50.30, north=52.55, west=5.85, east=9.50)
"""North Rhine-Westphalia's bounding box, with a small margin."""

LANDMARKS = (("Aachen", 50.776, 6.084), ("Köln", 50.938, 6.960), ("Bonn", 50.737, 7.098),
             ("Düsseldorf", 51.227, 6.774), ("Essen", 51.456, 7.012), ("Dortmund", 51.514, 7.466),
             ("Münster", 51.962, 7.626), ("Bielefeld", 52.021, 8.532), ("Paderborn", 51.719, 8.754),
             ("Siegen", 50.875, 8.024))
"""Large towns drawn in grey for orientation (the map has no tiles and no borders)."""


@dataclass(frozen=True, slots=True)
class MapPoint:
    label: str
    href: str
    lat: float
    lon: float


def dot_map(points: Sequence[MapPoint], *, title: str, width: int = 640, frame: Frame = NRW_FRAME,
            map_id: str = "karte") -> Markup:
    """The SVG map of ``points`` (``width`` pixels wide, the height following the frame's proportions)."""
    scale_x = math.cos(math.radians((frame.south + frame.north) / 2))
    span_x = (frame.east - frame.west) * scale_x
    span_y = frame.north - frame.south
    height = round(width * span_y / span_x)
    inside = [p for p in points if frame.south <= p.lat <= frame.north and frame.west <= p.lon <= frame.east]
    description = f"{len(inside)} Standorte; die Liste unter der Karte nennt alle mit Anschrift."
    parts = [(f'<svg xmlns="http://www.w3.org/2000/svg" class="karte" role="img" width="{width}" height="{height}" '
              f'viewBox="0 0 {width} {height}" aria-labelledby="{map_id}-t {map_id}-d">'),
             f'<title id="{map_id}-t">{escape(title)}</title>', f'<desc id="{map_id}-d">{escape(description)}</desc>',
             f'<rect class="karte-grund" x="0" y="0" width="{width}" height="{height}"/>']

    def place(lat: float, lon: float) -> tuple[float, float]:
        return (lon - frame.west) * scale_x / span_x * width, (frame.north - lat) / span_y * height

    if frame == NRW_FRAME:
        parts.append('<g class="karte-orte" aria-hidden="true">')
        for name, lat, lon in LANDMARKS:
            x, y = place(lat, lon)
            parts.append(f'<rect x="{x - 2:.1f}" y="{y - 2:.1f}" width="4" height="4"/>'
                         f'<text x="{x + 6:.1f}" y="{y + 4:.1f}">{escape(name)}</text>')
        parts.append("</g>")
    for point in inside:
        x, y = place(point.lat, point.lon)
        parts.append(f'<a href="{escape(point.href)}"><title>{escape(point.label)}</title>'
                     f'<circle class="karte-punkt" cx="{x:.1f}" cy="{y:.1f}" r="5"/></a>')
    parts.append("</svg>")
    return Markup("".join(parts))
