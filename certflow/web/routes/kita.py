"""The Kita lead's pages: "Meine Aufgaben", the self-assessment area by area with the live score, evidence
uploads, the comment threads after a requested Nachbesserung, the submission, and the documents at the end.

* ``/aufgaben`` — what is due: each procedure with its state and next deadline, the next step
  (register, begin the development year, fill in and submit, answer the questions), withdrawal,
  and the Qualitätsprofil and Urkunde as PDF (``/aufgaben/qualitaetsprofil/{id}``, ``/aufgaben/urkunde/{nr}``);
* ``/selbstbewertung/{id}`` — the self-assessment's overview: every area against its threshold,
  what is missing, the questions asked; ``/selbstbewertung/{id}/bereich/{area}`` — one area as a
  form ("Entwurf speichern"); while the lead types, htmx posts the form to ``…/vorschau``, which
  scores it without saving and answers with the score fragment (points against the threshold per
  area as a chart drawn on the server and a table, and what is still missing and why);
* ``/selbstbewertung/{id}/belege`` — an evidence record for a criterion with its file (multipart;
  the size is checked before the body is read, and the body is read with a limit), kept in the
  staging area until the submission commits; ``…/belege/{sha256}`` downloads one's own file;
* ``/selbstbewertung/{id}/kommentare`` — an answer in a criterion's thread;
* ``/selbstbewertung/{id}/einreichen`` — what submitting would do (refusal or warnings), and doing it.

Every action runs a use case of :mod:`certflow.services.self_assessment` (or the procedure and dialogue
services) as the logged-in user. A foreign or unknown procedure is the same 404 page; bad input comes
back as the page (or, for htmx, the fragment) with a German message at the field (422), a refusal by
the rules with the message (403), a file over the limit with 413.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.responses import RedirectResponse, Response

from ... import services
from ...lifecycle.dialogue import MAX_COMMENT_CHARS
from ...lifecycle.entities import PROCEDURE_STATE_LABELS, User
from ...lifecycle.machinery import local_date
from ...messages import describe
from ...services import dialogue, self_assessment
from ...services.runner import ErrorKind, UseCaseError
from ..auth import CurrentUser
from ..csrf import CSRF_FIELD, CSRF_HEADER
from ..forms import PostedForm, field_errors, form_status, render
from ..use_cases import Concealed, application, run

__all__ = ["router"]

router = APIRouter()

UPLOAD_OVERHEAD = 64 * 1024
"""Bytes an upload may carry beyond the file itself: multipart headers and the record's fields."""
MAX_REASON = 500
STATUS_CHOICES = (("erfuellt", "erfüllt"), ("nicht_erfuellt", "nicht erfüllt"), ("offen", "offen"))
STEPS = {"registrieren": services.register, "beginnen": services.start_development, "zurueckziehen": services.withdraw}
"""The procedure's steps the Kita lead takes on "Meine Aufgaben" (URL part -> use case)."""
TYPE_LABELS = {"application/pdf": "PDF", "image/png": "PNG", "image/jpeg": "JPEG",
               "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "DOCX",
               "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "XLSX",
               "application/vnd.oasis.opendocument.text": "ODT"}
TYPE_SUFFIXES = {"application/pdf": ".pdf", "image/png": ".png", "image/jpeg": ".jpg,.jpeg",
                 "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
                 "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ".xlsx",
                 "application/vnd.oasis.opendocument.text": ".odt"}


class _TooLarge(Exception):
    pass


def _htmx(request: Request) -> bool:
    return request.headers.get("HX-Request") == "true"


def _fields(form: FormData) -> dict[str, list[str]]:
    """The form's text fields by name (files and the CSRF token left out)."""
    out: dict[str, list[str]] = {}
    for key, value in form.multi_items():
        if key != CSRF_FIELD and isinstance(value, str):
            out.setdefault(key, []).append(value)
    return out


def _own(request: Request, user: User, procedure_id: str) -> None:
    """The procedure is the user's own as Kita lead: else the 404 page, before anything else is read."""
    run(request, lambda uow: self_assessment.own_procedure(uow, user.id, procedure_id), conceal=True)


