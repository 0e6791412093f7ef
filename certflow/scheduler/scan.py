"""One scan: plan, reconcile, hand over what is due, batch mails, deliver each exactly once.

:func:`scan` does the steps of docs/reminders.md ("Seams"), each in its own short
transaction, so a scan killed at any point leaves a consistent state that the next
scan continues from:

1. **replan** (:func:`replan`): snapshot (:mod:`.snapshot`, one read transaction),
   plan (pure), then reconcile into ``reminder`` in one transaction: insert new keys,
   refresh changed unsent rows (the payload's fingerprint tells), mark keys no longer
   planned ``dropped`` and stale ones ``skipped``. Rows already handed over
   (``queued``) are history and never change;
2. **enqueue**: each reminder due today and not stale is flipped to ``queued`` by a
   conditional UPDATE (the scan whose UPDATE matched owns it) and put into the inbox of
   every recipient (unique per person and reminder); a role nobody fills becomes a
   notice in the administrators' inboxes;
3. **batch**: the inbox messages not yet carried by a mail, of people with an address,
   go through :func:`certflow.notify.batch_for_delivery` (immediate, daily or weekly
   digest); each resulting mail becomes an ``outbox_item`` with a unique key, and its
   messages are tied to it;
4. **deliver** (only with a mail server): items whose lease expired are recovered;
   then one item at a time: *claim* (pending -> sending with a lease, commit), render,
   send through the :class:`~certflow.notify.Transport` (SMTP), which commits ``handed_over_at``
   just before the SMTP end of data, then *mark* ``sent`` with the Message-ID and an
   audit entry (commit, retried on a database error), or record the failure with
   back-off (:func:`certflow.notify.next_attempt`) / ``failed``.

Without a mail server, messages reach the inboxes and the outbox items stay
``pending`` with the note :data:`NO_SMTP_NOTE`; they go out once SMTP is configured.

The clock: ``now`` is the scan's moment (injected by tests and ``--as-of``); times
written while delivering come from ``clock`` (default: ``now`` plus the real time
elapsed since the scan started), so leases stay honest during a long batch.
"""

from __future__ import annotations

import hashlib
import logging
import marshal
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from ..db import audit_log
from ..db.audit_log import AuditEntry
from ..db.repositories.reminders import (
    ContactRepository, InboxRepository, OutboxRepository, ReminderRepository, ReplanScope, StoredReminder,
)
from ..db.tables import AppUserRow
from ..db.tables.reminders import DeliveryMode, DeliveryStatus, InboxKind, ReminderStatus
from ..lifecycle.entities import ROLE_LABELS, Role, User
from ..lifecycle.machinery import Clock, local_date
from ..notify import (
    DIGEST_SETTINGS, Addressee, DeliveryError, DigestSettings, MailRenderer, Pending, Preference, SmtpConfig,
    SmtpTransport, Transport, batch_for_delivery, digest_message, next_attempt, prepared_message,
    reminder_message,
)
from ..reminders import REMINDER_RULES, Reminder, ReminderRules, due_on, reconcile
from ..calendar import format_date_de
from .snapshot import load_snapshot, plan

__all__ = [
    "ACTOR_ID", "LEASE", "NO_SMTP_NOTE", "WHOLE_LAND_FROM", "ReplanScope", "ScanReport", "deliver", "enqueue",
    "fingerprint", "replan", "replan_scope", "scan",
]

log = logging.getLogger("certflow.scheduler")

ACTOR_ID = "certflow-scheduler"
"""The actor of the scheduler's audit entries (sent and failed mails)."""
LEASE = timedelta(minutes=10)
"""How long a claimed item belongs to its scan; after that a dead scan's item is recovered."""
NO_SMTP_NOTE = ("Kein Mailserver eingerichtet (CERTFLOW_SMTP_HOST, CERTFLOW_SMTP_FROM): die Nachricht steht im "
                "Posteingang und wird per E-Mail versandt, sobald SMTP eingerichtet ist")
