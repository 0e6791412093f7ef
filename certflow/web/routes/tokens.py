"""The person's own API tokens (Zugangsschlüssel): list, create (the secret is shown once), revoke.

``/konto/zugangsschluessel``: a token has a label, a scope (lesen / lesen und ändern) and an expiry day
(default in 90 days, at most one year, :mod:`certflow.services.api_tokens`); it is stored hashed. Every
form carries the CSRF token; every change is in the audit trail.
"""

from __future__ import annotations

from fastapi import APIRouter, Form, Request
from starlette.responses import RedirectResponse, Response

from ... import services
from ...services import api_tokens
from ...services.runner import ErrorKind, UseCaseError
from ..auth import CurrentUser
from ..use_cases import run

__all__ = ["router"]

router = APIRouter()
PATH = "/konto/zugangsschluessel"


def _page(request: Request, user, *, status: int = 200, errors: dict[str, str] | None = None,
          values: dict[str, str] | None = None, created=None, notice: str | None = None) -> Response:
    page = run(request, lambda uow: api_tokens.own_tokens(uow, user.id))
    return request.app.state.pages.render(
        request, "tokens.html", status=status, user=user, title="Zugangsschlüssel für die API", page=page,
        errors=errors or {}, values=values or {}, created=created, notice=notice)


@router.get(PATH)
def tokens(request: Request, user: CurrentUser) -> Response:
    notice = "Der Zugangsschlüssel ist widerrufen." if request.query_params.get("widerrufen") else None
    return _page(request, user, notice=notice)


@router.post(PATH)
def create(request: Request, user: CurrentUser, label: str = Form(""), scope: str = Form("read"),
           valid_until: str = Form("")) -> Response:
    values = {"label": label, "scope": scope, "valid_until": valid_until}
    try:
        created = run(request, lambda uow: api_tokens.create_own_token(uow, user.id, label=label, scope=scope,
                                                                       valid_until=valid_until))
    except UseCaseError as exc:
        if exc.kind is not ErrorKind.INPUT:
            raise
        errors: dict[str, str] = {}
        for problem in exc.problems:
            name = str(problem.path[-1]) if problem.path else "label"
            errors[name] = f"{errors[name]} {problem.message}".strip() if name in errors else problem.message
        return _page(request, user, status=422, errors=errors, values=values)
    return _page(request, user, status=201, created=created)


@router.post(PATH + "/{token_id}/widerrufen")
def revoke(request: Request, user: CurrentUser, token_id: int) -> Response:
    run(request, lambda uow: services.revoke_token(uow, user.id, token_id))
    return RedirectResponse(f"{PATH}?widerrufen=1", status_code=303)