def _concealed(error: UseCaseError) -> UseCaseError | Concealed:
    """A use case's failure on a page about one object: unknown or not one's own is the same 404."""
    if error.kind in (ErrorKind.NOT_FOUND, ErrorKind.REFUSED):
        return Concealed(error)
    return error


def _today(request: Request):
    return local_date(application(request).now())


# --- "Meine Aufgaben" ----------------------------------------------------------------------------------------------


def _tasks_page(request: Request, user: User, *, status: int = 200, errors: dict[str, str] | None = None,
                values: dict[str, str] | None = None, notice: str | None = None,
                warnings: Sequence[str] = ()) -> Response:
    tasks = run(request, lambda uow: self_assessment.tasks(uow, user.id))
    return render(request, "kita/aufgaben.html", status=status, user=user, title="Meine Aufgaben", tasks=tasks,
                   today=_today(request), errors=errors or {}, values=values or {}, notice=notice,
                   warnings=list(warnings), labels=PROCEDURE_STATE_LABELS)


@router.get("/aufgaben")
def tasks_page(request: Request, user: CurrentUser) -> Response:
    return _tasks_page(request, user)


@router.post("/aufgaben/{procedure_id}/{schritt}")
def task_step(request: Request, procedure_id: str, schritt: str, user: CurrentUser, form: PostedForm) -> Response:
    action = STEPS.get(schritt)
    if action is None:
        raise HTTPException(status_code=404)
    _own(request, user, procedure_id)
    field = f"{schritt}-grund"
    reason = form.get("begruendung", "")
    reason = reason.strip() if isinstance(reason, str) else ""
    error = None
    if not reason:
        error = "Bitte eine Begründung angeben (sie steht im Verlauf des Verfahrens)."
    elif len(reason) > MAX_REASON:
        error = f"Die Begründung darf höchstens {MAX_REASON} Zeichen haben (eingegeben: {len(reason)})."
    if error:
        return _tasks_page(request, user, status=422, errors={field: error}, values={field: reason})
    try:
        result = run(request, lambda uow: action(uow, user.id, procedure_id, reason))
    except UseCaseError as exc:
        if exc.kind is ErrorKind.DATABASE:
            raise
        return _tasks_page(request, user, status=form_status(exc), errors={"schritt": exc.message},
                           values={field: reason})
    return _tasks_page(request, user, notice=describe(result), warnings=result.warnings)


def _pdf(download: self_assessment.Download) -> Response:
    return Response(download.content, media_type=download.media_type, headers={
        "Content-Disposition": f'attachment; filename="{download.filename}"', "Cache-Control": "no-store"})


def _document(request: Request, user: User, kind: str, ident: str) -> Response:
    try:
        return _pdf(self_assessment.document(application(request), user.id, kind, ident))
    except UseCaseError as exc:
        raise _concealed(exc) from None


@router.get("/aufgaben/qualitaetsprofil/{procedure_id}")
def qualitaetsprofil(request: Request, procedure_id: str, user: CurrentUser) -> Response:
    return _document(request, user, "qualitaetsprofil", procedure_id)


@router.get("/aufgaben/urkunde/{number}")
def urkunde(request: Request, number: str, user: CurrentUser) -> Response:
    return _document(request, user, "urkunde", number)


# --- the self-assessment: overview and areas -----------------------------------------------------------------------


def _score(progress: Sequence[self_assessment.AreaProgress], area_id: str | None, passed: bool,
           problems: Sequence[Any] = ()) -> dict[str, Any]:
    """The values of the score fragment (``kita/_punkte.html``: chart and table of every area, the area's gaps)."""
    current = next((a for a in progress if a.id == area_id), None)
    return {"progress": progress, "current": current, "passed": passed, "problems": list(problems)}


def _workspace(request: Request, user: User, procedure_id: str, area_id: str | None = None):
    store = application(request).evidence_store()
    return run(request, lambda uow: self_assessment.workspace(uow, user.id, procedure_id, area_id,
                                                              evidence_store=store), conceal=True)


