"""Errors that carry where the bad input is: file, line and field path.

Every loader in certflow raises :class:`InputError` (or a subclass) for bad
input, never a bare ``KeyError`` or a library's own exception, so that the
command line can print a message a catalogue editor understands and exit 2.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


def format_path(path: tuple[str | int, ...]) -> str:
    """``("areas", 0, "criteria", 2, "points")`` -> ``areas[0].criteria[2].points``; ``answers["1.1"]``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif not str(part).isidentifier():
            out += f'["{part}"]'  # a key like "1.1" in answers
        else:
            out += f".{part}" if out else str(part)
    return out


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with an input file."""

    source: str
    line: int | None
    path: tuple[str | int, ...]
    message: str

    def __str__(self) -> str:
        where = self.source if self.line is None else f"{self.source}:{self.line}"
        field = format_path(self.path)
        return f"{where}: {field}: {self.message}" if field else f"{where}: {self.message}"


class InputError(Exception):
    """Bad input: one or more :class:`Problem` s, each with its location."""

    kind = "Eingabe"

    def __init__(self, problems: Iterable[Problem]):
        self.problems = sorted(
            problems, key=lambda p: (p.source, p.line if p.line is not None else 0, format_path(p.path))
        )
        super().__init__("\n".join(str(p) for p in self.problems))


class CatalogueError(InputError):
    """The catalogue file is not valid."""

    kind = "Katalog"


class AssessmentError(InputError):
    """The self-assessment file is not valid."""

    kind = "Selbstbewertung"
