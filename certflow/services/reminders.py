"""Reminders as use cases: the plan preview, a catch-up scan, the scheduler, the mail outbox, a retry by
hand, contact choices, the in-app inbox and the calendar feeds.

Each function resolves the acting user (:func:`.actors.resolve`), checks role and scope, and
returns data (the dataclasses below, the domain's reminders, the scheduler's report); the
command line (later the web) words them. Reads and writes go through the unit of work's
repositories (``uow.reminders``, ``uow.outbox``, ``uow.inbox``, ``uow.contacts``); a change is
recorded in the audit trail with who, when and why. Refusals are
:class:`~certflow.lifecycle.Refused` with a German message that reveals nothing about what
lies outside the actor's scope.

Who may do what:

======================================  =================================================================
use case                                 allowed
======================================  =================================================================
:func:`plan_preview` (what goes out)     admin: everything (or one Jugendamt); coordinator: only their
                                         own Jugendamt; recipients outside the coordinator's Jugendamt
                                         (certification body, auditors) appear by role only
:func:`catch_up`, :func:`scheduler_runner`admin only (refused before anything is planned or sent)
:func:`outbox_listing`, :func:`retry_mail`admin only (the outbox holds mail addresses and errors)
:func:`contact_of`, :func:`set_contact`  one's own; an admin anyone's
:func:`read_inbox`, :func:`mark_read`    one's own inbox only, for everyone (admins included)
:func:`calendar_feed` of a Jugendamt     admin and certification body; a coordinator of that Jugendamt
:func:`calendar_feed` of a Familienzentrumwhoever may see it (:mod:`certflow.lifecycle.access`); an
                                         auditor's feed holds only the procedures assigned to them
======================================  =================================================================

Audited: a retry (``outbox_item.retried``) and a contact change (``user_contact.changed``; the
address itself is not written to the append-only trail, only whether it was set or removed).
Marking one's own inbox messages read is a personal view state and is not audited.

:func:`catch_up` and :func:`scheduler_runner` take the :class:`~.runner.Application` rather than a unit
of work: the scan runs its own short transactions under the scheduler's lock (see
:mod:`certflow.scheduler.scan`); they check the actor in a unit of work of their own first.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING

from ..db.tables.reminders import DeliveryStatus, ReminderStatus
from ..errors import InputError, Problem
from ..lifecycle import guards
from ..lifecycle.access import may_see_procedure, visibility_refusal
from ..lifecycle.entities import Familienzentrum, Jugendamt, Role, User
from ..lifecycle.machinery import Refused, local_date, refuse_if
from ..notify.digest import Preference
from ..reminders import Recipient, Reminder, due_on, feed_events, stale
from .actors import resolve
from .common import need_reason

if TYPE_CHECKING:
    from ..db.unit_of_work import UnitOfWork
    from ..notify.transport import Transport
    from ..scheduler.runner import SchedulerRunner
    from ..scheduler.scan import ScanReport
    from .runner import Application

__all__ = [
    "CalendarFeed", "CatchUp", "ContactView", "InboxMessage", "InboxView", "OutboxEntry", "OutboxListing",
    "PlanPreview", "PlanRecipient", "PlannedReminder", "SchedulerBusy", "calendar_feed", "catch_up", "contact_of",
    "mark_read", "outbox_listing", "plan_preview", "read_inbox", "retry_mail", "scheduler_runner", "set_contact",
]

_ADMIN = frozenset({Role.ADMIN})
_READ_ALL = frozenset({Role.ADMIN, Role.CERTIFIER})
_OUTBOX_STATUSES = tuple(s.value for s in DeliveryStatus)


def _require_admin(actor: User, action: str) -> None:
    refuse_if(guards.actor_refusal(actor, _ADMIN, action))


def _input_error(what: str, message: str) -> InputError:
    return InputError([Problem(what, None, (), message)])


# -- the plan preview -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PlanRecipient:
    """One person a reminder goes to. ``user_id``/``name`` are ``None`` for someone outside the actor's
    scope (named by role only); ``preference`` is ``None`` when they read it in the inbox only."""

    role: Role
    user_id: str | None
    name: str | None
    preference: Preference | None


@dataclass(frozen=True, slots=True)
class PlannedReminder:
    """A reminder due on the preview's day: to whom, whether it was handed over, its mails' states."""

    reminder: Reminder
    recipients: tuple[PlanRecipient, ...]
    unresolved: tuple[Recipient, ...]           # roles nobody fills: a notice to the administration
    handed_over: bool                           # queued on the preview's day already
    mail_states: tuple[tuple[str, int], ...]    # outbox status -> number of mails (of a handed-over one)


@dataclass(frozen=True, slots=True)
class PlanPreview:
    """What goes out on ``day`` (nothing was sent or stored to find out)."""

    day: date
    jugendamt_id: str | None                    # the scope (``None``: all of NRW)
    reminders: tuple[PlannedReminder, ...]
    stale: int                                  # unsent reminders whose time has passed (skipped)

    @property
    def would_send(self) -> int:
        return sum(1 for r in self.reminders if not r.handed_over)

    @property
    def handed_over(self) -> int:
        return sum(1 for r in self.reminders if r.handed_over)


def plan_preview(uow: UnitOfWork, actor_id: str, day: date, *, jugendamt_id: str | None = None) -> PlanPreview:
    """The reminders due on ``day``, their recipients and whether they were handed over; writes nothing.

    An admin sees all of NRW (or the Jugendamt ``jugendamt_id``); a coordinator only their own
    Jugendamt (the default for them); anyone else is refused.
    """
    actor = resolve(uow, actor_id)
    if actor.role is Role.COORDINATOR:
        if jugendamt_id is not None and jugendamt_id != actor.jugendamt_id:
            raise Refused(f"Kein Zugriff: {actor.name} ({actor.role.label}) darf die Erinnerungen des "
                          f"Jugendamts {jugendamt_id} nicht sehen")
        if actor.jugendamt_id is None:
            raise Refused(f"{actor.name} ist keinem Jugendamt zugeordnet")
        jugendamt_id = actor.jugendamt_id
    else:
        refuse_if(guards.actor_refusal(actor, _ADMIN | {Role.COORDINATOR}, "Die Erinnerungsvorschau"))
        if jugendamt_id is not None and uow.jugendaemter.find(jugendamt_id) is None:
            raise Refused(f"Jugendamt {jugendamt_id} gibt es nicht")

    from ..scheduler.snapshot import plan as plan_per_jugendamt

    snapshot = uow.reminders.planning_input(day, jugendamt_id=jugendamt_id)
    planned = plan_per_jugendamt(snapshot)
    if jugendamt_id is not None:
        planned = [r for r in planned if r.jugendamt_id == jugendamt_id]
    stored = uow.reminders.rows(r.key for r in planned if r.due <= day)
    queued = {key: row for key, row in stored.items() if row.status == ReminderStatus.QUEUED.value}
    # handed over before the day: done, not shown; on the day itself: shown as handed over
    earlier = {key for key, row in queued.items() if row.queued_at is not None and local_date(row.queued_at) < day}
    due = due_on(planned, day, sent=earlier)
    skipped = stale(planned, day, sent=set(queued))

    states: dict[str, Counter] = {}
    for d in uow.inbox.for_reminders(key for key in queued if key not in earlier):
        if d.kind == "reminder" and d.status:
            states.setdefault(d.reminder_key, Counter())[d.status] += 1
    users = {u.id: u for u in uow.users.all()}
    contacts = uow.contacts.all()
    if actor.role is Role.ADMIN:
        visible = set(users)
    else:  # a coordinator: the people of their Jugendamt (as services.list_users shows them)
        centres = {fz.id for fz in snapshot.familienzentren}
        visible = {u.id for u in users.values() if u.jugendamt_id == jugendamt_id or u.familienzentrum_id in centres}

    def recipient(x: Recipient) -> PlanRecipient:
        if x.user_id not in visible:
            return PlanRecipient(x.role, None, None, None)
        if x.user_id is None:  # an unfilled role: shown as the role alone
            return PlanRecipient(x.role, None, None, None)
        user, choice = users.get(x.user_id), contacts.get(x.user_id)
        preference = Preference(choice.preference.value) if choice is not None and choice.email else None
        return PlanRecipient(x.role, x.user_id, user.name if user else x.user_id, preference)

    items = tuple(
        PlannedReminder(reminder=r, recipients=tuple(recipient(x) for x in r.recipients if x.resolved),
                        unresolved=r.unresolved, handed_over=r.key in queued,
                        mail_states=tuple(sorted(states.get(r.key, Counter()).items())))
        for r in due)
    return PlanPreview(day, jugendamt_id, items, len(skipped))


# -- running the scan -----------------------------------------------------------------------------------


class SchedulerBusy(Exception):
    """Another scheduler holds the lock (it catches up what is due itself). ``description`` names the lock."""

    def __init__(self, description: str):
        super().__init__(description)
        self.description = description


@dataclass(frozen=True, slots=True)
class CatchUp:
    """What one scan did, and whether mail could go out (without a mail server: inbox only)."""

    report: ScanReport
    mail: bool


def _authorize_sending(app: Application, actor_id: str, action: str) -> None:
    app.run(lambda uow: _require_admin(resolve(uow, actor_id), action))


def _transport(app: Application) -> Transport | None:
    from ..notify import SmtpConfigError, smtp_transport
    from .runner import ErrorKind, UseCaseError

    try:
        return smtp_transport(app.settings.smtp)
    except SmtpConfigError as exc:
        raise UseCaseError(ErrorKind.INPUT, str(exc), [Problem("Mailserver", None, (), str(exc))],
                           "Konfiguration") from None


def catch_up(app: Application, actor_id: str, now: datetime, *, wait: bool = False,
             on_wait: Callable[[str], None] | None = None, transport: Transport | None = None) -> CatchUp:
    """One scan now, as of ``now`` (admin only): plan, hand over what is due, send the mails.

    Takes the scheduler's lock; with ``wait`` waits for a running scheduler (``on_wait`` is told
    the lock's description once), otherwise raises :class:`SchedulerBusy`. The mail server is the
    settings' (``transport`` replaces it, e.g. in tests). Failures leave as
    :class:`~.runner.UseCaseError` (refused, bad configuration, database).
    """
    from sqlalchemy.exc import SQLAlchemyError

    from ..scheduler import SchedulerLock, scan
    from .runner import classify

    _authorize_sending(app, actor_id, "Erinnerungen versenden")
    transport = transport if transport is not None else _transport(app)
    engine = app.engine
    lock = SchedulerLock(engine)
    try:
        if not lock.acquire(wait=wait, on_wait=(lambda: on_wait(lock.description)) if on_wait else None):
            raise SchedulerBusy(lock.description)
        report = scan(engine, now, transport=transport)
    except SQLAlchemyError as exc:
        raise classify(exc) from None
    finally:
        lock.release()
    return CatchUp(report, mail=transport is not None)


def scheduler_runner(app: Application, actor_id: str, *, interval: float = 300,
              on_report: Callable[[ScanReport], None] | None = None,
              on_error: Callable[[BaseException], None] | None = None,
              on_message: Callable[[str], None] | None = None, transport: Transport | None = None,
              ) -> SchedulerRunner:
    """The scheduler (admin only), ready to ``run()`` or ``once()``; its ``transport`` is ``None``
    without a mail server."""
    from ..scheduler.runner import SchedulerRunner

    _authorize_sending(app, actor_id, "Den Scheduler starten")
    transport = transport if transport is not None else _transport(app)
    return SchedulerRunner(app.engine, interval=interval, transport=transport, on_report=on_report,
                           on_error=on_error, on_message=on_message)


# -- the outbox -----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    """One mail in the outbox."""

    key: str
    user_id: str
    mode: Preference
    status: str                  # pending | sending | sent | failed
    attempts: int
    uncertain: bool
    last_error: str | None
    created_at: datetime
    next_attempt_at: datetime | None
    sent_at: datetime | None


@dataclass(frozen=True, slots=True)
class OutboxListing:
    entries: tuple[OutboxEntry, ...]
    totals: dict[str, int]       # status -> number of mails (all of them, not only those listed)


def _entry(row) -> OutboxEntry:
    return OutboxEntry(row.key, row.user_id, Preference(row.mode), row.status, row.attempts, bool(row.uncertain),
                       row.last_error, row.created_at, row.next_attempt_at, row.sent_at)


def outbox_listing(uow: UnitOfWork, actor_id: str, *, status: str | None = None, limit: int = 50) -> OutboxListing:
    """The newest mails of the outbox (admin only), optionally of one status, with every status's count."""
    actor = resolve(uow, actor_id)
    _require_admin(actor, "Den Postausgang ansehen")
    if status is not None and status not in _OUTBOX_STATUSES:
        raise _input_error("Status", f"„{status}“ gibt es nicht (erlaubt: {', '.join(_OUTBOX_STATUSES)})")
    if limit < 1:
        raise _input_error("Anzahl", f"{limit} ist keine positive Zahl")
    rows = uow.outbox.listing(status=status, limit=limit)
    return OutboxListing(tuple(_entry(row) for row in rows), uow.outbox.count_by_status())


