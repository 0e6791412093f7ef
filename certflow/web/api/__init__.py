"""The versioned JSON REST API under ``/api/v1``: a FastAPI sub-application mounted into the web app.

::

    from .api import API_PREFIX, create_api
    web.mount(API_PREFIX, create_api(app))

It is its own application so that nothing of the web pages applies to it: no CSRF check (the API
reads no cookie; :mod:`.auth` wants ``Authorization: Bearer``), errors as problem details
(:mod:`.problems`) instead of German pages, and its own OpenAPI document at
``/api/v1/openapi.json`` (shipped as docs/openapi.json). The routes, one
module per resource, parse the request, call one service through the application layer and map the
result (:mod:`.mapping`).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from ...services.runner import Application
from . import certificates, documents, familienzentren, problems, procedures, self_assessments

__all__ = ["API_PREFIX", "API_VERSION", "create_api", "openapi_document"]

API_PREFIX = "/api/v1"
API_VERSION = "1.0.0"
DESCRIPTION = (
    "JSON-API von certflow (Gütesiegel Familienzentrum NRW). Anmeldung mit einem persönlichen "
    "Zugangsschlüssel (`Authorization: Bearer cft_…`, erstellt unter /konto/zugangsschluessel); Bereich "
    "`read` nur lesend, `write` auch ändernd. Fehler als Problem Details (RFC 9457, "
    "`application/problem+json`) mit den fehlerhaften Feldern. Listen: `page`, `per_page`. Änderungen an "
    "einem Verfahren senden dessen ETag als `If-Match` (412: inzwischen geändert, 428: fehlt).")


def _openapi(api: FastAPI) -> dict[str, Any]:
    if api.openapi_schema is None:
        document = get_openapi(title="certflow API", version=API_VERSION, description=DESCRIPTION,
                               routes=api.routes, servers=[{"url": API_PREFIX}])
        schemas = document.setdefault("components", {}).setdefault("schemas", {})
        problem = problems.Problem.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(problem.pop("$defs", {}))
        schemas["Problem"] = problem
        api.openapi_schema = document
    return api.openapi_schema


def create_api(app: Application) -> FastAPI:
    """The API for ``app`` (its database, settings and clock), to mount at :data:`API_PREFIX`."""
    api = FastAPI(title="certflow API", version=API_VERSION, openapi_url="/openapi.json", docs_url=None,
                  redoc_url=None, root_path_in_servers=False)
    api.state.certflow = app
    problems.install(api)
    for module in (familienzentren, procedures, self_assessments, certificates, documents):
        api.include_router(module.router)
    api.openapi = lambda: _openapi(api)  # type: ignore[method-assign]
    return api


def openapi_document() -> dict[str, Any]:
    """The OpenAPI document (the same as served; no database needed): for docs/openapi.json."""
    return create_api(Application()).openapi()
