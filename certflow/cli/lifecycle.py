"""``certflow overview|history|procedure|certificate|contingent|verbund``: the lifecycle, step by step.

Each command parses its arguments, runs one service (:mod:`certflow.services`)
in one unit of work as the user named with ``--as`` and prints the result.
Exit codes: see :mod:`.session` (0 done, 2 bad input or usage, 3 refused).
"""

from __future__ import annotations

from pathlib import Path

import click

from ..lifecycle.contingents import MAX_PLACES
from .console import make_console
from .default_group import DefaultGroup
from .session import DATE, EXIT_INPUT, KGJ, app_for, as_option, reason_option, report, run, with_db

__all__ = ["certificate", "contingent", "history", "overview", "procedure", "verbund"]


def _services():
    from .. import services

    return services


# --- reading ------------------------------------------------------------------------------------------------------


@click.command("overview")
@as_option
@click.option("--today", type=DATE, default=None, help="Fristen zum Stand dieses Tages (JJJJ-MM-TT; sonst heute)")
@with_db
def overview(ctx: click.Context, actor: str, today) -> None:
    """Übersicht aller Familienzentren, die BENUTZER sehen darf: Verfahren, Zustand, nächste Frist, Gütesiegel."""
    from ..lifecycle.machinery import local_date, utc_now
    from .views import overview_table

    services = _services()
    day = today or local_date(utc_now())
    rows = run(ctx, lambda uow: services.overview(uow, actor, day))
    console = make_console()
    if not rows:
        console.print("Keine Familienzentren sichtbar.")
        return
    console.print(overview_table(rows, day, title=f"Familienzentren, Stand {day:%d.%m.%Y} ({len(rows)})"))


@click.command("history")
@click.argument("procedure_id", metavar="VERFAHREN")
@as_option
@with_db
def history(ctx: click.Context, procedure_id: str, actor: str) -> None:
    """Verlauf eines Verfahrens: wann, wer, was, von welchem Zustand in welchen, warum."""
    from .views import history_table

    services = _services()
    rows = run(ctx, lambda uow: services.history(uow, actor, procedure_id))
    make_console().print(history_table(rows, title=f"Verlauf des Verfahrens {procedure_id} ({len(rows)} Einträge)"))


# --- procedure ----------------------------------------------------------------------------------------------------


@click.group("procedure")
def procedure() -> None:
    """Ein Zertifizierungsverfahren Schritt für Schritt (Nominierung bis Entscheidung)."""


@procedure.command("nominate")
@click.argument("familienzentrum_id", metavar="FAMILIENZENTRUM")
@click.option("--kgj", type=KGJ, required=True, help="Kindergartenjahr des Kontingentplatzes, z. B. 2025/26")
@click.option("--id", "procedure_id", default=None, help="Kennung des Verfahrens (sonst V-<Jahr>-<Nr.>)")
@click.option("--catalogue", "catalogue_key", default="familienzentrum-nrw@2020", show_default=True,
              help="Katalog, auf den das Verfahren festgelegt wird")
@as_option
@reason_option
@with_db
def nominate(ctx, familienzentrum_id, kgj, procedure_id, catalogue_key, actor, reason) -> None:
    """Das Jugendamt nominiert ein Familienzentrum für einen Platz seines Kontingents (Erst-Zertifizierung)."""
    report(run(ctx, lambda uow: _services().nominate(uow, actor, familienzentrum_id, kgj, reason,
                                                     procedure_id=procedure_id, catalogue_key=catalogue_key)))


def _simple(name: str, service: str, doc: str) -> None:
    @procedure.command(name, help=doc)
    @click.argument("procedure_id", metavar="VERFAHREN")
    @as_option
    @reason_option
    @with_db
    def command(ctx, procedure_id, actor, reason) -> None:
        report(run(ctx, lambda uow: getattr(_services(), service)(uow, actor, procedure_id, reason)))


_simple("register", "register", "Die Kita meldet sich bei der Zertifizierungsstelle an.")
_simple("start", "start_development", "Das Entwicklungsjahr beginnt.")
_simple("request-changes", "request_changes", "Die Zertifizierungsstelle fordert eine Nachbesserung an.")
_simple("withdraw", "withdraw", "Das Verfahren zurückziehen (Kita-Leitung, Jugendamt oder Administration).")


