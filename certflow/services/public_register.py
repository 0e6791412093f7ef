"""The public register of certified Familienzentren, and the same as open data (CSV, GeoJSON, JSON).

No login and no actor: what is published is decided in :mod:`certflow.db.repositories.public_register` (only
Familienzentren with a live seal, only what the seal makes public, never a person's data), and this module
only shapes it: a page of the register with its filters, one Familienzentrum, and the open-data files of the
whole Land or of one Jugendamt, each carrying its licence (:data:`LICENCE`).

A page of the register costs four SQL statements whatever the size (count, page, members, profiles); an
open-data file three plus the Jugendamt check.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from ..catalogue.model import Form
from ..db.errors import NotFoundError
from ..db.repositories.public_register import PublishedFamilienzentrum, PublishedKita, RegisterQuery
from ..errors import InputError, Problem
from ..lifecycle.machinery import Refused
from .common import catalogue_for_key, today
from .exports import Export, spreadsheet_text

if TYPE_CHECKING:
    from ..db.unit_of_work import UnitOfWork

__all__ = ["LICENCE", "OPEN_DATA_FORMATS", "PAGE_SIZE", "PublicEntry", "RegisterPage", "RegisterQuery",
           "embedded_list", "open_data", "open_data_index", "published_familienzentrum", "register_page"]

PAGE_SIZE = 50
PLACE_MAX = 100
LICENCE = {
    "name": "Datenlizenz Deutschland – Namensnennung – Version 2.0",
    "kennung": "dl-de/by-2-0",
    "url": "https://www.govdata.de/dl-de/by-2-0",
}
"""The licence every open-data file names: free use with attribution (the usual licence of public bodies'
open data in Germany). A deployment that publishes under another licence changes it here."""

OPEN_DATA_FORMATS = {"csv": "text/csv; charset=utf-8", "geojson": "application/geo+json",
                     "json": "application/json"}
FORM_LABELS = {Form.EINZEL: "Einzeleinrichtung", Form.VERBUND: "Verbund"}
CSV_COLUMNS = ("familienzentrum_id", "familienzentrum", "form", "jugendamt_id", "jugendamt", "kita", "traeger",
               "strasse", "plz", "ort", "breite", "laenge", "profile", "guetesiegel_gueltig_bis", "lizenz")


@dataclass(frozen=True, slots=True)
class PublicEntry:
    """One published Familienzentrum with its member Kitas and profiles (``(id, title)``)."""

    familienzentrum: PublishedFamilienzentrum
    kitas: tuple[PublishedKita, ...]
    profiles: tuple[tuple[str, str], ...]

    @property
    def towns(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(k.city for k in self.kitas))

    @property
    def form_label(self) -> str:
        return FORM_LABELS[self.familienzentrum.form]


@dataclass(frozen=True, slots=True)
class RegisterPage:
    """A page of the register: its entries, how many there are in all, and the Jugendämter to filter by
    (``(id, name, count)``)."""

    entries: tuple[PublicEntry, ...]
    total: int
    page: int
    pages: int
    query: RegisterQuery
    jugendaemter: tuple[tuple[str, str, int], ...]
    day: date


def _query(place: str, jugendamt_id: str | None) -> RegisterQuery:
    place = place.strip()
    if len(place) > PLACE_MAX:
        raise InputError([Problem("Suche", None, ("ort",), f"darf höchstens {PLACE_MAX} Zeichen lang sein")])
    return RegisterQuery(place=place, jugendamt_id=jugendamt_id or None)


def _profile_titles(catalogue_key: str, chosen: list[str]) -> tuple[tuple[str, str], ...]:
    try:
        catalogue = catalogue_for_key(catalogue_key)
    except Refused:  # a catalogue no longer shipped: the ids alone
        return tuple((p, p) for p in chosen)
    titles = {profile.id: profile.title for area in catalogue.areas for profile in area.profiles}
    return tuple((p, titles.get(p, p)) for p in chosen)


def _entries(uow: UnitOfWork, published: list[PublishedFamilienzentrum]) -> tuple[PublicEntry, ...]:
    ids = [fz.id for fz in published]
    kitas: dict[str, list[PublishedKita]] = {}
    for kita in uow.public.members(ids):
        kitas.setdefault(kita.familienzentrum_id, []).append(kita)
    profiles = uow.public.profiles(ids)
    return tuple(PublicEntry(fz, tuple(kitas.get(fz.id, ())),
                             _profile_titles(*profiles[fz.id]) if fz.id in profiles else ())
                 for fz in published)


def register_page(uow: UnitOfWork, *, place: str = "", jugendamt_id: str | None = None, page: int = 1,
                  page_size: int = PAGE_SIZE) -> RegisterPage:
    """Page ``page`` (from 1) of the published Familienzentren in ``place`` (town or postcode) of
    ``jugendamt_id``; a page past the end is the last one."""
    query = _query(place, jugendamt_id)
    day = today(uow)
    total = uow.public.count(day, query)
    pages = max(1, -(-total // page_size))
    page = min(max(1, page), pages)
    published = uow.public.page(day, query, limit=page_size, offset=(page - 1) * page_size)
    return RegisterPage(_entries(uow, published), total, page, pages, query,
                        tuple(uow.public.jugendaemter(day)), day)


def open_data_index(uow: UnitOfWork) -> RegisterPage:
    """What the open-data page shows: how many are published and the Jugendämter with theirs (no entries)."""
    day = today(uow)
    query = RegisterQuery()
    return RegisterPage((), uow.public.count(day, query), 1, 1, query, tuple(uow.public.jugendaemter(day)), day)


def published_familienzentrum(uow: UnitOfWork, familienzentrum_id: str) -> PublicEntry:
    """One published Familienzentrum; one that is unknown or not published is not found (the same answer)."""
    found = uow.public.find(today(uow), familienzentrum_id[:64])
    if found is None:
        raise NotFoundError("familienzentrum", familienzentrum_id[:64])
    return _entries(uow, [found])[0]


def _jugendamt_known(uow: UnitOfWork, jugendamt_id: str) -> None:
    if uow.jugendaemter.find(jugendamt_id[:64]) is None:
        raise NotFoundError("jugendamt", jugendamt_id[:64])


def embedded_list(uow: UnitOfWork, jugendamt_id: str) -> RegisterPage:
    """All published Familienzentren of one Jugendamt on one page (what a Kreis shows on its own website)."""
    _jugendamt_known(uow, jugendamt_id)
    day = today(uow)
    query = RegisterQuery(jugendamt_id=jugendamt_id)
    entries = _entries(uow, uow.public.page(day, query))
    return RegisterPage(entries, len(entries), 1, 1, query, (), day)


def open_data(uow: UnitOfWork, fmt: str, *, jugendamt_id: str | None = None, page_url: str = "") -> Export:
    """Every published Familienzentrum (of one Jugendamt, if given) as ``fmt`` (csv, geojson, json).
    ``page_url``: the register's address, to which a Familienzentrum's id is appended for its page."""
    if fmt not in OPEN_DATA_FORMATS:
        raise InputError([Problem("Format", None, (), f"unbekannt: {fmt} (möglich: {', '.join(OPEN_DATA_FORMATS)})")])
    if jugendamt_id is not None:
        _jugendamt_known(uow, jugendamt_id)
    day = today(uow)
    entries = _entries(uow, uow.public.page(day, RegisterQuery(jugendamt_id=jugendamt_id)))
    name = f"familienzentren-{jugendamt_id}" if jugendamt_id else "familienzentren-nrw"
    body = {"csv": _csv, "geojson": _geojson, "json": _json}[fmt](entries, day, page_url)
    return Export(f"{name}.{fmt}", OPEN_DATA_FORMATS[fmt], body)


def _record(entry: PublicEntry, day: date, page_url: str) -> dict[str, Any]:
    fz = entry.familienzentrum
    return {
        "id": fz.id, "name": fz.name, "form": entry.form_label,
        "jugendamt": {"id": fz.jugendamt_id, "name": fz.jugendamt},
        "guetesiegel_gueltig_bis": fz.valid_until.isoformat(),
        "profile": [{"id": pid, "titel": title} for pid, title in entry.profiles],
        "kitas": [{"name": k.name, "traeger": k.traeger, "strasse": k.street, "plz": k.postcode, "ort": k.city,
                   "breite": k.lat, "laenge": k.lon} for k in entry.kitas],
        **({"url": page_url + fz.id} if page_url else {}),
    }


def _about(day: date, count: int) -> dict[str, Any]:
    return {"titel": "Familienzentren NRW mit gültigem Gütesiegel", "stand": day.isoformat(), "anzahl": count,
            "lizenz": LICENCE}


def _json(entries: tuple[PublicEntry, ...], day: date, page_url: str) -> bytes:
    document = {**_about(day, len(entries)), "familienzentren": [_record(e, day, page_url) for e in entries]}
    return json.dumps(document, ensure_ascii=False, indent=1).encode("utf-8")


def _geojson(entries: tuple[PublicEntry, ...], day: date, page_url: str) -> bytes:
    """One point feature per member Kita (a site where families find the Familienzentrum), RFC 7946."""
    features = []
    for entry in entries:
        record = _record(entry, day, page_url)
        common = {key: record[key] for key in ("form", "guetesiegel_gueltig_bis")} | {
            "familienzentrum_id": record["id"], "familienzentrum": record["name"],
            "jugendamt": record["jugendamt"]["name"], "profile": [p["titel"] for p in record["profile"]],
            **({"url": record["url"]} if "url" in record else {})}
        for kita in record["kitas"]:
            features.append({"type": "Feature",
                             "geometry": {"type": "Point", "coordinates": [kita["laenge"], kita["breite"]]},
                             "properties": {**common, "kita": kita["name"], "traeger": kita["traeger"],
                                            "strasse": kita["strasse"], "plz": kita["plz"], "ort": kita["ort"]}})
    document = {"type": "FeatureCollection", **_about(day, len(entries)), "features": features}
    return json.dumps(document, ensure_ascii=False).encode("utf-8")


def _csv(entries: tuple[PublicEntry, ...], day: date, page_url: str) -> bytes:
    """One row per member Kita; UTF-8 with BOM and ``;`` (what German spreadsheet programs open), ISO dates and a
    decimal point (what programs read); text that a spreadsheet would run as a formula is escaped."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for entry in entries:
        fz = entry.familienzentrum
        profiles = ", ".join(f"{pid} {title}" for pid, title in entry.profiles)
        for k in entry.kitas:
            writer.writerow([spreadsheet_text(v) if isinstance(v, str) else v for v in (
                fz.id, fz.name, entry.form_label, fz.jugendamt_id, fz.jugendamt, k.name, k.traeger, k.street,
                k.postcode, k.city, k.lat, k.lon, profiles, fz.valid_until.isoformat(), LICENCE["kennung"])])
    return ("\ufeff" + out.getvalue()).encode("utf-8")
