"""The auditor's verdicts per criterion, as a small YAML (or JSON) file.

::

    1.1: {verdict: erfuellt}
    1.5: {verdict: nicht_erfuellt, remark: Sprechstunde nur zweimonatlich}
    5.1: erfuellt                      # shorthand

Keys are criterion (or sub-item) ids of the procedure's pinned catalogue;
``verdict`` is ``erfuellt`` or ``nicht_erfuellt``. Bad input is reported with
file, line and field like every other input file.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from ..assessment.model import Status
from ..catalogue import Catalogue
from ..errors import InputError, Problem
from ..validation import german_message
from ..yamlsource import read_document, read_text

__all__ = ["VerdictError", "VerdictInput", "load_verdicts", "parse_verdicts"]


class VerdictError(InputError):
    kind = "Bewertungen"


@dataclass(frozen=True, slots=True)
class VerdictInput:
    verdict: Status
    remark: str | None = None


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    verdict: Literal["erfuellt", "nicht_erfuellt"]
    remark: str | None = None


def _known_ids(catalogue: Catalogue) -> set[str]:
    ids = set()
    for _, _, crit in catalogue.all_criteria():
        ids.add(crit.id)
        ids.update(item.id for item in crit.all_items())
    return ids


def parse_verdicts(text: str, source: str, catalogue: Catalogue) -> dict[str, VerdictInput]:
    """Verdicts by criterion id, or :class:`VerdictError` listing every problem with its line."""
    doc = read_document(text, source, VerdictError)
    if not isinstance(doc.data, dict) or not doc.data:
        raise VerdictError([doc.problem((), "erwartet: je Kriterium eine Bewertung, z. B. '1.1: {verdict: erfuellt}'")])
    known = _known_ids(catalogue)
    problems: list[Problem] = []
    out: dict[str, VerdictInput] = {}
    for key, value in doc.data.items():
        if key not in known:
            problems.append(doc.problem((key,), f"Kriterium '{key}' gibt es im Katalog {catalogue.key} nicht"))
            continue
        data: Any = {"verdict": value} if isinstance(value, str) else value
        try:
            entry = _Entry.model_validate(data)
        except ValidationError as exc:
            for err in exc.errors():
                path = (key, *err["loc"]) if isinstance(value, Mapping) else (key,)
                problems.append(doc.problem(path, german_message(err)))
            continue
        out[key] = VerdictInput(Status(entry.verdict), entry.remark or None)
    if problems:
        raise VerdictError(problems)
    return out


def load_verdicts(path: str | Path, catalogue: Catalogue) -> dict[str, VerdictInput]:
    return parse_verdicts(read_text(Path(path), VerdictError), str(path), catalogue)