def retry_mail(uow: UnitOfWork, actor_id: str, key: str, reason: str) -> OutboxEntry:
    """Send a failed mail again with the next scan (admin only), with a fresh count of attempts."""
    reason = need_reason(reason, "Erneut versenden")
    actor = resolve(uow, actor_id)
    _require_admin(actor, "Erneut versenden")
    item = uow.outbox.find(key)
    if item is None or item.status != DeliveryStatus.FAILED.value or not uow.outbox.retry(key, uow.now()):
        raise Refused(f"Keine fehlgeschlagene E-Mail mit dem Schlüssel „{key}“")
    uow.record(actor_id=actor.id, action="outbox_item.retried", subject_kind="outbox_item", subject_id=str(item.id),
               reason=reason, payload={"key": item.key, "user_id": item.user_id,
                                       "reminder_keys": list(item.reminder_keys), "attempts_before": item.attempts})
    return _entry(uow.outbox.find(key))


# -- contacts -------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ContactView:
    """A person's address and choice; ``email`` ``None``: inbox only."""

    user_id: str
    name: str
    email: str | None
    preference: Preference


def _contact_subject(uow: UnitOfWork, actor: User, user_id: str, action: str) -> User:
    if user_id != actor.id and actor.role is not Role.ADMIN:
        raise Refused(f"Kein Zugriff: {actor.name} ({actor.role.label}) darf nur die eigenen Kontaktangaben "
                      f"{action}")
    user = uow.users.find(user_id)
    if user is None:
        raise Refused(f"Benutzer {user_id} gibt es nicht")
    return user


