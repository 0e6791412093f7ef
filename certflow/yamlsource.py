"""Read YAML (and JSON, which YAML 1.1 reads too) into plain data plus positions.

PyYAML composes the document into nodes that know their line; we turn those
nodes into dicts, lists and *strings* ourselves. Keeping every scalar a string
means a criterion id written ``1.10`` stays ``"1.10"`` instead of becoming the
float ``1.1``; pydantic converts strings to numbers, dates and booleans where
the schema asks for them. Duplicate keys, which PyYAML silently accepts, are
reported here.

Lines are noted only when needed: a regular document is converted without
them, and only a problem (or a caller asking for a line to report one) reads
the text again with line tracking; both ways give the same data
(tests/test_yamlsource_paths.py).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path as Path_
from typing import Any

import yaml

from .errors import InputError, Problem

Path = tuple[str | int, ...]

_NULL = "tag:yaml.org,2002:null"
_STR = "tag:yaml.org,2002:str"
_SEQ = "tag:yaml.org,2002:seq"
_MAP = "tag:yaml.org,2002:map"
#: YAML 1.1's null (``~``, ``null``, ``Null``, ``NULL``, nothing): PyYAML's own pattern, so both agree.
_NULL_PATTERN = next(regexp for tag, regexp in yaml.resolver.Resolver.yaml_implicit_resolvers["~"] if tag == _NULL)
_NULL_STARTS = frozenset("~nN")

_BASE = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_BASE):  # type: ignore[misc, valid-type]
    """libyaml's C parser when PyYAML was built with it (about twelve times faster), else the pure-Python one.

    Every scalar stays a string, so the only tag we read is null: the resolver decides nothing else
    (no YAML 1.1 booleans, numbers, dates or octals), which also spares a regular-expression round per scalar.
    """

    def resolve(self, kind: type[yaml.Node], value: str | None, implicit: tuple[bool, bool]) -> str:
        if kind is yaml.ScalarNode:
            if implicit[0] and value is not None and (not value or value[0] in _NULL_STARTS) \
                    and _NULL_PATTERN.match(value):
                return _NULL
            return _STR
        return _SEQ if kind is yaml.SequenceNode else _MAP

    def descend_resolver(self, current_node: Any, current_index: Any) -> None:  # no path resolvers
        pass

    def ascend_resolver(self) -> None:
        pass


_LOADER = _Loader

#: Values a document may expand to; stops alias bombs ("billion laughs").
MAX_VALUES = 1_000_000
#: The most any input file may hold (catalogue, self-assessment, verdicts, Kita CSV): a file that never ends
#: (a link to /dev/zero, a pipe) is refused after this many bytes instead of filling the memory.
MAX_INPUT_BYTES = 32 * 1024 * 1024


class _TooLarge(Exception):
    pass


class _Irregular(Exception):
    """The fast conversion met something only the tracked one reports (a duplicate key, a merge key ...)."""


class Document:
    """Plain data from one file and the line (1-based) of every path in it.

    The lines are found only when asked for (:meth:`line_of`, to report a problem): the text is then
    composed once more, with line tracking.
    """

    def __init__(self, source: str, data: Any, lines: dict[Path, int] | None = None, text: str | None = None):
        self.source = source
        self.data = data
        self._lines = lines
        self._text = text

    @property
    def lines(self) -> dict[Path, int]:
        if self._lines is None:
            self._lines = {} if self._text is None else _tracked(self._text, self.source, InputError).lines
        return self._lines

    def line_of(self, path: Path) -> int | None:
        """The line of ``path``, or of its nearest ancestor that has one."""
        lines = self.lines
        path = tuple(path)
        while path:
            if path in lines:
                return lines[path]
            path = path[:-1]
        return lines.get(())

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


@contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic garbage collection inside the block (unless it is off already).

    Reading a file allocates thousands of nodes and models, none of them in a cycle; the collector,
    triggered by every 700 allocations, would walk every object the program holds each time (with
    3,500 assessments kept, more than half the time of reading one). Reference counting still frees
    everything; the collector runs again after the block.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def read_document(text: str, source: str, error: type[InputError] = InputError) -> Document:
    """Parse ``text`` (YAML or JSON). Raises ``error`` with a line for any syntax fault.

    The usual way is fast: compose, then convert without noting lines. Whatever that cannot take
    (a syntax error, an empty file, a duplicate or merge key, a recursive anchor, too many values)
    is read again with line tracking, which words the problem and says where it is; so are the
    lines of a document whose content turns out wrong (:attr:`Document.lines`, on demand).
    """
    with gc_paused():
        try:
            node = yaml.compose(text, Loader=_LOADER)
        except yaml.YAMLError:
            node = None
        if node is not None:
            try:
                return Document(source, _plain(node, [MAX_VALUES], set()), text=text)
            except (_Irregular, _TooLarge):
                pass
        return _tracked(text, source, error)


def _plain(node: yaml.Node, budget: list[int], active: set[int]) -> Any:
    """The fast conversion: what :func:`_convert` gives for a regular document, without positions."""
    budget[0] -= 1
    if budget[0] < 0:
        raise _TooLarge
    if isinstance(node, yaml.ScalarNode):
        return None if node.tag == _NULL else node.value
    key = id(node)
    if key in active:
        raise _Irregular
    active.add(key)
    if isinstance(node, yaml.SequenceNode):
        out: Any = [_plain(child, budget, active) for child in node.value]
    else:
        out = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.value == "<<" or key_node.value in out:
                raise _Irregular
            out[key_node.value] = _plain(value_node, budget, active)
    active.discard(key)
    return out


def _tracked(text: str, source: str, error: type[InputError]) -> Document:
    """Parse ``text`` noting the line of every path; every problem is reported with its place."""
    try:
        node = yaml.compose(text, Loader=_LOADER)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        what = exc.problem or exc.context or "ungültiges YAML"
        raise error([Problem(source, line, (), f"YAML-Syntaxfehler: {what}")]) from None
    except yaml.YAMLError as exc:  # e.g. a reader error for control characters
        raise error([Problem(source, None, (), f"YAML-Syntaxfehler: {exc}")]) from None
    doc = Document(source, None, lines={})
    if node is None:
        raise error([Problem(source, 1, (), "die Datei ist leer")])
    problems: list[Problem] = []
    counter = _Counter()
    try:
        doc.data = _convert(node, (), doc, problems, set(), counter)
    except _TooLarge:
        raise error([Problem(source, None, (), f"das Dokument ist zu groß (mehr als {MAX_VALUES} Werte)")]) from None
    if problems:
        raise error(problems)
    return doc


@dataclass
class _Counter:
    values: int = 0


def _convert(
    node: yaml.Node, path: Path, doc: Document, problems: list[Problem], active: set[int], counter: _Counter,
) -> Any:
    counter.values += 1
    if counter.values > MAX_VALUES:
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
            return [_convert(child, path + (i,), doc, problems, active, counter) for i, child in enumerate(node.value)]
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
            result[key] = _convert(value_node, path + (key,), doc, problems, active, counter)
        return result
    finally:
        active.discard(id(node))