@procedure.command("sign-off")
@click.argument("procedure_id", metavar="VERFAHREN")
@click.option("-o", "--output", "out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Das abgezeichnete Auditpaket (PDF) hierhin schreiben")
@as_option
@reason_option
@with_db
def sign_off(ctx, procedure_id, out, actor, reason) -> None:
    """Der Auditor zeichnet Begehung und Auditpaket ab; danach sind sie eingefroren.

    Das Auditpaket wird dabei erzeugt und seine SHA-256 mit der Abzeichnung gespeichert;
    certflow packet verify DATEI prüft später, ob eine Datei genau dieses Paket ist.
    """
    from .documents import configured_signer
    from .session import use

    if out is not None and not out.parent.is_dir():
        raise click.BadParameter(f"Ordner {out.parent} gibt es nicht", param_hint="-o")
    signer = configured_signer(ctx) if out is not None else None
    result = use(ctx, lambda app: _services().sign_off(app, actor, procedure_id, reason))
    report(result)
    if out is not None and result.document is not None:
        from ..packet import PacketError, write_pdf

        try:
            written = write_pdf(out, result.document, signer=signer)
        except PacketError as exc:  # the sign-off stands; the packet can be rendered and signed again
            click.echo(f"Fehler: {exc}; die Abzeichnung ist gespeichert, das Paket bitte mit "
                       f"certflow packet {procedure_id} -o DATEI erneut erzeugen", err=True)
            raise SystemExit(EXIT_INPUT) from None
        click.echo(f"Auditpaket {out} geschrieben" + (", digital signiert (PAdES)" if written.signed else ""))


def _submission(name: str, service: str, doc: str) -> None:
    @procedure.command(name, help=doc)
    @click.argument("procedure_id", metavar="VERFAHREN")
    @click.argument("assessment", metavar="SELBSTBEWERTUNG", type=click.Path(dir_okay=False, path_type=Path))
    @click.option("--evidence-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
                  help="Ordner mit den Belegdateien (file: in der Selbstbewertung); sie kommen in den Belegspeicher "
                       "(CERTFLOW_EVIDENCE_DIR, sonst ./certflow-evidence)")
    @as_option
    @reason_option
    @with_db
    def command(ctx, procedure_id, assessment, evidence_dir, actor, reason) -> None:
        services = _services()
        store = app_for(ctx).evidence_store() if evidence_dir is not None else None
        report(run(ctx, lambda uow: getattr(services, service)(
            uow, actor, procedure_id, assessment, reason, evidence_dir=evidence_dir, evidence_store=store)))


_submission("submit", "submit", "Die Selbstbewertung (YAML/JSON) einreichen: sie wird bewertet und eingefroren.")
_submission("resubmit", "resubmit", "Die nachgebesserte Selbstbewertung einreichen (neue Revision).")


@procedure.command("schedule-audit")
@click.argument("procedure_id", metavar="VERFAHREN")
@click.option("--auditor", "auditor_id", required=True, metavar="BENUTZER", help="Der beauftragte Auditor")
@click.option("--date", "audit_date", type=DATE, required=True, help="Vereinbarter Tag der Begehung")
@as_option
@reason_option
@with_db
def schedule_audit(ctx, procedure_id, auditor_id, audit_date, actor, reason) -> None:
    """Die Zertifizierungsstelle beauftragt einen unbefangenen Auditor und plant die Begehung."""
    report(run(ctx, lambda uow: _services().schedule_audit(uow, actor, procedure_id, auditor_id, audit_date, reason)))


@procedure.command("record-audit")
@click.argument("procedure_id", metavar="VERFAHREN")
@click.option("--date", "visit_date", type=DATE, required=True, help="Tag der Begehung")
@click.option("--site", "sites", multiple=True, metavar="KITA",
              help="Begangener Standort (Verbund: Zuschussempfänger und eine weitere Einrichtung)")
@click.option("--verdicts", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="YAML-Datei mit Bewertungen je Kriterium: '1.1: {verdict: erfuellt, remark: ...}'")
@as_option
@reason_option
@with_db
def record_audit(ctx, procedure_id, visit_date, sites, verdicts, actor, reason) -> None:
    """Der beauftragte Auditor erfasst die Begehung und seine Bewertungen."""
    report(run(ctx, lambda uow: _services().record_audit(uow, actor, procedure_id, visit_date, reason,
                                                         sites=tuple(sites) or None, verdicts=verdicts)))


@procedure.command("verdicts")
@click.argument("procedure_id", metavar="VERFAHREN")
@click.argument("verdicts", metavar="BEWERTUNGEN", type=click.Path(dir_okay=False, path_type=Path))
@as_option
@reason_option
@with_db
def verdicts(ctx, procedure_id, verdicts, actor, reason) -> None:
    """Bewertungen ergänzen oder korrigieren (nur bis zur Abzeichnung der Begehung)."""
    report(run(ctx, lambda uow: _services().record_verdicts(uow, actor, procedure_id, verdicts, reason)))


