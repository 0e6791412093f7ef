"""``certflow qualitaetsprofil VERFAHREN -o DATEI --as BENUTZER``: the written feedback as its own short PDF/A-3.

The same data as the audit packet (:func:`certflow.services.documents.packet_data`, read scope
applies; needs a submitted self-assessment) rendered by :func:`certflow.packet.render_qualitaetsprofil`
with the certification body's templates (``CERTFLOW_TEMPLATES_DIR``).
Exit codes: 0 done, 2 bad input, 3 refused (see :mod:`.session`).
"""

from __future__ import annotations

from pathlib import Path

import click

from .documents import render_or_exit, target_file
from .session import as_option, run, with_db

__all__ = ["qualitaetsprofil"]


@click.command("qualitaetsprofil")
@click.argument("procedure_id", metavar="VERFAHREN")
@click.option("-o", "--output", "out", type=click.Path(path_type=Path), required=True, help="Zieldatei (PDF)")
@as_option
@with_db
def qualitaetsprofil(ctx: click.Context, procedure_id: str, out: Path, actor: str) -> None:
    """Das Qualitätsprofil eines Verfahrens (Rückmeldung: Defizite, Empfehlungen) als PDF/A-3."""
    from ..packet import render_qualitaetsprofil
    from ..services.documents import packet_data

    target_file(out)
    data = run(ctx, lambda uow: packet_data(uow, actor, procedure_id))
    result = render_or_exit(render_qualitaetsprofil, data, out)
    click.echo(f"Qualitätsprofil {out}: {result.pages} {'Seite' if result.pages == 1 else 'Seiten'}")
    click.echo(f"SHA-256: {result.sha256}")
