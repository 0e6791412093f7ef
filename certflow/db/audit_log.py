"""The audit trail: every state change and every edit (who, when, what, why), append-only and hash-chained.

Each entry's ``hash`` is the SHA-256 of a canonical JSON text of
``(seq, at, actor_id, action, subject_kind, subject_id, from_state, to_state,
reason, payload, prev_hash)`` (sorted keys, no blanks, UTF-8, ``at`` in UTC
ISO 8601 with microseconds); ``prev_hash`` is the previous entry's hash (64
zeros for the first). Changing, removing or reordering an entry breaks the
chain; :func:`verify` recomputes it and names the first broken entry.

An anchor (:class:`Checkpoint`: the seq and hash of an entry, kept outside the database, e.g.
written by ``certflow audit anchor``) catches what the chain alone cannot: anyone who can write the
database can recompute every hash after a change, or cut the tail and set ``audit_head`` to match.
:func:`check_checkpoint` says whether the entry at the anchor's seq still has the anchor's hash.

Writers serialise on the one row of ``audit_head`` (last seq and hash):
``SELECT ... FOR UPDATE`` on PostgreSQL (held to the end of the transaction),
the ``BEGIN IMMEDIATE`` write lock on SQLite (see :mod:`.engine`). So two
transactions never fork the chain and ``seq`` has no gaps. The database
refuses UPDATE and DELETE on ``audit_log`` (triggers from the migrations).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date, datetime, UTC
from enum import Enum
from typing import Any

from sqlalchemy import func, insert, or_, select, update
from sqlalchemy.orm import Session

from .tables import GENESIS_HASH, AuditHeadRow, AuditLogRow

__all__ = [
    "AuditEntry", "Checkpoint", "VerifyResult", "append", "canonical_payload", "check_checkpoint", "count", "entries",
    "entry_hash", "procedure_history", "state_since", "verify",
]

_LOG = AuditLogRow.__table__
_HEAD = AuditHeadRow.__table__


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One entry to append (``seq``, ``prev_hash`` and ``hash`` are filled in by :func:`append`)."""

    at: datetime
    actor_id: str
    action: str
    subject_kind: str
    subject_id: str
    reason: str
    payload: Mapping[str, Any] | None = None
    from_state: str | None = None
    to_state: str | None = None
    seq: int | None = None
    prev_hash: str | None = None
    hash: str | None = None


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A point of the chain: the entry ``seq`` and its ``hash`` (seq 0: the empty chain, :data:`GENESIS_HASH`)."""

    seq: int
    hash: str


@dataclass(frozen=True, slots=True)
class VerifyResult:
    """What a check of the audit trail found; ``ok`` only when every check it made passed.

    ``problem`` and ``first_broken``: the hash chain; ``head``: its last entry (when the chain is intact);
    ``anchor_problem``: the check against an anchor (if one was given); ``mismatches``: states in the
    tables that differ from the trail's replay (if replayed), ``replayed`` counting the procedures and
    certificates compared.
    """

    ok: bool
    checked: int
    first_broken: int | None = None
    problem: str | None = None
    head: Checkpoint | None = None
    anchor_problem: str | None = None
    mismatches: tuple[str, ...] = ()
    replayed: tuple[int, int] | None = None


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return _iso(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_json_default)


def _iso(at: datetime) -> str:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("audit times must be timezone-aware")
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def canonical_payload(payload: Mapping[str, Any] | None) -> str:
    """The stored text of a payload: canonical JSON (``{}`` for none)."""
    return _canonical(dict(payload or {}))


def entry_hash(*, seq: int, at: datetime, actor_id: str, action: str, subject_kind: str, subject_id: str,
               from_state: str | None, to_state: str | None, reason: str, payload: str, prev_hash: str) -> str:
    """The SHA-256 (hex) of one entry; ``payload`` is the stored JSON text."""
    record = {
        "seq": seq, "at": _iso(at), "actor_id": actor_id, "action": action, "subject_kind": subject_kind,
        "subject_id": subject_id, "from_state": from_state, "to_state": to_state, "reason": reason,
        "payload": payload, "prev_hash": prev_hash,
    }
    return hashlib.sha256(_canonical(record).encode("utf-8")).hexdigest()


def append(session: Session, *items: AuditEntry) -> list[AuditEntry]:
    """Append ``items`` in order to the chain within the session's transaction; return them with seq and hash.

    Takes the chain lock (the ``audit_head`` row) until the transaction ends:
    call it late in a transaction (:class:`~.unit_of_work.UnitOfWork` does so at commit).
    """
    if not items:
        return []
    head = session.execute(select(_HEAD.c.last_seq, _HEAD.c.last_hash).where(_HEAD.c.id == 1).with_for_update()).one()
    seq, prev = head.last_seq, head.last_hash
    written = []
    for item in items:
        seq += 1
        payload = canonical_payload(item.payload)
        fields = dict(at=item.at.astimezone(UTC), actor_id=item.actor_id, action=item.action,
                      subject_kind=item.subject_kind, subject_id=str(item.subject_id), from_state=item.from_state,
                      to_state=item.to_state, reason=item.reason, payload=payload)
        digest = entry_hash(seq=seq, prev_hash=prev, **fields)
        session.execute(insert(_LOG).values(seq=seq, prev_hash=prev, hash=digest, **fields))
        written.append(AuditEntry(**{**fields, "payload": item.payload}, seq=seq, prev_hash=prev, hash=digest))
        prev = digest
    session.execute(update(_HEAD).where(_HEAD.c.id == 1).values(last_seq=seq, last_hash=prev))
    return written


def _entry(row: Any) -> AuditEntry:
    return AuditEntry(at=row.at, actor_id=row.actor_id, action=row.action, subject_kind=row.subject_kind,
                      subject_id=row.subject_id, reason=row.reason, payload=json.loads(row.payload),
                      from_state=row.from_state, to_state=row.to_state, seq=row.seq, prev_hash=row.prev_hash,
                      hash=row.hash)


def _read(session: Session, *conditions: Any) -> list[AuditEntry]:
    return [_entry(row) for row in session.execute(select(_LOG).where(*conditions).order_by(_LOG.c.seq))]


def entries(session: Session, subject_kind: str | None = None, subject_id: str | None = None) -> list[AuditEntry]:
    """The log (or one subject's part of it) in order, payloads decoded."""
    conditions = []
    if subject_kind is not None:
        conditions.append(_LOG.c.subject_kind == subject_kind)
    if subject_id is not None:
        conditions.append(_LOG.c.subject_id == subject_id)
    return _read(session, *conditions)


def procedure_history(session: Session, procedure_id: str) -> list[AuditEntry]:
    """The part of the log about one procedure, in order: its state changes and edits, its
    self-assessment revisions (``P#n``), its visit, verdicts (``P/criterion``) and decision."""
    log = _LOG.c
    return _read(session, or_(
        log.subject_kind.in_(("procedure", "audit_visit", "decision")) & (log.subject_id == procedure_id),
        (log.subject_kind == "assessment_revision") & log.subject_id.startswith(f"{procedure_id}#", autoescape=True),
        (log.subject_kind == "audit_verdict") & log.subject_id.startswith(f"{procedure_id}/", autoescape=True),
    ))


def state_since(session: Session, procedure_ids: Collection[str]) -> dict[str, datetime]:
    """When each of these procedures entered its current state: the time of its last state change
    (or of its creation), in one query. Procedures without such an entry are left out."""
    if not procedure_ids:
        return {}
    log = _LOG.c
    moved = or_(log.from_state.is_(None), log.from_state != log.to_state)
    last = (select(log.subject_id, func.max(log.seq).label("seq"))
            .where(log.subject_kind == "procedure", log.to_state.is_not(None), moved,
                   log.subject_id.in_(list(procedure_ids)))
            .group_by(log.subject_id).subquery())
    query = select(last.c.subject_id, log.at).join_from(last, _LOG, log.seq == last.c.seq)
    return {subject_id: at for subject_id, at in session.execute(query)}


def _one_snapshot(session: Session) -> None:
    """Read log and head from one snapshot: PostgreSQL REPEATABLE READ (SQLite's transaction is one anyway)."""
    if not session.in_transaction() and session.get_bind().dialect.name == "postgresql":
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})


