"""The public pages, without login: the register of certified Familienzentren, its open data, and a snippet
for a Kreis's own website.

* ``/familienzentren``: search by town or postcode, filter by Jugendamt, a dot map (:mod:`..maps`) above the
  list, 50 per page; ``/familienzentren/<id>``: one Familienzentrum with its Kitas and profiles;
* ``/offene-daten``: what the open data hold, under which licence, and their addresses;
  ``/offene-daten/familienzentren.{csv,geojson,json}`` the whole Land,
  ``/offene-daten/jugendaemter/<id>/familienzentren.{csv,geojson,json}`` one Jugendamt (stable addresses),
  each with an ETag (``If-None-Match`` answers 304) and an hour's caching;
* ``/einbetten/jugendaemter/<id>``: the Jugendamt's list as a small page another website may frame
  (the only page that allows framing).

What is published is the matter of :mod:`certflow.services.public_register`; these routes only parse and render.
"""

from __future__ import annotations

import hashlib
from fastapi import APIRouter, HTTPException, Request
from starlette.responses import Response

from ...services import public_register
from ...services.public_register import PublicEntry
from ..maps import MapPoint, dot_map
from ..use_cases import run

__all__ = ["router"]

router = APIRouter()

EMBED_POLICY = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'none'; "
                "frame-ancestors *; form-action 'none'; base-uri 'none'; object-src 'none'")


def _pages(request: Request):
    return request.app.state.pages


def _page_number(text: str) -> int:
    return int(text) if text.isdigit() and len(text) <= 6 else 1


def _points(entries: tuple[PublicEntry, ...]) -> list[MapPoint]:
    return [MapPoint(f"{e.familienzentrum.name}: {k.name}, {k.city}", f"/familienzentren/{e.familienzentrum.id}",
                     k.lat, k.lon) for e in entries for k in e.kitas]


@router.get("/familienzentren")
def register(request: Request, ort: str = "", jugendamt: str = "", seite: str = "") -> Response:
    page = run(request, lambda uow: public_register.register_page(
        uow, place=ort[:200], jugendamt_id=jugendamt[:64] or None, page=_page_number(seite)))
    links = {"ort": ort, "jugendamt": jugendamt}
    return _pages(request).render(request, "public/register.html", title="Familienzentren finden", page=page,
                                  raw=links, karte=dot_map(_points(page.entries), title="Karte der Familienzentren"))


@router.get("/familienzentren/{familienzentrum_id}")
def familienzentrum(request: Request, familienzentrum_id: str) -> Response:
    entry = run(request, lambda uow: public_register.published_familienzentrum(uow, familienzentrum_id),
                conceal=True)
    name = entry.familienzentrum.name
    return _pages(request).render(request, "public/familienzentrum.html", title=name, entry=entry,
                                  karte=dot_map(_points((entry,)), title=f"Karte: {name}"))


@router.get("/offene-daten")
def open_data_page(request: Request) -> Response:
    page = run(request, public_register.open_data_index)
    return _pages(request).render(request, "public/open_data.html", title="Offene Daten", page=page,
                                  licence=public_register.LICENCE, base=str(request.base_url).rstrip("/"))


def _file(request: Request, fmt: str, jugendamt_id: str | None) -> Response:
    if fmt not in public_register.OPEN_DATA_FORMATS:
        raise HTTPException(404)
    page_url = str(request.base_url) + "familienzentren/"
    export = run(request, lambda uow: public_register.open_data(uow, fmt, jugendamt_id=jugendamt_id,
                                                                page_url=page_url), conceal=True)
    etag = '"' + hashlib.sha256(export.body).hexdigest()[:32] + '"'
    headers = {"ETag": etag, "Cache-Control": "public, max-age=3600", "Access-Control-Allow-Origin": "*",
               "Content-Disposition": f'inline; filename="{export.filename}"'}
    if etag in [t.strip() for t in request.headers.get("if-none-match", "").split(",")]:
        return Response(status_code=304, headers=headers)
    return Response(export.body, media_type=export.media_type, headers=headers)


@router.get("/offene-daten/familienzentren.{fmt}")
def land_file(request: Request, fmt: str) -> Response:
    return _file(request, fmt, None)


@router.get("/offene-daten/jugendaemter/{jugendamt_id}/familienzentren.{fmt}")
def jugendamt_file(request: Request, jugendamt_id: str, fmt: str) -> Response:
    return _file(request, fmt, jugendamt_id)


@router.get("/einbetten/jugendaemter/{jugendamt_id}")
def embed(request: Request, jugendamt_id: str) -> Response:
    page = run(request, lambda uow: public_register.embedded_list(uow, jugendamt_id), conceal=True)
    response = _pages(request).render(request, "public/embed.html", title="Familienzentren", page=page,
                                      base=str(request.base_url).rstrip("/"))
    response.headers["Content-Security-Policy"] = EMBED_POLICY
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response
