"""``certflow reminders``, ``certflow inbox``, ``certflow calendar``, ``certflow scheduler``: reminders at the terminal.

* ``reminders plan --as-of DATE``: what would go out on that day and to whom, without
  sending or writing anything;
* ``reminders run --as-of DATE``: one scan now, as of that day (a catch-up); takes the
  scheduler's lock (``--wait`` waits for a running scheduler, otherwise exit 1);
* ``reminders outbox`` / ``reminders retry KEY`` / ``reminders contact USER``: the mail
  outbox with its errors, a failed mail sent again by hand, a person's address and choice;
* ``inbox --as USER``: the in-app inbox (the same messages as the mails);
* ``calendar --jugendamt ID | --familienzentrum ID -o FILE.ics``: the iCalendar feed;
* ``scheduler run [--interval 300] [--once]``: the clock (APScheduler), one process per database.

Mail goes out only when ``CERTFLOW_SMTP_HOST`` and ``CERTFLOW_SMTP_FROM`` are set
(:meth:`certflow.notify.SmtpConfig.from_env`); otherwise messages reach the inboxes and
the outbox items wait, visibly, for a mail server. The database is ``--db`` or
``$CERTFLOW_DATABASE_URL``. Exit codes: 0 done, 1 the lock is held by another scheduler,
2 bad input or configuration. Only click is imported at load time.
"""

from __future__ import annotations

import os
from datetime import date, datetime, time

import click

__all__ = ["calendar_command", "inbox", "reminders", "scheduler"]

_DB_HELP = "Datenbank-URL (sonst CERTFLOW_DATABASE_URL, sonst sqlite:///certflow.sqlite)"
_AS_OF_HELP = "Stichtag JJJJ-MM-TT (oder Zeitpunkt JJJJ-MM-TTTHH:MM); ohne: jetzt"
_MODE_LABEL = {"immediate": "sofort", "daily": "täglich", "weekly": "wöchentlich"}
_STATUS_LABEL = {"pending": "wartet", "sending": "wird gesendet", "sent": "versandt", "failed": "fehlgeschlagen"}


def _fail(message: str, code: int = 2):
    click.echo(message, err=True)
    raise SystemExit(code)


def _engine(url: str | None):
    """The database of this command's ``--db``, else the one given before the command (``certflow --db X``),
    else the environment's; refused with exit 2 when it is unreachable or not migrated."""
    from .session import engine_for

    ctx = click.get_current_context()
    if url:
        ctx.meta["certflow.db"] = url
    return engine_for(ctx)


def _moment(as_of: str | None) -> datetime:
    """The scan's moment: now; a past or future day at 12:00 in NRW (after the digest hour); or a given time."""
    from ..lifecycle.machinery import BERLIN, local_date, utc_now

    now = utc_now()
    if not as_of:
        return now
    try:
        if "T" in as_of or " " in as_of.strip():
            at = datetime.fromisoformat(as_of.strip())
            return (at if at.tzinfo else at.replace(tzinfo=BERLIN)).astimezone(now.tzinfo)
        day = date.fromisoformat(as_of.strip())
    except ValueError:
        _fail(f"--as-of: „{as_of}“ ist kein Datum (JJJJ-MM-TT) und kein Zeitpunkt (JJJJ-MM-TTTHH:MM)")
    if day == local_date(now):
        return now
    return datetime.combine(day, time(12, 0), tzinfo=BERLIN).astimezone(now.tzinfo)


def _smtp():
    """The mail server from the environment, ``None`` when none is configured."""
    from ..notify import SmtpConfig, SmtpConfigError

    if not os.environ.get("CERTFLOW_SMTP_HOST", "").strip():
        return None
    try:
        return SmtpConfig.from_env()
    except SmtpConfigError as exc:
        _fail(str(exc))


def _db_error(exc: Exception, what: str):
    message = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
    _fail(f"Fehler beim {what}: {message}")


def _console():
    from .console import make_console

    return make_console()


# -- reminders ------------------------------------------------------------------------------------------


@click.group("reminders")
def reminders() -> None:
    """Erinnerungen: planen, nachholen, Postausgang."""


