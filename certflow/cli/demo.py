"""``certflow demo``: score the shipped example self-assessments against the shipped catalogue."""

from __future__ import annotations

import click

from ..assessment import load_assessment
from ..catalogue import load_catalogue
from ..resources import default_catalogue, examples_dir
from ..scoring import Scorer
from .console import make_console
from .render import print_report


@click.command()
def demo() -> None:
    """Bewertet die mitgelieferten Beispiel-Selbstbewertungen (Katalog 2020)."""
    console = make_console()
    cat = load_catalogue(default_catalogue())
    scorer = Scorer(cat)
    console.print(f"Katalog {cat.title} {cat.version}: {len(cat.all_criteria())} Kriterien\n")
    for path in sorted(examples_dir().glob("assessment-*.yaml")):
        a = load_assessment(path, cat)
        console.rule(path.name)
        print_report(console, scorer.score(a, a.period), a.familienzentrum)
