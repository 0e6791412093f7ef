"""``certflow catalogue validate|show|diff``."""

from __future__ import annotations

import click

from ..catalogue import load_catalogue
from ..catalogue.diff import diff_catalogues
from .console import make_console
from .render import print_catalogue


@click.group()
def catalogue() -> None:
    """Kriterienkataloge prüfen, anzeigen und vergleichen."""


@catalogue.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
def validate(files: tuple[str, ...]) -> None:
    """Prüft Katalogdateien; jeder Fehler nennt Datei, Zeile und Feld."""
    for path in files:
        cat = load_catalogue(path)
        click.echo(f"{path}: gültig ({cat.key}, {len(cat.all_criteria())} Kriterien)")


@catalogue.command()
@click.argument("file", type=click.Path(dir_okay=False))
def show(file: str) -> None:
    """Zeigt den Katalog als Baum mit Punkten und Schwellen."""
    print_catalogue(make_console(), load_catalogue(file))


@catalogue.command()
@click.argument("old", type=click.Path(dir_okay=False))
@click.argument("new", type=click.Path(dir_okay=False))
def diff(old: str, new: str) -> None:
    """Was sich zwischen zwei Katalogversionen geändert hat."""
    d = diff_catalogues(load_catalogue(old), load_catalogue(new))
    click.echo(f"Vergleich {d.old} → {d.new}")
    if d.empty:
        click.echo("keine Unterschiede")
        return
    for title, changes in (("Kriterien", d.criteria), ("Schwellen", d.thresholds)):
        counts = {w: sum(1 for c in changes if c.what == w) for w in ("added", "removed", "changed")}
        click.echo(f"{title}: {counts['added']} neu, {counts['removed']} entfallen, {counts['changed']} geändert")
        for change in changes:
            click.echo(f"  {change}")
