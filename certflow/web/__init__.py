"""The web adapter: German pages in the browser, server-rendered (FastAPI, Jinja2, htmx).

A thin shell around the same application layer as the command line: every route runs its
service through :meth:`certflow.services.runner.Application.run` as the logged-in user; no
query, commit or rule lives here. ``certflow serve`` starts it (uvicorn).

* :mod:`.app`: :func:`create_app` (middleware, error pages, routes, static files);
* :mod:`.config`: :class:`WebConfig` (session key, cookie flags, session lifetimes);
* :mod:`.sessions`: the signed session cookie with idle and absolute expiry;
* :mod:`.csrf`: the CSRF token on every unsafe request;
* :mod:`.auth`: :func:`current_user`, the dependency of every page after the login;
* :mod:`.errors`: use-case errors and HTTP errors as German pages, never a traceback;
* :mod:`.use_cases`: how a route runs a service; :mod:`.pages`: the templates (templates/web/);
* :mod:`.forms`: posted form data, the messages of a failed form by field, and its HTTP status;
* :mod:`.charts`: plain SVG charts drawn on the server; :mod:`.routes`: the pages themselves.
"""

from .app import create_app
from .config import WebConfig

__all__ = ["WebConfig", "create_app"]
