"""``certflow reminders``, ``certflow inbox``, ``certflow calendar``, ``certflow scheduler``: reminders at the terminal.

* ``reminders plan --as-of DATE --as U``: what would go out on that day and to whom, without
  sending or writing anything (admin: all or ``--jugendamt``; coordinator: their Jugendamt);
* ``reminders run --as-of DATE --as ADMIN``: one scan now, as of that day (a catch-up); takes
  the scheduler's lock (``--wait`` waits for a running scheduler, otherwise exit 1);
* ``reminders outbox --as ADMIN`` / ``reminders retry KEY --as ADMIN --reason …``: the mail
  outbox with its errors, a failed mail sent again by hand;
* ``reminders contact [USER] --as U [--email A] [--preference P] [--reason …]``: one's own
  address and choice (an admin: anyone's);
* ``inbox --as USER``: one's own in-app inbox (the same messages as the mails);
* ``calendar --jugendamt ID | --familienzentrum ID -o FILE.ics --as U``: the iCalendar feed;
* ``scheduler run [--interval 300] [--once] --as ADMIN``: the clock (APScheduler), one process
  per database.

Each command parses its options, runs one use case of :mod:`certflow.services.reminders` (which
checks role and scope) and prints what it returns. Mail goes out only when the settings name a
mail server (``CERTFLOW_SMTP_HOST`` and ``CERTFLOW_SMTP_FROM``); otherwise messages reach the
inboxes and the outbox items wait, visibly. Exit codes: 0 done, 1 the lock is held by another
scheduler, 2 bad input, configuration or database, 3 refused (role, scope, unknown user or
record). The services, rich and the database are imported inside the commands.
"""

from __future__ import annotations

from datetime import date, datetime, time

import click

from .session import EXIT_INPUT, app_for, as_option, fail, run, with_db

__all__ = ["calendar_command", "inbox", "reminders", "scheduler"]

_AS_OF_HELP = "Stichtag JJJJ-MM-TT (oder Zeitpunkt JJJJ-MM-TTTHH:MM); ohne: jetzt"
_MODE_LABEL = {"immediate": "sofort", "daily": "täglich", "weekly": "wöchentlich"}
_STATUS_LABEL = {"pending": "wartet", "sending": "wird gesendet", "sent": "versandt", "failed": "fehlgeschlagen"}
_NO_MAIL = "Kein Mailserver eingerichtet (CERTFLOW_SMTP_HOST): Nachrichten nur im Posteingang."


def _services():
    from .. import services

    return services


def _usage(message: str):
    click.echo(message, err=True)
    raise SystemExit(EXIT_INPUT)


def _moment(as_of: str | None) -> datetime:
    """The scan's moment: now; a past or future day at 12:00 in NRW (after the digest hour); or a given time."""
    from ..lifecycle.machinery import BERLIN, local_date, utc_now

    now = utc_now()
    if not as_of:
        return now
    from ..calendar import date_range_problem

    at: datetime | None = None
    try:
        if "T" in as_of or " " in as_of.strip():
            at = datetime.fromisoformat(as_of.strip())
            day = at.date()
        else:
            day = date.fromisoformat(as_of.strip())
    except ValueError:
        _usage(f"--as-of: „{as_of}“ ist kein Datum (JJJJ-MM-TT) und kein Zeitpunkt (JJJJ-MM-TTTHH:MM)")
    problem = date_range_problem(day, "--as-of")  # outside it, the date arithmetic would overflow
    if problem:
        _usage(problem)
    if at is not None:
        return (at if at.tzinfo else at.replace(tzinfo=BERLIN)).astimezone(now.tzinfo)
    if day == local_date(now):
        return now
    return datetime.combine(day, time(12, 0), tzinfo=BERLIN).astimezone(now.tzinfo)


def _day(as_of: str | None) -> date:
    from ..lifecycle.machinery import local_date

    return local_date(_moment(as_of))


def _call(action):
    """Run a use case that manages its own transactions (scan, scheduler); failures as exit codes."""
    from ..services.runner import UseCaseError

    try:
        return action()
    except UseCaseError as exc:
        fail(exc)


def _console():
    from .console import make_console

    return make_console()


# -- reminders ------------------------------------------------------------------------------------------


@click.group("reminders")
def reminders() -> None:
    """Erinnerungen: planen, nachholen, Postausgang, Kontaktangaben."""


@reminders.command("plan")
@click.option("--as-of", "as_of", default=None, help=_AS_OF_HELP)
@click.option("--jugendamt", "jugendamt_id", default=None,
              help="nur dieses Jugendamt (Koordination: immer das eigene)")
