"""Self-assessments of a procedure in the documented exchange format: read the submitted one, validate and
score a draft (nothing is saved), submit (first time, or again after a Nachbesserung)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query, Request

from ...services import api_views
from ..use_cases import run
from . import mapping, schemas
from .auth import Caller
from .paging import IfMatch, expected_version
from .problems import responses
from .schemas import ID_PATTERN
from .problems import field_problem

__all__ = ["router"]

router = APIRouter(tags=["Selbstbewertungen"])
ProcedureId = Annotated[str, Path(min_length=1, max_length=64, pattern=ID_PATTERN)]
Document = Annotated[dict[str, Any], Body(description="Die Selbstbewertung im dokumentierten Austauschformat")]


@router.get("/procedures/{procedure_id}/self-assessment", response_model=schemas.AssessmentPublic,
            responses=responses(401, 404, 422, 503), summary="Eingereichte Selbstbewertung lesen")
def get_assessment(request: Request, caller: Caller, procedure_id: ProcedureId,
                   revision: Annotated[int | None, Query(ge=1, le=1000, description="Revision (ohne: die neueste)")]
                   = None) -> schemas.AssessmentPublic:
    found = run(request, lambda uow: api_views.submitted_assessment(uow, caller.user.id, procedure_id, revision))
    s = found.snapshot
    return schemas.AssessmentPublic(procedure_id=s.procedure_id, revision=s.revision, sha256=s.sha256,
                                    submitted_at=s.submitted_at, submitted_by=s.submitted_by, passed=s.passed,
                                    assessment=found.document)


@router.post("/procedures/{procedure_id}/self-assessment/validation", response_model=schemas.AssessmentCheckPublic,
             responses=responses(401, 404, 422, 503), summary="Entwurf prüfen (Format und Katalog)")
def validate(request: Request, caller: Caller, procedure_id: ProcedureId,
             document: Document) -> schemas.AssessmentCheckPublic:
    check = run(request, lambda uow: api_views.check_assessment(uow, caller.user.id, procedure_id, document))
    return schemas.AssessmentCheckPublic(valid=check.valid,
                                         errors=[field_problem(p).model_dump() for p in check.problems])


@router.post("/procedures/{procedure_id}/self-assessment/scoring", response_model=dict[str, Any],
             responses=responses(401, 404, 422, 503), summary="Entwurf bewerten (Bericht wie certflow score)")
def score(request: Request, caller: Caller, procedure_id: ProcedureId, document: Document) -> dict[str, Any]:
    return run(request, lambda uow: api_views.score_assessment(uow, caller.user.id, procedure_id, document))


@router.post("/procedures/{procedure_id}/submission", response_model=schemas.ResultPublic,
             responses=responses(401, 403, 404, 412, 422, 428, 503), summary="Selbstbewertung einreichen")
def submit(request: Request, caller: Caller, procedure_id: ProcedureId, body: schemas.SubmissionCreate,
           if_match: IfMatch = None) -> schemas.ResultPublic:
    expected = expected_version(if_match)
    return mapping.result(run(request, lambda uow: api_views.updating(
        uow, caller.user.id, procedure_id, expected,
        lambda u: api_views.submit_assessment(u, caller.user.id, procedure_id, body.assessment, body.reason))))
