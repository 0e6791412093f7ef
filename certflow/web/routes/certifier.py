"""The certification body's pages: its desk of procedures, and one procedure from the audit plan to the seal.

* ``/zertifizierung`` — the procedures by what waits: an audit to plan, changes requested, an audit
  planned, a decision to take, and those decided (with the Urkunde to download), newest first; each
  stage a page at a time (``?stufe=decided&seite=2``);
* ``/zertifizierung/verfahren/{id}`` — one procedure: assign the auditor and the visit date (an
  auditor of the same Träger or Jugendamt is refused at the field), ask for changes, write the
  Qualitätsprofil's own feedback text beside the deficits the scoring engine generated, decide
  (four eyes: the decision is the certification body's, never the auditor's; certifying issues the
  seal), and download the Qualitätsprofil and the Urkunde as PDF.

Every action runs a use case of :mod:`certflow.services.certification` (or
:func:`certflow.services.write_feedback`) as the logged-in user; the PDFs are rendered by
:mod:`certflow.services.rendering` in a worker process. Only the certification body has these
pages: anyone else, and an unknown procedure, get the same 404. Bad input and refusals by the
rules come back as the page with a German message at the field (422), a conflicting edit as 409.
"""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path

from fastapi import APIRouter, Request
from starlette.responses import Response

from ... import services
from ...lifecycle.dialogue import MAX_FEEDBACK_CHARS
from ...lifecycle.entities import User
from ...messages import describe
from ...services import certification, rendering
from ...services.runner import ErrorKind, UseCaseError
from ..auth import CurrentUser
from ..forms import PostedForm, field_errors, field_text, form_status, render
from ..pages import page_number
from ..use_cases import Concealed, application, run

__all__ = ["router"]

router = APIRouter(prefix="/zertifizierung")

# The form fields of the procedure page, by form: service field name -> field id on the page.
_FIELDS = {
    "begehung": {"auditor": "begehung-auditor", "audit_date": "begehung-datum", "reason": "begehung-grund"},
    "nachbesserung": {"reason": "nachbesserung-grund"},
    "entscheidung": {"outcome": "entscheidung-ergebnis", "reason": "entscheidung-grund"},
    "rueckmeldung": {"text": "rueckmeldung-text", "version": "rueckmeldung-text"},
}
# Where a refusal by the rules is said: the form's main field.
_MAIN = {"begehung": "begehung-auditor", "nachbesserung": "nachbesserung-grund",
         "entscheidung": "entscheidung-ergebnis", "rueckmeldung": "rueckmeldung-text"}


def _errors(form: str, error: UseCaseError) -> dict[str, str]:
    return field_errors(error, _MAIN[form], _FIELDS[form])


def _procedure_page(request: Request, user: User, procedure_id: str, *, status: int = 200,
                    errors: dict[str, str] | None = None, values: dict[str, str] | None = None,
                    notice: str | None = None) -> Response:
    desk = run(request, lambda uow: certification.procedure_desk(uow, user.id, procedure_id), conceal=True)
    return render(request, "certifier/procedure.html", status=status, user=user,
                   title=f"Verfahren {procedure_id}", desk=desk, errors=errors or {}, values=values or {},
                   notice=notice, feedback_max=MAX_FEEDBACK_CHARS)


def _failed(request: Request, user: User, procedure_id: str, form: str, exc: UseCaseError,
            values: dict[str, str]) -> Response:
    """The page again with the failure at the field (422; a conflicting edit 409); unknown or not ours: 404."""
    if exc.kind is ErrorKind.NOT_FOUND:
        raise Concealed(exc) from None
    status = form_status(exc, refused=422, passes=(ErrorKind.DATABASE,))
    return _procedure_page(request, user, procedure_id, status=status, errors=_errors(form, exc), values=values)


def _require_desk(request: Request, user: User, procedure_id: str | None = None) -> None:
    """Only the certification body, and only a procedure that exists: else the 404 page, before any form is read."""
    run(request, lambda uow: certification.require_desk(uow, user.id, procedure_id), conceal=True)


def _parse_date(text: str) -> date:
    """``2026-03-10`` (the date field) or ``10.03.2026`` (typed); ``ValueError`` for anything else."""
    text = text.strip()
    if len(text) == 10 and text[2] == "." and text[5] == ".":
        return date(int(text[6:]), int(text[3:5]), int(text[:2]))
    if len(text) != 10:
        raise ValueError(text)
    return date.fromisoformat(text)


# --- the desk ----------------------------------------------------------------------------------------------------


@router.get("")
def desk(request: Request, user: CurrentUser, stufe: str = "", seite: str = "") -> Response:
    _require_desk(request, user)
    page = page_number(seite)
    stages = run(request, lambda uow: certification.desk(uow, user.id, stage=stufe[:40] or None, page=page))
    return render(request, "certifier/desk.html", user=user, title="Verfahren der Zertifizierungsstelle",
                   stages=stages)


@router.get("/verfahren/{procedure_id}")
def procedure_page(request: Request, procedure_id: str, user: CurrentUser) -> Response:
    return _procedure_page(request, user, procedure_id)


