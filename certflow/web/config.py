"""What the web server is told at start-up: the session key, cookie flags, session lifetimes."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import timedelta

from ..settings import Settings

__all__ = ["WebConfig"]


@dataclass(frozen=True, slots=True)
class WebConfig:
    """The web adapter's settings (the deployment's :class:`certflow.settings.Settings` stay apart).

    ``secret_key`` signs the session cookie; without one a random key is made, so sessions end
    when the server restarts (and another worker process would not accept them: several workers
    share ``CERTFLOW_WEB_SECRET``, see :meth:`from_settings`). ``secure_cookies`` sends the cookie
    over HTTPS only (set it behind TLS). A session ends after ``idle`` without a request and
    ``absolute`` after the login.
    ``base_url`` is where mails point one-time links (default: the address the request came to).
    """

    secret_key: str = field(default_factory=lambda: secrets.token_urlsafe(32), repr=False)
    secure_cookies: bool = False
    idle: timedelta = timedelta(minutes=30)
    absolute: timedelta = timedelta(hours=10)
    same_site: str = "lax"
    cookie_name: str = "certflow_sitzung"
    base_url: str | None = None

    def __post_init__(self) -> None:
        if self.same_site not in ("lax", "strict"):
            raise ValueError("same_site must be 'lax' or 'strict'")
        if len(self.secret_key) < 16:
            raise ValueError("the session key needs at least 16 characters")

    @classmethod
    def from_settings(cls, settings: Settings, **overrides) -> WebConfig:
        """The config of a deployment: ``CERTFLOW_WEB_SECRET`` (else a random key) and
        ``CERTFLOW_WEB_SECURE_COOKIES``; ``overrides`` replace single fields."""
        values: dict = {"secure_cookies": settings.web_secure_cookies}
        if settings.web_secret:
            values["secret_key"] = settings.web_secret
        return cls(**{**values, **overrides})