def verify(session: Session, batch: int = 1000) -> VerifyResult:
    """Recompute the chain; name the first entry that was altered, removed or moved (German ``problem``).

    Give it a fresh session (as ``certflow audit verify`` does): then entries
    appended meanwhile by others are not mistaken for a broken chain.
    """
    _one_snapshot(session)
    expected_seq, prev_hash, checked = 1, GENESIS_HASH, 0
    rows = session.execute(select(_LOG).order_by(_LOG.c.seq).execution_options(yield_per=batch))
    for row in rows:
        if row.seq < expected_seq:
            return _broken(checked, row.seq, f"Eintrag mit der ungültigen Nummer {row.seq}")
        if row.seq != expected_seq:
            missing = (f"Eintrag {expected_seq} fehlt" if row.seq == expected_seq + 1
                       else f"Einträge {expected_seq} bis {row.seq - 1} fehlen")
            return _broken(checked, expected_seq, f"{missing} (gelöscht?): auf Eintrag {expected_seq - 1} "
                                                  f"folgt Eintrag {row.seq}")
        fields = {k: getattr(row, k) for k in ("seq", "at", "actor_id", "action", "subject_kind", "subject_id",
                                                "from_state", "to_state", "reason", "payload", "prev_hash")}
        if entry_hash(**fields) != row.hash:
            moved = _moved(session, row, expected_seq)
            return _broken(checked, row.seq, moved or f"Eintrag {row.seq} wurde verändert: seine Prüfsumme "
                                                      "stimmt nicht mit seinem Inhalt überein")
        if row.prev_hash != prev_hash:
            return _broken(checked, row.seq - 1,
                           f"Eintrag {row.seq - 1} wurde verändert oder ersetzt: Eintrag {row.seq} verweist auf "
                           "eine andere Prüfsumme als die des vorigen Eintrags")
        prev_hash, expected_seq, checked = row.hash, expected_seq + 1, checked + 1
    return _check_head(session, checked, expected_seq - 1, prev_hash)


