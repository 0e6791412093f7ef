"""Who is asking: :func:`current_user`, the dependency every page after the login uses.

It reads the session (:mod:`.sessions`), asks the application layer whether its user still
exists, is active, and has the same password, role, scope and standing as at the login
(:func:`certflow.services.session_user`, one query), and raises
:class:`~.errors.LoginRequired` otherwise (the login page, or an ``HX-Redirect`` for htmx).
Every action a route then runs is done as this user: the services record them in the audit trail.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from .. import services
from ..lifecycle.entities import User
from .errors import LoginRequired
from .sessions import session_of

__all__ = ["CurrentUser", "client_address", "current_user"]


def client_address(request: Request) -> str:
    """The client's address as the server sees it (behind a proxy: configure uvicorn's forwarded headers)."""
    return request.client.host if request.client else "unbekannt"


def current_user(request: Request) -> User:
    session = session_of(request)
    if not session.user_id:
        raise LoginRequired()
    app = request.app.state.certflow
    user = app.run(lambda uow: services.session_user(uow, session.user_id, session.stamp))
    if user is None:
        session.clear()
        session.expired = True
        raise LoginRequired()
    request.state.user = user
    return user


CurrentUser = Annotated[User, Depends(current_user)]
"""The parameter type of a route that needs the logged-in user: ``def page(request, user: CurrentUser)``."""