@procedure.command("decide")
@click.argument("procedure_id", metavar="VERFAHREN")
@click.option("--outcome", type=click.Choice(["certify", "reject"]), required=True,
              help="certify: Gütesiegel erteilen; reject: ablehnen")
@as_option
@reason_option
@with_db
def decide(ctx, procedure_id, outcome, actor, reason) -> None:
    """Die Zertifizierungsstelle entscheidet (Vier-Augen-Prinzip); certify stellt das Gütesiegel aus."""
    from ..lifecycle.entities import Outcome

    chosen = Outcome.CERTIFIED if outcome == "certify" else Outcome.NOT_CERTIFIED
    report(run(ctx, lambda uow: _services().decide(uow, actor, procedure_id, chosen, reason)))


# --- certificate --------------------------------------------------------------------------------------------------


@click.group("certificate", cls=DefaultGroup, default_command="render")
def certificate() -> None:
    """Gütesiegel: Urkunde erzeugen, Re-Zertifizierung eröffnen, Fristen fortschreiben."""


@certificate.command("recertify")
@click.argument("familienzentrum_id", metavar="FAMILIENZENTRUM")
@click.option("--kgj", type=KGJ, default=None, help="Kindergartenjahr (sonst das Jahr, in dem sie fällig ist)")
@click.option("--force", is_flag=True, default=False,
              help="Auch vor dem Re-Zertifizierungsfenster eröffnen (die Begründung steht mit --reason im "
                   "Prüfprotokoll)")
@as_option
@reason_option
@with_db
def recertify(ctx, familienzentrum_id, kgj, force, actor, reason) -> None:
    """Die Re-Zertifizierung eröffnen; sie kann nicht auf ein späteres Jahr verschoben werden.

    Vor dem Re-Zertifizierungsfenster (Unterlagen ab 1. Oktober vor dem Prüfzeitraum) nur mit --force.
    """
    report(run(ctx, lambda uow: _services().start_recertification(uow, actor, familienzentrum_id, reason, kgj=kgj,
                                                                  force=force)))


@certificate.command("advance")
@as_option
@click.option("--reason", default="Fristen der Gütesiegel fortgeschrieben", show_default=True,
              help="Warum (steht im Prüfprotokoll)")
@with_db
def advance(ctx, actor, reason) -> None:
    """Fällige Re-Zertifizierungen eröffnen und abgelaufene Gütesiegel ablaufen lassen (täglicher Lauf)."""
    report(run(ctx, lambda uow: _services().advance_certificates(uow, actor, reason)))


@certificate.command("render")
@click.argument("number", metavar="NUMMER")
@click.option("-o", "--output", "out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Zieldatei (PDF)")
@as_option
@with_db
def render_certificate_command(ctx, number, out, actor) -> None:
    """Die Urkunde eines Gütesiegels (neueste Laufzeit) als PDF/A-3 erzeugen."""
    from ..services.rendering import render_certificate
    from .session import use

    result = use(ctx, lambda app: render_certificate(app, actor, number, out))
    click.echo(f"Urkunde {out}: {result.pages} Seite(n)")
    click.echo(f"SHA-256: {result.sha256}")


# --- contingent ---------------------------------------------------------------------------------------------------


@click.group("contingent")
def contingent() -> None:
    """Kontingente: Plätze zuteilen, zurückgeben, ins nächste Kindergartenjahr übertragen."""


@contingent.command("grant")
@click.argument("jugendamt_id", metavar="JUGENDAMT")
@click.option("--kgj", type=KGJ, required=True, help="Kindergartenjahr, z. B. 2025/26")
@click.option("--places", type=click.IntRange(min=1, max=MAX_PLACES), required=True,
              help=f"Anzahl neuer Plätze (1 bis {MAX_PLACES})")
@as_option
@reason_option
@with_db
def grant(ctx, jugendamt_id, kgj, places, actor, reason) -> None:
    """Neue Plätze laut Erlass zuteilen (Administration)."""
    report(run(ctx, lambda uow: _services().grant(uow, actor, jugendamt_id, kgj, places, reason)))


@contingent.command("return")
@click.argument("jugendamt_id", metavar="JUGENDAMT")
@click.option("--kgj", type=KGJ, required=True, help="Kindergartenjahr, z. B. 2025/26")
@click.option("--places", type=click.IntRange(min=1, max=MAX_PLACES), default=1, show_default=True,
              help=f"Anzahl der Plätze (1 bis {MAX_PLACES})")
