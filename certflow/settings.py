"""The deployment's settings, read once from the environment by an entrypoint and passed down.

This is the only module that reads ``os.environ`` for certflow's own settings. The command
line (and later the web server) builds one :class:`Settings` at start-up with
:meth:`Settings.from_env` and hands it to the application layer; services, the packet
renderer, mail delivery and the database take the values they need from it, so a test can
build its own ``Settings(...)`` without touching the process environment.

======================================  ===================================================
variable                                meaning
======================================  ===================================================
``CERTFLOW_DATABASE_URL``               database URL or SQLite path (default ``sqlite:///certflow.sqlite``)
``CERTFLOW_EVIDENCE_DIR``               folder of the evidence store (default ``./certflow-evidence``)
``CERTFLOW_EVIDENCE_STORE``             which evidence store: ``local:PFAD`` (a folder; the default is
                                        ``local:`` + ``CERTFLOW_EVIDENCE_DIR``) or ``memory:NAME``
                                        (in this process only: for tests); see :mod:`certflow.evidence_store`
``CERTFLOW_WEB_SECRET``                 the key that signs the web session cookie (at least 32 characters);
                                        the same for every web worker and machine, so a session survives
                                        a restart and any worker accepts it (default: made at start-up)
``CERTFLOW_WEB_SECURE_COOKIES``         ``1``: the session cookie goes over HTTPS only (``serve --secure-cookies``)
``CERTFLOW_TEMPLATES_DIR``              the certification body's template folder (default: shipped)
``CERTFLOW_SMTP_*``                     mail server (:class:`certflow.notify.SmtpConfig`)
``CERTFLOW_SIGN_*``                     the packet's PAdES signature (:mod:`certflow.packet.sign`)
``CERTFLOW_DEBUG``                      ``1``: an internal error shows its traceback
``CERTFLOW_ADMIN_USER``                 the administrator account ``certflow --local-admin`` acts as (default ``admin``)
``CERTFLOW_TOKEN``                      an API token that proves who acts at the command line (``certflow users token``)
======================================  ===================================================
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType

__all__ = ["ADMIN_USER_ENV", "DATABASE_ENV", "DEFAULT_DATABASE_URL", "EVIDENCE_ENV", "EVIDENCE_STORE_ENV",
           "MIN_WEB_SECRET", "Settings", "TEMPLATES_ENV", "TOKEN_ENV", "WEB_SECRET_ENV", "WEB_SECURE_COOKIES_ENV"]

DATABASE_ENV = "CERTFLOW_DATABASE_URL"
DEFAULT_DATABASE_URL = "sqlite:///certflow.sqlite"
EVIDENCE_ENV = "CERTFLOW_EVIDENCE_DIR"
TEMPLATES_ENV = "CERTFLOW_TEMPLATES_DIR"
DEFAULT_EVIDENCE_DIR = "certflow-evidence"
ADMIN_USER_ENV = "CERTFLOW_ADMIN_USER"
DEFAULT_ADMIN_USER = "admin"
TOKEN_ENV = "CERTFLOW_TOKEN"
EVIDENCE_STORE_ENV = "CERTFLOW_EVIDENCE_STORE"
WEB_SECRET_ENV = "CERTFLOW_WEB_SECRET"
WEB_SECURE_COOKIES_ENV = "CERTFLOW_WEB_SECURE_COOKIES"
MIN_WEB_SECRET = 32  # characters: secrets.token_urlsafe(32) gives 43
_TRUE = ("1", "true", "yes", "ja")


def _flag(environ: Mapping[str, str], name: str) -> bool:
    return (environ.get(name) or "").strip().lower() in _TRUE

def _prefixed(environ: Mapping[str, str], prefix: str) -> Mapping[str, str]:
    """The variables that start with ``prefix``, keyed by the rest of their name (``HOST`` for ``..._HOST``)."""
    return MappingProxyType({name[len(prefix):]: value for name, value in environ.items()
                             if name.startswith(prefix)})


@dataclass(frozen=True, slots=True)
class Settings:
    """What a deployment configures. Immutable; derive a variant with :meth:`with_`."""

    database_url: str = DEFAULT_DATABASE_URL
    evidence_dir: Path = Path(DEFAULT_EVIDENCE_DIR)
    templates_dir: Path | None = None
    #: ``CERTFLOW_SMTP_<NAME>`` values keyed by ``NAME``; parsed by :meth:`certflow.notify.SmtpConfig.from_settings`.
    smtp: Mapping[str, str] = field(default_factory=dict, repr=False)
    #: ``CERTFLOW_SIGN_<NAME>`` values keyed by ``NAME``; parsed by :func:`certflow.packet.sign.signer_from_settings`.
    signing: Mapping[str, str] = field(default_factory=dict, repr=False)
    #: ``CERTFLOW_DEBUG=1``: show an internal error's traceback instead of one line.
    debug: bool = False
    #: ``CERTFLOW_ADMIN_USER``: the user (role admin) a command run with ``certflow --local-admin`` acts as.
    admin_user: str = DEFAULT_ADMIN_USER
    #: ``CERTFLOW_TOKEN``: the API token that proves who acts at the command line (never printed).
    token: str | None = field(default=None, repr=False)
    #: ``CERTFLOW_EVIDENCE_STORE`` other than a local folder (``memory:NAME``); ``None``: the folder ``evidence_dir``.
    evidence_store: str | None = None
    #: ``CERTFLOW_WEB_SECRET``: the session cookie's signing key, shared by all web workers (never printed).
    web_secret: str | None = field(default=None, repr=False)
    #: ``CERTFLOW_WEB_SECURE_COOKIES=1``: the session cookie over HTTPS only.
    web_secure_cookies: bool = False

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """The settings of this process's environment (or of ``environ``)."""
        env = os.environ if environ is None else environ
        templates = (env.get(TEMPLATES_ENV) or "").strip()
        evidence_dir = (env.get(EVIDENCE_ENV) or "").strip() or DEFAULT_EVIDENCE_DIR
        store = (env.get(EVIDENCE_STORE_ENV) or "").strip() or None
        if store is not None and store.startswith("local:") and store[len("local:"):].strip():
            evidence_dir, store = store[len("local:"):].strip(), None  # a folder: the one evidence_dir names
        return cls(
            database_url=(env.get(DATABASE_ENV) or "").strip() or DEFAULT_DATABASE_URL,
            evidence_dir=Path(evidence_dir),
            templates_dir=Path(templates) if templates else None,
            smtp=_prefixed(env, "CERTFLOW_SMTP_"),
            signing=_prefixed(env, "CERTFLOW_SIGN_"),
            debug=_flag(env, "CERTFLOW_DEBUG"),
            admin_user=(env.get(ADMIN_USER_ENV) or "").strip() or DEFAULT_ADMIN_USER,
            token=(env.get(TOKEN_ENV) or "").strip() or None,
            evidence_store=store,
            web_secret=(env.get(WEB_SECRET_ENV) or "").strip() or None,
            web_secure_cookies=_flag(env, WEB_SECURE_COOKIES_ENV),
        )

    def environment(self) -> dict[str, str]:
        """The variables that give another process (a web worker) the database, the evidence store and the
        web settings of these settings; the rest (mail, signing, …) it reads from the same environment."""
        env = {DATABASE_ENV: self.database_url, EVIDENCE_ENV: str(self.evidence_dir),
               EVIDENCE_STORE_ENV: self.evidence_location,
               WEB_SECURE_COOKIES_ENV: "1" if self.web_secure_cookies else "0"}
        if self.web_secret:
            env[WEB_SECRET_ENV] = self.web_secret
        return env

    @property
    def evidence_location(self) -> str:
        """Which evidence store: ``local:<folder>`` or the ``CERTFLOW_EVIDENCE_STORE`` given
        (opened by :func:`certflow.evidence_store.open_evidence_store`)."""
        return self.evidence_store or f"local:{self.evidence_dir}"

    def with_(self, **changes) -> Settings:
        """A copy with some values replaced (``settings.with_(database_url=...)``)."""
        return replace(self, **changes)

    @property
    def smtp_configured(self) -> bool:
        """Whether a mail server is named (``CERTFLOW_SMTP_HOST``); without one mail waits in the outbox."""
        return bool((self.smtp.get("HOST") or "").strip())

    @property
    def templates(self) -> str | None:
        """The template folder as a string for the renderer, ``None`` for the shipped templates."""
        return str(self.templates_dir) if self.templates_dir else None
