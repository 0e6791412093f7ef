"""Familienzentren and their Kitas: lists (paged, filtered) and one of each, as the caller may see them."""

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

router = APIRouter(tags=["Familienzentren und Kitas"])
StateFilter = Annotated[str | None, Query(max_length=40, description="Nur mit aktuellem Verfahren in diesem "
                                                                      "Zustand (z. B. submitted)")]
FzFilter = Annotated[str | None, Query(max_length=64, description="Nur die Kitas dieses Familienzentrums")]
ObjectId = Annotated[str, Path(min_length=1, max_length=64, pattern=ID_PATTERN)]


@router.get("/familienzentren", response_model=schemas.Page[schemas.FamilienzentrumSummary],
            responses=responses(401, 422, 503), summary="Familienzentren auflisten")
def list_familienzentren(request: Request, caller: Caller, page: PageNumber = 1, per_page: PerPage = 50,
                         state: StateFilter = None) -> dict[str, Any]:
    found = run(request, lambda uow: api_views.familienzentren(uow, caller.user.id, page=page, per_page=per_page,
                                                              state=state))
    return {"items": [mapping.summary(row) for row in found.rows], "total": found.matching, "page": page,
            "per_page": per_page}


@router.get("/familienzentren/{familienzentrum_id}", response_model=schemas.FamilienzentrumPublic,
            responses=responses(401, 404, 422, 503), summary="Ein Familienzentrum")
def get_familienzentrum(request: Request, caller: Caller,
                        familienzentrum_id: ObjectId) -> schemas.FamilienzentrumPublic:
    return mapping.familienzentrum(run(request, lambda uow: api_views.familienzentrum(uow, caller.user.id,
                                                                                        familienzentrum_id)))


@router.get("/kitas", response_model=schemas.Page[schemas.KitaPublic], responses=responses(401, 404, 422, 503),
            summary="Kitas auflisten")
def list_kitas(request: Request, caller: Caller, page: PageNumber = 1, per_page: PerPage = 50,
               familienzentrum_id: FzFilter = None) -> dict[str, Any]:
    found = run(request, lambda uow: api_views.kitas(uow, caller.user.id, page=page, per_page=per_page,
                                                     familienzentrum_id=familienzentrum_id))
    return mapping.page(found, mapping.kita)


@router.get("/kitas/{kita_id}", response_model=schemas.KitaPublic, responses=responses(401, 404, 422, 503),
            summary="Eine Kita")
def get_kita(request: Request, caller: Caller, kita_id: ObjectId) -> schemas.KitaPublic:
    return mapping.kita(run(request, lambda uow: api_views.kita(uow, caller.user.id, kita_id)))
