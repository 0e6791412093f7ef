"""``certflow serve``: the web application (uvicorn), and the serving half of ``certflow demo --serve``.

``certflow serve [--host 127.0.0.1] [--port 8000] [--db URL|DATEI] [--secure-cookies]`` checks
the database (reachable, schema current: exit 2 otherwise), then serves the pages of
:mod:`certflow.web` until Ctrl+C. The session key is made at start-up, so sessions end when
the server stops. ``--secure-cookies`` sends the session cookie over HTTPS only (behind TLS).

``certflow demo --serve`` sets a password for every demo user (:func:`certflow.demo_data.demo_password`,
derived from the user and ``--today``: demo only), prints them as the demo logins and serves
the demo database with a clock that runs from the demo's day on (so the pages show the
demo's deadlines as of ``--today``).
"""

from __future__ import annotations

import errno
import socket
from datetime import date
from pathlib import Path

import click

from .console import make_console
from .session import EXIT_INPUT, app_for, fail, with_db

__all__ = ["serve", "serve_app", "serve_demo"]


def _check_port(host: str, port: int) -> None:
    """Exit 2 with a German message when the address cannot be bound (in use, unknown host)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror:
        click.echo(f"Fehler: Adresse {host} ist unbekannt", err=True)
        raise SystemExit(EXIT_INPUT) from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            why = "ist schon belegt" if exc.errno == errno.EADDRINUSE else f"ist nicht nutzbar ({exc.strerror})"
            click.echo(f"Fehler: {host}:{port} {why}; bitte mit --port einen anderen Port wählen", err=True)
            raise SystemExit(EXIT_INPUT) from None


def serve_app(app, *, host: str, port: int, secure_cookies: bool = False) -> None:
    """Serve ``app`` (an :class:`~certflow.services.runner.Application`) on ``host:port`` until Ctrl+C."""
    import uvicorn

    from ..web import WebConfig, create_app

    _check_port(host, port)
    web = create_app(app, WebConfig(secure_cookies=secure_cookies))
    shown = f"[{host}]" if ":" in host else host
    click.echo(f"certflow läuft auf http://{shown}:{port}/ (beenden mit Strg+C)")
    uvicorn.run(web, host=host, port=port, log_level="warning", proxy_headers=False, server_header=False)


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Adresse, auf der der Server lauscht")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535), help="Port")
@click.option("--secure-cookies", is_flag=True, help="Sitzungs-Cookie nur über HTTPS senden (hinter TLS)")
@with_db
def serve(ctx: click.Context, host: str, port: int, secure_cookies: bool) -> None:
    """Die Webanwendung starten (deutsch, im Browser; Anmeldung mit Passwort)."""
    from ..services.runner import UseCaseError

    app = app_for(ctx)
    try:
        app.engine  # noqa: B018 - reachable and at the current schema, or exit 2 now
    except UseCaseError as exc:
        fail(exc)
    serve_app(app, host=host, port=port, secure_cookies=secure_cookies)


def running_from(day: date):
    """A clock that shows ``day`` at the current time of day and runs on (for serving the demo)."""
    from ..lifecycle.machinery import BERLIN, utc_now

    offset = day - utc_now().astimezone(BERLIN).date()  # whole days
    return lambda: utc_now() + offset


def serve_demo(db_path: Path, day: date, *, host: str = "127.0.0.1", port: int = 8000) -> None:
    """Set and print the demo logins, then serve the demo database (see the module)."""
    from rich.table import Table

    from ..demo_data import USERS, set_demo_passwords
    from ..services.runner import Application, UseCaseError

    _check_port(host, port)
    settings = app_for(click.get_current_context()).settings.with_(database_url=f"sqlite:///{db_path}")
    app = Application(settings, clock=running_from(day))
    try:
        passwords = app.run(lambda uow: set_demo_passwords(uow, day))
    except UseCaseError as exc:
        app.close()
        fail(exc)
    table = Table(title="Demo-Zugänge (nur für die Demo: die Passwörter folgen aus Benutzer und --today)")
    for column in ("Benutzer", "Name", "Rolle", "Passwort"):
        table.add_column(column)
    for user in USERS:
        table.add_row(user.id, user.name, user.role.label, passwords[user.id])
    make_console().print(table)
    with app:
        serve_app(app, host=host, port=port)

