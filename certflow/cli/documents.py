"""What the commands that write PDF documents share: the target file, the configured signature, the lines
of a batch (a use case on the :class:`~certflow.services.runner.Application` is :func:`.session.use`).

The documents themselves are read and rendered by :mod:`certflow.services.rendering` (worker
processes, the deployment's templates, evidence store and signature from the settings); the
sign-off by :func:`certflow.services.procedures.sign_off`. Here: option checks and printing.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from .session import use

if TYPE_CHECKING:
    from ..packet import BatchReport, SignerConfig

__all__ = ["configured_signer", "echo_batch", "target_file"]


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
