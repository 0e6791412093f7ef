"""The dialogue beside the records: comments per criterion, and the certification body's feedback text.

Pure rules (no storage): who may write what, when, and how long. The comment thread per
criterion is where the auditor (or the certification body) asks for changes and the Kita lead
answers; the feedback text is what the certification body writes for the Qualitätsprofil beside
the deficits the scoring engine generates.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from .entities import Procedure, ProcedureState, Role, User

__all__ = [
    "CLOSED_STATES", "Comment", "Feedback", "MAX_COMMENT_CHARS", "MAX_FEEDBACK_CHARS", "comment_refusal",
    "feedback_refusal",
]

MAX_COMMENT_CHARS = 4000
MAX_FEEDBACK_CHARS = 20000
#: After these the procedure is closed: its thread is read-only and its feedback frozen.
CLOSED_STATES = frozenset({ProcedureState.CERTIFIED, ProcedureState.NOT_CERTIFIED, ProcedureState.WITHDRAWN})
#: Before submission there is nothing to discuss yet.
_BEFORE_SUBMISSION = frozenset({ProcedureState.NOMINATED, ProcedureState.REGISTERED, ProcedureState.IN_DEVELOPMENT})


@dataclass(frozen=True, slots=True)
class Comment:
    """One comment on one criterion of a procedure."""

    id: int
    procedure_id: str
    criterion_id: str
    author_id: str
    author_name: str
    author_role: Role
    body: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Feedback:
    """The certification body's feedback text for a procedure's Qualitätsprofil."""

    procedure_id: str
    text: str
    author_id: str
    author_name: str
    updated_at: datetime
    version: int


def _text_refusal(text: str, limit: int, what: str) -> str | None:
    if not isinstance(text, str) or not text.strip():
        return f"{what}: bitte einen Text eingeben"
    if len(text) > limit:
        return f"{what}: höchstens {limit} Zeichen (eingegeben: {len(text)})"
    return None


def comment_refusal(actor: User, procedure: Procedure, criterion_ids: frozenset[str], criterion_id: str,
                    body: str) -> str | None:
    """``None`` when ``actor`` may comment on ``criterion_id`` of ``procedure`` now, else why not (German).

    The Kita lead of the Familienzentrum, the procedure's auditor and the certification body talk
    about a submitted self-assessment until the decision; the actor's read scope is checked before.
    """
    if actor.role not in (Role.KITA_LEAD, Role.AUDITOR, Role.CERTIFIER):
        return f"Kommentieren ist der Rolle '{actor.role.label}' nicht erlaubt"
    if actor.role is Role.AUDITOR and procedure.auditor_id != actor.id:
        return f"{actor.name} ist nicht der Auditor des Verfahrens {procedure.id}"
    if procedure.state in CLOSED_STATES:
        return f"Das Verfahren {procedure.id} ist abgeschlossen; Kommentare sind nicht mehr möglich"
    if procedure.state in _BEFORE_SUBMISSION:
        return f"Im Verfahren {procedure.id} ist noch keine Selbstbewertung eingereicht"
    if criterion_id not in criterion_ids:
        return f"Das Kriterium {criterion_id} gibt es im Katalog des Verfahrens nicht"
    return _text_refusal(body, MAX_COMMENT_CHARS, "Kommentar")


def feedback_refusal(actor: User, procedure: Procedure, text: str) -> str | None:
    """``None`` when ``actor`` may write the Qualitätsprofil's feedback now, else why not (German)."""
    if actor.role is not Role.CERTIFIER:
        return f"Die Rückmeldung zum Qualitätsprofil schreibt die Zertifizierungsstelle, nicht die Rolle " \
               f"'{actor.role.label}'"
    if procedure.state in CLOSED_STATES:
        return f"Das Verfahren {procedure.id} ist entschieden; die Rückmeldung ist eingefroren"
    return _text_refusal(text, MAX_FEEDBACK_CHARS, "Rückmeldung")