def _view(uow: UnitOfWork, user: User) -> ContactView:
    current = uow.contacts.get(user.id)
    if current is None:
        return ContactView(user.id, user.name, None, Preference.IMMEDIATE)
    return ContactView(user.id, user.name, current.email, Preference(current.preference.value))


def contact_of(uow: UnitOfWork, actor_id: str, user_id: str | None = None) -> ContactView:
    """The address and choice of ``user_id`` (default: the actor's own); others' only for an admin."""
    actor = resolve(uow, actor_id)
    return _view(uow, _contact_subject(uow, actor, user_id or actor.id, "sehen"))


def _email_address(text: str) -> str:
    """``text`` as an e-mail address (normalised: the domain in lower case), ``""`` for none; bad input otherwise.

    Checked with ``email-validator`` for its form only (no DNS lookup): one address, no display name,
    a domain with a dot that is no special-use name (``localhost``, ``.local`` ...).
    """
    from email_validator import EmailNotValidError, validate_email

    text = text.strip()
    if not text:
        return ""
    shown = text if len(text) <= 80 else text[:77] + "…"
    try:
        return validate_email(text, check_deliverability=False).normalized
    except EmailNotValidError:
        raise _input_error("E-Mail-Adresse", f"„{shown}“ ist keine E-Mail-Adresse, an die sich zustellen ließe "
                                             "(Form name@beispiel.de)") from None