@reminders.command("plan")
@click.option("--as-of", "as_of", default=None, help=_AS_OF_HELP)
@click.option("--db", "url", default=None, help=_DB_HELP)
def plan_command(as_of: str | None, url: str | None) -> None:
    """Zeigt, was an einem Tag versandt würde und an wen – ohne zu senden oder zu speichern."""
    from rich.table import Table
    from sqlalchemy.exc import SQLAlchemyError
    from sqlalchemy.orm import Session

    from ..calendar import format_date_de
    from ..db.repositories.reminders import ContactRepository, InboxRepository, ReminderRepository
    from ..lifecycle.entities import ROLE_LABELS
    from ..lifecycle.machinery import local_date
    from ..reminders import due_on, stale
    from ..scheduler.scan import users_by_id
    from ..scheduler.snapshot import load_snapshot, plan

    now = _moment(as_of)
    day = local_date(now)
    engine = _engine(url)
    try:
        with Session(engine) as session:
            planned = plan(load_snapshot(session, day))
            stored = ReminderRepository(session).rows(r.key for r in planned if r.due <= day)
            queued = {k: row for k, row in stored.items() if row.status == "queued"}
            # handed over before the day: done, not shown; on the day itself: shown as sent
            earlier = {k for k, row in queued.items() if row.queued_at is not None and local_date(row.queued_at) < day}
            rows = [r for r in due_on(planned, day, sent=earlier)]
            skipped = stale(planned, day, sent=set(queued))
            deliveries = InboxRepository(session).for_reminders(k for k in queued if k not in earlier)
            users = users_by_id(session)
            contacts = ContactRepository(session).all()
    except SQLAlchemyError as exc:
        _db_error(exc, "Lesen")
    finally:
        engine.dispose()

    mail_state: dict[str, list[str]] = {}
    for d in deliveries:
        if d.kind == "reminder":
            mail_state.setdefault(d.reminder_key, []).append(d.status or "")

    def recipient(user_id: str) -> str:
        user = users.get(user_id)
        contact = contacts.get(user_id)
        channel = _MODE_LABEL[contact.preference.value] if contact and contact.email else "nur Posteingang"
        return f"{user.name if user else user_id} ({channel})"

    console = _console()
    table = Table(title=f"Erinnerungen am {format_date_de(day)}", show_lines=False)
    for name in ("Fällig", "Art", "Betreff", "Empfänger", "Versandt?"):
        table.add_column(name)
    for r in rows:
        people = [recipient(uid) for uid in r.user_ids]
        people += [f"niemand als {ROLE_LABELS[x.role]} ({x.scope}): Hinweis an die Administration"
                   for x in r.unresolved]
        if r.key in queued:
            states = mail_state.get(r.key, [])
            detail = ", ".join(f"{states.count(s)} {_STATUS_LABEL.get(s, s)}" for s in sorted(set(states)) if s)
            sent = "ja" + (f" ({detail})" if detail else "")
        else:
            sent = "nein"
        table.add_row(format_date_de(r.due), r.kind, r.title, "\n".join(people), sent)
    console.print(table)
    would = sum(1 for r in rows if r.key not in queued)
    console.print(f"{would} würden am {format_date_de(day)} versandt, {len(rows) - would} bereits übergeben, "
                  f"{len(skipped)} veraltet (werden übersprungen). Nichts wurde gesendet oder gespeichert.")


@reminders.command("run")
@click.option("--as-of", "as_of", default=None, help=_AS_OF_HELP)
@click.option("--db", "url", default=None, help=_DB_HELP)
@click.option("--wait/--no-wait", default=False, show_default=True,
              help="auf einen laufenden Scheduler warten statt abzubrechen")
def run_command(as_of: str | None, url: str | None, wait: bool) -> None:
    """Ein Lauf jetzt, zum Stichtag: planen, fällige Erinnerungen übergeben, E-Mails senden (Nachholen)."""
    from sqlalchemy.exc import SQLAlchemyError

    from ..scheduler import SchedulerLock, scan

    now = _moment(as_of)
    smtp = _smtp()
    engine = _engine(url)
    lock = SchedulerLock(engine)
    try:
        if not lock.acquire(wait=wait, on_wait=lambda: click.echo(
                f"Ein Scheduler läuft ({lock.description}); warte …", err=True)):
            _fail(f"Ein Scheduler läuft bereits ({lock.description}); er holt Fälliges selbst nach. "
                  "Mit --wait auf ihn warten.", 1)
        report = scan(engine, now, smtp=smtp)
    except SQLAlchemyError as exc:
        _db_error(exc, "Lauf")
    finally:
        lock.release()
        engine.dispose()
    if smtp is None:
        click.echo("Kein Mailserver eingerichtet (CERTFLOW_SMTP_HOST): Nachrichten nur im Posteingang.")
    click.echo(report.summary())


