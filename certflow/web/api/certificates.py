"""Certificates (seal terms), contingents of places and the caller's reminders: lists and one seal."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request

from ...services import api_views
from ..use_cases import run
from . import mapping, schemas
from .auth import Caller
from .paging import PageNumber, PerPage
from .problems import responses
from .schemas import ID_PATTERN

__all__ = ["router"]

router = APIRouter()


@router.get("/certificates", response_model=schemas.Page[schemas.CertificatePublic], tags=["Urkunden"],
            responses=responses(401, 422, 503), summary="Gütesiegel (Urkunden) auflisten",
            description="Ohne Filter je Gütesiegel die neueste Laufzeit; mit state die Laufzeiten in diesem Zustand.")
def list_certificates(request: Request, caller: Caller, page: PageNumber = 1, per_page: PerPage = 50,
                      state: Annotated[str | None, Query(max_length=40, description="z. B. valid")] = None
                      ) -> dict[str, Any]:
    found = run(request, lambda uow: api_views.certificates(uow, caller.user.id, page=page, per_page=per_page,
                                                            state=state))
    return mapping.page(found, mapping.certificate)


@router.get("/certificates/{number}", response_model=list[schemas.CertificatePublic], tags=["Urkunden"],
            responses=responses(401, 404, 422, 503), summary="Ein Gütesiegel mit allen Laufzeiten")
def get_certificate(request: Request, caller: Caller,
                    number: Annotated[str, Path(min_length=1, max_length=64, pattern=ID_PATTERN)]
                    ) -> list[schemas.CertificatePublic]:
    return [mapping.certificate(c) for c in run(request, lambda uow: api_views.certificate(uow, caller.user.id,
                                                                                           number))]


@router.get("/contingents", response_model=schemas.Page[schemas.ContingentPublic], tags=["Kontingente"],
            responses=responses(401, 403, 422, 503), summary="Kontingente auflisten")
def list_contingents(request: Request, caller: Caller, page: PageNumber = 1, per_page: PerPage = 50,
                     jugendamt_id: Annotated[str | None, Query(max_length=64)] = None) -> dict[str, Any]:
    found = run(request, lambda uow: api_views.contingents(uow, caller.user.id, page=page, per_page=per_page,
                                                           jugendamt_id=jugendamt_id))
    return mapping.page(found, mapping.contingent)


@router.get("/reminders", response_model=schemas.Page[schemas.ReminderPublic], tags=["Erinnerungen"],
            responses=responses(401, 422, 503), summary="Eigene Erinnerungen (Posteingang), neueste zuerst")
def list_reminders(request: Request, caller: Caller, page: PageNumber = 1, per_page: PerPage = 50,
                   unread: Annotated[bool, Query(description="Nur ungelesene")] = False) -> dict[str, Any]:
    found = run(request, lambda uow: api_views.reminders(uow, caller.user.id, page=page, per_page=per_page,
                                                         unread=unread))
    return mapping.page(found, lambda m: schemas.ReminderPublic(id=m.id, created_at=m.created_at, kind=m.kind,
                                                                subject=m.subject, body=m.body, read_at=m.read_at))
