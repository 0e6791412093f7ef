"""Who calls the API: ``Authorization: Bearer <token>`` with a personal API token, nothing else.

No cookie counts here: a request with the web session's cookie but without a token is refused (401),
so the API needs no CSRF protection (a foreign site cannot make a browser send a bearer token). A read
token may only read (GET); every other method needs a token with the scope ``write`` (403 otherwise).
What the caller then does is done as the token's owner (the audit trail names them).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from ...services.api_access import ApiCaller, api_caller
from .problems import ApiProblem

__all__ = ["Caller", "caller"]

_READING = frozenset({"GET", "HEAD", "OPTIONS"})
_BEARER = HTTPBearer(auto_error=False, scheme_name="Zugangsschluessel",
                     description="Persönlicher Zugangsschlüssel (cft_…), erstellt unter /konto/zugangsschluessel")
_CHALLENGE = 'Bearer realm="certflow"'


def caller(request: Request,
           credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_BEARER)]) -> ApiCaller:
    if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
        raise ApiProblem(401, "Bitte mit einem Zugangsschlüssel anmelden: Kopfzeile „Authorization: Bearer …“.",
                         {"WWW-Authenticate": _CHALLENGE})
    token = credentials.credentials
    found = request.app.state.certflow.run(lambda uow: api_caller(uow, token))
    if found is None:
        raise ApiProblem(401, "Der Zugangsschlüssel ist ungültig, abgelaufen oder widerrufen.",
                         {"WWW-Authenticate": f'{_CHALLENGE}, error="invalid_token"'})
    if request.method not in _READING and not found.may_write:
        raise ApiProblem(403, "Dieser Zugangsschlüssel erlaubt nur Lesen (Bereich „read“).",
                         {"WWW-Authenticate": f'{_CHALLENGE}, error="insufficient_scope", scope="write"'})
    return found


Caller = Annotated[ApiCaller, Depends(caller)]
"""The parameter of every operation: the token's owner (``.user``) and scope."""
