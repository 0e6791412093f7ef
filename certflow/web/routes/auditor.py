"""The auditor's pages: the assigned procedures, and the review of one of them up to the signed-off packet.

* ``/begehungen`` — the procedures assigned to the auditor, with planned and recorded visit days (the open
  ones whole, the closed ones a page at a time: ``?seite=``);
* ``/begehungen/{id}`` — the review: per criterion the Kita's self-assessment and evidence beside
  the verdict and remark (one form: records the visit with its verdicts, later the changed verdicts),
  the comment thread per criterion (posted with htmx, without a full reload), the sign-off (which
  renders the packet and stores its SHA-256; a busy indicator shows while it runs) and, once
  signed off, the packet to download; everything read-only after the sign-off;
* ``/begehungen/{id}/belege/{sha256}`` — one evidence file, from the evidence store.

Every action runs a service of :mod:`certflow.services.review` as the logged-in user; a procedure
that is not the user's to review is the same 404 as an unknown one. Bad input comes back as the
page with a German message at the field (422); rule refusals as the page with the reason (403/409).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import FileResponse, Response

from ...lifecycle.entities import User
from ...messages import describe
from ...services import review as reviews
from ...services.runner import ErrorKind, UseCaseError
from ..auth import CurrentUser
from ..forms import PostedForm, field_text, form_status, messages_by_field, render
from ..pages import page_number
from ..use_cases import Concealed, application, run

__all__ = ["router"]

router = APIRouter()

def _field(path: tuple) -> str:
    """The form field a problem of the review service names."""
    if path[:1] == ("verdict",) and len(path) > 1:
        return f"urteil-{path[1]}"
    if path[:1] == ("remark",) and len(path) > 1:
        return f"bemerkung-{path[1]}"
    return {"visit_date": "besuchstag", "sites": "standorte", "reason": "grund", "body": "kommentar"}.get(
        str(path[0]) if path else "", "formular")


def _field_errors(error: UseCaseError) -> dict[str, str]:
    return messages_by_field(error.problems, _field)


def _review_page(request: Request, user: User, procedure_id: str, *, status: int = 200,
                 errors: dict[str, str] | None = None, values: dict[str, Any] | None = None,
                 notice: str | None = None, problem: str | None = None,
                 comment: tuple[str, str, str] | None = None) -> Response:
    """The review page; ``comment`` is (criterion, error, text) of a comment sent without htmx and refused."""
    store = application(request).evidence_store()
    data = run(request, lambda uow: reviews.review(uow, user.id, procedure_id, evidence_store=store), conceal=True)
    return render(request, "auditor/review.html", status=status, user=user,
                   title=f"Begehung {procedure_id}", rv=data, errors=errors or {}, values=values,
                   notice=notice, problem=problem, comment=comment)


def _refusal_page(request: Request, user: User, procedure_id: str, exc: UseCaseError, *, values=None) -> Response:
    """A failed action shown on the review page: bad input at its fields (422), a refusal with its reason;
    an unknown or foreign procedure is the 404 page."""
    if exc.kind is ErrorKind.NOT_FOUND:
        raise Concealed(exc) from None
    if exc.kind is ErrorKind.INPUT:
        return _review_page(request, user, procedure_id, status=422, errors=_field_errors(exc), values=values)
    return _review_page(request, user, procedure_id, status=form_status(exc, passes=(ErrorKind.DATABASE,)),
                        problem=exc.message, values=values)


# --- the assigned procedures -----------------------------------------------------------------------------------


@router.get("/begehungen")
def assigned(request: Request, user: CurrentUser, seite: str = "") -> Response:
    page = page_number(seite)
    listing = run(request, lambda uow: reviews.assignment_page(uow, user.id, page=page))
    return render(request, "auditor/assignments.html", user=user, title="Meine Begehungen", listing=listing,
                  rows=listing.rows)


# --- the review ------------------------------------------------------------------------------------------------


@router.get("/begehungen/{procedure_id}")
def review_page(request: Request, procedure_id: str, user: CurrentUser) -> Response:
    return _review_page(request, user, procedure_id)


def _visit_date(text: str) -> date | None:
    """``2026-03-10`` (the date field) or ``10.03.2026`` (typed); ``ValueError`` for anything else."""
    text = text.strip()
    if not text:
        return None
    if len(text) == 10 and text[2] == "." and text[5] == ".":
        return date(int(text[6:]), int(text[3:5]), int(text[:2]))
    return date.fromisoformat(text)


@router.post("/begehungen/{procedure_id}")
def save(request: Request, procedure_id: str, user: CurrentUser, form: PostedForm) -> Response:
    values: dict[str, Any] = {key: field_text(form, key) for key in form if key != "csrf_token"}
    values["standorte"] = [s for s in form.getlist("standorte") if isinstance(s, str)]
    verdicts = {}
    for key in form:
        if key.startswith("urteil-"):
            criterion = key.removeprefix("urteil-")
            verdicts[criterion] = reviews.VerdictEntry(field_text(form, key),
                                                       field_text(form, f"bemerkung-{criterion}"))
    try:
        day, bad_day = _visit_date(field_text(form, "besuchstag")), False
    except ValueError:
        day, bad_day = None, True
    sites = tuple(values["standorte"]) or None
    entry = reviews.ReviewEntry(reason=field_text(form, "grund"), verdicts=verdicts, visit_date=day, sites=sites)
    try:
        result = run(request, lambda uow: reviews.save_review(uow, user.id, procedure_id, entry))
    except UseCaseError as exc:
        if exc.kind is ErrorKind.INPUT and bad_day:  # every problem at once; the date as typed is the problem
            errors = {**_field_errors(exc), "besuchstag": "Bitte ein gültiges Datum angeben, z. B. 10.03.2026."}
            return _review_page(request, user, procedure_id, status=422, errors=errors, values=values)
        return _refusal_page(request, user, procedure_id, exc, values=values)
    return _review_page(request, user, procedure_id, notice=describe(result))


# --- comments ---------------------------------------------------------------------------------------------------


def _thread(request: Request, user: User, procedure_id: str, criterion_id: str, *, status: int = 200,
            error: str | None = None, body: str = "", notice: str | None = None) -> Response:
    """The thread of one criterion alone (what htmx swaps in)."""
    thread = run(request, lambda uow: reviews.thread_of(uow, user.id, procedure_id, criterion_id))
    return render(request, "auditor/_thread.html", status=status, user=user, tc=thread,
                   procedure_id=procedure_id, can_comment=thread.can_comment, hl=4 if thread.nested else 3,
                   comment_error=error, comment_body=body, comment_notice=notice)


@router.post("/begehungen/{procedure_id}/kommentare/{criterion_id}")
def post_comment(request: Request, procedure_id: str, criterion_id: str, user: CurrentUser,
                 form: PostedForm) -> Response:
    body = field_text(form, "kommentar")
    fragment = bool(request.headers.get("HX-Request"))
    try:
        result = run(request, lambda uow: reviews.post_comment(uow, user.id, procedure_id, criterion_id, body))
    except UseCaseError as exc:
        if exc.kind is ErrorKind.NOT_FOUND:
            raise
        status = form_status(exc)
        message = " ".join(p.message for p in exc.problems) if exc.kind is ErrorKind.INPUT else exc.message
        if fragment:
            return _thread(request, user, procedure_id, criterion_id, status=status, error=message, body=body)
        if exc.kind is ErrorKind.INPUT:
            return _review_page(request, user, procedure_id, status=422, comment=(criterion_id, message, body))
        return _review_page(request, user, procedure_id, status=status, problem=message)
    if fragment:
        return _thread(request, user, procedure_id, criterion_id, notice=describe(result))
    return _review_page(request, user, procedure_id, notice=describe(result))


# --- request changes, sign-off, packet, evidence ------------------------------------------------------------------


@router.post("/begehungen/{procedure_id}/nachbesserung")
def request_changes(request: Request, procedure_id: str, user: CurrentUser, form: PostedForm) -> Response:
    reason = field_text(form, "nachbesserung_grund")
    try:
        result = run(request, lambda uow: reviews.request_changes(uow, user.id, procedure_id, reason))
    except UseCaseError as exc:
        if exc.kind is ErrorKind.INPUT:
            return _review_page(request, user, procedure_id, status=422, values={"nachbesserung_grund": reason},
                                errors={"nachbesserung_grund": " ".join(p.message for p in exc.problems)})
        return _refusal_page(request, user, procedure_id, exc)
    return _review_page(request, user, procedure_id, notice=describe(result))


@router.post("/begehungen/{procedure_id}/abzeichnen")
def sign_off(request: Request, procedure_id: str, user: CurrentUser, form: PostedForm) -> Response:
    reason = field_text(form, "abzeichnen_grund")
    try:
        result = reviews.sign_off_visit(application(request), user.id, procedure_id, reason)
    except UseCaseError as exc:
        if exc.kind is ErrorKind.NOT_FOUND:
            raise Concealed(exc) from None
        if exc.kind is ErrorKind.INPUT:
            errors = {"abzeichnen_grund": " ".join(p.message for p in exc.problems) or exc.message}
            return _review_page(request, user, procedure_id, status=422, errors=errors,
                                values={"abzeichnen_grund": reason})
        return _refusal_page(request, user, procedure_id, exc, values={"abzeichnen_grund": reason})
    return _review_page(request, user, procedure_id, notice=describe(result))


@router.get("/begehungen/{procedure_id}/auditpaket.pdf")
def packet(request: Request, procedure_id: str, user: CurrentUser) -> Response:
    try:
        download = reviews.signed_packet(application(request), user.id, procedure_id)
    except UseCaseError as exc:
        raise Concealed(exc) from None
    return Response(download.pdf, media_type="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="{download.file_name}"',
        "Cache-Control": "no-store", "X-Certflow-SHA256": download.stored_sha256})


@router.get("/begehungen/{procedure_id}/belege/{sha256}")
def evidence(request: Request, procedure_id: str, sha256: str, user: CurrentUser) -> Response:
    store = application(request).evidence_store()
    found = run(request, lambda uow: reviews.evidence_file(uow, user.id, procedure_id, sha256,
                                                           evidence_store=store), conceal=True)
    return FileResponse(found.path, media_type=found.media_type, filename=found.file_name,
                        content_disposition_type="attachment", headers={"Cache-Control": "no-store"})
