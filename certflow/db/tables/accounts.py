"""How people prove who they are: passwords, API tokens, one-time links, and the login attempts.

* ``password_credential``: one row per user who has a password: its argon2id hash (the
  hash string carries salt and parameters) and when it was set. Never the password.
* ``api_token``: tokens for the command line, stored as the SHA-256 of the token (tokens
  are 256-bit random strings, so a fast hash is enough); owner, label, scope, expiry,
  revocation and last use. The token itself is shown once, when it is made.
* ``one_time_link``: a link for the first login or a password reset, stored as the
  SHA-256 of its secret; single use (``used_at``), expiring, replaced by a newer one
  (``revoked_at``).
* ``login_attempt``: every login try with the name typed (also unknown names, so no
  foreign key), the client's address and the outcome; the throttle counts failures per
  name and per address in a window (:mod:`certflow.services.accounts`).

Every change of a credential is also in the audit trail (who, when, why; never a secret).
"""

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field

from ..types import ID, UTCDateTime, enum_by_value
from .base import Base

__all__ = [
    "ApiTokenRow", "AttemptOutcome", "LinkPurpose", "LoginAttemptRow", "OneTimeLinkRow", "PasswordCredentialRow",
    "TokenScope",
]


class TokenScope(StrEnum):
    READ = "read"    # reading commands only (overview, history, documents)
    WRITE = "write"  # everything the owner may do


class LinkPurpose(StrEnum):
    FIRST_LOGIN = "first_login"
    RESET = "reset"


class AttemptOutcome(StrEnum):
    SUCCESS = "success"
    FAILURE = "failure"      # unknown name, no password set, or a wrong password
    THROTTLED = "throttled"  # refused unchecked during a cooling-off period (not counted as a failure)


class PasswordCredentialRow(Base, table=True):
    __tablename__ = "password_credential"

    user_id: str = Field(primary_key=True, foreign_key="app_user.id", sa_type=ID)
    password_hash: str = Field(sa_type=sa.String(255))
    set_at: datetime = Field(sa_type=UTCDateTime)


class ApiTokenRow(Base, table=True):
    __tablename__ = "api_token"

    id: int | None = Field(default=None, primary_key=True, sa_type=sa.Integer)
    user_id: str = Field(foreign_key="app_user.id", index=True, sa_type=ID)
    label: str = Field(sa_type=sa.String(100))
    scope: TokenScope = Field(sa_type=enum_by_value(TokenScope, "scope"))
    token_hash: str = Field(unique=True, sa_type=sa.String(64))
    created_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class OneTimeLinkRow(Base, table=True):
    __tablename__ = "one_time_link"

    id: int | None = Field(default=None, primary_key=True, sa_type=sa.Integer)
    user_id: str = Field(foreign_key="app_user.id", index=True, sa_type=ID)
    purpose: LinkPurpose = Field(sa_type=enum_by_value(LinkPurpose, "purpose"))
    token_hash: str = Field(unique=True, sa_type=sa.String(64))
    created_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class LoginAttemptRow(Base, table=True):
    __tablename__ = "login_attempt"
    __table_args__ = (sa.Index(None, "login", "at"), sa.Index(None, "address", "at"))

    id: int | None = Field(default=None, primary_key=True, sa_type=sa.Integer)
    at: datetime = Field(sa_type=UTCDateTime)
    login: str = Field(sa_type=sa.String(200))
    address: str = Field(sa_type=sa.String(64))
    outcome: AttemptOutcome = Field(sa_type=enum_by_value(AttemptOutcome, "outcome"))