@router.get("/selbstbewertung/{procedure_id}")
def overview(request: Request, procedure_id: str, user: CurrentUser) -> Response:
    ws = _workspace(request, user, procedure_id)
    with contextlib.suppress(UseCaseError):  # files a committed submission could not move then: try again
        self_assessment.settle_evidence(application(request), user.id, procedure_id)
    return render(request, "kita/uebersicht.html", user=user, title=f"Selbstbewertung {procedure_id}", ws=ws,
                   **_score(ws.progress, None, ws.report.passed))


def _area_page(request: Request, user: User, procedure_id: str, area_id: str, *, status: int = 200,
               errors: Mapping[str, str] | None = None, posted: Mapping[str, list[str]] | None = None,
               notice: str | None = None) -> Response:
    ws = _workspace(request, user, procedure_id, area_id)
    return render(request, "kita/bereich.html", status=status, user=user,
                   title=f"Bereich {area_id} – Selbstbewertung {procedure_id}", ws=ws, errors=dict(errors or {}),
                   posted=posted, notice=notice, statuses=STATUS_CHOICES, types=_types(ws),
                   comment_max=MAX_COMMENT_CHARS, **_score(ws.progress, area_id, ws.report.passed))


def _types(ws: self_assessment.Workspace) -> dict[str, str]:
    labels = [TYPE_LABELS[t] for t in TYPE_LABELS if t in ws.allowed_types]
    labels += sorted(t for t in ws.allowed_types if t not in TYPE_LABELS)
    suffixes = ",".join(TYPE_SUFFIXES[t] for t in TYPE_SUFFIXES if t in ws.allowed_types)
    size = ws.max_upload_bytes
    shown = f"{size // (1024 * 1024)} MB" if size >= 1024 * 1024 else f"{size // 1024} KB"
    return {"labels": ", ".join(labels), "accept": suffixes, "max": shown}


@router.get("/selbstbewertung/{procedure_id}/bereich/{area_id}")
def area_page(request: Request, procedure_id: str, area_id: str, user: CurrentUser, gespeichert: str = "") -> Response:
    notice = "Entwurf gespeichert." if gespeichert else None
    return _area_page(request, user, procedure_id, area_id, notice=notice)


@router.post("/selbstbewertung/{procedure_id}/bereich/{area_id}")
def save_area(request: Request, procedure_id: str, area_id: str, user: CurrentUser, form: PostedForm) -> Response:
    _own(request, user, procedure_id)
    fields = _fields(form)
    try:
        run(request, lambda uow: self_assessment.save_area(uow, user.id, procedure_id, area_id, fields))
    except UseCaseError as exc:
        if exc.kind is ErrorKind.DATABASE:
            raise
        return _area_page(request, user, procedure_id, area_id, status=form_status(exc),
                          errors=field_errors(exc, "formular"), posted=fields)
    return RedirectResponse(f"/selbstbewertung/{procedure_id}/bereich/{area_id}?gespeichert=1", status_code=303)


@router.post("/selbstbewertung/{procedure_id}/bereich/{area_id}/vorschau")
def preview(request: Request, procedure_id: str, area_id: str, user: CurrentUser, form: PostedForm) -> Response:
    fields = _fields(form)
    shown = run(request, lambda uow: self_assessment.preview(uow, user.id, procedure_id, area_id, fields),
                conceal=True)
    return render(request, "kita/_punkte.html", user=user, criteria=shown.criteria,
                   **_score(shown.progress, area_id, shown.passed, [p.message for p in shown.problems]))


# --- evidence -----------------------------------------------------------------------------------------------------


async def _limited_form(request: Request, limit: int) -> FormData:
    """The multipart form, read with at most ``limit`` bytes of body (then :class:`_TooLarge`).

    Without the CSRF header (a plain form, no htmx) the CSRF check has read the form already; it is reused.
    """
    if not request.headers.get(CSRF_HEADER):
        return await request.form()
    received = 0
    receive = request.receive

    async def limited() -> dict:
        nonlocal received
        message = await receive()
        if message.get("type") == "http.request":
            received += len(message.get("body", b""))
            if received > limit:
                raise _TooLarge()
        return message

    return await Request(request.scope, limited).form(max_files=1, max_fields=50)


