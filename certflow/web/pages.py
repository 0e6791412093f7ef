"""The web pages' Jinja2 environment (templates/web/) and the response helper every route uses.

Templates are German, autoescaped, and load nothing from the internet: styles and htmx come
from ``/static`` (shipped in the package). ``csrf_field()`` writes the hidden CSRF input of a
form; ``datum`` and ``zeit`` format dates as people in NRW write them. :func:`page_number` reads the
``?seite=`` of a paged list (the links are ``templates/web/_seiten.html``'s macro).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from fastapi import Request
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape
from starlette.responses import HTMLResponse

from ..calendar import format_date_de
from ..errors import Problem
from ..lifecycle.machinery import BERLIN
from ..resources import templates_dir
from ..services.runner import ErrorKind, UseCaseError
from .csrf import CSRF_FIELD

__all__ = ["PAGE_MAX", "Pages", "page_number"]

PAGE_MAX = 100_000
"""The highest page number a list accepts (more is a typing error, not a page)."""


def page_number(text: str) -> int:
    """The page a ``?seite=`` asks for: blank is the first; anything but a whole number from 1 to
    :data:`PAGE_MAX` is bad input (422, said in German)."""
    text = (text or "").strip()[:12]
    if not text:
        return 1
    if not text.isdigit() or not 1 <= int(text) <= PAGE_MAX:
        raise UseCaseError(ErrorKind.INPUT, "Die Seitenangabe ist fehlerhaft",
                           [Problem("Seite", None, ("seite",), f"eine ganze Zahl von 1 bis {PAGE_MAX} erwartet, "
                                                               f"nicht „{text}“")], "Seite")
    return int(text)


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
