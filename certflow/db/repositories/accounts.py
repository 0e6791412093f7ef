"""Data access of the accounts: password hashes, API tokens, one-time links, login attempts, standing.

Reached as ``uow.accounts``. Secrets never reach this module: it stores and finds the
hashes the service layer (:mod:`certflow.services.accounts`) computes. Every change of a
credential is queued for the audit trail (subject kind ``account``, subject the user id)
with a payload that names what changed, never a hash or a secret.

The mail carrying a one-time link goes through the reminders' outbox and inbox
(:meth:`AccountRepository.queue_mail`, with ``uow.inbox``/``uow.outbox``/``uow.contacts``):
that method and :meth:`~AccountRepository.email_of` are the whole coupling to them.

A user's standing (role, scope, active; the ``app_user`` row's ``version``) is changed here
(:meth:`~AccountRepository.change_user`, optimistic locking, audited as ``user.update``), because
a change ends the person's credentials: their open tokens and links are revoked in the same
transaction, and the new version changes their session stamp (:meth:`~AccountRepository.login_state`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import CursorResult, delete, func, select, update

from ...lifecycle.entities import Role, User
from ..tables import AppUserRow
from ..tables.accounts import (
    ApiTokenRow,
    AttemptOutcome,
    LinkPurpose,
    LoginAttemptRow,
    OneTimeLinkRow,
    PasswordCredentialRow,
    TokenScope,
)
from ..versioning import diff, update_versioned
from .base import Repository

__all__ = ["AccountRepository", "LoginState", "StandingChange", "StoredLink", "StoredToken"]

P = PasswordCredentialRow.__table__  # type: ignore[attr-defined]
T = ApiTokenRow.__table__  # type: ignore[attr-defined]
L = OneTimeLinkRow.__table__  # type: ignore[attr-defined]
A = LoginAttemptRow.__table__  # type: ignore[attr-defined]
U = AppUserRow.__table__  # type: ignore[attr-defined]
STANDING = ("role", "jugendamt_id", "familienzentrum_id", "traeger_id", "active")
"""The columns of ``app_user`` an administrator changes (:meth:`AccountRepository.change_user`)."""


@dataclass(frozen=True, slots=True)
class LoginState:
    """A user with what a login or session check needs: the password hash (None: none set), the row's version
    (part of the session stamp) and whether the account is active."""

    user: User
    password_hash: str | None
    version: int
    active: bool


@dataclass(frozen=True, slots=True)
class StandingChange:
    """What :meth:`AccountRepository.change_user` did: the new version, ``{column: [before, after]}``, and how
    many tokens and one-time links it revoked."""

    version: int
    changes: dict[str, list[Any]]
    tokens_revoked: int
    links_revoked: int


@dataclass(frozen=True, slots=True)
class StoredToken:
    id: int
    user_id: str
    label: str
    scope: TokenScope
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None


@dataclass(frozen=True, slots=True)
class StoredLink:
    id: int
    user_id: str
    purpose: LinkPurpose
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None
    revoked_at: datetime | None


def _token(row: Any) -> StoredToken:
    return StoredToken(row.id, row.user_id, row.label, TokenScope(row.scope), row.created_at, row.expires_at,
                       row.revoked_at, row.last_used_at)


def _link(row: Any) -> StoredLink:
    return StoredLink(row.id, row.user_id, LinkPurpose(row.purpose), row.created_at, row.expires_at, row.used_at,
                      row.revoked_at)


class AccountRepository(Repository):
    kind = "account"

    def _execute(self, statement: Any) -> CursorResult:
        """A write on the unit of work's connection (row counts, inserted keys)."""
        return self._session.connection().execute(statement)

    def _audit(self, action: str, user_id: str, *, actor_id: str, reason: str,
               payload: Mapping[str, Any] | None = None) -> None:
        self._log(action, user_id, actor_id=actor_id, reason=reason, payload=payload)

    # -- passwords ------------------------------------------------------------------------------------------

    def password_hash(self, user_id: str) -> tuple[str, datetime] | None:
        """The stored hash of the user's password and when it was set, or None."""
        row = self._session.execute(select(P.c.password_hash, P.c.set_at).where(P.c.user_id == user_id)).first()
        return None if row is None else (row.password_hash, row.set_at)

    def set_password_hash(self, user_id: str, password_hash: str, *, actor_id: str, reason: str,
                          action: str = "password_set", payload: Mapping[str, Any] | None = None) -> datetime:
        """Store a new hash (replacing the old one); audited. Returns when it was set."""
        now = self._now()
        exists = self.password_hash(user_id) is not None
        if exists:
            self._execute(update(P).where(P.c.user_id == user_id)
                                  .values(password_hash=password_hash, set_at=now))
        else:
            self._session.execute(P.insert().values(user_id=user_id, password_hash=password_hash, set_at=now))
        self._audit(action, user_id, actor_id=actor_id, reason=reason,
                    payload={"replaced": exists, **(payload or {})})
        return now

    def users_with_password(self, user_ids: list[str]) -> set[str]:
        if not user_ids:
            return set()
        return set(self._session.execute(select(P.c.user_id).where(P.c.user_id.in_(user_ids))).scalars())

    # -- standing: role, scope, active -----------------------------------------------------------------------

    def login_state(self, user_id: str) -> LoginState | None:
        """The user with password hash, version and standing in one statement (None: no such user)."""
        row = self._session.execute(
            select(U, P.c.password_hash).select_from(U.outerjoin(P, P.c.user_id == U.c.id))
            .where(U.c.id == user_id)).first()
        if row is None:
            return None
        values = row._mapping
        user = User(**{name: values[U.c[name]] for name in User.__slots__})
        return LoginState(user, values[P.c.password_hash], int(values[U.c.version]), bool(values[U.c.active]))

    def active_admins(self, *, lock: bool = False) -> list[str]:
        """The ids of the active administrators; ``lock``: their rows stay locked until the commit (PostgreSQL:
        a concurrent demotion waits, then sees this one's outcome; SQLite has one writer at a time anyway)."""
        statement = select(U.c.id).where(U.c.role == Role.ADMIN, U.c.active.is_(True)).order_by(U.c.id)
        return list(self._session.execute(statement.with_for_update() if lock else statement).scalars())

    def change_user(self, user: User, *, active: bool, expected_version: int, actor_id: str, reason: str,
                    payload: Mapping[str, Any] | None = None) -> StandingChange:
        """Write ``user``'s role and scope and ``active`` if the row is still at ``expected_version`` (else
        :class:`~certflow.db.errors.ConflictError`); revoke the user's open tokens and one-time links; one
        audit entry ``user.update`` with ``{column: [before, after]}`` and what was revoked."""
        now = self._now()
        old = self._session.execute(select(*(U.c[name] for name in STANDING)).where(U.c.id == user.id)).first()
        new_values = {"role": user.role, "jugendamt_id": user.jugendamt_id,
                      "familienzentrum_id": user.familienzentrum_id, "traeger_id": user.traeger_id, "active": active}
        before = dict(old._mapping) if old is not None else {}
        changes = diff({k: getattr(v, "value", v) for k, v in before.items()},
                       {k: getattr(v, "value", v) for k, v in new_values.items()})
        version = update_versioned(self._session, AppUserRow, {"id": user.id}, kind="user", subject_id=user.id,
                                   expected=expected_version, values=new_values)
        tokens = self._execute(update(T).where(T.c.user_id == user.id, T.c.revoked_at.is_(None))
                                       .values(revoked_at=now)).rowcount
        links = self._execute(update(L).where(L.c.user_id == user.id, L.c.used_at.is_(None),
                                              L.c.revoked_at.is_(None)).values(revoked_at=now)).rowcount
        self._uow.record(actor_id=actor_id, action="user.update", subject_kind="user", subject_id=user.id,
                         reason=reason, payload={**changes, "version": [expected_version, version],
                                                 "sessions_ended": True, "tokens_revoked": tokens,
                                                 "links_revoked": links, **(payload or {})})
        return StandingChange(version, changes, tokens, links)

    # -- API tokens -----------------------------------------------------------------------------------------

    def add_token(self, user_id: str, *, label: str, scope: TokenScope, token_hash: str,
                  expires_at: datetime | None, actor_id: str, reason: str) -> StoredToken:
        now = self._now()
        result = self._execute(T.insert().values(
            user_id=user_id, label=label, scope=scope.value, token_hash=token_hash, created_at=now,
            expires_at=expires_at))
        token_id = int(result.inserted_primary_key[0])  # type: ignore[index]
        self._audit("token_create", user_id, actor_id=actor_id, reason=reason,
                    payload={"token_id": token_id, "label": label, "scope": scope.value, "expires_at": expires_at})
        return StoredToken(token_id, user_id, label, scope, now, expires_at, None, None)

    def token_by_hash(self, token_hash: str) -> StoredToken | None:
        row = self._session.execute(select(T).where(T.c.token_hash == token_hash)).first()
        return None if row is None else _token(row)

    def token(self, token_id: int) -> StoredToken | None:
        row = self._session.execute(select(T).where(T.c.id == token_id)).first()
        return None if row is None else _token(row)

    def tokens_of(self, user_id: str) -> list[StoredToken]:
        rows = self._session.execute(select(T).where(T.c.user_id == user_id).order_by(T.c.id))
        return [_token(row) for row in rows]

    def revoke_token(self, token: StoredToken, *, actor_id: str, reason: str) -> bool:
        """Revoke a token not revoked yet; audited. False if it was revoked already."""
        now = self._now()
        done = self._execute(update(T).where(T.c.id == token.id, T.c.revoked_at.is_(None))
                                     .values(revoked_at=now)).rowcount == 1
        if done:
            self._audit("token_revoke", token.user_id, actor_id=actor_id, reason=reason,
                        payload={"token_id": token.id, "label": token.label})
        return done

    def token_used(self, token_id: int, at: datetime) -> None:
        """Note the token's last use (not audited: a use is not a change of the credential)."""
        self._execute(update(T).where(T.c.id == token_id).values(last_used_at=at))

    # -- one-time links -------------------------------------------------------------------------------------

    def add_link(self, user_id: str, *, purpose: LinkPurpose, token_hash: str, expires_at: datetime,
                 actor_id: str, reason: str, payload: Mapping[str, Any] | None = None) -> StoredLink:
        """A new link; the user's links still open are revoked (only the newest one works). Audited."""
        now = self._now()
        revoked = self._execute(update(L).where(
            L.c.user_id == user_id, L.c.used_at.is_(None), L.c.revoked_at.is_(None)).values(revoked_at=now)).rowcount
        result = self._execute(L.insert().values(
            user_id=user_id, purpose=purpose.value, token_hash=token_hash, created_at=now, expires_at=expires_at))
        link_id = int(result.inserted_primary_key[0])  # type: ignore[index]
        self._audit("link_issue", user_id, actor_id=actor_id, reason=reason,
                    payload={"link_id": link_id, "purpose": purpose.value, "expires_at": expires_at,
                             "replaced_links": revoked, **(payload or {})})
        return StoredLink(link_id, user_id, purpose, now, expires_at, None, None)

    def link_by_hash(self, token_hash: str) -> StoredLink | None:
        row = self._session.execute(select(L).where(L.c.token_hash == token_hash)).first()
        return None if row is None else _link(row)

    def last_link_at(self, user_id: str) -> datetime | None:
        """When the user's newest link was issued."""
        return self._session.execute(select(func.max(L.c.created_at)).where(L.c.user_id == user_id)).scalar()

    def use_link(self, link: StoredLink, *, at: datetime) -> bool:
        """Mark the link used; False if it was used or revoked meanwhile (single use, race-safe)."""
        return self._execute(update(L).where(
            L.c.id == link.id, L.c.used_at.is_(None), L.c.revoked_at.is_(None)).values(used_at=at)).rowcount == 1

    # -- login attempts -------------------------------------------------------------------------------------

    def record_attempt(self, login: str, address: str, outcome: AttemptOutcome, at: datetime) -> None:
        self._session.execute(A.insert().values(at=at, login=login[:200], address=address[:64],
                                                outcome=outcome.value))

    def last_success(self, login: str) -> datetime | None:
        return self._session.execute(select(func.max(A.c.at)).where(
            A.c.login == login, A.c.outcome == AttemptOutcome.SUCCESS.value)).scalar()

    def failures(self, *, since: datetime, login: str | None = None, address: str | None = None) -> list[datetime]:
        """When the failed attempts of a name (or from an address) since ``since`` happened, newest first."""
        query = select(A.c.at).where(A.c.outcome == AttemptOutcome.FAILURE.value, A.c.at > since)
        if login is not None:
            query = query.where(A.c.login == login)
        if address is not None:
            query = query.where(A.c.address == address)
        return list(self._session.execute(query.order_by(A.c.at.desc())).scalars())

    def forget_attempts(self, before: datetime) -> int:
        """Delete attempts older than ``before`` (they no longer count for anything)."""
        return self._execute(delete(A).where(A.c.at < before)).rowcount

    # -- mail through the outbox ----------------------------------------------------------------------------

    def email_of(self, user_id: str) -> str | None:
        contact = self._uow.contacts.get(user_id)
        return contact.email if contact is not None and contact.email else None

    def queue_mail(self, user_id: str, key: str, *, subject: str, body: str, label: str) -> str:
        """Put a prepared mail into the person's inbox and the mail outbox (sent once by the scheduler).

        The inbox message (``reminder_key`` = ``key``) holds subject and text and is tied to the
        outbox item ``<key>#<user>`` that carries it (immediate, never in a digest). Returns the
        outbox key.
        """
        from ..tables.reminders import DeliveryMode, DeliveryStatus, InboxKind
        from .reminders import InboxRepository, OutboxRepository

        now = self._now()
        delivery_key = f"{key}#{user_id}"
        InboxRepository(self._session).add([{
            "user_id": user_id, "reminder_key": key, "kind": InboxKind.REMINDER.value, "subject": subject,
            "body": body, "created_at": now, "delivery_key": delivery_key}])
        OutboxRepository(self._session).add([{
            "key": delivery_key, "user_id": user_id, "mode": DeliveryMode.IMMEDIATE.value, "reminder_keys": [key],
            "label": label, "status": DeliveryStatus.PENDING.value, "attempts": 0, "next_attempt_at": now,
            "uncertain": False, "last_error": None, "created_at": now}])
        return delivery_key
