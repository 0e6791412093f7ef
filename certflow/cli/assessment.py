"""``certflow assessment validate|migrate``."""

from __future__ import annotations

import json

import click
import yaml

from ..assessment.migrate import migrate_assessment
from ..catalogue import load_catalogue
from ..output import OutputError, write_atomically
from .options import load_pair
from .session import EXIT_INPUT


@click.group()
def assessment() -> None:
    """Selbstbewertungen prüfen und auf eine neue Katalogversion übertragen."""


@assessment.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--catalogue", "catalogue_path", type=click.Path(dir_okay=False))
def validate(file: str, catalogue_path: str | None) -> None:
    """Prüft eine Selbstbewertung gegen ihren Katalog."""
    cat, a = load_pair(file, catalogue_path)
    click.echo(f"{file}: gültig ({len(a.answers)} Antworten, {len(a.activities)} Angebote, "
               f"{len(a.evidence)} Nachweise; Katalog {cat.key})")


@assessment.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--catalogue", "catalogue_path", type=click.Path(dir_okay=False), help="Katalog der Selbstbewertung.")
@click.option("--to", "target", required=True, type=click.Path(dir_okay=False), help="Neue Katalogversion.")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="Zieldatei (.yaml oder .json).")
def migrate(file: str, catalogue_path: str | None, target: str, output: str) -> None:
    """Überträgt eine Selbstbewertung auf eine andere Katalogversion und nennt alles, was entfällt."""
    old, a = load_pair(file, catalogue_path)
    new = load_catalogue(target)
    carried, dropped = migrate_assessment(a, old, new)
    data = carried.model_dump(mode="json", exclude_defaults=True)
    text = (json.dumps(data, ensure_ascii=False, indent=2) + "\n" if output.endswith(".json")
            else yaml.safe_dump(data, allow_unicode=True, sort_keys=False))
    try:
        write_atomically(output, text)  # all or nothing, never a half-written file
    except OutputError as exc:
        click.echo(f"Fehler: {exc}", err=True)
        raise SystemExit(EXIT_INPUT) from None
    click.echo(f"{len(carried.answers)} von {len(a.answers)} Antworten übernommen nach {output} ({new.key})")
    if dropped:
        click.echo(f"{len(dropped)} Angaben entfallen:")
        for d in dropped:
            click.echo(f"  {d}")