@reminders.command("outbox")
@click.option("--status", type=click.Choice(sorted(_STATUS_LABEL)), default=None, help="nur dieser Status")
@click.option("--limit", type=int, default=50, show_default=True)
@click.option("--db", "url", default=None, help=_DB_HELP)
def outbox_command(status: str | None, limit: int, url: str | None) -> None:
    """Der Postausgang: jede E-Mail mit Status, Versuchen und Fehlermeldung."""
    from rich.table import Table
    from sqlalchemy.orm import Session

    from ..db.repositories.reminders import OutboxRepository

    engine = _engine(url)
    try:
        with Session(engine) as session:
            repo = OutboxRepository(session)
            items = repo.listing(status=status, limit=limit)
            totals = repo.count_by_status()
    finally:
        engine.dispose()
    table = Table(title="Postausgang")
    for name in ("Schlüssel", "an", "Art", "Status", "Versuche", "Hinweis"):
        table.add_column(name)
    for item in items:
        state = _STATUS_LABEL.get(item.status, item.status) + (" (ungewiss)" if item.uncertain else "")
        table.add_row(item.key, item.user_id, _MODE_LABEL.get(item.mode, item.mode), state, str(item.attempts),
                      item.last_error or "")
    console = _console()
    console.print(table)
    console.print(", ".join(f"{n} {_STATUS_LABEL.get(s, s)}" for s, n in sorted(totals.items())) or "leer")


@reminders.command("retry")
@click.argument("key")
@click.option("--db", "url", default=None, help=_DB_HELP)
def retry_command(key: str, url: str | None) -> None:
    """Eine fehlgeschlagene E-Mail erneut versenden (beim nächsten Lauf)."""
    from sqlalchemy.orm import Session

    from ..db.repositories.reminders import OutboxRepository
    from ..lifecycle.machinery import utc_now

    engine = _engine(url)
    try:
        with Session(engine) as session, session.begin():
            done = OutboxRepository(session).retry(key, utc_now())
    finally:
        engine.dispose()
    if not done:
        _fail(f"Keine fehlgeschlagene E-Mail mit dem Schlüssel „{key}“")
    click.echo(f"„{key}“ wird beim nächsten Lauf erneut versandt.")


@reminders.command("contact")
@click.argument("user_id")
@click.option("--email", default=None, help="E-Mail-Adresse (leer: keine, nur Posteingang)")
@click.option("--preference", type=click.Choice(list(_MODE_LABEL)), default=None,
              help="sofort, täglich oder wöchentlich gesammelt")
@click.option("--db", "url", default=None, help=_DB_HELP)
def contact_command(user_id: str, email: str | None, preference: str | None, url: str | None) -> None:
    """E-Mail-Adresse und Benachrichtigungsart einer Person zeigen oder ändern."""
    from sqlalchemy.orm import Session

    from ..db.repositories.reminders import ContactRepository
    from ..db.tables import AppUserRow
    from ..lifecycle.machinery import utc_now

    engine = _engine(url)
    try:
        with Session(engine) as session, session.begin():
            if session.get(AppUserRow, user_id) is None:
                _fail(f"Benutzer {user_id} gibt es nicht")
            repo = ContactRepository(session)
            contact = (repo.set(user_id, now=utc_now(), email=email, preference=preference)
                       if email is not None or preference is not None else repo.get(user_id))
    finally:
        engine.dispose()
    if contact is None or not contact.email:
        click.echo(f"{user_id}: keine E-Mail-Adresse, nur Posteingang")
    else:
        click.echo(f"{user_id}: {contact.email}, {_MODE_LABEL[contact.preference.value]}")


# -- inbox ----------------------------------------------------------------------------------------------


@click.command("inbox")
@click.option("--as", "user_id", required=True, help="Benutzer-ID, dessen Posteingang gezeigt wird")
@click.option("--unread", is_flag=True, help="nur ungelesene Nachrichten")
@click.option("--full", is_flag=True, help="mit dem vollständigen Text")
@click.option("--mark-read", is_flag=True, help="die gezeigten Nachrichten als gelesen markieren")
@click.option("--limit", type=int, default=50, show_default=True)
@click.option("--db", "url", default=None, help=_DB_HELP)
def inbox(user_id: str, unread: bool, full: bool, mark_read: bool, limit: int, url: str | None) -> None:
    """Der Posteingang in certflow: dieselben Nachrichten wie die E-Mails."""
    from rich.table import Table
    from sqlalchemy.orm import Session

    from ..calendar import format_date_de
    from ..db.repositories.reminders import InboxRepository
    from ..db.tables import AppUserRow
    from ..lifecycle.machinery import local_date, utc_now

    engine = _engine(url)
    try:
        with Session(engine) as session, session.begin():
            user = session.get(AppUserRow, user_id)
            if user is None:
                _fail(f"Benutzer {user_id} gibt es nicht")
            repo = InboxRepository(session)
            messages = repo.of_user(user_id, unread_only=unread, limit=limit)
            if mark_read:
                repo.mark_read([m.id for m in messages], utc_now())
            name = user.name
    finally:
        engine.dispose()
    console = _console()
    if not messages:
        console.print(f"Posteingang von {name}: keine {'ungelesenen ' if unread else ''}Nachrichten.")
        return
    table = Table(title=f"Posteingang von {name} ({len(messages)})")
    for column in ("Datum", "Betreff", "Art", "gelesen"):
        table.add_column(column)
    for m in messages:
        table.add_row(format_date_de(local_date(m.created_at)), m.subject,
                      "Hinweis" if m.kind == "notice" else "Erinnerung",
                      format_date_de(local_date(m.read_at)) if m.read_at else "")
    console.print(table)
    if full:
        for m in messages:
            console.rule(m.subject)
            console.print(m.body)