RECOVERED_NOTE = "Ein abgebrochener Versuch wurde wieder aufgenommen (noch nichts übergeben)"
UNCERTAIN_NOTE = ("Ein Versuch brach nach der Übergabe an den Mailserver ab; Zustellung ungewiss: erneut versandt "
                  "mit derselben Message-ID")
MARK_RETRIES = 3


class LostClaim(Exception):
    """The item's lease expired and another scan claimed it: stop before the end of data."""


@dataclass
class ScanReport:
    """What one scan did (counts), for the log and the command line."""

    now: datetime
    today: date
    planned: int = 0
    added: int = 0
    refreshed: int = 0
    dropped: int = 0
    skipped: int = 0
    queued: int = 0
    inbox: int = 0
    notices: int = 0
    unresolved: int = 0
    deliveries: int = 0
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    recovered: int = 0
    uncertain: int = 0
    pending_without_smtp: int = 0
    stopped: bool = False
    seconds: dict[str, float] = field(default_factory=dict)

    def summary(self) -> str:
        parts = [f"{self.planned} geplant (+{self.added} neu, {self.refreshed} aktualisiert, {self.dropped} entfallen, "
                 f"{self.skipped} veraltet)", f"{self.queued} fällig übergeben",
                 f"{self.inbox} Posteingangsnachrichten", f"{self.deliveries} E-Mails eingereiht"]
        if self.notices:
            parts.append(f"{self.notices} Hinweise an die Administration")
        parts.append(f"{self.sent} versandt")
        if self.retrying:
            parts.append(f"{self.retrying} später erneut")
        if self.failed:
            parts.append(f"{self.failed} fehlgeschlagen")
        if self.recovered:
            parts.append(f"{self.recovered} abgebrochene Versuche wieder aufgenommen ({self.uncertain} ungewiss)")
        if self.pending_without_smtp:
            parts.append(f"{self.pending_without_smtp} warten auf einen Mailserver")
        if self.stopped:
            parts.append("vorzeitig beendet")
        return f"Lauf {format_date_de(self.today)}: " + ", ".join(parts) + "."


_RENDERER: MailRenderer | None = None


def default_renderer() -> MailRenderer:
    """The shipped templates, compiled once per process."""
    global _RENDERER
    if _RENDERER is None:
        _RENDERER = MailRenderer()
    return _RENDERER


def _aware_utc(at: datetime) -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    return at.astimezone(UTC)


def _elapsed_clock(now: datetime) -> Clock:
    start = time.monotonic()
    return lambda: now + timedelta(seconds=time.monotonic() - start)


def _read_session(engine: Engine) -> Session:
    """A session whose queries see one snapshot (REPEATABLE READ on PostgreSQL); its transaction is begun."""
    session = Session(engine)
    options = {"isolation_level": "REPEATABLE READ"} if engine.dialect.name == "postgresql" else {}
    session.connection(execution_options=options)
    return session


def fingerprint(r: Reminder) -> str:
    """A digest over every field of the reminder: tells whether a stored row needs refreshing.

    ``marshal`` of plain values (str, int, None, tuples; dates as ordinals, roles by value;
    ``facts`` are sorted by the model) is stable and several times cheaper than encoding
    ``to_dict()`` as JSON, so a steady-state scan pays little for comparing. Format 2, the
    last without back-references: from format 3 on, a string that occurs twice is written
    once when it is the same object, so equal reminders could differ by how the planner
    shared its strings. Should a Python release change the format, every row is refreshed
    once: harmless.
    """
    until = r.send_until.toordinal() if r.send_until is not None else None
    data = (r.subject, r.kind, r.due.toordinal(), r.event_date.toordinal(), r.title,
            tuple((x.role._value_, x.scope, x.user_id) for x in r.recipients), tuple(r.facts.items()), r.level,
            until, r.familienzentrum_id, r.jugendamt_id, r.urgent, r.escalates)
    return hashlib.blake2b(marshal.dumps(data, 2), digest_size=32).hexdigest()