# --- the actions -----------------------------------------------------------------------------------------------


@router.post("/verfahren/{procedure_id}/begehung")
def schedule(request: Request, procedure_id: str, user: CurrentUser, form: PostedForm) -> Response:
    _require_desk(request, user, procedure_id)
    values = {"begehung-auditor": field_text(form, "auditor"), "begehung-datum": field_text(form, "datum"),
              "begehung-grund": field_text(form, "grund")}
    try:
        day = _parse_date(values["begehung-datum"])
    except ValueError:
        message = ("Bitte den Tag der Begehung angeben." if not values["begehung-datum"].strip() else
                   "Bitte ein gültiges Datum angeben, z. B. 24.04.2026.")
        return _procedure_page(request, user, procedure_id, status=422, values=values,
                               errors={"begehung-datum": message})
    try:
        result = run(request, lambda uow: certification.plan_audit(uow, user.id, procedure_id,
                                                                   values["begehung-auditor"], day,
                                                                   values["begehung-grund"]))
    except UseCaseError as exc:
        return _failed(request, user, procedure_id, "begehung", exc, values)
    return _procedure_page(request, user, procedure_id, notice=describe(result))


@router.post("/verfahren/{procedure_id}/nachbesserung")
def request_changes(request: Request, procedure_id: str, user: CurrentUser, form: PostedForm) -> Response:
    _require_desk(request, user, procedure_id)
    values = {"nachbesserung-grund": field_text(form, "grund")}
    try:
        result = run(request, lambda uow: certification.ask_for_changes(uow, user.id, procedure_id,
                                                                        values["nachbesserung-grund"]))
    except UseCaseError as exc:
        return _failed(request, user, procedure_id, "nachbesserung", exc, values)
    return _procedure_page(request, user, procedure_id, notice=describe(result))


@router.post("/verfahren/{procedure_id}/entscheidung")
def decide(request: Request, procedure_id: str, user: CurrentUser, form: PostedForm) -> Response:
    _require_desk(request, user, procedure_id)
    values = {"entscheidung-ergebnis": field_text(form, "ergebnis"), "entscheidung-grund": field_text(form, "grund")}
    try:
        result = run(request, lambda uow: certification.decide(uow, user.id, procedure_id,
                                                               values["entscheidung-ergebnis"],
                                                               values["entscheidung-grund"]))
    except UseCaseError as exc:
        return _failed(request, user, procedure_id, "entscheidung", exc, values)
    return _procedure_page(request, user, procedure_id, notice=describe(result))


@router.post("/verfahren/{procedure_id}/rueckmeldung")
def write_feedback(request: Request, procedure_id: str, user: CurrentUser, form: PostedForm) -> Response:
    _require_desk(request, user, procedure_id)
    text, version = field_text(form, "text"), field_text(form, "fassung").strip()
    values = {"rueckmeldung-text": text}
    if version and not version.isdigit():
        return _procedure_page(request, user, procedure_id, status=422, values=values,
                               errors={"rueckmeldung-text": "Das Formular ist beschädigt (Fassung); bitte die Seite "
                                                            "neu laden."})
    try:
        result = run(request, lambda uow: services.write_feedback(uow, user.id, procedure_id, text,
                                                                  version=int(version) if version else None))
    except UseCaseError as exc:
        if exc.kind is ErrorKind.CONFLICT:
            exc = UseCaseError(ErrorKind.CONFLICT, "Inzwischen hat jemand anderes die Rückmeldung geändert; sie steht "
                                                   "jetzt oben. Ihr Text steht im Feld: bitte prüfen und erneut "
                                                   "speichern.")
        return _failed(request, user, procedure_id, "rueckmeldung", exc, values)
    return _procedure_page(request, user, procedure_id, notice=describe(result))


# --- the documents ------------------------------------------------------------------------------------------------


def _pdf(request: Request, make_pdf, filename: str) -> Response:
    """Render a document in a worker process into a temporary file and send it; a refusal is the 404 page."""
    with tempfile.TemporaryDirectory(prefix="certflow-web-") as folder:
        out = Path(folder) / filename
        try:
            make_pdf(application(request), out)
        except UseCaseError as exc:
            if exc.kind in (ErrorKind.REFUSED, ErrorKind.NOT_FOUND):
                raise Concealed(exc) from None
            raise
        content = out.read_bytes()
    return Response(content, media_type="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"})


@router.get("/verfahren/{procedure_id}/qualitaetsprofil.pdf")
def qualitaetsprofil(request: Request, procedure_id: str, user: CurrentUser) -> Response:
    _require_desk(request, user, procedure_id)
    return _pdf(request, lambda app, out: rendering.render_qualitaetsprofil(app, user.id, procedure_id, out),
                f"{procedure_id}-qualitaetsprofil.pdf")


@router.get("/urkunde/{number}.pdf")
def urkunde(request: Request, number: str, user: CurrentUser) -> Response:
    _require_desk(request, user)
    return _pdf(request, lambda app, out: rendering.render_certificate(app, user.id, number, out),
                f"{number}-urkunde.pdf")
