"""Procedures: list, read (with its ETag), history, and the steps of the cycle as POSTs.

Each step is one use case of :mod:`certflow.services.procedures` (or the sign-off of
:mod:`certflow.services.review`), run as the token's owner; a step on an existing procedure sends the
procedure's ETag as ``If-Match`` (:mod:`.paging`). The domain decides who may take which step.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response

from ... import services
from ...assessment.model import Status
from ...calendar import KindergartenYear
from ...errors import Problem as InputProblem
from ...services import api_views, review
from ...services.runner import ErrorKind, UseCaseError
from ...services.verdicts import VerdictInput
from ..use_cases import application, run
from . import mapping, schemas
from .auth import Caller
from .paging import IfMatch, PageNumber, PerPage, etag, expected_version
from .problems import responses
from .schemas import ID_PATTERN

__all__ = ["router"]

router = APIRouter(tags=["Verfahren"])
ProcedureId = Annotated[str, Path(min_length=1, max_length=64, pattern=ID_PATTERN, description="z. B. V-2025-008")]
StateFilter = Annotated[str | None, Query(max_length=40, description="Nur Verfahren in diesem Zustand")]
FzFilter = Annotated[str | None, Query(max_length=64, description="Nur Verfahren dieses Familienzentrums")]
CHANGE = responses(401, 403, 404, 412, 422, 428, 503)


def _step(request: Request, caller: Caller, procedure_id: str, if_match: str | None,
          action: Callable[[Any], Any]) -> schemas.ResultPublic:
    expected = expected_version(if_match)
    return mapping.result(run(request, lambda uow: api_views.updating(uow, caller.user.id, procedure_id, expected,
                                                                      action)))


@router.get("/procedures", response_model=schemas.Page[schemas.ProcedurePublic],
            responses=responses(401, 422, 503), summary="Verfahren auflisten")
def list_procedures(request: Request, caller: Caller, page: PageNumber = 1, per_page: PerPage = 50,
                    state: StateFilter = None, familienzentrum_id: FzFilter = None) -> dict[str, Any]:
    found = run(request, lambda uow: api_views.procedures(uow, caller.user.id, page=page, per_page=per_page,
                                                          state=state, familienzentrum_id=familienzentrum_id))
    return mapping.page(found, mapping.procedure)


@router.post("/procedures", response_model=schemas.ResultPublic, status_code=201,
             responses=responses(401, 403, 404, 409, 422, 503), summary="Nominieren (neues Verfahren)")
def nominate(request: Request, response: Response, caller: Caller,
             body: schemas.NominationCreate) -> schemas.ResultPublic:
    try:
        kgj = KindergartenYear.parse(body.kgj)
    except ValueError as exc:
        raise UseCaseError(ErrorKind.INPUT, str(exc), [
            InputProblem("body", None, ("body", "kgj"), str(exc))], "Nominierung") from None
    done = run(request, lambda uow: services.nominate(uow, caller.user.id, body.familienzentrum_id, kgj, body.reason))
    if done.procedure is not None:
        response.headers["Location"] = f"{request.scope.get('root_path', '')}/procedures/{done.procedure.id}"
        response.headers["ETag"] = etag(done.procedure.version)
    return mapping.result(done)


@router.get("/procedures/{procedure_id}", response_model=schemas.ProcedurePublic,
            responses=responses(401, 404, 422, 503), summary="Ein Verfahren (mit ETag)")
def get_procedure(request: Request, response: Response, caller: Caller,
                  procedure_id: ProcedureId) -> schemas.ProcedurePublic:
    view = run(request, lambda uow: api_views.procedure(uow, caller.user.id, procedure_id))
    response.headers["ETag"] = etag(view.procedure.version)
    return mapping.procedure(view.procedure, view.familienzentrum_name)


@router.get("/procedures/{procedure_id}/history", response_model=schemas.Page[schemas.HistoryEntryPublic],
            responses=responses(401, 404, 422, 503), summary="Verlauf eines Verfahrens")
def get_history(request: Request, caller: Caller, procedure_id: ProcedureId, page: PageNumber = 1,
                per_page: PerPage = 50) -> dict[str, Any]:
    found = run(request, lambda uow: api_views.history(uow, caller.user.id, procedure_id, page=page,
                                                       per_page=per_page))
    return mapping.page(found, lambda row: schemas.HistoryEntryPublic(
        seq=row.seq, at=row.at, actor_id=row.actor_id, actor_name=row.actor_name, actor_role=row.actor_role,
        action=row.action, what=row.what, from_state=row.from_state, to_state=row.to_state, reason=row.reason))


def _simple(name: str, service: Callable[..., Any], summary: str) -> None:
    def step(request: Request, caller: Caller, procedure_id: ProcedureId, body: schemas.ReasonBody,
             if_match: IfMatch = None) -> schemas.ResultPublic:
        return _step(request, caller, procedure_id, if_match,
                     lambda uow: service(uow, caller.user.id, procedure_id, body.reason))
    step.__name__ = name.replace("-", "_")
    router.post(f"/procedures/{{procedure_id}}/{name}", response_model=schemas.ResultPublic, responses=CHANGE,
                summary=summary, operation_id=f"procedure_{step.__name__}")(step)


_simple("registration", services.register, "Registrieren (Kita-Leitung)")
_simple("development", services.start_development, "Entwicklungsjahr beginnen")
_simple("change-request", services.request_changes, "Nachbesserung anfordern (Zertifizierungsstelle)")
_simple("withdrawal", services.withdraw, "Zurückziehen")


@router.post("/procedures/{procedure_id}/audit-plan", response_model=schemas.ResultPublic, responses=CHANGE,
             summary="Auditor beauftragen und Begehung planen")
def plan_audit(request: Request, caller: Caller, procedure_id: ProcedureId, body: schemas.AuditPlanCreate,
               if_match: IfMatch = None) -> schemas.ResultPublic:
    return _step(request, caller, procedure_id, if_match, lambda uow: services.schedule_audit(
        uow, caller.user.id, procedure_id, body.auditor_id, body.audit_date, body.reason))


def _verdicts(given: dict[str, schemas.VerdictIn]) -> dict[str, VerdictInput]:
    return {criterion: VerdictInput(Status(v.verdict), v.remark) for criterion, v in given.items()}


@router.post("/procedures/{procedure_id}/audit", response_model=schemas.ResultPublic, responses=CHANGE,
             summary="Begehung erfassen (mit Bewertungen)")
def record_audit(request: Request, caller: Caller, procedure_id: ProcedureId, body: schemas.AuditRecordCreate,
                 if_match: IfMatch = None) -> schemas.ResultPublic:
    sites = tuple(body.sites) if body.sites is not None else None
    return _step(request, caller, procedure_id, if_match, lambda uow: services.record_audit(
        uow, caller.user.id, procedure_id, body.visit_date, body.reason, sites=sites,
        verdicts=_verdicts(body.verdicts)))


@router.get("/procedures/{procedure_id}/verdicts", response_model=schemas.Page[schemas.VerdictPublic],
            responses=responses(401, 404, 422, 503), summary="Bewertungen der Begehung")
def get_verdicts(request: Request, caller: Caller, procedure_id: ProcedureId, page: PageNumber = 1,
                 per_page: PerPage = 50) -> dict[str, Any]:
    found = run(request, lambda uow: api_views.verdicts(uow, caller.user.id, procedure_id, page=page,
                                                        per_page=per_page))
    return mapping.page(found, lambda v: schemas.VerdictPublic(
        criterion_id=v.criterion_id, verdict=str(v.verdict), remark=v.remark, recorded_by=v.recorded_by,
        recorded_at=v.recorded_at))


@router.put("/procedures/{procedure_id}/verdicts", response_model=schemas.ResultPublic, responses=CHANGE,
            summary="Bewertungen erfassen oder berichtigen (Auditor, vor dem Abzeichnen)")
def put_verdicts(request: Request, caller: Caller, procedure_id: ProcedureId, body: schemas.VerdictsUpdate,
                 if_match: IfMatch = None) -> schemas.ResultPublic:
    return _step(request, caller, procedure_id, if_match, lambda uow: services.record_verdicts(
        uow, caller.user.id, procedure_id, _verdicts(body.verdicts), body.reason))


@router.post("/procedures/{procedure_id}/sign-off", response_model=schemas.ResultPublic, responses=CHANGE,
             summary="Begehung abzeichnen (Auditor; das Prüfpaket wird erzeugt)")
def sign_off(request: Request, caller: Caller, procedure_id: ProcedureId, body: schemas.ReasonBody,
             if_match: IfMatch = None) -> schemas.ResultPublic:
    expected = expected_version(if_match)
    run(request, lambda uow: api_views.require_version(uow, caller.user.id, procedure_id, expected))
    done = review.sign_off_visit(application(request), caller.user.id, procedure_id, body.reason)
    return mapping.result(done)


@router.post("/procedures/{procedure_id}/decision", response_model=schemas.ResultPublic, responses=CHANGE,
             summary="Entscheiden (Zertifizierungsstelle, Vier-Augen-Prinzip)")
def decide(request: Request, caller: Caller, procedure_id: ProcedureId, body: schemas.DecisionCreate,
           if_match: IfMatch = None) -> schemas.ResultPublic:
    return _step(request, caller, procedure_id, if_match, lambda uow: services.decide(
        uow, caller.user.id, procedure_id, body.outcome, body.reason))

