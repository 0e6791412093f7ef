"""The dialogue about a procedure: comments per criterion, and the Qualitätsprofil's feedback text.

* :func:`thread` — the comments of a procedure by criterion (whoever may see the procedure);
* :func:`comment` — a comment on one criterion (the Kita lead of the Familienzentrum, the
  procedure's auditor, the certification body; from the submission until the decision);
* :func:`feedback` / :func:`write_feedback` — the certification body's own text for the
  Qualitätsprofil (read: whoever may see the procedure; write: the certification body until the
  decision, with the version read, so two people writing at once do not overwrite each other).

The rules are the domain's (:mod:`certflow.lifecycle.dialogue`); every write is in the audit trail.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..lifecycle.dialogue import Comment, Feedback, comment_refusal, feedback_refusal
from ..lifecycle.entities import Familienzentrum, Procedure, User
from ..lifecycle.machinery import refuse_if
from .actors import resolve
from .common import Result, catalogue_for_key, require_visible

if TYPE_CHECKING:
    from ..db.unit_of_work import UnitOfWork

__all__ = ["comment", "feedback", "thread", "write_feedback"]


def _load(uow: UnitOfWork, actor_id: str, procedure_id: str) -> tuple[User, Procedure, Familienzentrum]:
    actor = resolve(uow, actor_id)
    procedure = uow.procedures.get(procedure_id)
    fz = uow.familienzentren.get(procedure.familienzentrum_id)
    require_visible(actor, fz, procedure)
    return actor, procedure, fz


def thread(uow: UnitOfWork, actor_id: str, procedure_id: str) -> dict[str, list[Comment]]:
    """criterion id -> its comments, oldest first (criteria without comments are absent)."""
    _load(uow, actor_id, procedure_id)
    out: dict[str, list[Comment]] = {}
    for c in uow.dialogue.comments(procedure_id):
        out.setdefault(c.criterion_id, []).append(c)
    return out


def comment(uow: UnitOfWork, actor_id: str, procedure_id: str, criterion_id: str, body: str) -> Result:
    """Add ``body`` to the thread of ``criterion_id``; refused outside the rules (German reason)."""
    actor, procedure, _fz = _load(uow, actor_id, procedure_id)
    catalogue = catalogue_for_key(procedure.catalogue_key)
    criteria = frozenset(c.id for _, _, c in catalogue.all_criteria())
    criterion_id = (criterion_id or "").strip()
    refuse_if(comment_refusal(actor, procedure, criteria, criterion_id, body))
    comment_id = uow.dialogue.add_comment(procedure.id, criterion_id, actor.id, body.strip(),
                                          reason=f"Kommentar zu Kriterium {criterion_id}")
    return Result("comment.added", {"criterion": criterion_id, "comment": comment_id}, procedure=procedure)


def feedback(uow: UnitOfWork, actor_id: str, procedure_id: str) -> Feedback | None:
    """The certification body's feedback text for the procedure's Qualitätsprofil, if written."""
    _load(uow, actor_id, procedure_id)
    return uow.dialogue.feedback(procedure_id)


def write_feedback(uow: UnitOfWork, actor_id: str, procedure_id: str, text: str, *, version: int | None) -> Result:
    """Write (or rewrite) the feedback; ``version`` is the one shown to the author (``None``: none yet)."""
    actor, procedure, _fz = _load(uow, actor_id, procedure_id)
    refuse_if(feedback_refusal(actor, procedure, text))
    new_version = uow.dialogue.save_feedback(procedure.id, text.strip(), actor.id, version=version)
    return Result("feedback.saved", {"version": new_version}, procedure=procedure)