def _in_scope(r: Reminder, familienzentrum_id: str | None, jugendamt_id: str | None) -> bool:
    return ((familienzentrum_id is None or r.familienzentrum_id == familienzentrum_id)
            and (jugendamt_id is None or r.jugendamt_id == jugendamt_id))


# -- 1. plan and reconcile ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Replanned:
    planned: list[Reminder]
    handed_over: frozenset[str]


def replan(engine: Engine, now: datetime, rules: ReminderRules = REMINDER_RULES, *,
           familienzentrum_id: str | None = None, jugendamt_id: str | None = None) -> ScanReport:
    """Plan (all of NRW, or one Familienzentrum's / Jugendamt's scope) and reconcile the reminder table.

    The services call it with a scope after a change of state or dates (what became due
    is handed over by the next scan); the scan does the same for everything. Only the
    scope's stored rows are compared and changed.
    """
    now = _aware_utc(now)
    report = ScanReport(now, local_date(now))
    _replan(engine, now, rules, familienzentrum_id=familienzentrum_id, jugendamt_id=jugendamt_id, report=report)
    return report


WHOLE_LAND_FROM = 25
"""A change touching more Familienzentren and Jugendämter than this is replanned as one whole-Land replan."""


def replan_scope(engine: Engine, now: datetime, scope: ReplanScope, *, procedure_ids: Iterable[str] = (),
                 user_ids: Iterable[str] = (), rules: ReminderRules = REMINDER_RULES) -> list[ScanReport]:
    """Replan what a committed change touched (the after-commit handler's entry): each Familienzentrum
    and Jugendamt of ``scope`` on its own, plus those of ``procedure_ids`` and ``user_ids`` (looked up);
    everything in one replan when the scope says so or names many."""
    scope = ReplanScope(set(scope.familienzentren), set(scope.jugendaemter), scope.everything)
    procedure_ids, user_ids = list(procedure_ids), list(user_ids)
    if not scope.everything and (procedure_ids or user_ids):
        with _read_session(engine) as session:
            found = ReminderRepository(session).scopes_of(procedure_ids=procedure_ids, user_ids=user_ids)
        scope.familienzentren |= found.familienzentren
        scope.jugendaemter |= found.jugendaemter
        scope.everything |= found.everything
    if scope.everything or len(scope.familienzentren) + len(scope.jugendaemter) > WHOLE_LAND_FROM:
        return [replan(engine, now, rules)]
    reports = [replan(engine, now, rules, jugendamt_id=ja) for ja in sorted(scope.jugendaemter)]
    reports += [replan(engine, now, rules, familienzentrum_id=fz) for fz in sorted(scope.familienzentren)]
    return reports


def _replan(engine: Engine, now: datetime, rules: ReminderRules, *, familienzentrum_id: str | None,
            jugendamt_id: str | None, report: ScanReport) -> Replanned:
    today = local_date(now)
    started = time.perf_counter()
    with _read_session(engine) as session:  # one read transaction, rolled back at the end
        snapshot = load_snapshot(session, today, familienzentrum_id=familienzentrum_id, jugendamt_id=jugendamt_id)
    report.seconds["snapshot"] = time.perf_counter() - started
    started = time.perf_counter()
    planned = plan(snapshot, rules)
    if familienzentrum_id is not None or jugendamt_id is not None:
        planned = [r for r in planned if _in_scope(r, familienzentrum_id, jugendamt_id)]
    report.seconds["plan"] = time.perf_counter() - started
    report.planned = len(planned)

    started = time.perf_counter()
    with Session(engine) as session, session.begin():
        reminders = ReminderRepository(session)
        reminders.lock_for_writing()
        stored = reminders.stored(familienzentrum_id=familienzentrum_id, jugendamt_id=jugendamt_id)
        changes = _differences(planned, stored, today, now)
        reminders.add(changes.add)
        reminders.refresh(changes.refresh)
        for status, keys in changes.status.items():
            reminders.set_status(keys, status, now)
        report.added, report.refreshed, report.dropped = len(changes.add), changes.refreshed, changes.dropped
        report.skipped += changes.skipped
    report.seconds["reconcile"] = time.perf_counter() - started
    handed_over = frozenset(key for key, s in stored.items() if s.handed_over)
    return Replanned(planned, handed_over)