# -- calendar -------------------------------------------------------------------------------------------


@click.command("calendar")
@click.option("--jugendamt", "jugendamt_id", default=None, help="Feed eines Jugendamts (mit seinen Familienzentren)")
@click.option("--familienzentrum", "familienzentrum_id", default=None, help="Feed eines Familienzentrums")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, writable=True),
              help="Zieldatei (.ics); - für die Standardausgabe")
@click.option("--as-of", "as_of", default=None, help=_AS_OF_HELP)
@click.option("--db", "url", default=None, help=_DB_HELP)
def calendar_command(jugendamt_id: str | None, familienzentrum_id: str | None, output: str, as_of: str | None,
                     url: str | None) -> None:
    """Schreibt den iCalendar-Feed (.ics) eines Jugendamts oder eines Familienzentrums."""
    from sqlalchemy import func, select
    from sqlalchemy.orm import Session

    from ..db.tables import AuditLogRow
    from ..lifecycle.machinery import local_date
    from ..notify import familienzentrum_feed, jugendamt_feed
    from ..reminders import feed_events
    from ..scheduler.snapshot import load_snapshot

    if (jugendamt_id is None) == (familienzentrum_id is None):
        _fail("Genau eines angeben: --jugendamt ID oder --familienzentrum ID")
    now = _moment(as_of)
    engine = _engine(url)
    try:
        with Session(engine) as session:
            snapshot = load_snapshot(session, local_date(now), familienzentrum_id=familienzentrum_id,
                                     jugendamt_id=jugendamt_id, evidence=False)
            stamp = session.execute(select(func.max(AuditLogRow.__table__.c.at))).scalar() or now
    finally:
        engine.dispose()
    if jugendamt_id is not None:
        found = [ja for ja in snapshot.jugendaemter if ja.id == jugendamt_id]
        if not found:
            _fail(f"Jugendamt {jugendamt_id} gibt es nicht")
        body = jugendamt_feed(feed_events(snapshot), found[0], stamp=stamp)
    else:
        found = [fz for fz in snapshot.familienzentren if fz.id == familienzentrum_id]
        if not found:
            _fail(f"Familienzentrum {familienzentrum_id} gibt es nicht")
        body = familienzentrum_feed(feed_events(snapshot), found[0], stamp=stamp)
    if output == "-":
        click.echo(body.decode("utf-8"), nl=False)
        return
    with open(output, "wb") as handle:
        handle.write(body)
    click.echo(f"{output}: {body.count(b'BEGIN:VEVENT')} Termine")


# -- scheduler ------------------------------------------------------------------------------------------


@click.group("scheduler")
def scheduler() -> None:
    """Der Scheduler: plant und versendet Erinnerungen in regelmäßigen Läufen."""


@scheduler.command("run")
@click.option("--interval", type=click.FloatRange(min=1), default=300, show_default=True,
              help="Sekunden zwischen zwei Läufen")
@click.option("--once", is_flag=True, help="ein Lauf, dann beenden (läuft schon ein Scheduler: Abbruch)")
@click.option("--db", "url", default=None, help=_DB_HELP)
def scheduler_run(interval: float, once: bool, url: str | None) -> None:
    """Startet den Scheduler (ein Prozess je Datenbank; ein zweiter wartet). SIGTERM beendet ihn sauber."""
    import logging

    from ..scheduler.runner import SchedulerRunner

    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    smtp = _smtp()
    engine = _engine(url)
    if smtp is None:
        click.echo("Kein Mailserver eingerichtet (CERTFLOW_SMTP_HOST): Nachrichten nur im Posteingang.")
    runner = SchedulerRunner(engine, interval=interval, smtp=smtp,
                             on_report=lambda report: click.echo(report.summary()),
                             on_error=lambda exc: click.echo(f"Lauf fehlgeschlagen: {exc}", err=True),
                             on_message=click.echo)
    try:
        if once:
            if not runner.acquire(wait=False):
                _fail(f"Ein anderer Scheduler läuft bereits ({runner.lock.description}); --once beendet sich.", 1)
            try:
                runner.run_once()
            finally:
                runner.lock.release()
            return
        runner.run()
    finally:
        engine.dispose()
