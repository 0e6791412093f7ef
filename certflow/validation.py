"""Turn pydantic's validation errors into located, German :class:`Problem` s."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from .errors import InputError, Problem
from .yamlsource import Document

M = TypeVar("M", bound=BaseModel)

_MESSAGES = {
    "missing": "Pflichtfeld fehlt",
    "extra_forbidden": "unbekannter Schlüssel",
    "int_parsing": "muss eine ganze Zahl sein",
    "int_from_float": "muss eine ganze Zahl sein",
    "int_type": "muss eine ganze Zahl sein",
    "float_parsing": "muss eine Zahl sein",
    "float_type": "muss eine Zahl sein",
    "bool_parsing": "muss true oder false sein",
    "bool_type": "muss true oder false sein",
    "date_parsing": "muss ein Datum sein (JJJJ-MM-TT)",
    "date_from_datetime_parsing": "muss ein Datum sein (JJJJ-MM-TT)",
    "date_from_datetime_inexact": "muss ein Datum ohne Uhrzeit sein (JJJJ-MM-TT)",
    "date_type": "muss ein Datum sein (JJJJ-MM-TT)",
    "string_type": "muss ein Text sein",
    "list_type": "muss eine Liste sein",
    "dict_type": "muss ein Abschnitt mit Schlüsseln sein",
    "model_type": "muss ein Abschnitt mit Schlüsseln sein",
    "model_attributes_type": "muss ein Abschnitt mit Schlüsseln sein",
}


def german_message(err: ErrorDetails) -> str:
    """A German message for one pydantic error."""
    kind = err["type"]
    ctx = err.get("ctx") or {}
    if kind in _MESSAGES:
        return _MESSAGES[kind]
    if kind == "enum" or kind == "literal_error":
        expected = str(ctx.get("expected", "")).replace("'", "").replace(" or ", ", ")
        return f"muss einer dieser Werte sein: {expected}"
    if kind in ("greater_than_equal", "greater_than"):
        bound = ctx.get("ge", ctx.get("gt"))
        return f"muss {'mindestens' if kind == 'greater_than_equal' else 'größer als'} {bound} sein"
    if kind in ("less_than_equal", "less_than"):
        bound = ctx.get("le", ctx.get("lt"))
        return f"{'darf höchstens' if kind == 'less_than_equal' else 'muss kleiner als'} {bound} sein"
    if kind == "string_too_long":
        return f"darf höchstens {ctx.get('max_length')} Zeichen lang sein"
    if kind == "too_long":
        return f"darf höchstens {ctx.get('max_length')} Einträge haben"
    if kind in ("too_short", "string_too_short"):
        return "darf nicht leer sein"
    if kind == "string_pattern_mismatch":
        return f"hat nicht die erwartete Form ({ctx.get('pattern')})"
    if kind == "value_error":
        return str(ctx.get("error", err["msg"]))
    return err["msg"]


def validate_model(model: type[M], doc: Document, error: type[InputError]) -> M:
    """Validate ``doc.data`` against ``model``; raise ``error`` listing every located problem."""
    try:
        return model.model_validate(doc.data)
    except ValidationError as exc:
        problems: list[Problem] = []
        seen: set[tuple[Any, str]] = set()
        for err in exc.errors():
            path = tuple(err["loc"])
            message = german_message(err)
            if (path, message) in seen:
                continue
            seen.add((path, message))
            problems.append(doc.problem(path, message))
        raise error(problems) from None

