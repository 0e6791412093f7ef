"""Who acts at the command line, proven: an API token, a password, or the machine's administrator switch.

The command line names who acts with ``--as`` and proves it once per command with
:func:`authenticate_cli`, in a unit of work of its own, before the command's use case:

* an **API token** (:func:`~.accounts.authenticate_token`; made with ``certflow users token``):
  unknown, expired or revoked tokens are refused, a read-only token only for commands that
  read (``scope``). The token names its owner, so ``--as`` may be left out; given, it must be
  the owner;
* a **password** (typed at the terminal): :func:`~.accounts.verify_login`, throttled like the
  web login (the failed attempt is committed, so it counts);
* the **administrator switch** (``certflow --local-admin``): the command acts as the account
  the settings name (:attr:`certflow.settings.Settings.admin_user`, role admin), for operators
  on the server itself (cron jobs, the scheduler). It proves nothing beyond access to the
  database configuration, which lets one change the tables directly anyway. A command run
  so uses :class:`LocalAdminApplication`: every audit entry of that account carries
  :data:`LOCAL_ADMIN_NOTE` after its reason (``certflow history`` shows it) and
  ``"via": "local-admin"`` in its payload.

Refusals: a failed password (wrong or throttled) is returned as an :class:`Authentication`
with its German ``refusal`` (the attempt must be committed); everything else raises
:class:`~certflow.lifecycle.machinery.Refused` and changes nothing (a token's last use is noted
only when the command may go on).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from ..db.tables.accounts import TokenScope
from ..db.unit_of_work import UnitOfWork
from ..lifecycle.entities import Role, User
from ..lifecycle.machinery import Refused
from .accounts import authenticate_token, require_active, verify_login
from .runner import Application

if TYPE_CHECKING:
    from ..lifecycle.machinery import Clock

__all__ = ["LOCAL_ADMIN_NOTE", "Authentication", "Credentials", "LocalAdminApplication", "Via", "authenticate_cli"]

LOCAL_ADMIN_NOTE = "[lokal als Administration: certflow --local-admin]"
"""Appended to the reason of every audit entry a ``--local-admin`` command records as the administrator account."""


class Via(StrEnum):
    """How the person at the command line proved who they are."""

    TOKEN = "token"
    PASSWORD = "password"
    LOCAL_ADMIN = "local-admin"


@dataclass(frozen=True, slots=True)
class Credentials:
    """What the person at the command line offers: a token, a password, or the administrator switch."""

    token: str | None = None
    password: str | None = None
    local_admin: bool = False

    def __repr__(self) -> str:  # never a secret in a log or traceback
        return f"Credentials(via={self.via})"

    @property
    def via(self) -> Via | None:
        if self.local_admin:
            return Via.LOCAL_ADMIN
        if self.token is not None:
            return Via.TOKEN
        if self.password is not None:
            return Via.PASSWORD
        return None


@dataclass(frozen=True, slots=True)
class Authentication:
    """Who acts (``user``) and how it was proven; or, for a failed password, why not (German)."""

    user: User | None
    via: Via | None = None
    refusal: str | None = None

    @property
    def ok(self) -> bool:
        return self.user is not None


def authenticate_cli(uow: UnitOfWork, claimed: str | None, credentials: Credentials, *,
                     scope: TokenScope | str = TokenScope.WRITE, admin_user: str, address: str) -> Authentication:
    """Prove that the person at the command line is ``claimed`` (``--as``; ``None``: whoever the token names).

    ``scope``: ``read`` for a command that only reads, ``write`` for one that changes something
    (only a token can be narrower than its owner). ``admin_user``: the administrator account of
    the settings (``--local-admin``). ``address``: where a password attempt comes from (throttle).
    """
    claimed = (claimed or "").strip() or None
    via = credentials.via
    if via is Via.LOCAL_ADMIN:
        return Authentication(_local_admin(uow, claimed, admin_user), via)
    if via is Via.TOKEN:
        return Authentication(_token_owner(uow, claimed, credentials.token or "", TokenScope(scope)), via)
    if via is Via.PASSWORD:
        if claimed is None:
            raise Refused("Für die Anmeldung mit Passwort angeben, wer handelt (--as BENUTZER)")
        outcome = verify_login(uow, claimed, credentials.password or "", address=address)
        return Authentication(outcome.user, via) if outcome.ok else Authentication(None, via, outcome.message)
    raise Refused("Nicht angemeldet: kein Zugangsschlüssel, kein Passwort")


def _local_admin(uow: UnitOfWork, claimed: str | None, admin_user: str) -> User:
    admin = uow.users.find((admin_user or "").strip())
    if admin is None or admin.role is not Role.ADMIN:
        raise Refused(f"Das Verwaltungskonto „{admin_user}“ (CERTFLOW_ADMIN_USER) gibt es nicht oder es hat nicht "
                      f"die Rolle {Role.ADMIN.label}")
    if claimed is not None and claimed != admin.id:
        raise Refused(f"--local-admin handelt als {admin.id}, nicht als {claimed}")
    require_active(uow, admin)  # a deactivated account is refused here as for its token and password
    return admin


def _token_owner(uow: UnitOfWork, claimed: str | None, token: str, scope: TokenScope) -> User:
    owner = authenticate_token(uow, token, scope=scope)  # notes the use: rolled back if refused below
    if claimed is not None and claimed != owner.id:
        if uow.users.find(claimed) is None:
            raise Refused(f"Unbekannter Benutzer '{claimed}'")
        raise Refused(f"Der Zugangsschlüssel gehört nicht zu {claimed}")
    return owner


class _LocalAdminUnitOfWork(UnitOfWork):
    """A unit of work whose audit entries by the administrator account say that the local switch was used."""

    def __init__(self, engine: Any, *, clock: Clock, admin_id: str):
        super().__init__(engine, clock=clock)
        self._admin_id = admin_id

    def record(self, *, actor_id: str, action: str, subject_kind: str, subject_id: str, reason: str,
               payload: Mapping[str, Any] | None = None, **rest: Any) -> None:
        if actor_id == self._admin_id:
            reason = f"{reason.strip()} {LOCAL_ADMIN_NOTE}" if isinstance(reason, str) and reason.strip() else reason
            payload = {**(payload or {}), "via": Via.LOCAL_ADMIN.value}
        super().record(actor_id=actor_id, action=action, subject_kind=subject_kind, subject_id=subject_id,
                       reason=reason, payload=payload, **rest)


class LocalAdminApplication(Application):
    """The application of a command run with ``certflow --local-admin``: its units of work mark every audit
    entry of the administrator account (:data:`LOCAL_ADMIN_NOTE`, payload ``via``)."""

    def unit_of_work(self) -> UnitOfWork:
        return _LocalAdminUnitOfWork(self.engine, clock=self.clock, admin_id=self.settings.admin_user.strip())
