"""``certflow packet render|verify``: the audit packet of one procedure as PDF/A-3, and its check.

``render`` has the packet made from the database as the user named with ``--as`` (read scope
applies; :func:`certflow.services.rendering.render_packet`: read in one unit of work, rendered in
a worker process) and prints pages and SHA-256; ``certflow packet VERFAHREN …`` is short for it
(:class:`.default_group.DefaultGroup`). With ``--all --jugendamt ID`` it renders the packets of
every procedure of that Jugendamt the user may see that has a submitted self-assessment, in
parallel (:func:`certflow.services.rendering.render_all_packets`); exit 1 when some failed.
``verify`` tells whether a file is the packet with the given SHA-256 (or the one stored with the sign-off).
Exit codes: 0 done / matches, 1 does not match, 2 bad input, 3 refused (see :mod:`.session`).
"""

from __future__ import annotations

from pathlib import Path

import click
from click.core import ParameterSource

from .default_group import DefaultGroup
from .documents import configured_signer, target_file
from .session import EXIT_INPUT, as_option, run, use, with_db

__all__ = ["packet"]


_BATCH_ONLY = ("jugendamt_id", "workers", "timeout_s", "memory_mb")  # --no-progress is harmless alone


def _render_all(ctx: click.Context, jugendamt_id: str, out_dir: Path, actor: str, workers: int, timeout_s: float,
                memory_mb: int, progress: bool) -> None:
    """``packet --all --jugendamt ID -o DIR``: every packet of the Jugendamt the actor may see, in parallel."""
    import sys

    from ..services.rendering import render_all_packets
    from .documents import echo_batch

    if out_dir.exists() and not out_dir.is_dir():
        raise click.BadParameter(f"{out_dir} ist eine Datei; mit --all einen Ordner angeben", param_hint="'-o'")
    signer = configured_signer(ctx)
    report = use(ctx, lambda app: render_all_packets(
        app, actor, jugendamt_id, out_dir, signer=signer, workers=workers, timeout_s=timeout_s, memory_mb=memory_mb,
        progress=progress and sys.stderr.isatty()))
    if not report.ok and not report.failed:
        click.echo(f"Keine Verfahren mit eingereichter Selbstbewertung im Jugendamt {jugendamt_id}, "
                   f"die {actor} sehen darf.")
        return
    echo_batch(report)
    if report.failed:
        raise SystemExit(1)


@click.group("packet", cls=DefaultGroup, default_command="render")
def packet() -> None:
    """Auditpaket (PDF/A-3): aus der Datenbank erzeugen und prüfen.

    \b
    certflow packet VERFAHREN -o DATEI --as BENUTZER              ein Auditpaket
    certflow packet --all --jugendamt ID -o ORDNER --as BENUTZER  alle eines Jugendamts
    certflow packet verify DATEI --as BENUTZER                    prüfen
    """


@packet.command("render")
@click.argument("procedure_id", metavar="[VERFAHREN]", required=False)
@click.option("-o", "--output", "out", type=click.Path(path_type=Path), required=True,
              help="Zieldatei (PDF); mit --all der Zielordner (je Verfahren <VERFAHREN>.pdf)")
@as_option
@click.option("--all", "all_", is_flag=True, help="Alle Auditpakete eines Jugendamts (mit --jugendamt)")
@click.option("--jugendamt", "jugendamt_id", default=None, metavar="JUGENDAMT", help="Mit --all: das Jugendamt")
@click.option("--workers", type=click.IntRange(min=1), default=2, show_default=True,
              help="Mit --all: so viele Dokumente gleichzeitig (Arbeitsprozesse)")
@click.option("--timeout", "timeout_s", type=click.FloatRange(min=0, min_open=True), default=120, show_default=True,
              metavar="SEKUNDEN", help="Mit --all: Zeitlimit je Dokument")
@click.option("--memory-mb", type=click.IntRange(min=64), default=1024, show_default=True, metavar="MB",
              help="Mit --all: Speichergrenze je Arbeitsprozess")
@click.option("--progress/--no-progress", default=True, show_default=True,
              help="Mit --all: Fortschrittsbalken (nur am Terminal)")
