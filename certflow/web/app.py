"""The web application: :func:`create_app` builds the FastAPI app around one
:class:`~certflow.services.runner.Application`.

What every response gets: the signed session cookie (:mod:`.sessions`), the CSRF check on every
unsafe request (:mod:`.csrf`, an app-wide dependency), German error pages without tracebacks
(:mod:`.errors`), and security headers: a Content-Security-Policy that allows only this site
(nothing from the internet), no framing, no referrer (one-time links stay out of other sites'
logs). Static files (htmx, the style sheet) are shipped in ``certflow/web/static``.

:func:`app_from_env` is the factory uvicorn calls in each worker process of ``certflow serve
--workers N`` (an import string: ``certflow.web.app:app_from_env``): it reads the settings from the
environment the serving command prepared (database, evidence store, ``CERTFLOW_WEB_SECRET``), so
every worker signs and accepts the same session cookies; each has its own application (engine,
connection pool), closed when the worker stops.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from fastapi import Depends, FastAPI
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.staticfiles import StaticFiles

from ..services.runner import Application
from ..settings import Settings
from . import errors
from .api import API_PREFIX, create_api
from .config import WebConfig
from .csrf import require_csrf
from .pages import Pages
from .routes import account, home
from .routes.admin import router as admin_router
from .routes.auditor import router as auditor_router
from .routes.coordinator import router as coordinator_router
from .routes.certifier import router as certifier_router
from .routes.kita import router as kita_router
from .routes.public import router as public_router
from .routes.reports import router as reports_router
from .routes.tokens import router as tokens_router
from .sessions import SessionMiddleware

__all__ = ["STATIC_DIR", "app_from_env", "create_app"]

STATIC_DIR = Path(__file__).resolve().parent / "static"
SECURITY_HEADERS = {
    "Content-Security-Policy": ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
                                "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'; "
                                "object-src 'none'"),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}


class _SecurityHeaders(BaseHTTPMiddleware):
    async def dispatch(self, request, call_next):
        response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if "frame-ancestors *" in response.headers["Content-Security-Policy"]:  # the embeddable list's own policy
            del response.headers["X-Frame-Options"]
        return response


def create_app(app: Application, config: WebConfig | None = None, *, close_on_shutdown: bool = False) -> FastAPI:
    """The FastAPI app serving certflow's pages for ``app`` (its database, settings and clock);
    ``close_on_shutdown``: the app owns ``app`` and closes it (its engine) when the server stops."""
    config = config or WebConfig()
    pages = Pages()

    @contextlib.asynccontextmanager
    async def lifespan(_web: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            if close_on_shutdown:
                app.close()

    web = FastAPI(title="certflow", docs_url=None, redoc_url=None, openapi_url=None,
                  dependencies=[Depends(require_csrf)], lifespan=lifespan)
    web.state.certflow = app
    web.state.config = config
    web.state.pages = pages
    errors.install(web, pages)
    web.include_router(account.router)
    web.include_router(home.router)
    web.include_router(certifier_router)
    web.include_router(admin_router)
    web.include_router(auditor_router)
    web.include_router(coordinator_router)
    web.include_router(kita_router)
    web.include_router(public_router)
    web.include_router(reports_router)
    web.include_router(tokens_router)
    web.mount(API_PREFIX, create_api(app))  # the JSON API: its own errors (RFC 9457), bearer tokens, no CSRF
    web.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    web.add_middleware(SessionMiddleware, config=config, clock=app.clock)
    web.add_middleware(_SecurityHeaders)
    return web


def app_from_env() -> FastAPI:
    """The web app of one worker process: settings from the environment (see the module)."""
    settings = Settings.from_env()
    return create_app(Application(settings), WebConfig.from_settings(settings), close_on_shutdown=True)
