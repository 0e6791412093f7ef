"""``certflow serve``: the web application (uvicorn), and the serving half of ``certflow demo --serve``.

``certflow serve [--host 127.0.0.1] [--port 8000] [--workers 1] [--db URL|DATEI] [--secure-cookies]``
checks the database (reachable, schema current: exit 2 otherwise) and the evidence store, then
serves the pages of :mod:`certflow.web` until Ctrl+C. ``--secure-cookies`` sends the session
cookie over HTTPS only (behind TLS).

The session cookie is signed with ``CERTFLOW_WEB_SECRET`` (at least 32 characters; a shorter one
is refused, exit 2). Without it a key is made at start-up: sessions end when the server stops.

``--workers N`` (N > 1) runs N worker processes (uvicorn's supervisor; each worker builds its
app with :func:`certflow.web.app.app_from_env` from the environment this command prepares:
the database chosen with ``--db``, the evidence store, the secret, the cookie flag). Without
``CERTFLOW_WEB_SECRET`` the key is made once here and handed to all workers, so a session made
by one is accepted by the others (and ends when the server stops). SQLite with several workers
is allowed, with a warning: it stays correct (every transaction takes the database file's write
lock, ``BEGIN IMMEDIATE``, which holds across processes; the scheduler's lock is a file lock),
but the workers then wait for each other on that lock, so only the page rendering runs in
parallel; several workers are meant for PostgreSQL.

``certflow demo --serve`` sets a password for every demo user (:func:`certflow.demo_data.demo_password`,
derived from the user and ``--today``: demo only), prints them as the demo logins and serves
the demo database with a clock that runs from the demo's day on (so the pages show the
demo's deadlines as of ``--today``).
"""

from __future__ import annotations

import errno
import os
import secrets
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


HEALTHCHECK_SECONDS = 60
"""How long uvicorn's supervisor waits for a busy worker's answer before it kills and restarts it."""


def _announce(host: str, port: int, workers: int = 1) -> None:
    shown = f"[{host}]" if ":" in host else host
    how = f" mit {workers} Arbeitsprozessen" if workers > 1 else ""
    click.echo(f"certflow läuft auf http://{shown}:{port}/{how} (beenden mit Strg+C)")


def serve_app(app, *, host: str, port: int, secure_cookies: bool = False) -> None:
    """Serve ``app`` (an :class:`~certflow.services.runner.Application`) on ``host:port`` until Ctrl+C."""
    import uvicorn

    from ..web import WebConfig, create_app

    _check_port(host, port)
    web = create_app(app, WebConfig.from_settings(app.settings, secure_cookies=secure_cookies))
    _announce(host, port)
    uvicorn.run(web, host=host, port=port, log_level="warning", proxy_headers=False, server_header=False)


def serve_workers(settings, *, host: str, port: int, workers: int) -> None:
    """Serve with ``workers`` processes, each building its app from the environment (:func:`app_from_env`)."""
    import uvicorn

    _check_port(host, port)
    os.environ.update(settings.environment())  # the workers are spawned: they inherit this environment
    _announce(host, port, workers)
    # The supervisor kills a worker that does not answer its health check in time; a worker busy with a burst of
    # logins (argon2 takes CPU and memory by design) on a loaded machine can take longer than uvicorn's 5 s, and
    # a killed worker drops every connection it holds. Give it HEALTHCHECK_SECONDS.
    uvicorn.run("certflow.web.app:app_from_env", factory=True, workers=workers, host=host, port=port,
                log_level="warning", proxy_headers=False, server_header=False,
                timeout_worker_healthcheck=HEALTHCHECK_SECONDS)


def _secret_problem(secret: str | None) -> str | None:
    from ..settings import MIN_WEB_SECRET, WEB_SECRET_ENV

    if secret is None or len(secret) >= MIN_WEB_SECRET:
        return None
    return (f"Fehler: {WEB_SECRET_ENV} ist zu kurz ({len(secret)} Zeichen, mindestens {MIN_WEB_SECRET}); "
            f"einen neuen Schlüssel gibt: python -c \"import secrets; print(secrets.token_urlsafe(32))\"")


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Adresse, auf der der Server lauscht")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535), help="Port")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Anzahl der Arbeitsprozesse (mehr als einer: für PostgreSQL; CERTFLOW_WEB_SECRET setzen, "
                   "damit Sitzungen einen Neustart überstehen)")
@click.option("--secure-cookies", is_flag=True, help="Sitzungs-Cookie nur über HTTPS senden (hinter TLS)")
@with_db
def serve(ctx: click.Context, host: str, port: int, workers: int, secure_cookies: bool) -> None:
    """Die Webanwendung starten (deutsch, im Browser; Anmeldung mit Passwort)."""
    from ..services.runner import UseCaseError
    from ..settings import WEB_SECRET_ENV

    app = app_for(ctx)
    try:
        backend = app.engine.dialect.name  # reachable and at the current schema, or exit 2 now
        app.evidence_store()               # a usable CERTFLOW_EVIDENCE_STORE, or exit 2 now
    except UseCaseError as exc:
        fail(exc)
    problem = _secret_problem(app.settings.web_secret)
    if problem:
        click.echo(problem, err=True)
        raise SystemExit(EXIT_INPUT)
    if workers == 1:
        serve_app(app, host=host, port=port, secure_cookies=secure_cookies or app.settings.web_secure_cookies)
        return
    settings = app.settings.with_(web_secure_cookies=secure_cookies or app.settings.web_secure_cookies)
    if backend == "sqlite":
        click.echo(f"Warnung: SQLite mit {workers} Arbeitsprozessen: jeder Schreib- und Lesevorgang wartet auf die "
                   "Sperre der Datenbankdatei, die Prozesse arbeiten also nacheinander; für mehrere Arbeitsprozesse "
                   "PostgreSQL verwenden (CERTFLOW_DATABASE_URL=postgresql://…)", err=True)
    if settings.evidence_location.startswith("memory:"):
        click.echo("Fehler: ein Belegspeicher im Arbeitsspeicher (memory:) gehört zu einem Prozess; mehrere "
                   "Arbeitsprozesse brauchen einen gemeinsamen Speicher (CERTFLOW_EVIDENCE_STORE=local:PFAD)", err=True)
        raise SystemExit(EXIT_INPUT)
    if not settings.web_secret:
        settings = settings.with_(web_secret=secrets.token_urlsafe(32))
        click.echo(f"Hinweis: {WEB_SECRET_ENV} ist nicht gesetzt: ein Schlüssel für diesen Lauf gilt in allen "
                   f"Arbeitsprozessen; Sitzungen enden, wenn der Server stoppt", err=True)
    app.close()  # the workers open their own engines
    serve_workers(settings, host=host, port=port, workers=workers)


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