@dataclass
class _Differences:
    """What a replan writes: new rows, rewritten rows, keys whose status alone changes (by new status)."""

    add: list[dict[str, Any]] = field(default_factory=list)
    refresh: list[dict[str, Any]] = field(default_factory=list)
    status: dict[ReminderStatus, list[str]] = field(default_factory=dict)
    refreshed: int = 0
    skipped: int = 0
    dropped: int = 0


def _differences(planned: list[Reminder], stored: dict[str, StoredReminder], today: date,
                 now: datetime) -> _Differences:
    """Compare the plan with the stored rows by key and payload fingerprint (:func:`certflow.reminders.reconcile`).

    A row handed over (``queued``) is history: never touched. A stale reminder (past ``send_until``) is
    stored ``skipped``, and kept up to date like the others, so the table always equals what planning
    from scratch would store. Only rows whose fingerprint differs are rewritten with their payload; a
    row whose status alone changes (``dropped`` and planned again, became stale) gets a set-based
    status update.
    """
    out = _Differences()
    result = reconcile(planned, {key: s.handed_over for key, s in stored.items()})
    for r in result.add:
        status = ReminderStatus.SKIPPED if r.is_stale(today) else ReminderStatus.PLANNED
        out.add.append(_row(r, r.to_dict(), fingerprint(r), status, now))
        out.skipped += status is ReminderStatus.SKIPPED
    for r in result.refresh:
        old = stored[r.key]
        status = ReminderStatus.SKIPPED if r.is_stale(today) else ReminderStatus.PLANNED
        digest = fingerprint(r)
        if digest != old.fingerprint:
            out.refresh.append(_row(r, r.to_dict(), digest, status, now))
            out.refreshed += 1
        elif status is not old.status:
            out.status.setdefault(status, []).append(r.key)
        else:
            continue
        out.skipped += status is ReminderStatus.SKIPPED and old.status is not ReminderStatus.SKIPPED
    drops = [key for key in result.drop if stored[key].status is not ReminderStatus.DROPPED]
    if drops:
        out.status.setdefault(ReminderStatus.DROPPED, []).extend(drops)
    out.dropped = len(drops)
    return out


def _row(r: Reminder, payload: dict[str, Any], digest: str, status: ReminderStatus, now: datetime) -> dict[str, Any]:
    return dict(key=r.key, subject=r.subject, kind=r.kind, due=r.due, event_date=r.event_date,
                send_until=r.send_until, familienzentrum_id=r.familienzentrum_id, jugendamt_id=r.jugendamt_id,
                level=r.level, payload=payload, fingerprint=digest, status=status.value, updated_at=now)


# -- 2. hand over what is due ---------------------------------------------------------------------------


def users_by_id(session: Session) -> dict[str, User]:
    table = AppUserRow.__table__
    return {row.id: User(row.id, row.name, Role(row.role), row.jugendamt_id, row.familienzentrum_id, row.traeger_id)
            for row in session.execute(select(table))}


def _notice(r: Reminder) -> tuple[str, str]:
    roles = "; ".join(f"{ROLE_LABELS[x.role]} ({x.scope})" for x in r.unresolved)
    subject = f"Ohne Empfänger: {r.title}"
    body = (f"Die Erinnerung „{r.title}“ (fällig am {format_date_de(r.due)}, Termin {format_date_de(r.event_date)}) "
            f"konnte nicht allen zugestellt werden: für {roles} ist niemand hinterlegt.\n\n"
            "Bitte die Zuständigkeit in certflow eintragen; die Erinnerung selbst wird nicht erneut versandt.\n")
    return subject, body


