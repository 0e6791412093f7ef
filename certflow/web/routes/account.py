"""Login, logout, first login and password reset by one-time link, changing one's password.

Every form carries the CSRF token (checked before a route runs, :mod:`..csrf`). The login is
throttled by the application layer (:func:`certflow.services.verify_login`); wrong names and
wrong passwords are told alike. One-time links are sent by mail through the outbox; the reset
request page says the same sentence whether or not the name exists.
"""

from __future__ import annotations

from fastapi import APIRouter, Form, Request
from starlette.responses import RedirectResponse, Response

from ... import services
from ...lifecycle.entities import User
from ...services.accounts import PASSWORD_MIN, LinkPurpose, LoginStatus
from ...services.runner import ErrorKind, UseCaseError
from ..auth import CurrentUser, client_address
from ..errors import error_page
from ..sessions import session_of
from ..use_cases import run

__all__ = ["router"]

router = APIRouter()

RESET_SENT = ("Wenn es zu diesem Benutzernamen einen Zugang mit hinterlegter E-Mail-Adresse gibt, ist ein Link "
              "zum Festlegen eines neuen Passworts unterwegs. Er gilt zwei Stunden und nur einmal.")


def _pages(request: Request):
    return request.app.state.pages


def _safe_target(target: str) -> str:
    """Only a path of this site (no ``//host``, no scheme) is followed after the login."""
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/start"


def _login_page(request: Request, *, status: int = 200, login: str = "", weiter: str = "",
                errors: dict[str, str] | None = None, notice: str | None = None) -> Response:
    return _pages(request).render(request, "login.html", status=status, title="Anmelden", login=login,
                                  weiter=weiter, errors=errors or {}, notice=notice)


@router.get("/anmelden")
def login_form(request: Request, weiter: str = "", abgelaufen: str = "", abgemeldet: str = "") -> Response:
    if session_of(request).user_id:
        return RedirectResponse(_safe_target(weiter or "/start"), status_code=303)
    notice = None
    if abgelaufen:
        notice = "Ihre Sitzung ist abgelaufen. Bitte melden Sie sich erneut an."
    elif abgemeldet:
        notice = "Sie sind abgemeldet."
    return _login_page(request, weiter=weiter, notice=notice)


@router.post("/anmelden")
def login(request: Request, login: str = Form(""), password: str = Form(""), weiter: str = Form("")) -> Response:
    login = login.strip()
    errors = {}
    if not login:
        errors["login"] = "Bitte den Benutzernamen angeben."
    if not password:
        errors["password"] = "Bitte das Passwort angeben."
    if errors:
        return _login_page(request, status=422, login=login, weiter=weiter, errors=errors)
    address = client_address(request)
    outcome = run(request, lambda uow: services.verify_login(uow, login, password, address=address))
    if outcome.status is LoginStatus.THROTTLED:
        return _login_page(request, status=429, login=login, weiter=weiter, errors={"form": outcome.message})
    if not outcome.ok:
        return _login_page(request, status=401, login=login, weiter=weiter, errors={"form": outcome.message})
    session_of(request).login(*outcome.session())
    return RedirectResponse(_safe_target(weiter or "/start"), status_code=303)


@router.post("/abmelden")
def logout(request: Request) -> Response:
    session_of(request).clear()
    if request.headers.get("HX-Request"):
        return Response(status_code=204, headers={"HX-Redirect": "/anmelden?abgemeldet=1"})
    return RedirectResponse("/anmelden?abgemeldet=1", status_code=303)


@router.get("/passwort-vergessen")
def reset_form(request: Request) -> Response:
    return _pages(request).render(request, "reset_request.html", title="Passwort vergessen", login="", errors={},
                                  sent=None)


@router.post("/passwort-vergessen")
def reset_request(request: Request, login: str = Form("")) -> Response:
    login = login.strip()
    if not login:
        return _pages(request).render(request, "reset_request.html", status=422, title="Passwort vergessen",
                                      login="", errors={"login": "Bitte den Benutzernamen angeben."}, sent=None)
    base = request.app.state.config.base_url or str(request.base_url)
    address = client_address(request)
    run(request, lambda uow: services.request_password_reset(uow, login, base_url=base, address=address))
    return _pages(request).render(request, "reset_request.html", title="Passwort vergessen", login="", errors={},
                                  sent=RESET_SENT)


def _link_page(request: Request, token: str, info, *, status: int = 200, errors: dict[str, str] | None = None,
               problems: list[str] | None = None) -> Response:
    heading = "Willkommen: Passwort festlegen" if info.purpose is LinkPurpose.FIRST_LOGIN else "Neues Passwort"
    return _pages(request).render(request, "link.html", status=status, title=heading, heading=heading, info=info,
                                  token=token, errors=errors or {}, problems=problems or [], minimum=PASSWORD_MIN)


def _invalid_link(request: Request, error: UseCaseError) -> Response:
    if error.kind in (ErrorKind.REFUSED, ErrorKind.NOT_FOUND):
        return error_page(_pages(request), request, 404, error.message)
    raise error


@router.get("/zugang/{token}")
def link_form(request: Request, token: str) -> Response:
    try:
        info = run(request, lambda uow: services.check_link(uow, token))
    except UseCaseError as exc:
        return _invalid_link(request, exc)
    response = _link_page(request, token, info)
    return response


@router.post("/zugang/{token}")
def link_redeem(request: Request, token: str, password: str = Form(""), password2: str = Form("")) -> Response:
    try:
        info = run(request, lambda uow: services.check_link(uow, token))
    except UseCaseError as exc:
        return _invalid_link(request, exc)
    if password != password2:
        return _link_page(request, token, info, status=422,
                          errors={"password2": "Die beiden Eingaben stimmen nicht überein."})
    try:
        outcome = run(request, lambda uow: services.redeem_link(uow, token, password))
    except UseCaseError as exc:
        if exc.kind is ErrorKind.INPUT:
            return _link_page(request, token, info, status=422,
                              errors={"password": " ".join(p.message for p in exc.problems)})
        return _invalid_link(request, exc)
    session_of(request).login(*outcome.session())
    return RedirectResponse("/start", status_code=303)


def _password_page(request: Request, user: User, *, status: int = 200, errors: dict[str, str] | None = None,
                   done: bool = False) -> Response:
    return _pages(request).render(request, "password.html", status=status, user=user, title="Passwort ändern",
                                  errors=errors or {}, done=done, minimum=PASSWORD_MIN)


@router.get("/passwort")
def password_form(request: Request, user: CurrentUser) -> Response:
    return _password_page(request, user)


@router.post("/passwort")
def password_change(request: Request, user: CurrentUser, current: str = Form(""),
                    password: str = Form(""), password2: str = Form("")) -> Response:
    if password != password2:
        return _password_page(request, user, status=422,
                              errors={"password2": "Die beiden Eingaben stimmen nicht überein."})
    try:
        stamp = run(request, lambda uow: services.set_password(uow, user.id, user.id, password,
                                                               current_password=current))
    except UseCaseError as exc:
        if exc.kind is ErrorKind.INPUT:
            return _password_page(request, user, status=422,
                                  errors={"password": " ".join(p.message for p in exc.problems)})
        if exc.kind is ErrorKind.REFUSED:
            return _password_page(request, user, status=422, errors={"current": exc.message + "."})
        raise
    session_of(request).login(user.id, stamp)  # this session goes on; every other one has ended
    return _password_page(request, user, done=True)
