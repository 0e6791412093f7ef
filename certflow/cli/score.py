"""``certflow score``: a self-assessment against its catalogue."""

from __future__ import annotations

import json
from datetime import date

import click

from ..assessment import Period
from ..calendar import date_range_problem
from ..errors import AssessmentError, Problem
from ..scoring import Scorer
from .console import make_console
from .options import load_pair
from .render import print_report
from .session import DATE


def resolve_period(assessment_path: str, stated: Period | None, start: date | None, end: date | None) -> Period:
    """The Prüfzeitraum from the command line (``DATE``: inside the accepted dates), else from the assessment
    file, whose days must be inside the accepted dates as well (:func:`certflow.calendar.date_range_problem`)."""
    if (start is None) != (end is None):
        raise click.UsageError("--period-start und --period-end nur zusammen angeben")
    if start is not None and end is not None:
        if end < start:
            raise click.UsageError(f"--period-end {end} liegt vor --period-start {start}")
        return Period(start=start, end=end)
    if stated is None:
        missing = "kein Prüfzeitraum: in der Datei (period) oder mit --period-start/--period-end angeben"
        raise AssessmentError([Problem(assessment_path, None, ("period",), missing)])
    problems = [Problem(assessment_path, None, ("period", key), problem)
                for key, label in (("start", "Beginn"), ("end", "Ende"))
                if (problem := date_range_problem(getattr(stated, key), f"{label} des Prüfzeitraums"))]
    if problems:
        raise AssessmentError(problems)
    return stated


@click.command()
@click.argument("assessment", type=click.Path(dir_okay=False))
@click.option("--catalogue", "catalogue_path", type=click.Path(dir_okay=False),
              help="Katalogdatei; ohne Angabe der mitgelieferte Katalog, den die Selbstbewertung nennt.")
@click.option("--period-start", type=DATE, help="Beginn des Prüfzeitraums (JJJJ-MM-TT).")
@click.option("--period-end", type=DATE, help="Ende des Prüfzeitraums (JJJJ-MM-TT).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.pass_context
def score(ctx: click.Context, assessment: str, catalogue_path: str | None, period_start, period_end, fmt: str) -> None:
    """Bewertet eine Selbstbewertung. Exit 0: erfüllt, 1: nicht erfüllt, 2: fehlerhafte Eingabe."""
    cat, a = load_pair(assessment, catalogue_path)
    period = resolve_period(assessment, a.period, period_start, period_end)
    report = Scorer(cat).score(a, period)
    if fmt == "json":
        click.echo(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
    else:
        print_report(make_console(), report, a.familienzentrum)
    ctx.exit(0 if report.passed else 1)
