"""The one syntax of the ids people give: Jugendämter, Träger, users, Kitas, Familienzentren, procedures.

An id is 1 to 64 characters: letters A-Z and a-z, digits, ``.``, ``_`` and ``-``; it starts with a
letter or a digit and holds no ``..``. So an id is always a plain name: it can become a file name
(``packet --all -o DIR`` writes ``DIR/<procedure>.pdf``), a URL segment or a folder of the evidence
staging area, and never reaches outside (no ``/``, no ``\\``, no ``..``, no leading ``.`` or ``-``).
The length fits the database columns (64 characters).

The services check an id where it is created (:func:`require_id`); ids certflow makes itself
(``V-2025-001``, ``FZ-2023-001``) follow the same syntax.
"""

from __future__ import annotations

import re

from ..errors import InputError, Problem

__all__ = ["ID_MAX_LENGTH", "InvalidId", "id_problem", "require_id"]

ID_MAX_LENGTH = 64
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_RULE = (f"erlaubt sind 1 bis {ID_MAX_LENGTH} Zeichen aus Buchstaben (A-Z, a-z), Ziffern, „.“, „_“ und „-“, "
         "am Anfang ein Buchstabe oder eine Ziffer, kein „..“")


class InvalidId(InputError):
    """An id that does not follow the syntax (bad input: exit 2)."""

    kind = "Kennung"


def id_problem(value: object) -> str | None:
    """Why ``value`` is no valid id (German), or ``None`` when it is one."""
    if not isinstance(value, str):
        return f"Kennung muss Text sein, nicht {type(value).__name__}"
    shown = value if len(value) <= 80 else value[:77] + "…"
    if not value:
        return f"Kennung fehlt ({_RULE})"
    if len(value) > ID_MAX_LENGTH:
        return f"Kennung „{shown}“ ist länger als {ID_MAX_LENGTH} Zeichen"
    if not _ID.fullmatch(value) or ".." in value:
        return f"„{shown}“ ist keine gültige Kennung ({_RULE})"
    return None


def require_id(value: object, what: str) -> str:
    """``value`` if it is a valid id, else :class:`InvalidId` naming ``what`` (e.g. "Jugendamt")."""
    problem = id_problem(value)
    if problem:
        raise InvalidId([Problem(what, None, ("id",), problem)])
    return value  # type: ignore[return-value]
