"""``certflow packet render|verify``: the audit packet of one procedure as PDF/A-3, and its check.

``render`` builds the packet from the database (:func:`certflow.services.documents.packet_data`)
as the user named with ``--as`` (read scope applies) and prints pages and SHA-256.
``verify`` tells whether a file is the packet with the given SHA-256 (or the one stored with the sign-off).
Exit codes: 0 done / matches, 1 does not match, 2 bad input, 3 refused (see :mod:`.session`).
"""

from __future__ import annotations

from pathlib import Path

import click

from .session import EXIT_INPUT, as_option, run, with_db

__all__ = ["packet"]


def _render_or_fail(render, data, out: Path):
    from ..packet import PacketError

    try:
        return render(data, out)
    except PacketError as exc:
        click.echo(f"Fehler: {exc}", err=True)
        raise SystemExit(EXIT_INPUT) from None


@click.group("packet")
def packet() -> None:
    """Auditpaket (PDF/A-3): aus der Datenbank erzeugen und prüfen."""


@packet.command("render")
@click.argument("procedure_id", metavar="VERFAHREN")
@click.option("-o", "--output", "out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Zieldatei (PDF)")
@as_option
@with_db
def render(ctx: click.Context, procedure_id: str, out: Path, actor: str) -> None:
    """Das Auditpaket eines Verfahrens erzeugen; gibt Seiten und SHA-256 aus."""
    from ..packet import render_packet
    from ..services.documents import packet_data

    data = run(ctx, lambda uow: packet_data(uow, actor, procedure_id))
    result = _render_or_fail(render_packet, data, out)
    click.echo(f"Auditpaket {out}: {result.pages} Seiten")
    click.echo(f"SHA-256: {result.sha256}")


@packet.command("verify")
@click.argument("file", metavar="DATEI", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--sha256", "expected", default=None, metavar="HEX", help="Die bei der Abzeichnung gespeicherte SHA-256")
@click.option("--procedure", "procedure_id", default=None, metavar="VERFAHREN",
              help="Ohne --sha256: die beim Verfahren gespeicherte SHA-256 verwenden (mit --as)")
@click.option("--as", "actor", default=None, metavar="BENUTZER", help="Wer prüft (mit --procedure)")
@with_db
def verify(ctx: click.Context, file: Path, expected: str | None, procedure_id: str | None,
           actor: str | None) -> None:
    """Prüfen, ob DATEI das abgezeichnete Auditpaket ist (Exit 0 ja, 1 nein)."""
    from ..packet import PacketError, verify_packet

    if not expected:
        if not procedure_id or not actor:
            raise click.UsageError("--sha256 angeben, oder --procedure und --as")
        from ..services.documents import stored_packet_sha256

        expected = run(ctx, lambda uow: stored_packet_sha256(uow, actor, procedure_id))
        if not expected:
            click.echo(f"Zum Verfahren {procedure_id} ist keine SHA-256 eines Auditpakets gespeichert; "
                       "bitte --sha256 angeben", err=True)
            raise SystemExit(EXIT_INPUT)
    try:
        result = verify_packet(file, expected)
    except PacketError as exc:
        click.echo(f"Fehler: {exc}", err=True)
        raise SystemExit(EXIT_INPUT) from None
    click.echo(result.message)
    if not result.ok:
        raise SystemExit(1)
