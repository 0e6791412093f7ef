"""A submitted self-assessment, frozen: canonical JSON and its SHA-256.

Canonical JSON of an assessment:

* the assessment's full data (defaults included, so the shorthand
  ``"1.1": erfuellt`` and ``{status: erfuellt}`` give the same text);
* object keys sorted, no insignificant whitespace (``","`` and ``":"``),
  non-ASCII characters as UTF-8 (not ``\\u`` escapes), dates as ISO 8601;
* lists whose order carries no meaning are sorted: ``profiles``, the records
  in ``activities`` and ``evidence``, and each evidence record's ``items``
  (scoring does not depend on their order). Other lists keep their order.

The hash is the SHA-256 of the canonical text encoded as UTF-8. A snapshot is
immutable; a later edit is frozen as a new snapshot with the next revision
number (:func:`next_revision`), never by changing a submitted one.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from ..assessment.model import Assessment
from .entities import SubmissionSnapshot

__all__ = ["canonical_json", "freeze", "next_revision", "sha256_hex", "verify"]

_UNORDERED_LISTS = ("profiles", "activities", "evidence")


def _dump(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_iso)


def _iso(value: Any) -> str:
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _data(assessment: Assessment | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(assessment, Assessment):
        return assessment.model_dump(mode="json")
    return json.loads(_dump(dict(assessment)))  # dates -> ISO, tuples -> lists, a private copy


def canonical_json(assessment: Assessment | Mapping[str, Any]) -> str:
    """The canonical JSON text of ``assessment`` (see the module docstring)."""
    data = _data(assessment)
    for ev in data.get("evidence") or ():
        if isinstance(ev, dict) and isinstance(ev.get("items"), list):
            ev["items"] = sorted(ev["items"], key=_dump)
    for key in _UNORDERED_LISTS:
        if isinstance(data.get(key), list):
            data[key] = sorted(data[key], key=_dump)
    return _dump(data)


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def next_revision(previous: SubmissionSnapshot | None) -> int:
    """Revision number for the next submission: 1, then one more than the previous."""
    return 1 if previous is None else previous.revision + 1


def freeze(
    assessment: Assessment | Mapping[str, Any], revision: int, *, procedure_id: str, submitted_by: str,
    submitted_at: datetime, passed: bool,
) -> SubmissionSnapshot:
    """Freeze ``assessment`` as revision ``revision`` of ``procedure_id``'s submission.

    ``passed`` is the scoring verdict at submission (``Report.passed``);
    ``submitted_at`` must be timezone-aware.
    """
    if isinstance(revision, bool) or not isinstance(revision, int) or revision < 1:
        raise ValueError(f"revision must be an integer >= 1, not {revision!r}")
    if submitted_at.tzinfo is None or submitted_at.utcoffset() is None:
        raise ValueError("submitted_at must be timezone-aware")
    text = canonical_json(assessment)
    return SubmissionSnapshot(
        procedure_id=procedure_id, revision=revision, sha256=sha256_hex(text), canonical_json=text,
        submitted_at=submitted_at, submitted_by=submitted_by, passed=passed,
    )


def verify(snapshot: SubmissionSnapshot) -> bool:
    """Whether the snapshot's hash still matches its canonical text (tamper check)."""
    return sha256_hex(snapshot.canonical_json) == snapshot.sha256
