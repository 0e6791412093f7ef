"""Posted forms: the form data a route reads, its messages by field, and the status of a failed form.

* :data:`PostedForm`: the request's form data as a route parameter (FastAPI dependency);
* :func:`field_text`: one text field of a posted form ("" when missing or a file);
* :func:`render`: a page of the templates (templates/web/) with its status;
* :func:`field_errors` / :func:`messages_by_field`: a :class:`~certflow.services.runner.UseCaseError`'s
  German messages by field id, so the page shows each one at its field;
* :func:`form_status`: the HTTP status of a failed form: 422 bad input, 409 a conflicting edit.

Which service field is which field on the page stays with each route (its own tables), passed in here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Annotated, Any

from fastapi import Depends, Request
from starlette.datastructures import FormData
from starlette.responses import Response

from ..errors import Problem
from ..services.runner import ErrorKind, UseCaseError

__all__ = ["PostedForm", "field_errors", "field_text", "form_status", "messages_by_field", "render"]


async def _posted(request: Request) -> FormData:
    return await request.form()


PostedForm = Annotated[FormData, Depends(_posted)]


def field_text(form: FormData, name: str) -> str:
    value = form.get(name, "")
    return value if isinstance(value, str) else ""


def render(request: Request, name: str, *, status: int = 200, **values: Any) -> Response:
    return request.app.state.pages.render(request, name, status=status, **values)


def messages_by_field(problems: Iterable[Problem], field: Callable[[tuple], str]) -> dict[str, str]:
    """Each problem's message at the field id ``field`` names for its path; several at one field joined."""
    errors: dict[str, str] = {}
    for problem in problems:
        name = field(tuple(problem.path))
        errors[name] = f"{errors[name]} {problem.message}" if name in errors else problem.message
    return errors


def field_errors(error: UseCaseError, main: str, fields: Mapping[str, str] | None = None) -> dict[str, str]:
    """A failed action's messages by field id: bad values at their fields, a refusal at the form's ``main`` field.

    ``fields`` maps the service's field names to the page's field ids (a name it lacks: ``main``);
    without it the service's field name is the field id.
    """
    if error.kind is not ErrorKind.INPUT or not error.problems:
        return {main: error.message}
    if fields is None:
        return messages_by_field(error.problems, lambda path: str(path[0]) if path else main)
    return messages_by_field(error.problems, lambda path: fields.get(str(path[0]) if path else "", main))


def form_status(error: UseCaseError, *, refused: int = 403, passes: Iterable[ErrorKind] = ()) -> int:
    """The status of a failed form: 422 bad input, 409 a conflicting edit, ``refused`` for any other failure;
    the kinds in ``passes`` are raised again (to the error pages)."""
    if error.kind in tuple(passes):
        raise error
    return {ErrorKind.INPUT: 422, ErrorKind.CONFLICT: 409}.get(error.kind, refused)
