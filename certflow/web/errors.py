"""Failures as German pages with the right HTTP status, never a traceback.

:func:`status_of` maps the application layer's :class:`~certflow.services.runner.ErrorKind`:
``NOT_FOUND`` → 404, ``REFUSED`` → 403, ``CONFLICT`` → 409, ``INPUT`` → 422, ``DATABASE`` →
503. Pages that show one object (``conceal=True``) answer 404 for both "no such object" and
"not yours to see", with the same sentence, so a foreign object's existence is not revealed.
:func:`install` registers the handlers: use-case errors, HTTP errors (404, 405, 403 of the CSRF
check), request validation (422) and any other exception (500, logged, not shown).
"""

from __future__ import annotations

import logging
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import RedirectResponse, Response

from ..services.runner import ErrorKind, UseCaseError
from .pages import Pages
from .sessions import session_of
from .use_cases import Concealed

__all__ = ["CONCEALED", "LoginRequired", "install", "status_of"]

log = logging.getLogger("certflow.web")

CONCEALED = "Diese Seite gibt es nicht, oder Sie haben keinen Zugriff darauf."
_STATUS = {ErrorKind.NOT_FOUND: 404, ErrorKind.REFUSED: 403, ErrorKind.CONFLICT: 409, ErrorKind.INPUT: 422,
           ErrorKind.DATABASE: 503}
_TITLES = {400: "Ungültige Anfrage", 401: "Bitte anmelden", 403: "Nicht erlaubt", 404: "Nicht gefunden",
           405: "Nicht erlaubt", 409: "Inzwischen geändert", 422: "Eingabe prüfen", 429: "Zu viele Versuche",
           500: "Interner Fehler", 503: "Datenbank nicht erreichbar"}
_HTTP_TEXT = {404: CONCEALED, 405: "Diese Aktion ist hier nicht möglich.",
              500: "Etwas ist schiefgegangen. Der Fehler wurde protokolliert; bitte später noch einmal versuchen."}


class LoginRequired(Exception):
    """The route needs a logged-in user and there is none (or the session ended)."""


def status_of(error: UseCaseError, *, conceal: bool = False) -> int:
    if conceal and error.kind in (ErrorKind.NOT_FOUND, ErrorKind.REFUSED):
        return 404
    return _STATUS[error.kind]


def error_page(pages: Pages, request: Request, status: int, message: str, *, details: list[str] | None = None,
               user=None) -> Response:
    user = user or getattr(request.state, "user", None)  # set by current_user once the session was checked
    return pages.render(request, "error.html", status=status, user=user, title=_TITLES.get(status, "Fehler"),
                        heading=_TITLES.get(status, "Fehler"), message=message, details=details or [])


def use_case_page(pages: Pages, request: Request, error: UseCaseError, *, conceal: bool = False,
                  user=None) -> Response:
    status = status_of(error, conceal=conceal)
    if status == 404:
        return error_page(pages, request, 404, CONCEALED, user=user)
    details = [str(p) for p in error.problems] if error.kind is ErrorKind.INPUT else []
    message = error.message if error.kind is not ErrorKind.DATABASE else (
        "Die Datenbank ist gerade nicht erreichbar oder nicht eingerichtet. Bitte später noch einmal versuchen.")
    if error.kind is ErrorKind.DATABASE:
        log.error("database: %s", error.message)
    return error_page(pages, request, status, message, details=details, user=user)


def install(app: FastAPI, pages: Pages) -> None:
    @app.exception_handler(LoginRequired)
    async def _login(request: Request, exc: LoginRequired) -> Response:
        query = {}
        if request.method == "GET" and request.url.path not in ("/", "/anmelden"):
            query["weiter"] = request.url.path
        if session_of(request).expired:
            query["abgelaufen"] = "1"
        target = "/anmelden" + (f"?{urlencode(query)}" if query else "")
        if request.headers.get("HX-Request"):
            return Response(status_code=401, headers={"HX-Redirect": target})
        return RedirectResponse(target, status_code=303)

    @app.exception_handler(Concealed)
    async def _concealed(request: Request, exc: Concealed) -> Response:
        return use_case_page(pages, request, exc.error, conceal=True)

    @app.exception_handler(UseCaseError)
    async def _use_case(request: Request, exc: UseCaseError) -> Response:
        return use_case_page(pages, request, exc)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        text = exc.detail if exc.status_code in (403, 429) and isinstance(exc.detail, str) else _HTTP_TEXT.get(
            exc.status_code, _TITLES.get(exc.status_code, "Fehler"))
        return error_page(pages, request, exc.status_code, text)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        fields = sorted({".".join(str(p) for p in e.get("loc", ())[1:]) or "Anfrage" for e in exc.errors()})
        return error_page(pages, request, 422, "Die Anfrage ist unvollständig oder fehlerhaft.",
                          details=[f"Feld {name}: fehlt oder ungültig" for name in fields])

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> Response:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return error_page(pages, request, 500, _HTTP_TEXT[500])
