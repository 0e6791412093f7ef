"""The web pages' Jinja2 environment (templates/web/) and the response helper every route uses.

Templates are German, autoescaped, and load nothing from the internet: styles and htmx come
from ``/static`` (shipped in the package). ``csrf_field()`` writes the hidden CSRF input of a
form; ``datum`` and ``zeit`` format dates as people in NRW write them.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from fastapi import Request
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape
from starlette.responses import HTMLResponse

from ..calendar import format_date_de
from ..lifecycle.machinery import BERLIN
from ..resources import templates_dir
from .csrf import CSRF_FIELD

__all__ = ["Pages"]


def _datum(value: date | datetime | None) -> str:
    if value is None:
        return "–"
    if isinstance(value, datetime):
        value = value.astimezone(BERLIN).date()
    return format_date_de(value)


def _zeit(value: datetime | None) -> str:
    return "–" if value is None else value.astimezone(BERLIN).strftime("%d.%m.%Y, %H:%M Uhr")


class Pages:
    """Renders ``templates/web/<name>`` with the request, the user, the CSRF token and the page's values."""

    def __init__(self) -> None:
        self.env = Environment(loader=FileSystemLoader(str(templates_dir() / "web")),
                               autoescape=select_autoescape(default=True, default_for_string=True),
                               undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
        self.env.filters["datum"] = _datum
        self.env.filters["zeit"] = _zeit

    def render(self, request: Request, name: str, *, status: int = 200, user: Any = None,
               **values: Any) -> HTMLResponse:
        session = getattr(request.state, "session", None)
        token = session.csrf_token if session is not None else ""

        def csrf_field() -> Markup:
            return Markup(f'<input type="hidden" name="{CSRF_FIELD}" value="{escape(token)}">')

        context = {"request": request, "user": user, "csrf_token": token, "csrf_field": csrf_field,
                   "title": values.pop("title", "certflow"), **values}
        html = self.env.get_template(name).render(context)
        response = HTMLResponse(html, status_code=status)
        response.headers["Cache-Control"] = "no-store"
        return response
