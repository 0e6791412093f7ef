"""Who calls the JSON API: a personal API token (``Authorization: Bearer cft_…``) turned into its owner.

:func:`api_caller` answers ``None`` for a token that is unknown, expired, revoked or whose owner is
deactivated (the API says 401 to all alike), and otherwise the owner with the token's scope, so that the
API can refuse a write with a read token (403). The token's last use is noted
(:func:`certflow.services.accounts.authenticate_token`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..db.tables.accounts import TokenScope
from ..lifecycle.entities import User
from ..lifecycle.machinery import Refused
from .accounts import authenticate_token

if TYPE_CHECKING:
    from ..db.unit_of_work import UnitOfWork

__all__ = ["ApiCaller", "api_caller"]


@dataclass(frozen=True, slots=True)
class ApiCaller:
    user: User
    scope: TokenScope

    @property
    def may_write(self) -> bool:
        return self.scope is TokenScope.WRITE


def api_caller(uow: UnitOfWork, token: str) -> ApiCaller | None:
    """The owner of ``token`` and its scope; ``None`` if the token is of no use (see the module)."""
    if not token or len(token) > 200:
        return None
    try:
        return ApiCaller(authenticate_token(uow, token, scope=TokenScope.WRITE), TokenScope.WRITE)
    except Refused:
        pass
    try:
        return ApiCaller(authenticate_token(uow, token, scope=TokenScope.READ), TokenScope.READ)
    except Refused:
        return None
