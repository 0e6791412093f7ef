"""``certflow report meldung|statistik``: the reports the Land asks for, as files.

``certflow report meldung --kgj 2025/26 -o meldung.pdf --as koord`` writes the nomination report of the
coordinator's Jugendamt (the certification body and the administration name one with ``--jugendamt``) as PDF or,
by the file's ending, XLSX. ``certflow report statistik -o statistik.xlsx --as zert`` writes the statistics of a
Jugendamt or, without ``--jugendamt``, of the Land. Each file is written all at once or not at all.
"""

from __future__ import annotations

from pathlib import Path

import click

from .session import EXIT_INPUT, KGJ, as_option, run, with_db

__all__ = ["report"]

_FORMATS = (".pdf", ".xlsx")


def _write(output: Path, data: bytes) -> None:
    from ..output import OutputError, write_atomically

    try:
        write_atomically(output, data)
    except OutputError as exc:
        click.echo(f"Fehler: {exc}", err=True)
        raise SystemExit(EXIT_INPUT) from None
    click.echo(f"{output}: {len(data):,} Bytes".replace(",", "."))


@click.group("report")
def report() -> None:
    """Berichte: Meldung der Nominierungen an das Land, Statistik."""


@report.command("meldung")
@click.option("--kgj", type=KGJ, required=True, help="Kindergartenjahr der Plätze, z. B. 2025/26")
@click.option("--jugendamt", default=None, metavar="ID", help="Jugendamt (Zertifizierungsstelle, Administration)")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Zieldatei: .pdf oder .xlsx")
@as_option
@with_db
def meldung(ctx, kgj, jugendamt, output, actor) -> None:
    """Die Meldung der Nominierungen eines Kindergartenjahres (Frist 15. Juni) als PDF oder XLSX."""
    if output.suffix.lower() not in _FORMATS:
        raise click.UsageError(f"Die Zieldatei muss auf .pdf oder .xlsx enden, nicht {output.name}")
    from ..services import reports

    result = run(ctx, lambda uow: reports.nomination_report(uow, actor, kgj, jugendamt_id=jugendamt))
    from ..reports import nomination_pdf, nomination_xlsx

    _write(output, nomination_pdf(result) if output.suffix.lower() == ".pdf" else nomination_xlsx(result))


@report.command("statistik")
@click.option("--jugendamt", default=None, metavar="ID", help="Jugendamt; ohne: das Land (Zertifizierungsstelle, "
              "Administration)")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Zieldatei (.xlsx)")
@as_option
@with_db
def statistik(ctx, jugendamt, output, actor) -> None:
    """Abdeckung je Ort, auslaufende Gütesiegel je Jahr und Ergebnisse je Bereich als XLSX."""
    if output.suffix.lower() != ".xlsx":
        raise click.UsageError(f"Die Zieldatei muss auf .xlsx enden, nicht {output.name}")
    from ..services import reports

    result = run(ctx, lambda uow: reports.statistics(uow, actor, jugendamt_id=jugendamt))
    from ..reports import statistics_xlsx

    _write(output, statistics_xlsx(result))