def set_contact(uow: UnitOfWork, actor_id: str, user_id: str | None, reason: str, *, email: str | None = None,
                preference: str | None = None) -> ContactView:
    """Change the address (``""``: none, inbox only) and/or the choice (immediate, daily, weekly) of
    ``user_id`` (default: the actor); one's own, or anyone's for an admin. Audited."""
    reason = need_reason(reason, "Kontaktangaben ändern")
    actor = resolve(uow, actor_id)
    user = _contact_subject(uow, actor, user_id or actor.id, "ändern")
    if email is None and preference is None:
        raise _input_error("Kontaktangaben", "nichts zu ändern: E-Mail-Adresse oder Benachrichtigungsart angeben")
    if email is not None:
        email = _email_address(email)
    if preference is not None:
        try:
            preference = Preference(preference).value
        except ValueError:
            allowed = ", ".join(p.value for p in Preference)
            raise _input_error("Benachrichtigungsart", f"„{preference}“ gibt es nicht (erlaubt: {allowed})") from None
    before = uow.contacts.get(user.id)
    after = uow.contacts.set(user.id, now=uow.now(), email=email, preference=preference)
    old = before.email if before is not None else None
    address = ("unverändert" if old == after.email else "entfernt" if after.email is None
               else "gesetzt" if old is None else "geändert")
    uow.record(actor_id=actor.id, action="user_contact.changed", subject_kind="user_contact", subject_id=user.id,
               reason=reason, payload={"email": address, "preference": after.preference.value,
                                       "preference_before": before.preference.value if before else None})
    return _view(uow, user)


