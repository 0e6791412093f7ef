"""Data access of the accounts: password hashes, API tokens, one-time links, login attempts.

Reached as ``uow.accounts``. Secrets never reach this module: it stores and finds the
hashes the service layer (:mod:`certflow.services.accounts`) computes. Every change of a
credential is queued for the audit trail (subject kind ``account``, subject the user id)
with a payload that names what changed, never a hash or a secret.

The mail carrying a one-time link goes through the reminders' outbox and inbox
(:meth:`AccountRepository.queue_mail`, with ``uow.inbox``/``uow.outbox``/``uow.contacts``):
that method and :meth:`~AccountRepository.email_of` are the whole coupling to them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import CursorResult, delete, func, select, update

from ..tables.accounts import (
    ApiTokenRow,
    AttemptOutcome,
    LinkPurpose,
    LoginAttemptRow,
    OneTimeLinkRow,
    PasswordCredentialRow,
    TokenScope,
)
from .base import Repository

__all__ = ["AccountRepository", "StoredLink", "StoredToken"]

P = PasswordCredentialRow.__table__  # type: ignore[attr-defined]
T = ApiTokenRow.__table__  # type: ignore[attr-defined]
L = OneTimeLinkRow.__table__  # type: ignore[attr-defined]
A = LoginAttemptRow.__table__  # type: ignore[attr-defined]


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