@with_db
def render(ctx: click.Context, procedure_id: str | None, out: Path, actor: str, all_: bool,
           jugendamt_id: str | None, workers: int, timeout_s: float, memory_mb: int, progress: bool) -> None:
    """Das Auditpaket eines Verfahrens erzeugen; gibt Seiten und SHA-256 aus.

    Mit --all --jugendamt JUGENDAMT die Auditpakete aller Verfahren dieses Jugendamts mit
    eingereichter Selbstbewertung, die BENUTZER sehen darf, parallel in den Ordner -o: eine
    Zeile je Datei (Seiten, SHA-256), dann die Fehler je Datei. Ein fehlerhaftes Verfahren
    hält die anderen nicht auf.

    Exit-Codes: 0 alle erstellt, 1 einige fehlgeschlagen (mit --all), 2 fehlerhafter Aufruf
    (unbekanntes Jugendamt, -o ist eine Datei), 3 abgelehnt (z. B. ein fremdes Jugendamt).
    """
    from ..services.rendering import render_packet

    if all_:
        if procedure_id is not None:
            raise click.UsageError("entweder VERFAHREN oder --all angeben, nicht beides")
        if not jugendamt_id:
            raise click.UsageError("--all braucht --jugendamt JUGENDAMT")
        _render_all(ctx, jugendamt_id, out, actor, workers, timeout_s, memory_mb, progress)
        return
    for param in ctx.command.params:
        if param.name in _BATCH_ONLY and ctx.get_parameter_source(param.name) is not ParameterSource.DEFAULT:
            raise click.UsageError(f"{param.get_error_hint(ctx)} nur mit --all")
    if procedure_id is None:
        raise click.UsageError("VERFAHREN angeben, oder --all --jugendamt JUGENDAMT")
    target_file(out)
    signer = configured_signer(ctx)
    result = use(ctx, lambda app: render_packet(app, actor, procedure_id, out, signer=signer))
    click.echo(f"Auditpaket {out}: {result.pages} Seiten" + (", digital signiert (PAdES)" if result.signed else ""))
    click.echo(f"SHA-256: {result.sha256}")


@packet.command("verify")
@click.argument("file", metavar="DATEI", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--as", "actor", default=None, metavar="BENUTZER",
              help="Wer prüft: vergleicht mit der SHA-256, die bei der Abzeichnung gespeichert wurde")
@click.option("--procedure", "procedure_id", default=None, metavar="VERFAHREN",
              help="Das Verfahren (sonst aus dem eingebetteten manifest.json)")
@click.option("--sha256", "expected", default=None, metavar="HEX",
              help="Statt der Datenbank: mit dieser SHA-256 vergleichen")
@click.option("--trust", "trust_roots", multiple=True, metavar="ZERTIFIKAT",
              type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="Zertifikat (PEM/DER), auf das eine digitale Signatur zurückgehen muss (mehrfach möglich); "
                   "ohne --trust wird nicht geprüft, wer signiert hat")
@with_db
def verify(ctx: click.Context, file: Path, actor: str | None, procedure_id: str | None,
           expected: str | None, trust_roots: tuple[Path, ...]) -> None:
    """Prüfen, ob DATEI das abgezeichnete Auditpaket ist (Exit 0 ja, 1 nein, 2 keine lesbare Datei).

    Mit --as liest certflow das Verfahren aus dem eingebetteten manifest.json und vergleicht mit
    der SHA-256, die bei der Abzeichnung gespeichert wurde.

    Folgt dem Paket eine digitale Signatur, nennt die Ausgabe jede Prüfung: Signatur intakt,
    Signatur vertrauenswürdig (nur mit --trust: sie muss auf ein angegebenes Zertifikat
    zurückgehen) und nach der Signatur unverändert (nichts außer weiteren Signaturen
    vertrauenswürdiger Unterzeichner hinzugefügt). Schlägt eine fehl: Exit 1.
    """
    from ..packet import PacketError, read_manifest, verify_packet

    try:
        if not expected:
            if not actor:
                raise click.UsageError("--as BENUTZER angeben (oder --sha256 HEX)")
            named = str(read_manifest(file).get("procedure", {}).get("id") or "")
            if procedure_id and named and named != procedure_id:
                click.echo(f"Die Datei ist NICHT das Auditpaket des Verfahrens {procedure_id}: "
                           f"sie gehört zum Verfahren {named}.")
                raise SystemExit(1)
            procedure_id = procedure_id or named
            if not procedure_id:
                raise PacketError(f"{file}: das eingebettete manifest.json nennt kein Verfahren")
            from ..services.documents import stored_packet_sha256

            expected = run(ctx, lambda uow: stored_packet_sha256(uow, actor, procedure_id))
            if not expected:
                click.echo(f"Die Datei ist NICHT abgezeichnet: zum Verfahren {procedure_id} ist keine SHA-256 "
                           "eines abgezeichneten Auditpakets gespeichert.")
                raise SystemExit(1)
        result = verify_packet(file, expected, trust_roots=list(trust_roots))
    except PacketError as exc:
        click.echo(f"Fehler: {exc}", err=True)
        raise SystemExit(EXIT_INPUT) from None
    click.echo(result.message)
    if not result.ok:
        raise SystemExit(1)
