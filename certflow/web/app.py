"""The web application: :func:`create_app` builds the FastAPI app around one
:class:`~certflow.services.runner.Application`.

What every response gets: the signed session cookie (:mod:`.sessions`), the CSRF check on every
unsafe request (:mod:`.csrf`, an app-wide dependency), German error pages without tracebacks
(:mod:`.errors`), and security headers: a Content-Security-Policy that allows only this site
(nothing from the internet), no framing, no referrer (one-time links stay out of other sites'
logs). Static files (htmx, the style sheet) are shipped in ``certflow/web/static``.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import Depends, FastAPI
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.staticfiles import StaticFiles

from ..services.runner import Application
from . import errors
from .config import WebConfig
from .csrf import require_csrf
from .pages import Pages
from .routes import account, home
from .routes.admin import router as admin_router
from .routes.auditor import router as auditor_router
from .routes.coordinator import router as coordinator_router
from .routes.certifier import router as certifier_router
from .routes.kita import router as kita_router
from .sessions import SessionMiddleware

__all__ = ["STATIC_DIR", "create_app"]

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
        return response


def create_app(app: Application, config: WebConfig | None = None) -> FastAPI:
    """The FastAPI app serving certflow's pages for ``app`` (its database, settings and clock)."""
    config = config or WebConfig()
    pages = Pages()
    web = FastAPI(title="certflow", docs_url=None, redoc_url=None, openapi_url=None,
                  dependencies=[Depends(require_csrf)])
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
    web.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    web.add_middleware(SessionMiddleware, config=config, clock=app.clock)
    web.add_middleware(_SecurityHeaders)
    return web
