"""Replaying the audit trail against the tables: the state each procedure and seal term must be in.

Every state change is written to the audit trail in the transaction that makes it (the repositories
record it, :class:`~.unit_of_work.UnitOfWork` appends it at commit). Replaying the trail's entries
about procedures and certificates in order therefore gives the state each of them is in now:
the ``to_state`` of its last state change (or, for an edit without an event, the new ``state`` in
its payload). :func:`replay` compares that with the ``procedure`` and ``certificate`` tables and
names every difference in German: a state changed in the database past the repositories (which
the hash chain cannot see: the chain is intact), a row the trail never recorded, a recorded
subject whose row is gone.

Read it in the same snapshot as the chain (``AuditTrailRepository.verify(replay=True)`` does).
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..calendar import format_date_de
from ..lifecycle.entities import CERTIFICATE_STATE_LABELS, PROCEDURE_STATE_LABELS, CertificateState, ProcedureState
from .tables import AuditLogRow, CertificateRow, ProcedureRow

__all__ = ["Replay", "replay"]

_LOG = AuditLogRow.__table__


@dataclass(frozen=True, slots=True)
class Replay:
    """How many procedures and seal terms were compared, and every difference found (German)."""

    procedures: int
    certificates: int
    mismatches: tuple[str, ...]


def _value(state: object) -> str:
    return getattr(state, "value", state)  # an enum from the table, a string from the trail


def _label(labels: dict, kind: type, value: str) -> str:
    try:
        return labels[kind(value)]
    except (ValueError, KeyError):
        return value


def _trail_states(session: Session) -> dict[str, dict[str, str]]:
    """The last state of every procedure and certificate the trail records, by kind and subject id."""
    states: dict[str, dict[str, str]] = {"procedure": {}, "certificate": {}}
    query = (select(_LOG.c.subject_kind, _LOG.c.subject_id, _LOG.c.to_state, _LOG.c.payload)
             .where(_LOG.c.subject_kind.in_(tuple(states))).order_by(_LOG.c.seq))
    for kind, subject_id, to_state, payload in session.execute(query):
        if to_state is not None:
            states[kind][subject_id] = to_state
            continue
        edited = json.loads(payload).get("state")
        if isinstance(edited, list) and len(edited) == 2 and isinstance(edited[1], str):
            states[kind][subject_id] = edited[1]
    return states


def _compare(kind_label: str, table: dict[str, str], trail: dict[str, str], labels: dict, kind: type,
             name: dict[str, str]) -> list[str]:
    found = []
    for key in sorted(table.keys() | trail.keys()):
        shown = name.get(key, key)
        if key not in trail:
            found.append(f"{kind_label} {shown} steht in der Tabelle ('{_label(labels, kind, table[key])}'), "
                         "aber nicht im Prüfprotokoll")
        elif key not in table:
            found.append(f"{kind_label} {shown} steht im Prüfprotokoll (zuletzt '{_label(labels, kind, trail[key])}'), "
                         "fehlt aber in der Tabelle")
        elif table[key] != trail[key]:
            found.append(f"{kind_label} {shown}: in der Tabelle '{_label(labels, kind, table[key])}', laut "
                         f"Prüfprotokoll '{_label(labels, kind, trail[key])}'")
    return found


def replay(session: Session) -> Replay:
    """Replay the trail's state changes of procedures and certificates and compare with the tables."""
    trail = _trail_states(session)
    procedures = {pid: _value(state) for pid, state in session.execute(select(ProcedureRow.id, ProcedureRow.state))}
    certificates: dict[str, str] = {}
    names: dict[str, str] = {}
    for number, issued, state in session.execute(select(CertificateRow.number, CertificateRow.issued,
                                                        CertificateRow.state)):
        key = f"{number}/{issued.isoformat()}"
        certificates[key] = _value(state)
        names[key] = f"{number} vom {format_date_de(issued)}"
    for key in trail["certificate"].keys() - names.keys():  # recorded, but the row is gone
        number, _, issued = key.partition("/")
        with contextlib.suppress(ValueError):
            names[key] = f"{number} vom {format_date_de(date.fromisoformat(issued))}"
    mismatches = _compare("Verfahren", procedures, trail["procedure"], PROCEDURE_STATE_LABELS, ProcedureState, {})
    mismatches += _compare("Urkunde", certificates, trail["certificate"], CERTIFICATE_STATE_LABELS,
                           CertificateState, names)
    return Replay(len(procedures), len(certificates), tuple(mismatches))
