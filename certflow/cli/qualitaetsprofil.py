"""``certflow qualitaetsprofil VERFAHREN -o DATEI --as BENUTZER``: the written feedback as its own short PDF/A-3.

The same data as the audit packet (read scope applies; needs a submitted self-assessment), rendered
in a worker process with the certification body's templates (``CERTFLOW_TEMPLATES_DIR``) by
:func:`certflow.services.rendering.render_qualitaetsprofil`.
Exit codes: 0 done, 2 bad input, 3 refused (see :mod:`.session`).
"""

from __future__ import annotations

from pathlib import Path

import click

from .documents import target_file
from .session import as_option, use, with_db

__all__ = ["qualitaetsprofil"]


@click.command("qualitaetsprofil")
@click.argument("procedure_id", metavar="VERFAHREN")
@click.option("-o", "--output", "out", type=click.Path(path_type=Path), required=True, help="Zieldatei (PDF)")
@as_option
@with_db
def qualitaetsprofil(ctx: click.Context, procedure_id: str, out: Path, actor: str) -> None:
    """Das Qualitätsprofil eines Verfahrens (Rückmeldung: Defizite, Empfehlungen) als PDF/A-3."""
    from ..services.rendering import render_qualitaetsprofil

    target_file(out)
    result = use(ctx, lambda app: render_qualitaetsprofil(app, actor, procedure_id, out))
    click.echo(f"Qualitätsprofil {out}: {result.pages} {'Seite' if result.pages == 1 else 'Seiten'}")
    click.echo(f"SHA-256: {result.sha256}")
