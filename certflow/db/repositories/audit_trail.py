"""Reading the audit trail through the unit of work (``uow.audit_log``): the services' only way to the log.

Entries are appended at commit by the unit of work itself (:meth:`~certflow.db.UnitOfWork.commit`);
this repository only reads what is committed (entries queued in the running unit of work are not in
it yet). The log's format and chain are :mod:`certflow.db.audit_log`.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import replace
from datetime import datetime

from .. import audit_log
from ..audit_log import AuditEntry, Checkpoint, VerifyResult
from ..audit_replay import replay as replay_trail
from .base import Repository

__all__ = ["AuditEntry", "AuditTrailRepository", "Checkpoint", "VerifyResult"]


class AuditTrailRepository(Repository):
    kind = "audit_log"

    def entries_for(self, subject_kind: str, subject_id: str | None = None) -> list[AuditEntry]:
        """The entries about one kind of subject (or one subject), in order, payloads decoded."""
        return audit_log.entries(self._session, subject_kind, subject_id)

    def procedure_history(self, procedure_id: str) -> list[AuditEntry]:
        """Everything about one procedure, in order: its state changes and edits, its self-assessment
        revisions (``P#n``), its visit, verdicts (``P/criterion``) and decision."""
        return audit_log.procedure_history(self._session, procedure_id)

    def state_since(self, procedure_ids: Collection[str]) -> dict[str, datetime]:
        """When each of these procedures entered its current state (one query, whatever their number)."""
        return audit_log.state_since(self._session, procedure_ids)

    def verify(self, batch: int = 1000, *, anchor: Checkpoint | None = None, replay: bool = False) -> VerifyResult:
        """Recompute the hash chain; with ``anchor``, check that the chain still holds it; with ``replay``,
        replay the trail's state changes and compare with the procedure and certificate tables
        (:mod:`certflow.db.audit_replay`). Call it first thing in a fresh unit of work: every check reads
        the same snapshot (REPEATABLE READ on PostgreSQL). ``ok`` only if every check passed."""
        result = audit_log.verify(self._session, batch)
        if anchor is not None:
            problem = audit_log.check_checkpoint(self._session, anchor)
            result = replace(result, anchor_problem=problem, ok=result.ok and problem is None)
        if replay:
            replayed = replay_trail(self._session)
            result = replace(result, mismatches=replayed.mismatches, replayed=(replayed.procedures,
                                                                                replayed.certificates),
                             ok=result.ok and not replayed.mismatches)
        return result
