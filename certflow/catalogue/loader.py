"""Read and validate a catalogue file: text in, :class:`Catalogue` or :class:`CatalogueError` out."""

from __future__ import annotations

from pathlib import Path

from ..errors import CatalogueError
from ..validation import validate_model
from ..yamlsource import gc_paused, read_document, read_text
from .checks import check_catalogue
from .model import Catalogue


def parse_catalogue(text: str, source: str = "<catalogue>") -> Catalogue:
    """Parse and fully check a catalogue given as YAML text."""
    with gc_paused():
        return _parse(text, source)


def _parse(text: str, source: str) -> Catalogue:
    doc = read_document(text, source, CatalogueError)
    if not isinstance(doc.data, dict):
        raise CatalogueError(
            [doc.problem((), "ein Katalog ist ein Abschnitt mit Schlüsseln (programme, version, areas, ...)")]
        )
    catalogue = validate_model(Catalogue, doc, CatalogueError)
    problems = [doc.problem(path, message) for path, message in check_catalogue(catalogue)]
    if problems:
        raise CatalogueError(problems)
    return catalogue


def load_catalogue(path: str | Path) -> Catalogue:
    """Read a catalogue file; unreadable files are reported like any other bad input."""
    path = Path(path)
    text = read_text(path, CatalogueError)
    return parse_catalogue(text, str(path))
