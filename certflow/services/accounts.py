"""Use cases of the accounts: passwords, login with throttling, one-time links, API tokens.

Who may (decided here):

* a password is set by the person themselves (giving the current one, if one is set) or
  by an administrator; it must pass :func:`password_problems` (German policy: at least
  :data:`PASSWORD_MIN` characters, not the user name, not a well-known password, not one
  repeated character, ...). It is stored as an argon2id hash (argon2-cffi's defaults);
* :func:`verify_login` checks a name and password. It is throttled: after
  :data:`ACCOUNT_LIMIT` failures for one name within :data:`WINDOW` (counted since its last
  success), or :data:`ADDRESS_LIMIT` from one address, every try is refused unchecked until
  the oldest counted failure leaves the window (the cooling-off period). An unknown name
  costs the same hash computation as a known one. It returns the outcome instead of raising,
  so that the attempt itself is committed (the throttle counts it);
* a one-time link (first login or password reset) is issued by an administrator for anyone
  (or by the person for themselves), or asked for anonymously on the web
  (:func:`request_password_reset`, which reveals nothing). It goes out as a mail through the
  reminders' outbox (and into the person's inbox), is valid once and until its expiry, and
  only the newest link of a person works. The database keeps only its SHA-256;
* API tokens (for the command line) are made by the owner or an administrator, shown once,
  stored as SHA-256, expire optionally, and are revoked by the owner or an administrator.
  :func:`authenticate_token` turns a token into its user;
* a deactivated account (:func:`certflow.services.user_admin.change_user`) can neither log in
  (:func:`verify_login` says so, after the right password only), nor keep a session, nor use a token
  or a one-time link. A web session remembers a stamp of the password hash and the user row's
  version: a new password or a change of role, scope or standing ends every session.

Every change of a credential is in the audit trail (subject ``account``/user id: who, when,
why; the payload names what changed, never a secret or hash).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from ..db.repositories.accounts import StoredLink, StoredToken
from ..db.tables.accounts import AttemptOutcome, LinkPurpose, TokenScope
from ..errors import InputError, Problem
from ..lifecycle.entities import Role, User
from ..lifecycle.machinery import BERLIN, Refused
from .actors import resolve

if TYPE_CHECKING:
    from ..db.unit_of_work import UnitOfWork

__all__ = [
    "ACCOUNT_LIMIT",
    "ADDRESS_LIMIT",
    "LINK_TTL",
    "PASSWORD_MIN",
    "WINDOW",
    "INACTIVE_MESSAGE",
    "IssuedLink",
    "LinkInfo",
    "LinkPurpose",
    "LoginOutcome",
    "LoginStatus",
    "NewToken",
    "PasswordPolicyError",
    "StoredToken",
    "TokenScope",
    "authenticate_token",
    "check_link",
    "create_token",
    "credential_stamp",
    "issue_one_time_link",
    "list_tokens",
    "password_problems",
    "redeem_link",
    "request_password_reset",
    "require_active",
    "revoke_token",
    "session_user",
    "set_password",
    "verify_login",
]

PASSWORD_MIN = 10
PASSWORD_MAX = 256
WINDOW = timedelta(minutes=15)
ACCOUNT_LIMIT = 5
ADDRESS_LIMIT = 20
ATTEMPTS_KEPT = timedelta(days=30)
LINK_TTL = {LinkPurpose.FIRST_LOGIN: timedelta(days=7), LinkPurpose.RESET: timedelta(hours=2)}
RESET_PAUSE = timedelta(minutes=5)
"""An anonymous reset request for the same person within this time sends no second mail."""
TOKEN_PREFIX = "cft_"
INACTIVE_MESSAGE = "Dieser Zugang ist deaktiviert. Bitte wenden Sie sich an die Administration."

_COMMON = frozenset({
    "passwort123", "passwort1234", "password123", "password1234", "1234567890", "0123456789", "qwertz1234",
    "qwertzuiop", "qwertyuiop", "asdfghjkl1", "hallo12345", "willkommen", "willkommen1", "geheim1234",
    "sommer2024", "sommer2025", "sommer2026", "winter2025", "familienzentrum", "kindergarten", "gütesiegel",
    "guetesiegel", "certflow123",
})

_HASHER = PasswordHasher()  # argon2id with the library's (RFC 9106 based) defaults
_DUMMY_HASH: str | None = None


class PasswordPolicyError(InputError):
    """A new password that the policy refuses."""

    kind = "Passwort"


class LoginStatus(StrEnum):
    OK = "ok"
    WRONG = "wrong"          # unknown name, no password set, wrong password: told alike
    THROTTLED = "throttled"  # too many failures: cooling off
    INACTIVE = "inactive"    # the right password of a deactivated account


@dataclass(frozen=True, slots=True)
class LoginOutcome:
    status: LoginStatus
    user: User | None = None
    stamp: str | None = None            # the credential's stamp (a web session remembers it)
    retry_after: datetime | None = None  # THROTTLED: when trying again makes sense

    @property
    def ok(self) -> bool:
        return self.status is LoginStatus.OK

    def session(self) -> tuple[str, str]:
        """(user id, credential stamp) of a successful login, for a web session."""
        if self.user is None or self.stamp is None:
            raise ValueError("not a successful login")
        return self.user.id, self.stamp

    @property
    def message(self) -> str:
        """The German sentence for the person at the login form (the same for every wrong case)."""
        if self.status is LoginStatus.OK:
            return "Angemeldet."
        if self.status is LoginStatus.THROTTLED:
            until = self.retry_after.astimezone(BERLIN).strftime("%H:%M") if self.retry_after else "später"
            return (f"Zu viele fehlgeschlagene Anmeldeversuche. Aus Sicherheitsgründen ist die Anmeldung "
                    f"vorübergehend gesperrt; bitte ab {until} Uhr erneut versuchen.")
        if self.status is LoginStatus.INACTIVE:
            return INACTIVE_MESSAGE
        return "Benutzername oder Passwort ist falsch."


@dataclass(frozen=True, slots=True)
class IssuedLink:
    """A one-time link that went to the outbox (its secret only in the mail, never here)."""

    link_id: int
    user_id: str
    purpose: LinkPurpose
    expires_at: datetime
    email: str
    outbox_key: str


@dataclass(frozen=True, slots=True)
class LinkInfo:
    user_id: str
    name: str
    purpose: LinkPurpose
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class NewToken:
    """A token just made: ``token`` is shown once and stored nowhere."""

    id: int
    user_id: str
    label: str
    scope: TokenScope
    expires_at: datetime | None
    token: str


# -- helpers ------------------------------------------------------------------------------------------------


def _sha256(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def credential_stamp(user_id: str, password_hash: str, version: int) -> str:
    """A short value that changes whenever the password changes (the hash has a fresh salt) or the user's role,
    scope or standing (the row's ``version``): web sessions remember it, :func:`session_user` compares."""
    return _sha256(f"{user_id}|{password_hash}|{version}")[:24]


def _dummy_hash() -> str:
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = _HASHER.hash(secrets.token_urlsafe(16))
    return _DUMMY_HASH


def _verify(stored: str | None, password: str) -> bool:
    """argon2 verification; an unknown user is checked against a dummy hash (same cost, always False)."""
    try:
        return _HASHER.verify(stored or _dummy_hash(), password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def password_problems(password: str, user: User | None = None) -> list[str]:
    """What is wrong with a new password, in German (empty: it may be used)."""
    if not isinstance(password, str) or not password.strip():
        return ["Bitte ein Passwort angeben."]
    problems = []
    if len(password) < PASSWORD_MIN:
        problems.append(f"Das Passwort muss mindestens {PASSWORD_MIN} Zeichen lang sein "
                        f"(es hat {len(password)}).")
    if len(password) > PASSWORD_MAX:
        problems.append(f"Das Passwort darf höchstens {PASSWORD_MAX} Zeichen lang sein.")
    if password != password.strip():
        problems.append("Das Passwort darf nicht mit Leerzeichen beginnen oder enden.")
    if len(set(password)) < 4:
        problems.append("Das Passwort besteht aus zu wenigen verschiedenen Zeichen.")
    lowered = password.lower()
    if lowered in _COMMON or lowered.rstrip("!.?0123456789") in _COMMON:
        problems.append("Dieses Passwort ist zu bekannt und leicht zu erraten.")
    if user is not None and (user.id.lower() in lowered or (len(user.name) >= 4 and user.name.lower() in lowered)):
        problems.append("Das Passwort darf den Benutzernamen oder Namen nicht enthalten.")
    return problems


def _check_policy(password: str, user: User) -> None:
    problems = password_problems(password, user)
    if problems:
        raise PasswordPolicyError([Problem("Passwort", None, (), message) for message in problems])


def _self_or_admin(actor: User, user_id: str, action: str) -> None:
    if actor.id != user_id and actor.role is not Role.ADMIN:
        raise Refused(f"{action}: nur für sich selbst oder durch die Administration erlaubt")


def _target(uow: UnitOfWork, user_id: str) -> User:
    user = uow.users.find((user_id or "").strip())
    if user is None:
        raise Refused(f"Unbekannter Benutzer '{user_id}'")
    return user


def _stamp(uow: UnitOfWork, user_id: str, password_hash: str) -> str:
    state = uow.accounts.login_state(user_id)
    return credential_stamp(user_id, password_hash, state.version if state is not None else 0)


def require_active(uow: UnitOfWork, user: User) -> None:
    """Refused when ``user``'s account is deactivated (migration 0007)."""
    state = uow.accounts.login_state(user.id)
    if state is not None and not state.active:
        raise Refused(f"Der Zugang von {user.name} ({user.id}) ist deaktiviert")


# -- passwords ----------------------------------------------------------------------------------------------


def set_password(uow: UnitOfWork, actor_id: str, user_id: str, new_password: str, *, reason: str | None = None,
                 current_password: str | None = None) -> str:
    """Set a user's password (themselves with the current one if set, or an admin); returns the new stamp."""
    actor = resolve(uow, actor_id)
    user = _target(uow, user_id)
    _self_or_admin(actor, user.id, "Passwort setzen")
    stored = uow.accounts.password_hash(user.id)
    if actor.id == user.id and stored is not None and not _verify(stored[0], current_password or ""):
        raise Refused("Das bisherige Passwort stimmt nicht")
    _check_policy(new_password, user)
    why = (reason or "").strip() or ("Passwort selbst geändert" if actor.id == user.id
                                     else f"Passwort gesetzt durch {actor.name}")
    new_hash = _HASHER.hash(new_password)
    uow.accounts.set_password_hash(user.id, new_hash, actor_id=actor.id, reason=why)
    return _stamp(uow, user.id, new_hash)


def verify_login(uow: UnitOfWork, login: str, password: str, *, address: str) -> LoginOutcome:
    """Check a name and password, throttled (see the module); the attempt is recorded either way."""
    now = uow.now()
    login = (login or "").strip()[:200]
    address = (address or "unbekannt").strip()[:64]
    accounts = uow.accounts
    accounts.forget_attempts(now - ATTEMPTS_KEPT)
    since = now - WINDOW
    last_ok = accounts.last_success(login)
    by_name = accounts.failures(since=max(since, last_ok) if last_ok else since, login=login)
    by_address = accounts.failures(since=since, address=address)
    waits = []
    if len(by_name) >= ACCOUNT_LIMIT:
        waits.append(by_name[ACCOUNT_LIMIT - 1] + WINDOW)
    if len(by_address) >= ADDRESS_LIMIT:
        waits.append(by_address[ADDRESS_LIMIT - 1] + WINDOW)
    if waits:
        accounts.record_attempt(login, address, AttemptOutcome.THROTTLED, now)
        return LoginOutcome(LoginStatus.THROTTLED, retry_after=max(waits))
    state = accounts.login_state(login) if login else None
    stored = state.password_hash if state is not None else None
    matches = _verify(stored, password or "")  # always one hash computation
    if not matches or state is None or stored is None:
        accounts.record_attempt(login, address, AttemptOutcome.FAILURE, now)
        return LoginOutcome(LoginStatus.WRONG)
    if not state.active:  # told only after the right password: the name alone reveals nothing
        accounts.record_attempt(login, address, AttemptOutcome.FAILURE, now)
        return LoginOutcome(LoginStatus.INACTIVE)
    user = state.user
    accounts.record_attempt(login, address, AttemptOutcome.SUCCESS, now)
    current = stored
    if _HASHER.check_needs_rehash(current):
        current = _HASHER.hash(password)
        accounts.set_password_hash(user.id, current, actor_id=user.id, action="password_rehash",
                                   reason="Passwort-Hash bei der Anmeldung auf die aktuellen Parameter gebracht")
    return LoginOutcome(LoginStatus.OK, user=user, stamp=credential_stamp(user.id, current, state.version))


def session_user(uow: UnitOfWork, user_id: str, stamp: str) -> User | None:
    """The user of a web session, if the account is active and the session's credential stamp is still the
    current one (same password, same version of role, scope and standing). One query."""
    state = uow.accounts.login_state(user_id) if user_id else None
    if state is None or state.password_hash is None or not state.active:
        return None
    if not hmac.compare_digest(credential_stamp(state.user.id, state.password_hash, state.version), stamp or ""):
        return None
    return state.user


# -- one-time links -----------------------------------------------------------------------------------------

_LINK_TEXT = {
    LinkPurpose.FIRST_LOGIN: ("Ihr Zugang zu certflow",
                              ("für Sie wurde ein Zugang zu certflow (Gütesiegel Familienzentrum NRW) eingerichtet. "
                               "Bitte legen Sie über diesen Link Ihr Passwort fest:")),
    LinkPurpose.RESET: ("certflow: Passwort zurücksetzen",
                        ("für Ihren Zugang zu certflow wurde ein neues Passwort angefordert. Über diesen Link legen "
                         "Sie es fest:")),
}


def _link_mail(user: User, purpose: LinkPurpose, url: str, expires_at: datetime) -> tuple[str, str]:
    subject, intro = _LINK_TEXT[purpose]
    until = expires_at.astimezone(BERLIN).strftime("%d.%m.%Y, %H:%M Uhr")
    body = (f"Guten Tag {user.name},\n\n{intro}\n\n{url}\n\n"
            f"Der Link gilt ein einziges Mal und bis {until}. Ihr Benutzername: {user.id}\n\n"
            "Wenn Sie diese Nachricht nicht erwartet haben, können Sie sie ignorieren; Ihr bisheriger Zugang "
            "bleibt unverändert.\n")
    return subject, body


def _issue(uow: UnitOfWork, actor_id: str, user: User, purpose: LinkPurpose, base_url: str, reason: str,
           payload: dict | None = None) -> IssuedLink:
    require_active(uow, user)
    email = uow.accounts.email_of(user.id)
    if email is None:
        raise Refused(f"Für {user.name} ({user.id}) ist keine E-Mail-Adresse hinterlegt: der Link kann nicht "
                      "versandt werden (certflow reminders contact)")
    secret = secrets.token_urlsafe(32)
    expires_at = uow.now() + LINK_TTL[purpose]
    link = uow.accounts.add_link(user.id, purpose=purpose, token_hash=_sha256(secret), expires_at=expires_at,
                                 actor_id=actor_id, reason=reason, payload=payload)
    url = f"{base_url.rstrip('/')}/zugang/{secret}"
    subject, body = _link_mail(user, purpose, url, expires_at)
    key = uow.accounts.queue_mail(user.id, f"account:{purpose.value}:{link.id}", subject=subject, body=body,
                                  label="Zugangslink")
    return IssuedLink(link.id, user.id, purpose, expires_at, email, key)


def issue_one_time_link(uow: UnitOfWork, actor_id: str, user_id: str, purpose: LinkPurpose | str, *,
                        base_url: str, reason: str | None = None) -> IssuedLink:
    """Send a first-login or reset link to a user (an admin for anyone, a person for themselves)."""
    actor = resolve(uow, actor_id)
    user = _target(uow, user_id)
    purpose = LinkPurpose(purpose)
    _self_or_admin(actor, user.id, "Zugangslink versenden")
    label = "Erstanmeldung" if purpose is LinkPurpose.FIRST_LOGIN else "Passwort zurücksetzen"
    why = (reason or "").strip() or f"Zugangslink ({label}) versandt durch {actor.name}"
    return _issue(uow, actor.id, user, purpose, base_url, why)


def request_password_reset(uow: UnitOfWork, login: str, *, base_url: str, address: str) -> None:
    """Someone asked for a reset link for ``login`` on the web: send one if that is possible, tell nobody.

    Unknown names, people without an e-mail address and a second request within
    :data:`RESET_PAUSE` do nothing; the caller shows the same sentence in every case.
    """
    state = uow.accounts.login_state((login or "").strip()) if login else None
    if state is None or not state.active or uow.accounts.email_of(state.user.id) is None:
        return
    user = state.user
    last = uow.accounts.last_link_at(user.id)
    if last is not None and uow.now() - last < RESET_PAUSE:
        return
    _issue(uow, user.id, user, LinkPurpose.RESET, base_url,
           "Passwort-Zurücksetzen über die Anmeldeseite angefordert", payload={"address": address[:64]})


def _open_link(uow: UnitOfWork, token: str) -> StoredLink:
    link = uow.accounts.link_by_hash(_sha256(token or ""))
    if link is None or link.used_at is not None or link.revoked_at is not None or link.expires_at <= uow.now():
        raise Refused("Dieser Link ist ungültig, wurde schon benutzt oder ist abgelaufen. "
                      "Bitte einen neuen Link anfordern.")
    return link


def check_link(uow: UnitOfWork, token: str) -> LinkInfo:
    """Whose and what a link is, without using it (refused: unknown, used, replaced or expired)."""
    link = _open_link(uow, token)
    user = _target(uow, link.user_id)
    return LinkInfo(user.id, user.name, link.purpose, link.expires_at)


def redeem_link(uow: UnitOfWork, token: str, new_password: str) -> LoginOutcome:
    """Use a one-time link: set the password it was sent for (policy applies); the link is spent."""
    link = _open_link(uow, token)
    user = _target(uow, link.user_id)
    require_active(uow, user)
    _check_policy(new_password, user)
    if not uow.accounts.use_link(link, at=uow.now()):
        raise Refused("Dieser Link wurde gerade schon benutzt. Bitte einen neuen Link anfordern.")
    label = "Erstanmeldung" if link.purpose is LinkPurpose.FIRST_LOGIN else "Passwort zurücksetzen"
    new_hash = _HASHER.hash(new_password)
    uow.accounts.set_password_hash(user.id, new_hash, actor_id=user.id, action="password_set_by_link",
                                   reason=f"Passwort über Einmal-Link festgelegt ({label})",
                                   payload={"link_id": link.id})
    return LoginOutcome(LoginStatus.OK, user=user, stamp=_stamp(uow, user.id, new_hash))


# -- API tokens ---------------------------------------------------------------------------------------------


def create_token(uow: UnitOfWork, actor_id: str, user_id: str, *, label: str, scope: TokenScope | str =
                 TokenScope.WRITE, expires_at: datetime | None = None, reason: str | None = None) -> NewToken:
    """A new API token for ``user_id`` (the owner or an admin); the token is in the result only."""
    actor = resolve(uow, actor_id)
    user = _target(uow, user_id)
    _self_or_admin(actor, user.id, "Zugangsschlüssel erstellen")
    require_active(uow, user)
    label = (label or "").strip()
    problems = []
    if not label:
        problems.append(Problem("Zugangsschlüssel", None, ("label",), "Bitte eine Bezeichnung angeben"))
    elif len(label) > 100:
        problems.append(Problem("Zugangsschlüssel", None, ("label",), "höchstens 100 Zeichen"))
    if expires_at is not None and expires_at <= uow.now():
        problems.append(Problem("Zugangsschlüssel", None, ("expires",), "das Ablaufdatum liegt in der Vergangenheit"))
    if problems:
        raise InputError(problems)
    scope = TokenScope(scope)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    why = (reason or "").strip() or f"Zugangsschlüssel „{label}“ erstellt durch {actor.name}"
    stored = uow.accounts.add_token(user.id, label=label, scope=scope, token_hash=_sha256(token),
                                    expires_at=expires_at, actor_id=actor.id, reason=why)
    return NewToken(stored.id, user.id, label, scope, expires_at, token)


def list_tokens(uow: UnitOfWork, actor_id: str, user_id: str) -> list[StoredToken]:
    """The tokens of a user (the owner or an admin), without their secrets."""
    actor = resolve(uow, actor_id)
    user = _target(uow, user_id)
    _self_or_admin(actor, user.id, "Zugangsschlüssel anzeigen")
    return uow.accounts.tokens_of(user.id)


def revoke_token(uow: UnitOfWork, actor_id: str, token_id: int, *, reason: str | None = None) -> StoredToken:
    """Revoke a token (its owner or an admin); refused if unknown to the actor or revoked already."""
    actor = resolve(uow, actor_id)
    token = uow.accounts.token(int(token_id))
    if token is None or (token.user_id != actor.id and actor.role is not Role.ADMIN):
        raise Refused(f"Zugangsschlüssel {token_id} gibt es nicht")
    why = (reason or "").strip() or f"Zugangsschlüssel „{token.label}“ widerrufen durch {actor.name}"
    if not uow.accounts.revoke_token(token, actor_id=actor.id, reason=why):
        raise Refused(f"Zugangsschlüssel {token_id} ist schon widerrufen")
    return uow.accounts.token(token.id) or token


def authenticate_token(uow: UnitOfWork, token: str, *, scope: TokenScope | str = TokenScope.WRITE) -> User:
    """The user an API token belongs to; refused if unknown, expired, revoked or of too narrow a scope.

    ``scope``: what the caller is about to do (``read`` for reading commands); a read token
    is refused for ``write``. The token's last use is noted.
    """
    now = uow.now()
    stored = uow.accounts.token_by_hash(_sha256((token or "").strip()))
    if stored is None or stored.revoked_at is not None or (stored.expires_at is not None and stored.expires_at <= now):
        raise Refused("Der Zugangsschlüssel ist ungültig, abgelaufen oder widerrufen")
    if TokenScope(scope) is TokenScope.WRITE and stored.scope is not TokenScope.WRITE:
        raise Refused(f"Der Zugangsschlüssel „{stored.label}“ erlaubt nur Lesen")
    user = _target(uow, stored.user_id)
    require_active(uow, user)
    uow.accounts.token_used(stored.id, now)
    return user