# -- the inbox ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class InboxMessage:
    id: int
    created_at: datetime
    kind: str                    # reminder | notice (to the administration)
    subject: str
    body: str
    read_at: datetime | None     # as it was before this call marked it
    reminder_key: str


@dataclass(frozen=True, slots=True)
class InboxView:
    owner: User
    messages: tuple[InboxMessage, ...]
    marked_read: int             # how many of them this call marked as read


def _own_inbox(actor: User, owner_id: str | None) -> None:
    if owner_id is not None and owner_id != actor.id:
        raise Refused(f"Kein Zugriff: {actor.name} ({actor.role.label}) darf nur den eigenen Posteingang lesen")


def read_inbox(uow: UnitOfWork, actor_id: str, *, owner_id: str | None = None, unread_only: bool = False,
          limit: int = 50, mark_read: bool = False) -> InboxView:
    """The actor's own in-app inbox, newest first; with ``mark_read`` the messages shown become read.

    ``owner_id`` other than the actor is refused, for every role.
    """
    actor = resolve(uow, actor_id)
    _own_inbox(actor, owner_id)
    if limit < 1:
        raise _input_error("Anzahl", f"{limit} ist keine positive Zahl")
    rows = uow.inbox.of_user(actor.id, unread_only=unread_only, limit=limit)
    messages = tuple(InboxMessage(row.id, row.created_at, row.kind, row.subject, row.body, row.read_at,
                                  row.reminder_key) for row in rows)
    marked = uow.inbox.mark_read([m.id for m in messages], uow.now(), user_id=actor.id) if mark_read else 0
    return InboxView(actor, messages, marked)


