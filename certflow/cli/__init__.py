"""The ``certflow`` command line: a thin shell around the domain.

Exit codes: 0 success (for ``score``: the seal's rules are met), 1 rules not
met, 2 bad input or usage, 3 refused by the lifecycle's rules (role, scope,
state, unknown user or record, conflict, frozen data, who acts not proven; see :mod:`.session`).
Every command with ``--as`` proves who acts first (a token, a password, or ``--local-admin``).
Bad input is printed with file, line and field, never as a traceback; an internal error (a bug) is
one German line and exit 70 (``CERTFLOW_DEBUG=1`` shows the traceback).
"""

from __future__ import annotations

import sys

import click

from .database import audit, db
from ..errors import InputError
from .assessment import assessment
from .backup import backup, restore
from .catalogue import catalogue
from .demo import demo
from .lifecycle import certificate, contingent, history, overview, procedure, verbund
from .packet import packet
from .qualitaetsprofil import qualitaetsprofil
from .records import familienzentrum, jugendamt, kitas, traeger, users
from .reminders import calendar_command, inbox, reminders, scheduler
from .score import score
from .serve import serve
from .session import db_option, local_admin_option, require_proof


class _Group(click.Group):
    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except InputError as exc:
            click.echo(f"Fehler ({exc.kind}): {len(exc.problems)} Problem(e)", err=True)
            for problem in exc.problems:
                click.echo(f"  {problem}", err=True)
            ctx.exit(2)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="certflow")
@db_option
@local_admin_option
def cli() -> None:
    """certflow: Zertifizierungsverfahren für das Gütesiegel Familienzentrum NRW.

    Wer mit --as handelt, weist sich aus: mit einem Zugangsschlüssel (certflow users token;
    CERTFLOW_TOKEN oder --token-file DATEI), im Terminal mit dem Passwort, oder auf dem Server
    mit certflow --local-admin als Administration dieses Rechners.

    Exit-Codes: 0 erledigt (score: Anforderungen erfüllt), 1 Anforderungen nicht erfüllt,
    2 fehlerhafte Eingabe oder Aufruf, 3 nach den Regeln abgelehnt (Rolle, Zuständigkeit, Zustand,
    nicht angemeldet).
    """


cli.add_command(catalogue)
cli.add_command(score)
cli.add_command(assessment)
cli.add_command(demo)
cli.add_command(db)
cli.add_command(audit)
cli.add_command(packet)
cli.add_command(qualitaetsprofil)
cli.add_command(serve)
cli.add_command(backup)
cli.add_command(restore)
for command in (overview, history, procedure, certificate, contingent, verbund, kitas, familienzentrum, users,
                jugendamt, traeger, reminders, inbox, calendar_command, scheduler):
    cli.add_command(command)
require_proof(cli)  # every command with --as proves who acts before it runs (certflow.cli.session)


EXIT_INTERNAL = 70  # EX_SOFTWARE: never 1, which means "rules not met"


def main() -> None:
    """The ``certflow`` program: a bug is one German line and exit 70, never a traceback (unless debugging)."""
    try:
        code = cli.main(standalone_mode=True)
    except SystemExit:
        raise
    except Exception as exc:  # noqa: BLE001 - the last line of defence: anything the commands did not expect
        from ..settings import Settings

        if Settings.from_env().debug:
            raise
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        click.echo(f"Interner Fehler ({type(exc).__name__}{': ' + text if text else ''}). Bitte melden; "
                   "CERTFLOW_DEBUG=1 zeigt die Einzelheiten.", err=True)
        code = EXIT_INTERNAL
    sys.exit(code)