@as_option
@with_db
def plan_command(ctx: click.Context, as_of: str | None, jugendamt_id: str | None, actor: str) -> None:
    """Zeigt, was an einem Tag versandt würde und an wen – ohne zu senden oder zu speichern."""
    from rich.table import Table

    from ..calendar import format_date_de
    from ..lifecycle.entities import ROLE_LABELS

    day = _day(as_of)
    preview = run(ctx, lambda uow: _services().plan_preview(uow, actor, day, jugendamt_id=jugendamt_id))

    def person(r) -> str:
        if r.user_id is None:
            return ROLE_LABELS[r.role]
        channel = _MODE_LABEL[r.preference.value] if r.preference is not None else "nur Posteingang"
        return f"{r.name} ({channel})"

    console = _console()
    table = Table(title=f"Erinnerungen am {format_date_de(day)}", show_lines=False)
    for name in ("Fällig", "Art", "Betreff", "Empfänger", "Versandt?"):
        table.add_column(name)
    for item in preview.reminders:
        r = item.reminder
        people = [person(x) for x in item.recipients]
        people += [f"niemand als {ROLE_LABELS[x.role]} ({x.scope}): Hinweis an die Administration"
                   for x in item.unresolved]
        if item.handed_over:
            detail = ", ".join(f"{n} {_STATUS_LABEL.get(s, s)}" for s, n in item.mail_states)
            sent = "ja" + (f" ({detail})" if detail else "")
        else:
            sent = "nein"
        table.add_row(format_date_de(r.due), r.kind, r.title, "\n".join(people), sent)
    console.print(table)
    console.print(f"{preview.would_send} würden am {format_date_de(day)} versandt, {preview.handed_over} bereits "
                  f"übergeben, {preview.stale} veraltet (werden übersprungen). Nichts wurde gesendet oder gespeichert.")


@reminders.command("run")
@click.option("--as-of", "as_of", default=None, help=_AS_OF_HELP)
@click.option("--wait/--no-wait", default=False, show_default=True,
              help="auf einen laufenden Scheduler warten statt abzubrechen")
@as_option
@with_db
def run_command(ctx: click.Context, as_of: str | None, wait: bool, actor: str) -> None:
    """Ein Lauf jetzt, zum Stichtag: planen, fällige Erinnerungen übergeben, E-Mails senden (Nachholen)."""
    services = _services()
    now = _moment(as_of)
    app = app_for(ctx)
    try:
        done = _call(lambda: services.catch_up(app, actor, now, wait=wait, on_wait=lambda lock: click.echo(
            f"Ein Scheduler läuft ({lock}); warte …", err=True)))
    except services.SchedulerBusy as busy:
        click.echo(f"Ein Scheduler läuft bereits ({busy.description}); er holt Fälliges selbst nach. "
                   "Mit --wait auf ihn warten.", err=True)
        raise SystemExit(1) from None
    if not done.mail:
        click.echo(_NO_MAIL)
    click.echo(done.report.summary())


@reminders.command("outbox")
@click.option("--status", type=click.Choice(sorted(_STATUS_LABEL)), default=None, help="nur dieser Status")
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True)
@as_option
@with_db
def outbox_command(ctx: click.Context, status: str | None, limit: int, actor: str) -> None:
    """Der Postausgang: jede E-Mail mit Status, Versuchen und Fehlermeldung (nur Administration)."""
    from rich.table import Table

    listing = run(ctx, lambda uow: _services().outbox_listing(uow, actor, status=status, limit=limit))
    table = Table(title="Postausgang")
    for name in ("Schlüssel", "an", "Art", "Status", "Versuche", "Hinweis"):
        table.add_column(name)
    for item in listing.entries:
        state = _STATUS_LABEL.get(item.status, item.status) + (" (ungewiss)" if item.uncertain else "")
        table.add_row(item.key, item.user_id, _MODE_LABEL[item.mode.value], state, str(item.attempts),
                      item.last_error or "")
    console = _console()
    console.print(table)
    console.print(", ".join(f"{n} {_STATUS_LABEL.get(s, s)}" for s, n in sorted(listing.totals.items())) or "leer")


@reminders.command("retry")
@click.argument("key")
@as_option
@click.option("--reason", required=True, metavar="TEXT", help="Warum erneut (steht im Prüfprotokoll)")
@with_db
def retry_command(ctx: click.Context, key: str, actor: str, reason: str) -> None:
    """Eine fehlgeschlagene E-Mail erneut versenden (beim nächsten Lauf; nur Administration)."""
    entry = run(ctx, lambda uow: _services().retry_mail(uow, actor, key, reason))
    click.echo(f"„{entry.key}“ wird beim nächsten Lauf erneut versandt.")


@reminders.command("contact")
@click.argument("user_id", required=False, metavar="[BENUTZER]")
@click.option("--email", default=None, help="E-Mail-Adresse (leer: keine, nur Posteingang)")
@click.option("--preference", type=click.Choice(list(_MODE_LABEL)), default=None,
              help="sofort, täglich oder wöchentlich gesammelt")
