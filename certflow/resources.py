"""Where the shipped catalogues, templates and examples are.

In a source checkout they are the folders at the repository root; an installed
package carries them as ``certflow._shipped.*`` (see setup.py).
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
_ROOT = _PACKAGE.parent


def _folder(name: str) -> Path:
    local = _ROOT / name
    if local.is_dir() and (_ROOT / "pyproject.toml").is_file():
        return local
    return _PACKAGE / "_shipped" / name


def criteria_dir() -> Path:
    return _folder("criteria")


def templates_dir() -> Path:
    return _folder("templates")


def examples_dir() -> Path:
    return _folder("examples")


def shipped_catalogues() -> list[Path]:
    return sorted(criteria_dir().glob("*.yaml"))


def default_catalogue() -> Path:
    """The newest shipped catalogue of the Familienzentrum NRW programme."""
    return criteria_dir() / "familienzentrum-nrw-2020.yaml"
