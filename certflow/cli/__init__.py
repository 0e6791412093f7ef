"""The ``certflow`` command line: a thin shell around the domain.

Exit codes: 0 success (for ``score``: the seal's rules are met), 1 rules not
met, 2 bad input or usage, 3 refused by the lifecycle's rules (role, scope,
state, unknown user or record, conflict, frozen data, who acts not proven; see :mod:`.session`).
Every command with ``--as`` proves who acts first (a token, a password, or ``--local-admin``).
Bad input is printed with file, line and field, never as a traceback; an internal error (a bug) is
one German line and exit 70 (``CERTFLOW_DEBUG=1`` shows the traceback).
"""

from __future__ import annotations

import importlib
import sys

import click

from ..errors import InputError
from .session import db_option, local_admin_option, require_proof

# name -> (module below certflow.cli, attribute, the short help ``certflow --help`` shows). The modules are
# imported only when their command runs or shows its own help, so ``certflow --help`` imports none of them
# (nor what they import: the database, the web, the PDF renderer). tests/test_cli_help.py checks that the
# short help here is the command's own.
COMMANDS: dict[str, tuple[str, str, str]] = {
    "catalogue": ("catalogue", "catalogue", "Kriterienkataloge prüfen, anzeigen und vergleichen."),
    "score": ("score", "score", "Bewertet eine Selbstbewertung."),
    "assessment": ("assessment", "assessment",
                   "Selbstbewertungen prüfen und auf eine neue Katalogversion übertragen."),
    "demo": ("demo", "demo", "Legt eine Demo-Datenbank an: zwei Jugendämter, zwölf Kitas, Verfahren in jedem Zustand."),
    "db": ("database", "db", "Datenbank einrichten und migrieren."),
    "audit": ("database", "audit", "Prüfprotokoll (Audit-Trail) prüfen und außerhalb der Datenbank verankern."),
    "packet": ("packet", "packet", "Auditpaket (PDF/A-3): aus der Datenbank erzeugen und prüfen."),
    "qualitaetsprofil": ("qualitaetsprofil", "qualitaetsprofil",
                         "Das Qualitätsprofil eines Verfahrens (Rückmeldung: Defizite, Empfehlungen) als PDF/A-3."),
    "serve": ("serve", "serve", "Die Webanwendung starten (deutsch, im Browser; Anmeldung mit Passwort)."),
    "backup": ("backup", "backup",
               "Sichert Datenbank und Belegspeicher zusammen, mit einem Manifest der SHA-256 jeder Datei."),
    "restore": ("backup", "restore",
                "Spielt eine Sicherung in eine leere Datenbank (--db) und einen leeren Belegspeicher zurück."),
    "overview": ("lifecycle", "overview", "Übersicht aller Familienzentren, die BENUTZER sehen darf: Verfahren, "
                                          "Zustand, nächste Frist, Gütesiegel."),
    "history": ("lifecycle", "history",
                "Verlauf eines Verfahrens: wann, wer, was, von welchem Zustand in welchen, warum."),
    "procedure": ("lifecycle", "procedure",
                  "Ein Zertifizierungsverfahren Schritt für Schritt (Nominierung bis Entscheidung)."),
    "certificate": ("lifecycle", "certificate",
                    "Gütesiegel: Urkunde erzeugen, Re-Zertifizierung eröffnen, Fristen fortschreiben."),
    "contingent": ("lifecycle", "contingent",
                   "Kontingente: Plätze zuteilen, zurückgeben, ins nächste Kindergartenjahr übertragen."),
    "verbund": ("lifecycle", "verbund",
                "Verbund: eine Kita tritt bei oder aus; eine Einzeleinrichtung wird zum Verbund."),
    "kitas": ("records", "kitas", "Kitas einlesen."),
    "familienzentrum": ("records", "familienzentrum", "Familienzentren anlegen."),
    "users": ("records", "users", "Benutzer anlegen, ändern und auflisten."),
    "jugendamt": ("records", "jugendamt", "Jugendämter anlegen."),
    "traeger": ("records", "traeger", "Träger anlegen."),
    "reminders": ("reminders", "reminders", "Erinnerungen: planen, nachholen, Postausgang, Kontaktangaben."),
    "inbox": ("reminders", "inbox", "Der eigene Posteingang in certflow: dieselben Nachrichten wie die E-Mails."),
    "calendar": ("reminders", "calendar_command",
                 "Schreibt den iCalendar-Feed (.ics) eines Jugendamts oder eines Familienzentrums."),
    "scheduler": ("reminders", "scheduler", "Der Scheduler: plant und versendet Erinnerungen in regelmäßigen Läufen."),
    "report": ("reports", "report", "Berichte: Meldung der Nominierungen an das Land, Statistik."),
}


class _Commands(dict):
    """The root group's commands, each imported when it is first looked up (``cli.commands["demo"]``); walking
    them all (``items()``, ``values()``, iterating) imports them all. ``loaded`` tells without importing."""

    def loaded(self, name: str) -> bool:
        return dict.__contains__(self, name)

    def _load(self, name: object) -> None:
        if isinstance(name, str) and name in COMMANDS and not self.loaded(name):
            module, attribute, _ = COMMANDS[name]
            command = getattr(importlib.import_module(f"{__name__}.{module}"), attribute)
            # every command with --as proves who acts before it runs (certflow.cli.session)
            require_proof(click.Group(commands={name: command}))
            dict.__setitem__(self, name, command)

    def _load_all(self) -> None:
        for name in COMMANDS:
            self._load(name)

    def __getitem__(self, name: str) -> click.Command:
        self._load(name)
        return dict.__getitem__(self, name)

    def get(self, name: str, default: click.Command | None = None) -> click.Command | None:  # type: ignore[override]
        self._load(name)
        return dict.get(self, name, default)

    def __contains__(self, name: object) -> bool:
        return name in COMMANDS or dict.__contains__(self, name)

    def __iter__(self):
        self._load_all()
        return dict.__iter__(self)

    def __len__(self) -> int:
        return len(set(COMMANDS) | set(dict.keys(self)))

    def keys(self):  # type: ignore[override]
        self._load_all()
        return dict.keys(self)

    def values(self):  # type: ignore[override]
        self._load_all()
        return dict.values(self)

    def items(self):  # type: ignore[override]
        self._load_all()
        return dict.items(self)


class _Group(click.Group):
    """The root group: commands load on first use (:data:`COMMANDS`); bad input becomes exit 2."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.commands = _Commands(self.commands)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(COMMANDS) | set(dict.keys(self.commands)))

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The list of commands, their short help from :data:`COMMANDS` (without importing them)."""
        names = self.list_commands(ctx)
        commands = self.commands
        assert isinstance(commands, _Commands)
        limit = formatter.width - 6 - max(len(name) for name in names)
        rows = []
        for name in names:
            text = commands[name].get_short_help_str(limit) if commands.loaded(name) else COMMANDS[name][2]
            rows.append((name, click.utils.make_default_short_help(text, limit)))
        with formatter.section("Commands"):
            formatter.write_dl(rows)

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