def enqueue(engine: Engine, now: datetime, replanned: Replanned, renderer: MailRenderer,
            report: ScanReport | None = None) -> ScanReport:
    """Hand over the reminders due today (step 3 of the seams): inbox messages and ``queued``."""
    now = _aware_utc(now)
    today = local_date(now)
    report = report or ScanReport(now, today)
    due = due_on(replanned.planned, today, sent=replanned.handed_over)
    if not due:
        return report
    with Session(engine) as session, session.begin():
        reminders = ReminderRepository(session)
        reminders.lock_for_writing()
        users = users_by_id(session)
        contacts = ContactRepository(session).all()
        admins = [u for u in users.values() if u.role is Role.ADMIN]
        rows: list[dict[str, Any]] = []
        for r in due:
            if not reminders.mark_queued(r.key, now):
                continue  # another scan handed it over first
            report.queued += 1
            for user_id in r.user_ids:
                user = users.get(user_id)
                if user is None:
                    continue
                contact = contacts.get(user_id)
                addressee = Addressee(user.id, user.name, (contact.email if contact else None) or "", user.role)
                try:
                    mail = renderer.render(r, addressee)
                    subject, body = mail.subject, mail.text
                except Exception as exc:  # a template error must not stop every other reminder
                    log.exception("rendering %s for %s failed", r.key, user_id)
                    subject, body = r.title, f"{r.title}\n\n(Der Text konnte nicht erstellt werden: {exc})\n"
                rows.append(dict(user_id=user_id, reminder_key=r.key, kind=InboxKind.REMINDER.value,
                                 subject=subject, body=body, created_at=now))
                report.inbox += 1
            if r.unresolved:
                report.unresolved += 1
                subject, body = _notice(r)
                for admin in admins:
                    rows.append(dict(user_id=admin.id, reminder_key=r.key, kind=InboxKind.NOTICE.value,
                                     subject=subject, body=body, created_at=now))
                    report.notices += 1
        InboxRepository(session).add(rows)
    return report


# -- 3. batch into mails --------------------------------------------------------------------------------


def batch(engine: Engine, now: datetime, settings: DigestSettings = DIGEST_SETTINGS, *, note: str | None = None,
          report: ScanReport | None = None) -> ScanReport:
    """Turn inbox messages awaiting a mail into outbox items (immediate mails and digests whose slot came)."""
    now = _aware_utc(now)
    report = report or ScanReport(now, local_date(now))
    with Session(engine) as session, session.begin():
        inbox, outbox = InboxRepository(session), OutboxRepository(session)
        waiting = inbox.awaiting_mail()
        if not waiting:
            return report
        stored = ReminderRepository(session).reminders({w.reminder_key for w in waiting})
        contacts = ContactRepository(session).all()
        preferences = {uid: Preference(c.preference.value) for uid, c in contacts.items()}
        pending = [Pending(stored[w.reminder_key], w.user_id, w.created_at) for w in waiting
                   if w.reminder_key in stored]
        # A mail already built for a key (e.g. before someone changed their choice) carries its items.
        first = batch_for_delivery(pending, preferences, now, settings)
        existing = outbox.existing_keys([d.key for d in first] + [p.key for p in pending])
        for p in pending:
            if p.key in existing:
                inbox.assign(p.user_id, [p.reminder.key], p.key)
        deliveries = batch_for_delivery([p for p in pending if p.key not in existing], preferences, now, settings,
                                        already_sent=existing)
        outbox.add([dict(key=d.key, user_id=d.user_id, mode=DeliveryMode(d.mode.value).value,
                         reminder_keys=[p.reminder.key for p in d.items], label=d.label,
                         status=DeliveryStatus.PENDING.value, attempts=0, next_attempt_at=now, uncertain=False,
                         last_error=note, created_at=now) for d in deliveries])
        for d in deliveries:
            inbox.assign(d.user_id, [p.reminder.key for p in d.items], d.key)
        report.deliveries += len(deliveries)
    return report


#: Outbox items whose keys start so carry a mail the application prepared (``services.accounts``).
PREPARED_PREFIX = "account:"


