"""What the persistence layer refuses, in German; both are :class:`~certflow.lifecycle.Refused`,
so a handler that shows refusals shows these too.
"""

from __future__ import annotations

from ..lifecycle.machinery import Refused

__all__ = ["ConflictError", "FrozenError", "NotFoundError", "SUBJECT_LABELS"]

SUBJECT_LABELS = {
    "procedure": "Verfahren",
    "certificate": "Urkunde",
    "contingent": "Kontingent",
    "familienzentrum": "Familienzentrum",
    "kita": "Kita",
    "assessment_revision": "Selbstbewertung",
    "audit_visit": "Begehung",
    "jugendamt": "Jugendamt",
    "traeger": "Träger",
    "user": "Benutzer",
    "decision": "Entscheidung",
    "qualitaetsprofil_feedback": "Rückmeldung zum Qualitätsprofil",
}


class ConflictError(Refused):
    """Someone else saved the row since it was read (optimistic locking); reload and try again."""

    def __init__(self, subject_kind: str, subject_id: str, expected: int, actual: int | None):
        label = SUBJECT_LABELS.get(subject_kind, subject_kind)
        if actual is None:
            message = f"Den Datensatz {label} {subject_id} gibt es nicht mehr. Bitte neu laden."
        else:
            message = (f"Der Datensatz {label} {subject_id} wurde inzwischen von jemand anderem geändert "
                       f"(Version {actual} statt {expected}). Bitte neu laden.")
        super().__init__(message)
        self.subject_kind, self.subject_id, self.expected, self.actual = subject_kind, subject_id, expected, actual


class FrozenError(Refused):
    """The data is frozen (submitted, signed off) and cannot change; an edit needs a new revision."""


class NotFoundError(Refused, LookupError):
    def __init__(self, subject_kind: str, subject_id: str):
        super().__init__(f"{SUBJECT_LABELS.get(subject_kind, subject_kind)} {subject_id} gibt es nicht")
        self.subject_kind, self.subject_id = subject_kind, subject_id
