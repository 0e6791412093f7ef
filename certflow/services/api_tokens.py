"""Personal API tokens as the web's token page (/konto/zugangsschluessel) makes them: for oneself only,
with a label, a scope (``read`` or ``write``) and an expiry day — by default :data:`DEFAULT_VALIDITY` from
today, at most :data:`MAX_VALIDITY`. A token is valid through its expiry day (Berlin time) and ends at the
following midnight. Listing and revoking are :func:`certflow.services.accounts.list_tokens` and
:func:`~certflow.services.accounts.revoke_token` (audit trail included)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING

from ..db.tables.accounts import TokenScope
from ..errors import InputError, Problem
from ..lifecycle.machinery import BERLIN, local_date
from .accounts import NewToken, StoredToken, create_token, list_tokens
from .actors import resolve
from .common import today

if TYPE_CHECKING:
    from ..db.unit_of_work import UnitOfWork

__all__ = ["DEFAULT_VALIDITY", "MAX_VALIDITY", "TokenPage", "TokenRow", "create_own_token", "own_tokens"]

DEFAULT_VALIDITY = timedelta(days=90)
MAX_VALIDITY = timedelta(days=366)
SOURCE = "Zugangsschlüssel"


@dataclass(frozen=True, slots=True)
class TokenRow:
    token: StoredToken
    valid_through: date | None  # the last day it works (None: no expiry)
    status: str                 # gültig | abgelaufen | widerrufen

    @property
    def usable(self) -> bool:
        return self.status == "gültig"


def _row(token: StoredToken, now: datetime) -> TokenRow:
    through = local_date(token.expires_at - timedelta(microseconds=1)) if token.expires_at else None
    if token.revoked_at is not None:
        status = "widerrufen"
    elif token.expires_at is not None and token.expires_at <= now:
        status = "abgelaufen"
    else:
        status = "gültig"
    return TokenRow(token, through, status)


@dataclass(frozen=True, slots=True)
class TokenPage:
    tokens: tuple[TokenRow, ...]
    today: date
    default_until: date
    latest_until: date
    now: datetime


def own_tokens(uow: UnitOfWork, actor_id: str) -> TokenPage:
    """The actor's own tokens (newest first) and the dates the form offers."""
    actor = resolve(uow, actor_id)
    day = today(uow)
    tokens = sorted(list_tokens(uow, actor.id, actor.id), key=lambda t: t.created_at, reverse=True)
    now = uow.now()
    return TokenPage(tuple(_row(t, now) for t in tokens), day, day + DEFAULT_VALIDITY, day + MAX_VALIDITY, now)


def create_own_token(uow: UnitOfWork, actor_id: str, *, label: str, scope: str, valid_until: str | date | None
                     ) -> NewToken:
    """A new token for the actor; bad input names the field (``label``, ``scope``, ``valid_until``)."""
    actor = resolve(uow, actor_id)
    day = today(uow)
    problems = []
    try:
        wanted = TokenScope(scope)
    except ValueError:
        problems.append(Problem(SOURCE, None, ("scope",), "bitte „lesen“ oder „lesen und ändern“ wählen"))
        wanted = TokenScope.READ
    until: date | None = None
    if valid_until in (None, ""):
        until = day + DEFAULT_VALIDITY
    elif isinstance(valid_until, date):
        until = valid_until
    else:
        try:
            until = date.fromisoformat(str(valid_until).strip())
        except ValueError:
            problems.append(Problem(SOURCE, None, ("valid_until",), "bitte ein Datum angeben (TT.MM.JJJJ)"))
    if until is not None and until < day:
        problems.append(Problem(SOURCE, None, ("valid_until",), "das Ablaufdatum liegt in der Vergangenheit"))
    elif until is not None and until > day + MAX_VALIDITY:
        latest = (day + MAX_VALIDITY).strftime("%d.%m.%Y")
        problems.append(Problem(SOURCE, None, ("valid_until",), f"höchstens ein Jahr: spätestens {latest}"))
    if not (label or "").strip():
        problems.append(Problem(SOURCE, None, ("label",), "Bitte eine Bezeichnung angeben"))
    if problems:
        raise InputError(problems)
    assert until is not None
    expires_at = datetime.combine(until + timedelta(days=1), time(0), tzinfo=BERLIN)
    return create_token(uow, actor.id, actor.id, label=label, scope=wanted, expires_at=expires_at,
                        reason=f"Zugangsschlüssel „{label.strip()}“ auf der Kontoseite erstellt")
