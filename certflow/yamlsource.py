"""Read YAML (and JSON, which YAML 1.1 reads too) into plain data plus positions.

PyYAML composes the document into nodes that know their line; we turn those
nodes into dicts, lists and *strings* ourselves. Keeping every scalar a string
means a criterion id written ``1.10`` stays ``"1.10"`` instead of becoming the
float ``1.1``; pydantic converts strings to numbers, dates and booleans where
the schema asks for them. Duplicate keys, which PyYAML silently accepts, are
reported here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path as Path_
from typing import Any

import yaml

from .errors import InputError, Problem

Path = tuple[str | int, ...]

_NULL = "tag:yaml.org,2002:null"

#: libyaml's C parser when PyYAML was built with it (about twelve times faster), else the pure-Python one.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

#: Values a document may expand to; stops alias bombs ("billion laughs").
MAX_VALUES = 1_000_000
#: The most any input file may hold (catalogue, self-assessment, verdicts, Kita CSV): a file that never ends
#: (a link to /dev/zero, a pipe) is refused after this many bytes instead of filling the memory.
MAX_INPUT_BYTES = 32 * 1024 * 1024


class _TooLarge(Exception):
    pass


@dataclass
class Document:
    """Plain data from one file and the line (1-based) of every path in it."""

    source: str
    data: Any
    lines: dict[Path, int] = field(default_factory=dict)
    values: int = 0

    def line_of(self, path: Path) -> int | None:
        """The line of ``path``, or of its nearest ancestor that has one."""
        path = tuple(path)
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get(())

    def problem(self, path: Path, message: str) -> Problem:
        return Problem(self.source, self.line_of(path), tuple(path), message)


def read_text(path: Path_, error: type[InputError] = InputError) -> str:
    """A file's UTF-8 text, at most :data:`MAX_INPUT_BYTES`; an unreadable or too large file is bad input."""
    limit = MAX_INPUT_BYTES
    try:
        with open(path, "rb") as stream:
            data = stream.read(limit + 1)
        if len(data) > limit:
            raise error([Problem(str(path), None, (), f"Datei zu groß (mehr als {limit // (1024 * 1024)} MB)"
                                 if limit >= 1024 * 1024 else f"Datei zu groß (mehr als {limit} Bytes)")])
        return data.decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise error([Problem(str(path), None, (), f"Datei nicht lesbar: {reason}")]) from None


def read_document(text: str, source: str, error: type[InputError] = InputError) -> Document:
    """Parse ``text`` (YAML or JSON). Raises ``error`` with a line for any syntax fault."""
    try:
        node = yaml.compose(text, Loader=_LOADER)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        what = exc.problem or exc.context or "ungültiges YAML"
        raise error([Problem(source, line, (), f"YAML-Syntaxfehler: {what}")]) from None
    except yaml.YAMLError as exc:  # e.g. a reader error for control characters
        raise error([Problem(source, None, (), f"YAML-Syntaxfehler: {exc}")]) from None
    doc = Document(source, None)
    if node is None:
        raise error([Problem(source, 1, (), "die Datei ist leer")])
    problems: list[Problem] = []
    try:
        doc.data = _convert(node, (), doc, problems, set())
    except _TooLarge:
        raise error([Problem(source, None, (), f"das Dokument ist zu groß (mehr als {MAX_VALUES} Werte)")]) from None
    if problems:
        raise error(problems)
    return doc


def _convert(node: yaml.Node, path: Path, doc: Document, problems: list[Problem], active: set[int]) -> Any:
    doc.values += 1
    if doc.values > MAX_VALUES:
        raise _TooLarge
    doc.lines.setdefault(path, node.start_mark.line + 1)
    if id(node) in active:
        problems.append(doc.problem(path, "rekursiver YAML-Anker ist nicht erlaubt"))
        return None
    if isinstance(node, yaml.ScalarNode):
        if node.tag == _NULL:
            return None
        return node.value
    active.add(id(node))
    try:
        if isinstance(node, yaml.SequenceNode):
            return [_convert(child, path + (i,), doc, problems, active) for i, child in enumerate(node.value)]
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                problems.append(doc.problem(path, "Schlüssel müssen einfache Werte sein"))
                continue
            key = key_node.value
            if key == "<<":
                problems.append(doc.problem(path, "YAML-Merge-Schlüssel (<<) werden nicht unterstützt"))
                continue
            if key in result:
                line = key_node.start_mark.line + 1
                problems.append(Problem(doc.source, line, path + (key,), f"Schlüssel '{key}' doppelt"))
                continue
            doc.lines[path + (key,)] = key_node.start_mark.line + 1
            result[key] = _convert(value_node, path + (key,), doc, problems, active)
        return result
    finally:
        active.discard(id(node))