def _criterion_view(ws: self_assessment.Workspace, criterion_id: str):
    if ws.area is None:
        return None
    return next((c for c in ws.area.criteria if c.criterion.id == criterion_id), None)


def _evidence_answer(request: Request, user: User, procedure_id: str, criterion_id: str, *, status: int = 200,
                     errors: Mapping[str, str] | None = None, posted: Mapping[str, list[str]] | None = None,
                     notice: str | None = None) -> Response:
    """After an upload: for htmx the criterion's evidence block; else the area page (or, done, back to it)."""
    area_id = run(request, lambda uow: self_assessment.area_of(uow, user.id, procedure_id, criterion_id),
                  conceal=True)
    if not _htmx(request):
        if status == 200:
            slug = criterion_id.replace(".", "-")
            return RedirectResponse(f"/selbstbewertung/{procedure_id}/bereich/{area_id}#belege-{slug}",
                                    status_code=303)
        return _area_page(request, user, procedure_id, area_id, status=status, errors=errors, posted=posted)
    ws = _workspace(request, user, procedure_id, area_id)
    response = render(request, "kita/_belege.html", status=status, user=user, ws=ws,
                       cv=_criterion_view(ws, criterion_id), errors=dict(errors or {}), posted=posted,
                       notice=notice, types=_types(ws))
    if status == 200:
        response.headers["HX-Trigger"] = "bewertung-geaendert"  # the live score takes the new record into account
    return response


@router.post("/selbstbewertung/{procedure_id}/belege")
async def upload(request: Request, procedure_id: str, user: CurrentUser, kriterium: str = "") -> Response:
    app = application(request)
    await run_in_threadpool(run, request, lambda uow: self_assessment.check_editable(uow, user.id, procedure_id),
                            conceal=True)
    criterion_id = kriterium.strip()[:40]
    field = f"beleg:{criterion_id}:datei"
    store = app.evidence_store()
    too_large = (f"Die Datei ist zu groß: höchstens {store.max_bytes // (1024 * 1024)} MB. Bitte eine kleinere "
                 "Datei wählen (z. B. als PDF mit geringerer Auflösung).")
    declared = request.headers.get("content-length", "")
    limit = store.max_bytes + UPLOAD_OVERHEAD
    if declared.isdigit() and int(declared) > limit:  # refused before a byte of the body is read
        return await run_in_threadpool(_evidence_answer, request, user, procedure_id, criterion_id, status=413,
                                       errors={field: too_large})
    try:
        form = await _limited_form(request, limit)
    except _TooLarge:
        return await run_in_threadpool(_evidence_answer, request, user, procedure_id, criterion_id, status=413,
                                       errors={field: too_large})
    try:
        fields = _fields(form)
        criterion_id = criterion_id or (fields.get("kriterium") or [""])[-1]
        chosen = form.get(f"beleg:{criterion_id}:datei")
        file = chosen if isinstance(chosen, UploadFile) and chosen.filename else None
        try:
            result = await run_in_threadpool(
                self_assessment.add_evidence, app, user.id, procedure_id, criterion_id, fields,
                file.file if file else None, file.filename if file else None)
        except UseCaseError as exc:
            if exc.kind is ErrorKind.DATABASE:
                raise
            if exc.kind is ErrorKind.NOT_FOUND:
                raise Concealed(exc) from None
            return await run_in_threadpool(_evidence_answer, request, user, procedure_id, criterion_id,
                                           status=form_status(exc), errors=field_errors(exc, field), posted=fields)
    finally:
        await form.close()
    return await run_in_threadpool(_evidence_answer, request, user, procedure_id, criterion_id,
                                   notice=describe(result))


@router.get("/selbstbewertung/{procedure_id}/belege/{sha256}")
def evidence_download(request: Request, procedure_id: str, sha256: str, user: CurrentUser) -> Response:
    try:
        download = self_assessment.evidence_file(application(request), user.id, procedure_id, sha256)
    except UseCaseError as exc:
        raise _concealed(exc) from None
    return _pdf(download)


# --- the comment threads -----------------------------------------------------------------------------------------


