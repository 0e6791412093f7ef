"""Read a CSV list of Kitas: every bad row is reported by line, and a bad file yields nothing.

Columns (header row required, ``;`` or ``,`` as separator, UTF-8 with or without BOM)::

    id;name;traeger_id;jugendamt_id;strasse;plz;ort;lat;lon

Coordinates are decimal degrees with a dot or a comma (``51,4556``). Pure: text in, Kitas or a
:class:`~certflow.errors.InputError` out.
"""

from __future__ import annotations

import csv
import io

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .errors import InputError, Problem
from .lifecycle.entities import Kita
from .validation import german_message

COLUMNS = ("id", "name", "traeger_id", "jugendamt_id", "strasse", "plz", "ort", "lat", "lon")


class KitaCsvError(InputError):
    kind = "Kita-Liste"


class _Row(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    id: str = Field(min_length=1, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    name: str = Field(min_length=1)
    traeger_id: str = Field(min_length=1)
    jugendamt_id: str = Field(min_length=1)
    strasse: str = Field(min_length=1)
    plz: str = Field(pattern=r"^\d{5}$")
    ort: str = Field(min_length=1)
    lat: float = Field(ge=47.0, le=55.5)
    lon: float = Field(ge=5.5, le=15.5)

    @field_validator("lat", "lon", mode="before")
    @classmethod
    def _decimal_comma(cls, value: object) -> object:
        return value.replace(",", ".") if isinstance(value, str) else value


def _rows(reader: csv.DictReader, source: str, problems: list[Problem]):
    """``(line, row)`` for each row; a row the csv module cannot read (a field longer than its limit,
    ``csv.field_size_limit()``) becomes a problem of that line, and reading goes on with the next."""
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            line = reader.line_num + 1  # the reader counts a line only once it is read whole
            too_long = "field larger than field limit" in str(exc)
            problems.append(Problem(source, line, (), f"Feld zu lang (mehr als {csv.field_size_limit()} Zeichen)"
                                    if too_long else f"CSV-Fehler: {exc}"))
            continue
        yield reader.line_num, row


def parse_kitas(text: str, source: str = "<csv>") -> list[Kita]:
    """All Kitas of the file, or :class:`KitaCsvError` listing every bad row."""
    text = text.removeprefix("\ufeff")
    if not text.strip():
        raise KitaCsvError([Problem(source, 1, (), "die Datei ist leer")])
    try:
        dialect = csv.Sniffer().sniff(text.splitlines()[0], delimiters=";,")
    except csv.Error:
        dialect = csv.excel
    reader = csv.DictReader(io.StringIO(text), dialect=dialect)
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [c for c in COLUMNS if c not in header]
    unknown = [c for c in header if c not in COLUMNS]
    if missing or unknown:
        parts = ([f"fehlende Spalten: {', '.join(missing)}"] if missing else []) + (
            [f"unbekannte Spalten: {', '.join(unknown)}"] if unknown else [])
        raise KitaCsvError([Problem(source, 1, (), "; ".join(parts) + f" (erwartet: {';'.join(COLUMNS)})")])
    reader.fieldnames = header
    problems: list[Problem] = []
    kitas: list[Kita] = []
    seen: dict[str, int] = {}
    for line, row in _rows(reader, source, problems):
        if None in row or any(v is None for v in row.values()):
            problems.append(Problem(source, line, (), f"falsche Anzahl von Feldern (erwartet {len(COLUMNS)})"))
            continue
        try:
            r = _Row.model_validate(row)
        except ValidationError as exc:
            problems += [Problem(source, line, tuple(e["loc"]), german_message(e)) for e in exc.errors()]
            continue
        if r.id in seen:
            problems.append(Problem(source, line, ("id",), f"Kita '{r.id}' doppelt (schon in Zeile {seen[r.id]})"))
            continue
        seen[r.id] = line
        kitas.append(Kita(r.id, r.name, r.traeger_id, r.jugendamt_id, r.strasse, r.plz, r.ort, r.lat, r.lon))
    if problems:
        raise KitaCsvError(problems)
    if not kitas:
        raise KitaCsvError([Problem(source, 2, (), "keine Kitas in der Datei")])
    return kitas