@as_option
@click.option("--reason", default=None, metavar="TEXT", help="Warum (bei einer Änderung nötig; steht im Prüfprotokoll)")
@with_db
def contact_command(ctx: click.Context, user_id: str | None, email: str | None, preference: str | None, actor: str,
                    reason: str | None) -> None:
    """E-Mail-Adresse und Benachrichtigungsart zeigen oder ändern: die eigenen (Administration: jeder Person)."""
    services = _services()
    if email is None and preference is None:
        contact = run(ctx, lambda uow: services.contact_of(uow, actor, user_id))
    else:
        if not (reason or "").strip():
            _usage("--reason: bei einer Änderung angeben, warum (steht im Prüfprotokoll)")
        contact = run(ctx, lambda uow: services.set_contact(uow, actor, user_id, reason, email=email,
                                                             preference=preference))
    if not contact.email:
        click.echo(f"{contact.user_id}: keine E-Mail-Adresse, nur Posteingang")
    else:
        click.echo(f"{contact.user_id}: {contact.email}, {_MODE_LABEL[contact.preference.value]}")


# -- inbox ----------------------------------------------------------------------------------------------


@click.command("inbox")
@as_option
@click.option("--unread", is_flag=True, help="nur ungelesene Nachrichten")
@click.option("--full", is_flag=True, help="mit dem vollständigen Text")
@click.option("--mark-read", is_flag=True, help="die gezeigten Nachrichten als gelesen markieren")
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True)
@with_db
def inbox(ctx: click.Context, actor: str, unread: bool, full: bool, mark_read: bool, limit: int) -> None:
    """Der eigene Posteingang in certflow: dieselben Nachrichten wie die E-Mails."""
    from rich.table import Table

    from ..calendar import format_date_de
    from ..lifecycle.machinery import local_date

    view = run(ctx, lambda uow: _services().read_inbox(uow, actor, unread_only=unread, limit=limit,
                                                       mark_read=mark_read))
    console = _console()
    name = view.owner.name
    if not view.messages:
        console.print(f"Posteingang von {name}: keine {'ungelesenen ' if unread else ''}Nachrichten.")
        return
    table = Table(title=f"Posteingang von {name} ({len(view.messages)})")
    for column in ("Datum", "Betreff", "Art", "gelesen"):
        table.add_column(column)
    for m in view.messages:
        table.add_row(format_date_de(local_date(m.created_at)), m.subject,
                      "Hinweis" if m.kind == "notice" else "Erinnerung",
                      format_date_de(local_date(m.read_at)) if m.read_at else "")
    console.print(table)
    if full:
        for m in view.messages:
            console.rule(m.subject)
            console.print(m.body)


# -- calendar -------------------------------------------------------------------------------------------


@click.command("calendar")
@click.option("--jugendamt", "jugendamt_id", default=None, help="Feed eines Jugendamts (mit seinen Familienzentren)")
@click.option("--familienzentrum", "familienzentrum_id", default=None, help="Feed eines Familienzentrums")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, writable=True),
              help="Zieldatei (.ics); - für die Standardausgabe")
@click.option("--as-of", "as_of", default=None, help=_AS_OF_HELP)
@as_option
@with_db
def calendar_command(ctx: click.Context, jugendamt_id: str | None, familienzentrum_id: str | None, output: str,
                     as_of: str | None, actor: str) -> None:
    """Schreibt den iCalendar-Feed (.ics) eines Jugendamts oder eines Familienzentrums."""
    if (jugendamt_id is None) == (familienzentrum_id is None):
        _usage("Genau eines angeben: --jugendamt ID oder --familienzentrum ID")
    day = _day(as_of)
    feed = run(ctx, lambda uow: _services().calendar_feed(uow, actor, jugendamt_id=jugendamt_id,
                                                          familienzentrum_id=familienzentrum_id, day=day))
    if output == "-":
        click.echo(feed.body.decode("utf-8"), nl=False)
        return
    from ..output import OutputError, write_atomically

    try:
        write_atomically(output, feed.body)  # all or nothing
    except OutputError as exc:
        _usage(f"Fehler: {exc}")
    click.echo(f"{output}: {feed.events} Termine")


# -- scheduler ------------------------------------------------------------------------------------------


@click.group("scheduler")
def scheduler() -> None:
    """Der Scheduler: plant und versendet Erinnerungen in regelmäßigen Läufen."""


@scheduler.command("run")
@click.option("--interval", type=click.FloatRange(min=1), default=300, show_default=True,
              help="Sekunden zwischen zwei Läufen")
@click.option("--once", is_flag=True, help="ein Lauf, dann beenden (läuft schon ein Scheduler: Abbruch)")
@as_option
@with_db
def scheduler_run(ctx: click.Context, interval: float, once: bool, actor: str) -> None:
    """Startet den Scheduler (ein Prozess je Datenbank; ein zweiter wartet). SIGTERM beendet ihn sauber."""
    import logging

    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    services = _services()
    app = app_for(ctx)
    runner = _call(lambda: services.scheduler_runner(
        app, actor, interval=interval, on_report=lambda report: click.echo(report.summary()),
        on_error=lambda exc: click.echo(f"Lauf fehlgeschlagen: {exc}", err=True), on_message=click.echo))
    if runner.transport is None:
        click.echo(_NO_MAIL)
    if not once:
        runner.run()
    elif runner.once() is None:
        click.echo(f"Ein anderer Scheduler läuft bereits ({runner.lock.description}); --once beendet sich.", err=True)
        raise SystemExit(1)
