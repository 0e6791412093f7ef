"""``certflow backup`` and ``certflow restore``: the database and the evidence store together.

They call :mod:`certflow.services.backup`; only click is imported at load time.
"""

from __future__ import annotations

from pathlib import Path

import click

from .session import app_for, fail, with_db

__all__ = ["backup", "restore"]


@click.command("backup")
@click.option("-o", "--output", required=True, metavar="ORDNER|DATEI.tar", type=click.Path(path_type=Path),
              help="Ein neuer (oder leerer) Ordner, oder eine neue .tar-Datei")
@click.option("--evidence-dir", default=None, metavar="ORDNER", type=click.Path(file_okay=False, path_type=Path),
              help="Belegspeicher (sonst CERTFLOW_EVIDENCE_DIR, sonst ./certflow-evidence)")
@with_db
def backup(ctx: click.Context, output: Path, evidence_dir: Path | None) -> None:
    """Sichert Datenbank und Belegspeicher zusammen, mit einem Manifest der SHA-256 jeder Datei.

    Die Datenbank wird aus einem einzigen Stand gelesen; zurückspielen mit certflow restore.
    """
    from ..services.backup import backup as run_backup
    from ..services.runner import UseCaseError

    try:
        result = run_backup(app_for(ctx), output, evidence_dir=evidence_dir)
    except UseCaseError as exc:
        fail(exc)
    rows = sum(result.rows.values())
    click.echo(f"Sicherung {result.path} geschrieben: {rows} Datensätze aus {len(result.rows)} Tabellen, "
               f"{result.evidence_files} Beleg(e); Prüfprotokoll bis Eintrag {result.head_seq}.")
    click.echo(f"SHA-256 des Manifests: {result.manifest_sha256}")
    if result.missing_evidence:
        click.echo(f"Hinweis: {len(result.missing_evidence)} Beleg(e), die die Datenbank nennt, fehlen im "
                   f"Belegspeicher: {', '.join(result.missing_evidence)}", err=True)
    if result.damaged_evidence:
        click.echo(f"Hinweis: {len(result.damaged_evidence)} Beleg(e) im Belegspeicher stimmen nicht mit ihrer "
                   f"Prüfsumme überein (so gesichert): {', '.join(result.damaged_evidence)}", err=True)


@click.command("restore")
@click.argument("source", metavar="SICHERUNG", type=click.Path(path_type=Path))
@click.option("--evidence-dir", default=None, metavar="ORDNER", type=click.Path(file_okay=False, path_type=Path),
              help="Leerer Belegspeicher, in den die Belege kommen (sonst CERTFLOW_EVIDENCE_DIR)")
@with_db
def restore(ctx: click.Context, source: Path, evidence_dir: Path | None) -> None:
    """Spielt eine Sicherung in eine leere Datenbank (--db) und einen leeren Belegspeicher zurück.

    Jede Datei wird vorher gegen das Manifest geprüft, danach das Prüfprotokoll wie bei audit verify.
    Exit-Code 3, wenn Datenbank oder Belegspeicher nicht leer sind; 2 bei einer beschädigten Sicherung;
    1, wenn das zurückgespielte Prüfprotokoll die Prüfung nicht besteht.
    """
    from ..services.audit_trail import failures
    from ..services.backup import restore as run_restore
    from ..services.runner import UseCaseError

    app = app_for(ctx)
    target = evidence_dir if evidence_dir is not None else app.settings.evidence_dir
    try:
        result = run_restore(app, source, target)
    except UseCaseError as exc:
        fail(exc)
    click.echo(f"Sicherung {result.source} zurückgespielt: {sum(result.rows.values())} Datensätze, "
               f"{result.evidence_files} Beleg(e) nach {target}.")
    if result.missing_evidence:
        click.echo(f"Hinweis: {len(result.missing_evidence)} Beleg(e) fehlten schon in der Sicherung: "
                   f"{', '.join(result.missing_evidence)}", err=True)
    if not result.check.ok:
        for line in failures(result.check):
            click.echo(line, err=True)
        raise SystemExit(1)
    click.echo(f"Prüfprotokoll in Ordnung: {result.check.checked} Einträge geprüft; die Zustände stimmen mit dem "
               "Prüfprotokoll überein.")