# -- 4. deliver -----------------------------------------------------------------------------------------


def _message(session: Session, item: Any, renderer: MailRenderer, sender: str, at: datetime):
    user = session.get(AppUserRow, item.user_id)
    contact = ContactRepository(session).get(item.user_id)
    if user is None or contact is None or not contact.email:
        raise ValueError(f"Für {item.user_id} ist keine E-Mail-Adresse hinterlegt")
    addressee = Addressee(user.id, user.name, contact.email, Role(user.role))
    stored = ReminderRepository(session).reminders(item.reminder_keys)
    missing = [k for k in item.reminder_keys if k not in stored]
    if missing and all(k.startswith(PREPARED_PREFIX) for k in missing):
        prepared = InboxRepository(session).prepared(item.user_id, item.key)
        if prepared is not None:
            return prepared_message(prepared.subject, prepared.body, addressee, delivery_key=item.key,
                                    sender=sender, now=at)
    if missing:
        raise ValueError(f"Erinnerung fehlt: {', '.join(missing)}")
    reminders = [stored[k] for k in item.reminder_keys]
    if DeliveryMode(item.mode) is DeliveryMode.IMMEDIATE:
        return reminder_message(renderer, reminders[0], addressee, sender=sender, now=at)
    return digest_message(renderer, item.key, reminders, addressee, label=item.label, sender=sender, now=at)


def _audit(session: Session, at: datetime, action: str, item: Any, reason: str, **payload: Any) -> None:
    audit_log.append(session, AuditEntry(
        at=at, actor_id=ACTOR_ID, action=f"outbox_item.{action}", subject_kind="outbox_item",
        subject_id=str(item.id), reason=reason,
        payload={"key": item.key, "user_id": item.user_id, "reminder_keys": list(item.reminder_keys), **payload}))


def _with_retries(what: Callable[[], Any]) -> Any:
    """Run a short write transaction, again after a database error (the mail is out: record it)."""
    for attempt in range(1, MARK_RETRIES + 1):
        try:
            return what()
        except DBAPIError:
            if attempt == MARK_RETRIES:
                raise
            log.warning("recording a delivery failed (attempt %d), trying again", attempt, exc_info=True)
            time.sleep(0.2 * attempt)
    return None


def _deliver_one(engine: Engine, item_id: int, *, clock: Clock, transport: Transport, renderer: MailRenderer,
                 lease: timedelta, report: ScanReport) -> None:
    token = uuid.uuid4().hex
    at = clock()
    with Session(engine) as session, session.begin():
        outbox = OutboxRepository(session)
        if not outbox.claim(item_id, at, at + lease, token):
            return  # another scan has it
        item = outbox.get(item_id)
        try:
            message = _message(session, item, renderer, transport.sender, at)
        except Exception as exc:  # nothing a retry can fix: visible as failed
            message, problem = None, f"Nachricht konnte nicht erstellt werden: {exc}"
    if message is None:
        _record_failure(engine, item, token, clock, DeliveryError(problem, retryable=False), uncertain=False,
                        report=report)
        return

    handed_over = False

    def before_end_of_data() -> None:
        nonlocal handed_over
        with Session(engine) as session, session.begin():
            if not OutboxRepository(session).handed_over(item_id, token, clock()):
                raise LostClaim(item.key)
        handed_over = True

    try:
        message_id = transport.send(message, before_end_of_data=before_end_of_data)
    except LostClaim:
        log.warning("lease of %s expired during delivery; left to the scan that claimed it", item.key)
        return
    except DeliveryError as err:
        _record_failure(engine, item, token, clock, err, uncertain=handed_over and err.code is None, report=report)
        return

    def mark_sent() -> None:
        sent_at = clock()
        with Session(engine) as session, session.begin():
            if OutboxRepository(session).mark_sent(item_id, token, sent_at, message_id):
                _audit(session, sent_at, "sent", item, "Erinnerung per E-Mail versandt", message_id=message_id,
                       attempts=item.attempts + 1, uncertain=bool(item.uncertain))
                report.sent += 1
            else:
                log.warning("%s was sent but its claim had been taken over", item.key)

    _with_retries(mark_sent)