@as_option
@reason_option
@with_db
def return_(ctx, jugendamt_id, kgj, places, actor, reason) -> None:
    """Ungenutzte Plätze an das Land zurückgeben."""
    report(run(ctx, lambda uow: _services().return_places(uow, actor, jugendamt_id, kgj, places, reason)))


@contingent.command("carry-over")
@click.argument("jugendamt_id", metavar="JUGENDAMT")
@click.option("--kgj", type=KGJ, required=True, help="Kindergartenjahr der zurückgegebenen Plätze")
@as_option
@reason_option
@with_db
def carry_over(ctx, jugendamt_id, kgj, actor, reason) -> None:
    """Zurückgegebene Plätze im nächsten Kindergartenjahr erneut anbieten (einmal)."""
    report(run(ctx, lambda uow: _services().carry_over(uow, actor, jugendamt_id, kgj, reason)))


# --- verbund ------------------------------------------------------------------------------------------------------


@click.group("verbund")
def verbund() -> None:
    """Verbund: eine Kita tritt bei oder aus; eine Einzeleinrichtung wird zum Verbund."""


_EXCEPTION_HELP = ("Begründung einer Ausnahme von „in der Regel höchstens 5 Einrichtungen im Umkreis von 3 km“ "
                   "(z. B. Ministerium oder Jugendhilfeplanung); steht im Prüfprotokoll")


@verbund.command("join")
@click.argument("familienzentrum_id", metavar="FAMILIENZENTRUM")
@click.argument("kita_id", metavar="KITA")
@click.option("--exception-reason", default=None, metavar="TEXT", help=_EXCEPTION_HELP)
@as_option
@reason_option
@with_db
def join(ctx, familienzentrum_id, kita_id, exception_reason, actor, reason) -> None:
    """Eine Kita tritt dem Verbund bei (sie trägt dessen Gütesiegel bis zum Ablauf).

    Eine sechste Einrichtung oder eine mehr als 3 km entfernte nur mit --exception-reason.
    """
    report(run(ctx, lambda uow: _services().join(uow, actor, familienzentrum_id, kita_id, reason,
                                                 exception_reason=exception_reason)))


@verbund.command("leave")
@click.argument("familienzentrum_id", metavar="FAMILIENZENTRUM")
@click.argument("kita_id", metavar="KITA")
@click.option("--new-zuschussempfaenger", "new_zue", default=None, metavar="KITA",
              help="Neuer Zuschussempfänger, wenn der bisherige austritt")
@as_option
@reason_option
@with_db
def leave(ctx, familienzentrum_id, kita_id, new_zue, actor, reason) -> None:
    """Eine Kita tritt aus; bleibt nicht mehr als die Hälfte, wird das Gütesiegel widerrufen."""
    report(run(ctx, lambda uow: _services().leave(uow, actor, familienzentrum_id, kita_id, reason,
                                                  new_zuschussempfaenger_id=new_zue)))


@verbund.command("restructure")
@click.argument("familienzentrum_id", metavar="FAMILIENZENTRUM")
@click.option("--kita", "kita_ids", multiple=True, required=True, metavar="KITA",
              help="Einrichtung des neuen Verbunds, die bisherige eingeschlossen (mehrfach angeben)")
@click.option("--zuschussempfaenger", "zue", default=None, metavar="KITA",
              help="Zuschussempfänger des Verbunds (sonst die bisherige Einrichtung)")
@click.option("--kgj", type=KGJ, default=None,
              help="Kindergartenjahr der neuen Zertifizierung (sonst das Jahr, in dem das Gütesiegel fällig ist)")
@click.option("--exception-reason", default=None, metavar="TEXT", help=_EXCEPTION_HELP)
@click.option("--id", "procedure_id", default=None, help="Kennung des Verfahrens (sonst V-<Jahr>-<Nr.>)")
@as_option
@reason_option
@with_db
def restructure(ctx, familienzentrum_id, kita_ids, zue, kgj, exception_reason, procedure_id, actor, reason) -> None:
    """Aus einer Einzeleinrichtung wird ein Verbund: eine neue Zertifizierung mit neuer Zertifizierungsnummer.

    Das bisherige Gütesiegel gilt weiter, bis die neue Urkunde es ablöst; es wird nicht re-zertifiziert.
    """
    from ..services.verbund import restructure as restructure_verbund

    report(run(ctx, lambda uow: restructure_verbund(
        uow, actor, familienzentrum_id, list(kita_ids), zue, reason, kgj=kgj, exception_reason=exception_reason,
        procedure_id=procedure_id)))
