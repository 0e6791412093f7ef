"""The administration's pages: users and roles with their one-time links, Jugendämter and Träger, Kitas by CSV.

* ``/verwaltung/benutzer`` — the users a page at a time (``?suche=…&rolle=…&status=aktiv|deaktiviert&seite=N``)
  with role, what the role is tied to, e-mail address, whether a password is set and whether the
  account is active; a form to create a user (optionally with the link for the first login);
* ``/verwaltung/benutzer/{id}`` — one user, with the form that changes role, scope and standing
  (``POST …/aendern``: with a reason, the version the form showed, conflicts told in German, 409) and
  the form that sends a one-time link (first login or password reset) by mail and into their inbox;
* ``/verwaltung/stammdaten`` — the Jugendämter and the Träger, each with a form to create one;
* ``/verwaltung/kitas`` — the Kitas a page at a time (``?suche=…&seite=N``), and the CSV import: all rows
  or none, every bad row shown in the page as a table (file:line, field, message).

Every action runs a use case of :mod:`certflow.services.administration` (or
:func:`certflow.services.records.import_kitas_upload` behind it) as the logged-in user. Only the admin has
these pages: anyone else is refused (403; one user's page: the 404 of an unknown one). Bad input comes back
as the page with a German message at the field (422).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.responses import RedirectResponse, Response

from ...lifecycle.entities import ROLE_LABELS, User
from ...messages import describe
from ...services import administration
from ...services.runner import ErrorKind, UseCaseError
from ..auth import CurrentUser
from ..forms import PostedForm, field_errors, field_text, form_status, render
from ..use_cases import run

__all__ = ["router"]

router = APIRouter(prefix="/verwaltung")

ROLE_CHOICES = [(role.value, label) for role, label in ROLE_LABELS.items()]
PURPOSES = [("first_login", "Erstanmeldung (Link gilt 7 Tage)"),
            ("reset", "Passwort zurücksetzen (Link gilt 2 Stunden)")]

# The form fields, by form: service field name -> field id on the page.
_FIELDS = {
    "benutzer": {"user_id": "benutzer-kennung", "name": "benutzer-name", "role": "benutzer-rolle",
                 "jugendamt_id": "benutzer-jugendamt", "familienzentrum_id": "benutzer-familienzentrum",
                 "traeger_id": "benutzer-traeger", "email": "benutzer-email", "reason": "benutzer-grund"},
    "zugangslink": {"email": "link-email", "purpose": "link-zweck", "reason": "link-grund"},
    "jugendamt": {"id": "jugendamt-kennung", "name": "jugendamt-name", "reason": "jugendamt-grund"},
    "traeger": {"id": "traeger-kennung", "name": "traeger-name", "reason": "traeger-grund"},
    "kitas": {"reason": "kitas-grund"},
    "aendern": {"role": "aendern-rolle", "jugendamt_id": "aendern-jugendamt",
                "familienzentrum_id": "aendern-familienzentrum", "traeger_id": "aendern-traeger",
                "reason": "aendern-grund"},
}
_MAIN = {"benutzer": "benutzer-kennung", "zugangslink": "link-email", "jugendamt": "jugendamt-kennung",
         "traeger": "traeger-kennung", "kitas": "kitas-datei", "aendern": "aendern"}
STATUSES = [("aktiv", "aktiv"), ("deaktiviert", "deaktiviert")]


def _errors(form: str, error: UseCaseError) -> dict[str, str]:
    return field_errors(error, _MAIN[form], _FIELDS[form])


def _status(error: UseCaseError) -> int:
    """The status of a failed form (the actor was checked before): 422 at the field, 409 a conflicting edit;
    an unknown object or a failing database is the error page."""
    return form_status(error, refused=422, passes=(ErrorKind.NOT_FOUND, ErrorKind.DATABASE))


def _require_admin(request: Request, user: User) -> None:
    """Only the admin: anyone else gets the refusal page (403) before a form is read."""
    run(request, lambda uow: administration.require_admin(uow, user.id))


def _base_url(request: Request) -> str:
    return request.app.state.config.base_url or str(request.base_url)


# --- users -------------------------------------------------------------------------------------------------------


def _users_page(request: Request, user: User, *, status: int = 200, errors: dict[str, str] | None = None,
                values: dict[str, str] | None = None, notice: str | None = None,
                query: dict[str, str] | None = None) -> Response:
    query = query or {}
    people, choices = run(request, lambda uow: (
        administration.accounts(uow, user.id, search=query.get("suche", ""), role=query.get("rolle", ""),
                                status=query.get("status", ""), page=query.get("seite", 1)),
        administration.choices(uow, user.id)))
    return render(request, "admin/users.html", status=status, user=user, title="Benutzer und Rollen", people=people,
                   choices=choices, roles=ROLE_CHOICES, statuses=STATUSES, errors=errors or {}, values=values or {},
                   notice=notice)


@router.get("")
def index(request: Request, user: CurrentUser) -> Response:
    return RedirectResponse("/verwaltung/benutzer", status_code=303)


@router.get("/benutzer")
def users(request: Request, user: CurrentUser, suche: str = "", rolle: str = "", status: str = "",
          seite: str = "1") -> Response:
    return _users_page(request, user, query={"suche": suche, "rolle": rolle, "status": status, "seite": seite})


@router.post("/benutzer")
def create_user(request: Request, user: CurrentUser, form: PostedForm) -> Response:
    _require_admin(request, user)
    names = ("kennung", "name", "rolle", "jugendamt", "familienzentrum", "traeger", "email", "grund")
    values = {f"benutzer-{n}": field_text(form, n) for n in names}
    values["benutzer-link"] = "ja" if field_text(form, "link") else ""
    base = _base_url(request)
    try:
        result = run(request, lambda uow: administration.new_user(
            uow, user.id, user_id=values["benutzer-kennung"], name=values["benutzer-name"],
            role=values["benutzer-rolle"], jugendamt_id=values["benutzer-jugendamt"],
            familienzentrum_id=values["benutzer-familienzentrum"], traeger_id=values["benutzer-traeger"],
            email=values["benutzer-email"], send_link=bool(values["benutzer-link"]), base_url=base,
            reason=values["benutzer-grund"]))
    except UseCaseError as exc:
        return _users_page(request, user, status=_status(exc), errors=_errors("benutzer", exc), values=values)
    return _users_page(request, user, notice=describe(result))


def _user_page(request: Request, user: User, user_id: str, *, status: int = 200,
               errors: dict[str, str] | None = None, values: dict[str, str] | None = None,
               notice: str | None = None) -> Response:
    person, choices = run(request, lambda uow: (administration.account(uow, user.id, user_id),
                                                administration.choices(uow, user.id)), conceal=True)
    return render(request, "admin/user.html", status=status, user=user, title=f"Benutzer {user_id}",
                   person=person, choices=choices, roles=ROLE_CHOICES, purposes=PURPOSES, errors=errors or {},
                   values=values or {}, notice=notice)


@router.get("/benutzer/{user_id}")
def user_page(request: Request, user_id: str, user: CurrentUser) -> Response:
    return _user_page(request, user, user_id)


@router.post("/benutzer/{user_id}/zugangslink")
def send_link(request: Request, user_id: str, user: CurrentUser, form: PostedForm) -> Response:
    run(request, lambda uow: administration.account(uow, user.id, user_id), conceal=True)
    values = {"link-email": field_text(form, "email"), "link-zweck": field_text(form, "zweck"),
              "link-grund": field_text(form, "grund")}
    base = _base_url(request)
    try:
        result = run(request, lambda uow: administration.invite(
            uow, user.id, user_id, purpose=values["link-zweck"], base_url=base, email=values["link-email"],
            reason=values["link-grund"]))
    except UseCaseError as exc:
        return _user_page(request, user, user_id, status=_status(exc), errors=_errors("zugangslink", exc),
                          values=values)
    return _user_page(request, user, user_id, notice=describe(result))


@router.post("/benutzer/{user_id}/aendern")
def change_user(request: Request, user_id: str, user: CurrentUser, form: PostedForm) -> Response:
    """Role, scope and standing of a user; a stale form (someone saved meanwhile) is a 409 with a German message."""
    run(request, lambda uow: administration.account(uow, user.id, user_id), conceal=True)
    names = ("rolle", "jugendamt", "familienzentrum", "traeger", "grund")
    values = {f"aendern-{n}": field_text(form, n) for n in names}
    values["aendern-aktiv"] = "ja" if field_text(form, "aktiv") else "nein"
    version = field_text(form, "fassung")
    try:
        result = run(request, lambda uow: administration.change_user(
            uow, user.id, user_id, role=values["aendern-rolle"], jugendamt_id=values["aendern-jugendamt"],
            familienzentrum_id=values["aendern-familienzentrum"], traeger_id=values["aendern-traeger"],
            active=values["aendern-aktiv"] == "ja", reason=values["aendern-grund"], expected_version=version))
    except UseCaseError as exc:
        if exc.kind is ErrorKind.CONFLICT:  # show what is stored now; keep only the reason typed
            values = {"aendern-grund": values["aendern-grund"]}
        return _user_page(request, user, user_id, status=_status(exc), errors=_errors("aendern", exc),
                          values=values)
    return _user_page(request, user, user_id, notice=describe(result))


# --- Jugendämter and Träger ----------------------------------------------------------------------------------------


def _master_page(request: Request, user: User, *, status: int = 200, errors: dict[str, str] | None = None,
                 values: dict[str, str] | None = None, notice: str | None = None) -> Response:
    data = run(request, lambda uow: administration.master_data(uow, user.id))
    return render(request, "admin/master_data.html", status=status, user=user, title="Jugendämter und Träger",
                   data=data, errors=errors or {}, values=values or {}, notice=notice)


@router.get("/stammdaten")
def master_data(request: Request, user: CurrentUser) -> Response:
    return _master_page(request, user)


def _create_party(request: Request, user: User, form: FormData, which: str, action) -> Response:
    _require_admin(request, user)
    values = {f"{which}-kennung": field_text(form, "kennung"), f"{which}-name": field_text(form, "name"),
              f"{which}-grund": field_text(form, "grund")}
    try:
        result = run(request, lambda uow: action(uow, user.id, values[f"{which}-kennung"], values[f"{which}-name"],
                                                 values[f"{which}-grund"]))
    except UseCaseError as exc:
        return _master_page(request, user, status=_status(exc), errors=_errors(which, exc), values=values)
    return _master_page(request, user, notice=describe(result))


@router.post("/jugendaemter")
def create_jugendamt(request: Request, user: CurrentUser, form: PostedForm) -> Response:
    return _create_party(request, user, form, "jugendamt", administration.new_jugendamt)


@router.post("/traeger")
def create_traeger(request: Request, user: CurrentUser, form: PostedForm) -> Response:
    return _create_party(request, user, form, "traeger", administration.new_traeger)


# --- Kitas ---------------------------------------------------------------------------------------------------------


def _kitas_page(request: Request, user: User, *, status: int = 200, errors: dict[str, str] | None = None,
                values: dict[str, str] | None = None, notice: str | None = None,
                problems: tuple = (), query: dict[str, str] | None = None) -> Response:
    query = query or {}
    found = run(request, lambda uow: administration.kitas(uow, user.id, search=query.get("suche", ""),
                                                          page=query.get("seite", 1)))
    return render(request, "admin/kitas.html", status=status, user=user, title="Kitas", found=found,
                   errors=errors or {}, values=values or {}, notice=notice, problems=problems)


@router.get("/kitas")
def kitas(request: Request, user: CurrentUser, suche: str = "", seite: str = "1") -> Response:
    return _kitas_page(request, user, query={"suche": suche, "seite": seite})


@router.post("/kitas")
async def import_kitas(request: Request, user: CurrentUser, form: PostedForm) -> Response:
    """The CSV import: the upload is read in the service (at most its size limit), off the event loop."""
    await run_in_threadpool(_require_admin, request, user)
    upload = form.get("datei")
    values = {"kitas-grund": field_text(form, "grund")}
    if not isinstance(upload, UploadFile) or not upload.filename:
        return await run_in_threadpool(_kitas_page, request, user, status=422, values=values,
                                       errors={"kitas-datei": "Bitte eine CSV-Datei auswählen."})

    def action(uow):
        return administration.import_kitas(uow, user.id, upload.filename, upload.file, values["kitas-grund"])

    try:
        result = await run_in_threadpool(run, request, action)
    except UseCaseError as exc:
        status = _status(exc)
        if exc.kind is ErrorKind.INPUT and exc.input_kind == "Kita-Liste" and len(exc.problems) == 1 \
                and not exc.problems[0].path and (exc.problems[0].line or 1) == 1:  # the file as a whole
            return await run_in_threadpool(_kitas_page, request, user, status=status, values=values,
                                           errors={"kitas-datei": str(exc.problems[0])})
        if exc.kind is ErrorKind.INPUT and exc.input_kind == "Kita-Liste":
            message = (f"Die Datei wurde nicht eingelesen: {len(exc.problems)} Problem(e), siehe Tabelle. "
                       "Es wurde nichts übernommen.")
            return await run_in_threadpool(_kitas_page, request, user, status=status, values=values,
                                           errors={"kitas-datei": message}, problems=exc.problems)
        return await run_in_threadpool(_kitas_page, request, user, status=status, values=values,
                                       errors=_errors("kitas", exc))
    return await run_in_threadpool(_kitas_page, request, user, notice=describe(result))
