"""Documents as downloads (PDF): the audit packet and the Qualitätsprofil of a procedure, the Urkunde of a seal."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from starlette.responses import Response

from ...services import api_views
from ..use_cases import application
from .auth import Caller
from .problems import responses
from .schemas import ID_PATTERN

__all__ = ["router"]

router = APIRouter(tags=["Dokumente"])
Ident = Annotated[str, Path(min_length=1, max_length=64, pattern=ID_PATTERN)]
PDF_BODY = {"schema": {"type": "string", "format": "binary"}}
PDF: dict[int | str, dict[str, Any]] = {200: {"description": "PDF", "content": {"application/pdf": PDF_BODY}}}
FAILURES = responses(401, 403, 404, 422, 503)


def _download(request: Request, caller, kind: str, ident: str) -> Response:
    doc = api_views.document(application(request), caller.user.id, kind, ident)
    return Response(doc.content, media_type=doc.media_type,
                    headers={"Content-Disposition": f'attachment; filename="{doc.filename}"'})


@router.get("/procedures/{procedure_id}/packet", response_class=Response, responses={**PDF, **FAILURES},
            summary="Prüfpaket (PDF)")
def packet(request: Request, caller: Caller, procedure_id: Ident) -> Response:
    return _download(request, caller, "packet", procedure_id)


@router.get("/procedures/{procedure_id}/qualitaetsprofil", response_class=Response, responses={**PDF, **FAILURES},
            summary="Qualitätsprofil (PDF)")
def qualitaetsprofil(request: Request, caller: Caller, procedure_id: Ident) -> Response:
    return _download(request, caller, "qualitaetsprofil", procedure_id)


@router.get("/certificates/{number}/urkunde", response_class=Response, responses={**PDF, **FAILURES},
            summary="Urkunde (PDF)")
def urkunde(request: Request, caller: Caller, number: Ident) -> Response:
    return _download(request, caller, "urkunde", number)
