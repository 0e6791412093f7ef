"""One unit of work: one Session, one transaction, the repositories, and the audit entries it produced.

::

    with UnitOfWork(engine) as uow:
        procedure = uow.procedures.get("P-17")
        change = fire(procedure, "register", actor, "Anmeldung eingegangen", familienzentrum=...)
        uow.procedures.save(procedure, change)
    # committed here; an exception inside the block rolls everything back

The repositories are the only seam the service layer uses; they map rows to
the domain's entities (:mod:`certflow.lifecycle.entities`) and back, check
versions (optimistic locking) and record every change for the audit trail.
The entries are appended to the hash chain just before the commit, so the
chain lock (``audit_head``) is the last lock a transaction takes and is held
only for that moment.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, UTC
from types import TracebackType
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from ..lifecycle.machinery import Clock, StateChange, utc_now
from . import audit_log
from .audit_log import AuditEntry
from .repositories import (
    AuditRepository, CertificateRepository, ContingentRepository, DecisionRepository, FamilienzentrumRepository,
    JugendamtRepository, KitaRepository, ProcedureRepository, SubmissionRepository, TraegerRepository,
    UserRepository,
)
from .repositories.accounts import AccountRepository
from .repositories.audit_trail import AuditTrailRepository
from .repositories.dashboard import DashboardRepository
from .repositories.dialogue import DialogueRepository
from .repositories.public_register import PublicRegisterRepository
from .repositories.registers import RegisterRepository
from .repositories.reports import ReportRepository
from .repositories.reminders import ContactRepository, InboxRepository, OutboxRepository, ReminderRepository
from .versioning import VersionTracker

__all__ = ["UnitOfWork"]


class UnitOfWork:
    """Context manager: commit on success, roll back on an exception. Not shared between threads."""

    session: Session

    def __init__(self, engine: Engine, *, clock: Clock = utc_now):
        self.engine = engine
        self.clock = clock
        self._pending: list[AuditEntry] = []
        self.written: list[AuditEntry] = []
        self.versions = VersionTracker()

    def __enter__(self) -> UnitOfWork:
        self.session = Session(self.engine, expire_on_commit=False)
        self.jugendaemter = JugendamtRepository(self)
        self.traeger = TraegerRepository(self)
        self.users = UserRepository(self)
        self.kitas = KitaRepository(self)
        self.familienzentren = FamilienzentrumRepository(self)
        self.contingents = ContingentRepository(self)
        self.procedures = ProcedureRepository(self)
        self.submissions = SubmissionRepository(self)
        self.audits = AuditRepository(self)
        self.decisions = DecisionRepository(self)
        self.certificates = CertificateRepository(self)
        self.accounts = AccountRepository(self)
        self.audit_log = AuditTrailRepository(self)
        self.dashboard = DashboardRepository(self)  # the dashboard's figures and list of one Jugendamt
        self.dialogue = DialogueRepository(self)
        self.registers = RegisterRepository(self)  # the administration's paged lists of users and Kitas
        self.public = PublicRegisterRepository(self)  # what anyone may see of the certified Familienzentren
        self.reports = ReportRepository(self)  # the figures of the nomination report and the statistics
        # reminders, mail outbox, in-app inbox, contact choices: on this unit of work's session
        self.reminders = ReminderRepository(self.session)
        self.outbox = OutboxRepository(self.session)
        self.inbox = InboxRepository(self.session)
        self.contacts = ContactRepository(self.session)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        try:
            if exc_type is None:
                self.commit()
            else:
                self.rollback()
        finally:
            self.session.close()

    def now(self) -> datetime:
        at = self.clock()
        if at.tzinfo is None or at.utcoffset() is None:
            raise ValueError("the clock must return a timezone-aware datetime")
        return at.astimezone(UTC)

    def record(self, *, actor_id: str, action: str, subject_kind: str, subject_id: str, reason: str,
               payload: Mapping[str, Any] | None = None, at: datetime | None = None,
               from_state: str | None = None, to_state: str | None = None) -> None:
        """Queue an audit entry; it is appended to the chain at commit (and dropped on rollback)."""
        if not isinstance(reason, str) or not reason.strip():
            raise ValueError(f"{action}: an audit entry needs a reason")
        self._pending.append(AuditEntry(at=at or self.now(), actor_id=actor_id, action=action,
                                        subject_kind=subject_kind, subject_id=subject_id, reason=reason.strip(),
                                        payload=payload, from_state=from_state, to_state=to_state))

    def record_change(self, change: StateChange, payload: Mapping[str, Any] | None = None) -> None:
        """Queue the audit entry of a state change (action ``<subject kind>.<event>``)."""
        self.record(actor_id=change.actor_id, action=f"{change.subject_kind}.{change.event}",
                    subject_kind=change.subject_kind, subject_id=change.subject_id, reason=change.reason,
                    payload=payload, at=change.at, from_state=change.from_state, to_state=change.to_state)

    def commit(self) -> None:
        """Append the queued audit entries, then commit. The unit of work may go on with a new transaction."""
        self.session.flush()
        written = audit_log.append(self.session, *self._pending)
        self.session.commit()
        self._pending.clear()
        self.written.extend(written)

    def rollback(self) -> None:
        self._pending.clear()
        self.session.rollback()