def _record_failure(engine: Engine, item: Any, token: str, clock: Clock, err: DeliveryError, *, uncertain: bool,
                    report: ScanReport) -> None:
    at = clock()
    attempts = item.attempts + 1
    retry_at = next_attempt(attempts, at, retryable=err.retryable)
    message = err.message + (" (Zustellung ungewiss: die Verbindung brach nach der Übergabe ab)" if uncertain else "")

    def record() -> None:
        with Session(engine) as session, session.begin():
            outbox = OutboxRepository(session)
            if not outbox.mark_failed_attempt(item.id, token, attempts=attempts, next_at=retry_at, error=message,
                                              uncertain=uncertain):
                return
            if retry_at is None:
                _audit(session, at, "failed", item, f"E-Mail nicht zustellbar: {message}", attempts=attempts)
                report.failed += 1
            else:
                report.retrying += 1

    _with_retries(record)


def deliver(engine: Engine, *, clock: Clock, transport: Transport | None, renderer: MailRenderer,
            lease: timedelta = LEASE, limit: int = 500, should_stop: Callable[[], bool] | None = None,
            report: ScanReport) -> ScanReport:
    """Step 5: recover expired claims, then claim, send and mark up to ``limit`` due items."""
    if transport is None:
        with Session(engine) as session, session.begin():
            outbox = OutboxRepository(session)
            outbox.note_pending(NO_SMTP_NOTE)
            report.pending_without_smtp = outbox.count_by_status().get(DeliveryStatus.PENDING.value, 0)
        return report
    with Session(engine) as session, session.begin():
        recovered, uncertain = OutboxRepository(session).recover(clock(), RECOVERED_NOTE, UNCERTAIN_NOTE)
        report.recovered += recovered
        report.uncertain += uncertain
    done = 0
    while done < limit:
        with Session(engine) as session, session.begin():
            ids = OutboxRepository(session).due_ids(clock(), min(50, limit - done))
        if not ids:
            break
        for item_id in ids:
            if should_stop is not None and should_stop():
                report.stopped = True
                return report
            _deliver_one(engine, item_id, clock=clock, transport=transport, renderer=renderer, lease=lease,
                         report=report)
            done += 1
    return report


# -- the whole scan -------------------------------------------------------------------------------------


def scan(engine: Engine, now: datetime, rules: ReminderRules = REMINDER_RULES, smtp: SmtpConfig | None = None,
         renderer: MailRenderer | None = None, *, transport: Transport | None = None,
         settings: DigestSettings = DIGEST_SETTINGS, send: bool = True, lease: timedelta = LEASE,
         limit: int = 500, should_stop: Callable[[], bool] | None = None, clock: Clock | None = None) -> ScanReport:
    """One full scan at ``now`` (aware). ``smtp`` (or a ``transport``) enables mail; without: inbox only.

    ``send=False`` stops after planning and reconciling (nothing handed over, no mail): the
    benchmarked path.
    """
    now = _aware_utc(now)
    clock = clock or _elapsed_clock(now)
    renderer = renderer or default_renderer()
    if transport is None and smtp is not None:
        transport = SmtpTransport(smtp)
    report = ScanReport(now, local_date(now))
    replanned = _replan(engine, now, rules, familienzentrum_id=None, jugendamt_id=None, report=report)
    if not send:
        return report
    started = time.perf_counter()
    enqueue(engine, now, replanned, renderer, report)
    batch(engine, now, settings, note=None if transport is not None else NO_SMTP_NOTE, report=report)
    report.seconds["enqueue"] = time.perf_counter() - started
    started = time.perf_counter()
    deliver(engine, clock=clock, transport=transport, renderer=renderer, lease=lease, limit=limit,
            should_stop=should_stop, report=report)
    report.seconds["deliver"] = time.perf_counter() - started
    log.info("%s", report.summary())
    return report
