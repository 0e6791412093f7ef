"""What the commands that write PDF documents share: the target file, the configured signature, a use case
on the :class:`~certflow.services.runner.Application`, the lines of a batch.

The documents themselves are read and rendered by :mod:`certflow.services.rendering` (worker
processes, the deployment's templates, evidence store and signature from the settings); the
sign-off by :func:`certflow.services.procedures.sign_off`. Here: option checks and printing.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import click

from .session import app_for, fail

if TYPE_CHECKING:
    from ..packet import BatchReport, SignerConfig
    from ..services.runner import Application

__all__ = ["configured_signer", "echo_batch", "target_file", "use"]

T = TypeVar("T")


def use(ctx: click.Context, use_case: Callable[[Application], T]) -> T:
    """``use_case(app)`` for a use case that runs its own units of work (a document, the sign-off);
    its failures become German messages and exit codes, as with :func:`.session.run`."""
    from ..services.runner import UseCaseError

    app = app_for(ctx)
    try:
        result = use_case(app)
    except UseCaseError as exc:
        fail(exc)
    for note in app.notes:
        click.echo(f"Hinweis: {note}", err=True)
    app.notes.clear()
    return result


def target_file(out: Path) -> None:
    """Refuse (exit 2) an ``-o`` that is a folder where one file is meant."""
    if out.is_dir():
        raise click.BadParameter(f"{out} ist ein Ordner; eine Zieldatei angeben", param_hint="'-o'")


def configured_signer(ctx: click.Context) -> SignerConfig | None:
    """The packet signature the certification body configured (``CERTFLOW_SIGN_*``), or ``None``.

    Checked before anything is rendered or signed off: unusable settings are exit 2 with the variable named.
    """
    from ..services.rendering import configured_signer as signer_of

    return use(ctx, lambda app: signer_of(app.settings))


def echo_batch(report: BatchReport) -> None:
    """One line per document written (file, pages, SHA-256), then the summary with each failure."""
    for item in report.ok:
        click.echo(f"{item.path}: {item.pages} {'Seite' if item.pages == 1 else 'Seiten'}, SHA-256 {item.sha256}")
    click.echo(report.summary())
