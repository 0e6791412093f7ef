"""How a route runs a use case: through the application layer, as the logged-in user.

Routes hold no query, commit or rule: they call :func:`run` with a service call, which goes
through :meth:`certflow.services.runner.Application.run` (one unit of work, after-commit
handlers). A failure leaves as :class:`~certflow.services.runner.UseCaseError` and becomes a
German page (:mod:`.errors`); ``conceal=True`` (pages that show one object) answers 404 for
both an unknown object and one the user may not see.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import Request

from ..services.runner import Application, UseCaseError

__all__ = ["Concealed", "application", "run"]

T = TypeVar("T")


class Concealed(Exception):
    """A use-case error on a page that must not reveal whether a foreign object exists."""

    def __init__(self, error: UseCaseError):
        super().__init__(error.message)
        self.error = error


def application(request: Request) -> Application:
    return request.app.state.certflow


def run(request: Request, action: Callable[[Any], T], *, conceal: bool = False) -> T:
    try:
        return application(request).run(action)
    except UseCaseError as exc:
        if conceal:
            raise Concealed(exc) from None
        raise
