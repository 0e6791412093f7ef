"""Sessions in a signed cookie: who is logged in, since when, last seen, the CSRF token.

The cookie (HttpOnly, SameSite, ``Secure`` when configured) holds a small JSON object signed
with :mod:`itsdangerous`; nothing secret is in it, and a changed byte makes it worthless.
Each request slides the idle time; a session is over after :attr:`WebConfig.idle` without a
request or :attr:`WebConfig.absolute` after the login, when the password changes and when an
administrator changes the person's role, scope or standing or deactivates them (the session
remembers the credential's stamp, made of the password hash and the user row's version, checked at
every request by :func:`certflow.services.session_user`).
Logging out clears the cookie. Times come from the application's clock.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime
from typing import Any

from itsdangerous import BadSignature, URLSafeSerializer
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import Response

from .config import WebConfig

__all__ = ["SessionMiddleware", "WebSession", "session_of"]


class WebSession:
    """The session of one request: read it, change it; the middleware writes the cookie."""

    def __init__(self, data: dict[str, Any], now: datetime, *, expired: bool = False):
        self.data = data
        self.now = now
        self.expired = expired  # a login session ran out on this request (the login page says so)
        self.modified = False

    @property
    def user_id(self) -> str | None:
        return self.data.get("uid")

    @property
    def stamp(self) -> str:
        return self.data.get("stamp", "")

    @property
    def csrf_token(self) -> str:
        """The per-session CSRF token (made on first use)."""
        if not self.data.get("csrf"):
            self.data["csrf"] = secrets.token_urlsafe(32)
            self.modified = True
        return self.data["csrf"]

    def login(self, user_id: str, stamp: str) -> None:
        """A fresh session for the user (new CSRF token: nothing of the anonymous one carries over)."""
        at = int(self.now.timestamp())
        self.data = {"uid": user_id, "stamp": stamp, "iat": at, "seen": at, "csrf": secrets.token_urlsafe(32)}
        self.expired = False
        self.modified = True

    def clear(self) -> None:
        self.data = {}
        self.modified = True


def session_of(request: Request) -> WebSession:
    return request.state.session


class SessionMiddleware(BaseHTTPMiddleware):
    def __init__(self, app, *, config: WebConfig, clock: Callable[[], datetime]):
        super().__init__(app)
        self.config = config
        self.clock = clock
        self.signer = URLSafeSerializer(config.secret_key, salt="certflow.web.session")

    def _load(self, request: Request) -> dict[str, Any]:
        raw = request.cookies.get(self.config.cookie_name)
        if not raw:
            return {}
        try:
            data = self.signer.loads(raw)
        except BadSignature:
            return {}
        return data if isinstance(data, dict) else {}

    async def dispatch(self, request: Request, call_next) -> Response:
        now = self.clock()
        data = self._load(request)
        expired = False
        if data.get("uid"):
            at = now.timestamp()
            if (at - data.get("seen", 0) > self.config.idle.total_seconds()
                    or at - data.get("iat", 0) > self.config.absolute.total_seconds()):
                data, expired = {"csrf": data.get("csrf", "")}, True
        session = WebSession(data, now, expired=expired)
        request.state.session = session
        response = await call_next(request)
        session = request.state.session
        if session.user_id and not session.modified:
            session.data["seen"] = int(now.timestamp())  # the idle time slides with every request
            session.modified = True
        if session.modified or expired:
            if session.data:
                response.set_cookie(self.config.cookie_name, self.signer.dumps(session.data), path="/",
                                    httponly=True, samesite=self.config.same_site,
                                    secure=self.config.secure_cookies)
            else:
                response.delete_cookie(self.config.cookie_name, path="/", httponly=True,
                                       samesite=self.config.same_site, secure=self.config.secure_cookies)
        return response
