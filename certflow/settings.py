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

__all__ = ["ADMIN_USER_ENV", "DATABASE_ENV", "DEFAULT_DATABASE_URL", "EVIDENCE_ENV", "Settings", "TEMPLATES_ENV",
           "TOKEN_ENV"]

DATABASE_ENV = "CERTFLOW_DATABASE_URL"
DEFAULT_DATABASE_URL = "sqlite:///certflow.sqlite"
EVIDENCE_ENV = "CERTFLOW_EVIDENCE_DIR"
TEMPLATES_ENV = "CERTFLOW_TEMPLATES_DIR"
DEFAULT_EVIDENCE_DIR = "certflow-evidence"
ADMIN_USER_ENV = "CERTFLOW_ADMIN_USER"
DEFAULT_ADMIN_USER = "admin"
TOKEN_ENV = "CERTFLOW_TOKEN"

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

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """The settings of this process's environment (or of ``environ``)."""
        env = os.environ if environ is None else environ
        templates = (env.get(TEMPLATES_ENV) or "").strip()
        return cls(
            database_url=(env.get(DATABASE_ENV) or "").strip() or DEFAULT_DATABASE_URL,
            evidence_dir=Path((env.get(EVIDENCE_ENV) or "").strip() or DEFAULT_EVIDENCE_DIR),
            templates_dir=Path(templates) if templates else None,
            smtp=_prefixed(env, "CERTFLOW_SMTP_"),
            signing=_prefixed(env, "CERTFLOW_SIGN_"),
            debug=(env.get("CERTFLOW_DEBUG") or "").strip().lower() in ("1", "true", "yes", "ja"),
            admin_user=(env.get(ADMIN_USER_ENV) or "").strip() or DEFAULT_ADMIN_USER,
            token=(env.get(TOKEN_ENV) or "").strip() or None,
        )

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
