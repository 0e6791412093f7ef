"""Paging and the version of a row (ETag / If-Match) for the API's operations.

Every list takes ``page`` (from 1) and ``per_page`` (1 to 200, default 50) and answers
``{"items": [...], "total": n, "page": p, "per_page": k}``. A procedure's ETag is its row version
(``"7"``); an update sends it back as ``If-Match`` and is refused with 412 if the procedure changed
since, with 428 if it sent none.
"""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import Header, Query

from ...services.api_views import MAX_PER_PAGE
from .problems import ApiProblem

__all__ = ["IfMatch", "PageNumber", "PerPage", "etag", "expected_version"]

PageNumber = Annotated[int, Query(ge=1, le=1_000_000, description="Seite, ab 1")]
PerPage = Annotated[int, Query(ge=1, le=MAX_PER_PAGE, description=f"Einträge pro Seite (1–{MAX_PER_PAGE})")]
IfMatch = Annotated[str | None, Header(alias="If-Match", description="ETag der gelesenen Fassung, z. B. \"7\"")]
_ETAG = re.compile(r'\s*(?:W/)?"(\d{1,9})"\s*')


def etag(version: int) -> str:
    return f'"{version}"'


def expected_version(if_match: str | None) -> int:
    """The version an update is based on (from ``If-Match``); 428 without one, 412 for one that is no ETag of
    this API."""
    if if_match is None or not if_match.strip():
        raise ApiProblem(428, "Bitte die gelesene Fassung mitsenden: Kopfzeile „If-Match“ mit dem ETag des "
                              "Verfahrens (GET liefert ihn).")
    match = _ETAG.fullmatch(if_match)
    if match is None:
        raise ApiProblem(412, f"„If-Match“ passt zu keiner Fassung (erwartet z. B. \"7\", nicht {if_match[:40]!r}).")
    return int(match.group(1))
