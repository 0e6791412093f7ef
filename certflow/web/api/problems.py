"""Failures of the JSON API as RFC 9457 problem details (``application/problem+json``), in German.

Every error response is one :class:`Problem`: ``type`` (``about:blank``: the status says it all),
``title`` (the status in German), ``status``, ``detail`` (what went wrong, the service's German
sentence) and ``instance`` (the request path); bad input adds ``errors``, one entry per wrong field
(``field``: where, e.g. ``body.reason``, ``query.per_page`` or a path in the self-assessment such as
``answers[3].status``; ``detail``: what is wrong there).

The application layer's error kinds map to statuses as on the web pages (:mod:`certflow.web.errors`),
with two differences: a version conflict is ``412 Precondition Failed`` when the request named the
version it was based on (``If-Match``), and whatever the caller may not see answers 404 with the same
sentence as an unknown object (the services of :mod:`certflow.services.api_views` see to that).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, Response

from ...errors import Problem as InputProblem
from ...errors import format_path
from ...services.runner import ErrorKind, UseCaseError

__all__ = ["PROBLEM_JSON", "ApiProblem", "FieldProblem", "Problem", "field_problem", "install", "problem_response",
           "responses"]

log = logging.getLogger("certflow.web.api")

PROBLEM_JSON = "application/problem+json"
TITLES = {400: "Ungültige Anfrage", 401: "Nicht angemeldet", 403: "Nicht erlaubt", 404: "Nicht gefunden",
          405: "Methode nicht erlaubt", 406: "Format nicht lieferbar", 409: "Konflikt",
          412: "Inzwischen geändert", 413: "Anfrage zu groß", 415: "Format nicht unterstützt",
          422: "Eingabe prüfen", 428: "Version fehlt", 500: "Interner Fehler", 503: "Datenbank nicht erreichbar"}
_KIND_STATUS = {ErrorKind.NOT_FOUND: 404, ErrorKind.REFUSED: 403, ErrorKind.CONFLICT: 409, ErrorKind.INPUT: 422,
                ErrorKind.DATABASE: 503}
_HTTP_TEXT = {400: "Der Inhalt der Anfrage ist nicht lesbar (erwartet: JSON in UTF-8).",
              404: "Diese Adresse gibt es in der API nicht.", 405: "Diese Methode ist hier nicht möglich."}
_FIELD_TEXT = {
    "missing": "fehlt",
    "int_parsing": "eine ganze Zahl erwartet",
    "int_type": "eine ganze Zahl erwartet",
    "float_parsing": "eine Zahl erwartet",
    "bool_parsing": "wahr oder falsch erwartet",
    "string_type": "ein Text erwartet",
    "date_from_datetime_parsing": "ein Datum JJJJ-MM-TT erwartet",
    "date_parsing": "ein Datum JJJJ-MM-TT erwartet",
    "date_type": "ein Datum JJJJ-MM-TT erwartet",
    "json_invalid": "kein gültiges JSON",
    "dict_type": "ein JSON-Objekt erwartet",
    "model_attributes_type": "ein JSON-Objekt erwartet",
    "list_type": "eine Liste erwartet",
    "extra_forbidden": "dieses Feld gibt es nicht",
}


class FieldProblem(BaseModel):
    field: str = Field(description="Wo: body.…, query.…, path.…, header.… oder ein Pfad in der Selbstbewertung")
    detail: str = Field(description="Was dort falsch ist (Deutsch)")


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: list[FieldProblem] = Field(default_factory=list)


class ApiProblem(Exception):
    """A failure the API itself finds (authentication, preconditions): status, German detail, headers."""

    def __init__(self, status: int, detail: str, headers: Mapping[str, str] | None = None):
        super().__init__(detail)
        self.status, self.detail, self.headers = status, detail, dict(headers or {})


def problem_response(request: Request, status: int, detail: str, *, errors: Sequence[FieldProblem] = (),
                     headers: Mapping[str, str] | None = None) -> Response:
    body = Problem(title=TITLES.get(status, "Fehler"), status=status, detail=detail, instance=request.url.path,
                   errors=list(errors))
    return JSONResponse(body.model_dump(), status_code=status, media_type=PROBLEM_JSON, headers=dict(headers or {}))


def field_problem(problem: InputProblem) -> FieldProblem:
    where = format_path(problem.path) if problem.path else problem.source  # JSON bodies: a path, no line
    return FieldProblem(field=where, detail=problem.message)


def _validation_detail(error: Mapping[str, Any]) -> str:
    kind = str(error.get("type", ""))
    if kind in _FIELD_TEXT:
        return _FIELD_TEXT[kind]
    ctx = error.get("ctx") or {}
    if kind in ("greater_than_equal", "greater_than"):
        return f"mindestens {ctx.get('ge', ctx.get('gt'))}"
    if kind in ("less_than_equal", "less_than"):
        return f"höchstens {ctx.get('le', ctx.get('lt'))}"
    if kind == "string_too_short":
        return "darf nicht leer sein" if ctx.get("min_length") == 1 else f"mindestens {ctx.get('min_length')} Zeichen"
    if kind == "string_too_long":
        return f"höchstens {ctx.get('max_length')} Zeichen"
    if kind in ("enum", "literal_error"):
        return f"erlaubt: {ctx.get('expected', '')}".strip()
    if kind == "string_pattern_mismatch":
        return "Schreibweise ungültig"
    return "ungültiger Wert"


def install(api: FastAPI) -> None:
    @api.exception_handler(ApiProblem)
    async def _api(request: Request, exc: ApiProblem) -> Response:
        return problem_response(request, exc.status, exc.detail, headers=exc.headers)

    @api.exception_handler(UseCaseError)
    async def _use_case(request: Request, exc: UseCaseError) -> Response:
        status = _KIND_STATUS[exc.kind]
        if status == 409 and request.headers.get("if-match"):
            status = 412
        detail = exc.message
        if exc.kind is ErrorKind.DATABASE:
            log.error("database: %s", exc.message)
            detail = "Die Datenbank ist gerade nicht erreichbar oder nicht eingerichtet. Bitte später erneut versuchen."
        errors = [field_problem(p) for p in exc.problems] if exc.kind is ErrorKind.INPUT else []
        if errors:
            detail = f"Die Eingabe hat {len(errors)} Problem(e)."
        return problem_response(request, status, detail, errors=errors)

    @api.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        text = _HTTP_TEXT.get(exc.status_code) or (exc.detail if isinstance(exc.detail, str) else "")
        return problem_response(request, exc.status_code, text or TITLES.get(exc.status_code, "Fehler"),
                                headers=exc.headers)

    @api.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        errors = [FieldProblem(field=".".join(str(p) for p in e.get("loc", ())) or "Anfrage",
                               detail=_validation_detail(e)) for e in exc.errors()]
        return problem_response(request, 422, f"Die Anfrage hat {len(errors)} Problem(e).", errors=errors)

    @api.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> Response:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return problem_response(request, 500, "Etwas ist schiefgegangen. Der Fehler wurde protokolliert.")


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The documented problem responses of an operation (for the OpenAPI document); every operation can meet
    a request it cannot read (400)."""
    return {status: {"description": TITLES.get(status, "Fehler"),
                     "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}}
            for status in sorted({400, *statuses})}
