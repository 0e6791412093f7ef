"""CSRF protection: every unsafe request carries the session's token, in the form or a header.

Forms put it in a hidden field ``csrf_token`` (the templates' ``csrf_field()``); htmx sends it
as the ``X-CSRF-Token`` header (``hx-headers`` on ``<body>``). A POST, PUT, PATCH or DELETE
without the right token is refused with 403 before any route runs, so nothing changes.
"""

from __future__ import annotations

import hmac

from fastapi import HTTPException, Request

from .sessions import session_of

__all__ = ["CSRF_FIELD", "CSRF_HEADER", "require_csrf"]

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
_SAFE = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
REFUSAL = ("Das Formular ist abgelaufen oder stammt nicht von dieser Seite (Sicherheitsprüfung). "
           "Bitte die Seite neu laden und es noch einmal versuchen.")


async def require_csrf(request: Request) -> None:
    """Dependency of the whole app: refuse an unsafe request without the session's CSRF token."""
    if request.method in _SAFE:
        return
    expected = session_of(request).data.get("csrf") or ""
    sent = request.headers.get(CSRF_HEADER, "")
    if not sent and request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()
        value = form.get(CSRF_FIELD, "")
        sent = value if isinstance(value, str) else ""
    if not expected or not sent or not hmac.compare_digest(expected.encode(), sent.encode()):
        raise HTTPException(status_code=403, detail=REFUSAL)