@router.post("/selbstbewertung/{procedure_id}/kommentare")
def comment(request: Request, procedure_id: str, user: CurrentUser, form: PostedForm, kriterium: str = "") -> Response:
    _own(request, user, procedure_id)
    criterion_id = kriterium.strip()[:40]
    field = f"kommentar:{criterion_id}"
    body = form.get(field, "")
    body = body.strip() if isinstance(body, str) else ""
    errors: dict[str, str] = {}
    if not body:
        errors[field] = "Bitte eine Antwort eingeben."
    elif len(body) > MAX_COMMENT_CHARS:
        errors[field] = f"Die Antwort darf höchstens {MAX_COMMENT_CHARS} Zeichen haben (eingegeben: {len(body)})."
    status, notice = 200, None
    if not errors:
        try:
            result = run(request, lambda uow: dialogue.comment(uow, user.id, procedure_id, criterion_id, body))
            notice = describe(result)
        except UseCaseError as exc:
            if exc.kind is ErrorKind.DATABASE:
                raise
            status, errors = form_status(exc), {field: exc.message}
    else:
        status = 422
    area_id = run(request, lambda uow: self_assessment.area_of(uow, user.id, procedure_id, criterion_id),
                  conceal=True)
    if not _htmx(request):
        if status == 200:
            slug = criterion_id.replace(".", "-")
            return RedirectResponse(f"/selbstbewertung/{procedure_id}/bereich/{area_id}#faden-{slug}",
                                    status_code=303)
        return _area_page(request, user, procedure_id, area_id, status=status, errors=errors,
                          posted={field: [body]})
    ws = _workspace(request, user, procedure_id, area_id)
    return render(request, "kita/_faden.html", status=status, user=user, ws=ws, cv=_criterion_view(ws, criterion_id),
                   errors=errors, posted={field: [body]} if errors else None, notice=notice,
                   comment_max=MAX_COMMENT_CHARS)


# --- submission ---------------------------------------------------------------------------------------------------


def _submit_page(request: Request, user: User, procedure_id: str, *, status: int = 200,
                 errors: dict[str, str] | None = None, values: dict[str, str] | None = None) -> Response:
    store = application(request).evidence_store()
    check = run(request, lambda uow: self_assessment.submission_check(uow, user.id, procedure_id,
                                                                      evidence_store=store), conceal=True)
    return render(request, "kita/einreichen.html", status=status, user=user,
                   title=f"Einreichen – Selbstbewertung {procedure_id}", check=check, ws=check.workspace,
                   errors=errors or {}, values=values or {}, **_score(check.workspace.progress, None,
                                                                       check.workspace.report.passed))


@router.get("/selbstbewertung/{procedure_id}/einreichen")
def submit_page(request: Request, procedure_id: str, user: CurrentUser) -> Response:
    return _submit_page(request, user, procedure_id)


@router.post("/selbstbewertung/{procedure_id}/einreichen")
def submit(request: Request, procedure_id: str, user: CurrentUser, form: PostedForm) -> Response:
    _own(request, user, procedure_id)
    reason = form.get("begruendung", "")
    reason = reason.strip() if isinstance(reason, str) else ""
    if not reason or len(reason) > MAX_REASON:
        message = ("Bitte eine Bemerkung zur Einreichung angeben (sie steht im Verlauf des Verfahrens)."
                   if not reason else f"Höchstens {MAX_REASON} Zeichen (eingegeben: {len(reason)}).")
        return _submit_page(request, user, procedure_id, status=422, errors={"begruendung": message},
                            values={"begruendung": reason})
    try:
        result = self_assessment.submit_draft(application(request), user.id, procedure_id, reason)
    except UseCaseError as exc:
        if exc.kind is ErrorKind.DATABASE:
            raise
        return _submit_page(request, user, procedure_id, status=form_status(exc), errors={"einreichen": exc.message},
                            values={"begruendung": reason})
    return render(request, "kita/eingereicht.html", user=user, title=f"Eingereicht – Selbstbewertung {procedure_id}",
                   procedure_id=procedure_id, message=describe(result), warnings=list(result.warnings),
                   passed=result.facts.get("passed"))