def mark_read(uow: UnitOfWork, actor_id: str, message_ids: Sequence[int]) -> int:
    """Mark messages of the actor's own inbox as read; returns how many were unread.

    An id that is not the actor's message is refused as unknown (whose it is stays unsaid).
    """
    actor = resolve(uow, actor_id)
    ids = list(dict.fromkeys(int(i) for i in message_ids))
    missing = sorted(set(ids) - uow.inbox.owned(ids, actor.id))
    if missing:
        raise Refused(f"Keine Nachricht im Posteingang von {actor.name}: {', '.join(map(str, missing))}")
    return uow.inbox.mark_read(ids, uow.now(), user_id=actor.id)


# -- calendar feeds -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CalendarFeed:
    """An iCalendar feed (``body``, UTF-8) of one Jugendamt or one Familienzentrum."""

    name: str                    # the Jugendamt's or Familienzentrum's name
    body: bytes
    events: int


def _no_calendar(actor: User, what: str) -> Refused:
    return Refused(f"Kein Zugriff: {actor.name} ({actor.role.label}) darf {what} nicht sehen")


def calendar_feed(uow: UnitOfWork, actor_id: str, *, jugendamt_id: str | None = None,
             familienzentrum_id: str | None = None, day: date) -> CalendarFeed:
    """The feed of exactly one Jugendamt or one Familienzentrum, as of ``day``.

    ``DTSTAMP`` is the moment of the latest audit entry, so the same data give the same bytes.
    """
    from ..notify.ics import familienzentrum_feed, jugendamt_feed

    if (jugendamt_id is None) == (familienzentrum_id is None):
        raise _input_error("Kalender", "genau eines angeben: ein Jugendamt oder ein Familienzentrum")
    actor = resolve(uow, actor_id)
    if jugendamt_id is not None:
        ja = _jugendamt_in_scope(uow, actor, jugendamt_id)
        snapshot = uow.reminders.planning_input(day, jugendamt_id=ja.id, evidence=False)
        items = feed_events(snapshot)
        body = jugendamt_feed(items, ja, stamp=_stamp(uow))
        name = ja.name
    elif familienzentrum_id is not None:
        fz, hidden = _familienzentrum_in_scope(uow, actor, familienzentrum_id)
        snapshot = uow.reminders.planning_input(day, familienzentrum_id=fz.id, evidence=False)
        items = [i for i in feed_events(snapshot) if i.subject not in hidden]
        body = familienzentrum_feed(items, fz, stamp=_stamp(uow))
        name = fz.name
    return CalendarFeed(name, body, body.count(b"BEGIN:VEVENT"))


def _stamp(uow: UnitOfWork) -> datetime:
    return uow.reminders.last_change() or uow.now()


def _jugendamt_in_scope(uow: UnitOfWork, actor: User, jugendamt_id: str) -> Jugendamt:
    what = f"den Kalender des Jugendamts {jugendamt_id}"
    if actor.role is Role.COORDINATOR:
        if actor.jugendamt_id != jugendamt_id:
            raise _no_calendar(actor, what)
    elif actor.role not in _READ_ALL:
        raise _no_calendar(actor, what)
    ja = uow.jugendaemter.find(jugendamt_id)
    if ja is None:
        raise Refused(f"Jugendamt {jugendamt_id} gibt es nicht")
    return ja


def _familienzentrum_in_scope(uow: UnitOfWork, actor: User,
                              familienzentrum_id: str) -> tuple[Familienzentrum, frozenset[str]]:
    """The Familienzentrum if ``actor`` may see it, and the subjects of its procedures they may not see."""
    fz = uow.familienzentren.find(familienzentrum_id)
    if fz is None:
        if actor.role in _READ_ALL:
            raise Refused(f"Familienzentrum {familienzentrum_id} gibt es nicht")
        raise _no_calendar(actor, f"Familienzentrum {familienzentrum_id}")  # as if it existed elsewhere
    procedures = uow.procedures.of_familienzentrum(fz.id)
    refuse_if(visibility_refusal(actor, fz, procedures=procedures))
    hidden = frozenset(f"procedure:{p.id}" for p in procedures if not may_see_procedure(actor, p, fz))
    return fz, hidden