def _moved(session: Session, row: Any, position: int) -> str | None:
    """Whether ``row`` belongs elsewhere in the chain: its predecessor stands at or after its position."""
    if row.prev_hash == GENESIS_HASH:
        return None if position == 1 else f"Eintrag {position} steht an der falschen Stelle (er war der erste)"
    origin = session.execute(select(_LOG.c.seq).where(_LOG.c.hash == row.prev_hash)).scalar_one_or_none()
    if origin is not None and origin >= position:
        return (f"Eintrag {position} steht an der falschen Stelle: die Reihenfolge wurde verändert "
                f"(er folgte ursprünglich auf den heutigen Eintrag {origin})")
    return None


def _check_head(session: Session, checked: int, last_seq: int, last_hash: str) -> VerifyResult:
    head = session.execute(select(_HEAD.c.last_seq, _HEAD.c.last_hash).where(_HEAD.c.id == 1)).one_or_none()
    if head is None:
        return _broken(checked, last_seq + 1, "Der Kopf der Kette (audit_head) fehlt")
    if head.last_seq > last_seq:
        missing = last_seq + 1
        return _broken(checked, missing, f"Einträge ab {missing} fehlen: das Protokoll endet bei Eintrag {last_seq}, "
                                         f"geschrieben wurden {head.last_seq}")
    if head.last_seq < last_seq:
        return _broken(checked, head.last_seq + 1, f"Einträge ab {head.last_seq + 1} wurden an der Kette vorbei "
                                                   f"angefügt: der Kopf der Kette steht bei Eintrag {head.last_seq}")
    if head.last_hash != last_hash:
        return _broken(checked, last_seq, f"Eintrag {last_seq} (das Ende der Kette) stimmt nicht mit dem "
                                          "gespeicherten Kopf überein")
    return VerifyResult(ok=True, checked=checked, head=Checkpoint(last_seq, last_hash))


def _broken(checked: int, seq: int, problem: str) -> VerifyResult:
    return VerifyResult(ok=False, checked=checked, first_broken=seq, problem=problem)


def check_checkpoint(session: Session, anchor: Checkpoint) -> str | None:
    """Whether the chain still holds ``anchor``: ``None``, or what is wrong (German).

    The entry at the anchor's seq must exist and have the anchor's hash; as every hash covers the one
    before, that vouches for every entry up to it. Entries after it are not judged (they came later).
    """
    if anchor.seq == 0:
        return None if anchor.hash == GENESIS_HASH else "Der Anker nennt für Eintrag 0 eine falsche Prüfsumme"
    stored = session.execute(select(_LOG.c.hash).where(_LOG.c.seq == anchor.seq)).scalar_one_or_none()
    if stored is None:
        last = session.execute(select(func.max(_LOG.c.seq))).scalar() or 0
        return (f"Die Kette wurde gekürzt: sie endet bei Eintrag {last}, der Anker bestätigt Eintrag {anchor.seq}"
                if last < anchor.seq else f"Eintrag {anchor.seq}, den der Anker bestätigt, fehlt")
    if stored != anchor.hash:
        return (f"Die Kette wurde bis Eintrag {anchor.seq} umgeschrieben: seine Prüfsumme ist nicht mehr die "
                "des Ankers")
    return None


def count(session: Session) -> int:
    """How many entries the log holds."""
    return session.execute(select(func.count()).select_from(_LOG)).scalar_one()
