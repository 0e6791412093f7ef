"""The planner's input from the database: one pass, a handful of bulk queries, no query per row.

:func:`load_snapshot` reads, in this order: Jugendämter, Familienzentren and their
current members, users, certificate terms, procedures, the procedures' state-change
days from the audit trail (one ``GROUP BY``), the days of their latest self-assessment
revisions (one ``GROUP BY``), the latest revision of every running procedure (for the
evidence with a maximum age) and the contingents of the current and the next
Kindergartenjahr. Optionally limited to one Familienzentrum or one Jugendamt (the scope
of a re-plan after a change).

Dates per procedure (:class:`~certflow.reminders.ProcedureInfo`):

* ``state_since``: the day (NRW) of the last audit entry with a ``to_state``
  (``procedure.<event>``); a procedure without any (imported data) falls back to the
  start of its Prüfzeitraum, a stable day, so its deadlines do not move from scan to scan;
* ``last_activity``: the day of its latest saved self-assessment revision (drafts
  overwrite theirs, so this is the last save); uploads have no table yet and do not count;
* ``planned_audit``: ``Procedure.planned_audit_date`` (set when the visit is scheduled).

:func:`plan` runs the pure planner per Jugendamt: nothing in a plan crosses a
Jugendamt (a certificate looks at its own Familienzentrum's terms and procedures, a
reminder goes to that Familienzentrum's leads and its Jugendamt's coordinators, plus the
certification body and auditors, who are in every part), so the union of the parts is
exactly ``plan_reminders(snapshot)`` (a test checks it), while the planner's lookups,
which scan all users and terms for each reminder, stay small.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from datetime import date
from functools import lru_cache

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from ..calendar import KindergartenYear
from ..catalogue.checks import applies
from ..catalogue.loader import load_catalogue
from ..catalogue.model import EvidenceRule, Form, ProcedureKind, Variant
from ..db.tables import (
    AppUserRow, AssessmentRevisionRow, AuditLogRow, CertificateRow, ContingentRow, FamilienzentrumMemberRow,
    FamilienzentrumRow, JugendamtRow, ProcedureRow,
)
from ..lifecycle.contingents import Contingent
from ..lifecycle.entities import (
    PROCEDURE_FINAL_STATES, Certificate, Familienzentrum, Jugendamt, Procedure, Role, User,
)
from ..lifecycle.machinery import local_date
from ..reminders import REMINDER_RULES, EvidenceInfo, PlanningInput, ProcedureInfo, Reminder, ReminderRules
from ..reminders import plan_reminders
from ..resources import shipped_catalogues

__all__ = ["calendar_years", "load_snapshot", "partition", "plan"]

_J = JugendamtRow.__table__
_F = FamilienzentrumRow.__table__
_M = FamilienzentrumMemberRow.__table__
_U = AppUserRow.__table__
_C = CertificateRow.__table__
_P = ProcedureRow.__table__
_A = AuditLogRow.__table__
_REV = AssessmentRevisionRow.__table__
_K = ContingentRow.__table__

_PROCEDURE_FIELDS = tuple(name for name in Procedure.__slots__ if name not in ("kgj", "version"))
_FINAL = tuple(state.value for state in PROCEDURE_FINAL_STATES)


def calendar_years(today: date) -> tuple[KindergartenYear, KindergartenYear]:
    """The Kindergartenjahre of the coordinators' calendar: the current and the next one."""
    current = KindergartenYear.of(today)
    return current, current.next()


def _procedure(row) -> Procedure:
    return Procedure(**{name: getattr(row, name) for name in _PROCEDURE_FIELDS}, kgj=KindergartenYear(row.kgj),
                     version=row.version)


@lru_cache(maxsize=None)
def _shipped() -> dict[str, object]:
    return {cat.key: cat for cat in (load_catalogue(path) for path in shipped_catalogues())}


@lru_cache(maxsize=None)
def _aged_rules(catalogue_key: str) -> dict[str, tuple[EvidenceRule, ...]]:
    """item id -> its evidence rules with a maximum age, for a shipped catalogue (empty if unknown)."""
    cat = _shipped().get(catalogue_key)
    if cat is None:
        return {}
    out: dict[str, tuple[EvidenceRule, ...]] = {}
    for _, _, criterion in cat.all_criteria():
        for item in criterion.all_items():
            aged = tuple(rule for rule in item.evidence if rule.max_age_years is not None)
            if aged:
                out[item.id] = aged
    return out


def _evidence_of(procedure: Procedure, form: Form, canonical_json: str) -> list[EvidenceInfo]:
    rules = _aged_rules(procedure.catalogue_key)
    if not rules:
        return []
    try:
        records = json.loads(canonical_json).get("evidence") or []
    except (ValueError, AttributeError):
        return []
    variant = Variant(ProcedureKind(procedure.kind), Form(form))
    out: list[EvidenceInfo] = []
    for ev in records:
        try:
            kind, title, day = ev["kind"], ev["title"], date.fromisoformat(ev["date"])
            items = ev.get("items") or ()
        except (KeyError, TypeError, ValueError):
            continue
        ages = [rule.max_age_years for item in items for rule in rules.get(item, ())
                if rule.kind == kind and applies(rule.applies_to, variant)]
        if ages:
            out.append(EvidenceInfo(procedure.id, procedure.familienzentrum_id, title, day, min(ages),
                                    procedure.period_end, kind=kind, sha256=ev.get("sha256")))
    return out


def load_snapshot(session: Session, today: date, *, familienzentrum_id: str | None = None,
                  jugendamt_id: str | None = None, evidence: bool = True) -> PlanningInput:
    """Everything the planner reads, for all of NRW or for one Familienzentrum / one Jugendamt."""
    fz_query = select(_F)
    if familienzentrum_id is not None:
        fz_query = fz_query.where(_F.c.id == familienzentrum_id)
    if jugendamt_id is not None:
        fz_query = fz_query.where(_F.c.jugendamt_id == jugendamt_id)
    fz_rows = list(session.execute(fz_query.order_by(_F.c.id)))
    scoped = familienzentrum_id is not None or jugendamt_id is not None
    fz_ids = [row.id for row in fz_rows]
    ja_ids = {row.jugendamt_id for row in fz_rows} | ({jugendamt_id} if jugendamt_id else set())

    def in_scope(column):
        return [column.in_(fz_ids)] if scoped else []

    ja_query = select(_J.c.id, _J.c.name)
    if scoped:
        ja_query = ja_query.where(_J.c.id.in_(sorted(ja_ids)))
    jugendaemter = tuple(Jugendamt(row.id, row.name) for row in session.execute(ja_query.order_by(_J.c.id)))

    members: dict[str, list[str]] = defaultdict(list)
    for fz_id, kita_id in session.execute(select(_M.c.familienzentrum_id, _M.c.kita_id)
                                          .where(_M.c.left_on.is_(None), *in_scope(_M.c.familienzentrum_id))
                                          .order_by(_M.c.id)):
        members[fz_id].append(kita_id)
    forms: dict[str, Form] = {}
    familienzentren = []
    for row in fz_rows:
        # A Familienzentrum whose members all left still has its seal's dates; the planner does
        # not read the members, the entity only insists on one.
        kitas = tuple(members.get(row.id) or (row.zuschussempfaenger_id or row.id,))
        familienzentren.append(Familienzentrum(row.id, row.name, row.form, kitas, row.zuschussempfaenger_id,
                                               row.jugendamt_id, row.certificate_number,
                                               row.radius_exception_reason))
        forms[row.id] = row.form

    users = tuple(User(row.id, row.name, Role(row.role), row.jugendamt_id, row.familienzentrum_id, row.traeger_id)
                  for row in session.execute(select(_U).order_by(_U.c.id)))

    certificates = tuple(
        Certificate(row.number, row.familienzentrum_id, row.issued, row.valid_until, row.state)
        for row in session.execute(select(_C).where(*in_scope(_C.c.familienzentrum_id)).order_by(_C.c.id)))

    procedures = [_procedure(row) for row in session.execute(
        select(_P).where(*in_scope(_P.c.familienzentrum_id)).order_by(_P.c.id))]
    procedure_ids = [p.id for p in procedures]

    state_at = func.max(case((_A.c.to_state.is_not(None), _A.c.at)))
    audit_query = (select(_A.c.subject_id, state_at.label("state_at"))
                   .where(_A.c.subject_kind == "procedure").group_by(_A.c.subject_id))
    revision_query = select(_REV.c.procedure_id, func.max(_REV.c.created_at).label("saved_at")).group_by(
        _REV.c.procedure_id)
    if scoped:
        audit_query = audit_query.where(_A.c.subject_id.in_(procedure_ids))
        revision_query = revision_query.where(_REV.c.procedure_id.in_(procedure_ids))
    changed = {pid: at for pid, at in session.execute(audit_query) if at is not None}
    saved = {pid: at for pid, at in session.execute(revision_query) if at is not None}

    infos = []
    for p in procedures:
        since = local_date(changed[p.id]) if p.id in changed else p.period_start
        activity = local_date(saved[p.id]) if p.id in saved else None
        infos.append(ProcedureInfo(p, since, activity, getattr(p, "planned_audit_date", None)))

    evidence_infos: list[EvidenceInfo] = []
    if evidence:
        by_id = {p.id: p for p in procedures}
        newer = _REV.alias("newer")
        latest = (select(func.max(newer.c.revision)).where(newer.c.procedure_id == _REV.c.procedure_id)
                  .scalar_subquery())
        query = (select(_REV.c.procedure_id, _REV.c.canonical_json)
                 .join(_P, _P.c.id == _REV.c.procedure_id)
                 .where(_P.c.state.not_in(_FINAL), _REV.c.revision == latest, *in_scope(_P.c.familienzentrum_id)))
        for pid, text in session.execute(query):
            p = by_id.get(pid)
            if p is not None and p.familienzentrum_id in forms:
                evidence_infos += _evidence_of(p, forms[p.familienzentrum_id], text)

    years = calendar_years(today)
    contingent_query = select(_K).where(_K.c.kgj.in_([kgj.start_year for kgj in years]))
    if scoped:
        contingent_query = contingent_query.where(_K.c.jugendamt_id.in_(sorted(ja_ids)))
    contingents = tuple(
        Contingent(row.jugendamt_id, KindergartenYear(row.kgj), granted=row.granted, nominated=row.nominated,
                   returned=row.returned, carried_in=row.carried_in, carried_out=row.carried_out)
        for row in session.execute(contingent_query))

    return PlanningInput(jugendaemter=jugendaemter, familienzentren=tuple(familienzentren), users=users,
                         certificates=certificates, procedures=tuple(infos), contingents=contingents,
                         calendar_years=years, evidence=tuple(evidence_infos))


def partition(snapshot: PlanningInput) -> list[PlanningInput]:
    """The snapshot split per Jugendamt; each part carries the people every part needs."""
    fz_ja = {fz.id: fz.jugendamt_id for fz in snapshot.familienzentren}
    auditor_ids = {info.procedure.auditor_id for info in snapshot.procedures if info.procedure.auditor_id}
    common = tuple(u for u in snapshot.users if u.role in (Role.CERTIFIER, Role.AUDITOR) or u.id in auditor_ids)
    common_ids = {u.id for u in common}

    def group(items: Iterable, key) -> dict[str, list]:
        out: dict[str, list] = defaultdict(list)
        for item in items:
            out[key(item)].append(item)
        return out

    fzs = group(snapshot.familienzentren, lambda f: f.jugendamt_id)
    leads = group((u for u in snapshot.users if u.role is Role.KITA_LEAD and u.familienzentrum_id in fz_ja
                   and u.id not in common_ids), lambda u: fz_ja[u.familienzentrum_id])
    coordinators = group((u for u in snapshot.users if u.role is Role.COORDINATOR and u.jugendamt_id is not None
                          and u.id not in common_ids), lambda u: u.jugendamt_id)
    # Data of a Familienzentrum missing from the snapshot goes to a part of its own, where
    # the planner reports it as it would for the whole snapshot.
    certificates = group(snapshot.certificates, lambda c: fz_ja.get(c.familienzentrum_id, "?"))
    procedures = group(snapshot.procedures, lambda i: fz_ja.get(i.procedure.familienzentrum_id, "?"))
    evidence = group(snapshot.evidence, lambda e: fz_ja.get(e.familienzentrum_id, "?"))
    contingents = group(snapshot.contingents, lambda c: c.jugendamt_id)
    ja_by_id = {ja.id: ja for ja in snapshot.jugendaemter}
    parts = []
    for ja_id in sorted(set(ja_by_id) | set(fzs) | set(certificates) | set(procedures) | set(evidence)):
        parts.append(PlanningInput(
            jugendaemter=(ja_by_id[ja_id],) if ja_id in ja_by_id else (),
            familienzentren=tuple(fzs.get(ja_id, ())),
            users=tuple(leads.get(ja_id, ())) + tuple(coordinators.get(ja_id, ())) + common,
            certificates=tuple(certificates.get(ja_id, ())), procedures=tuple(procedures.get(ja_id, ())),
            contingents=tuple(contingents.get(ja_id, ())), calendar_years=snapshot.calendar_years,
            evidence=tuple(evidence.get(ja_id, ())),
        ))
    return parts


def plan(snapshot: PlanningInput, rules: ReminderRules = REMINDER_RULES) -> list[Reminder]:
    """``plan_reminders(snapshot, rules)``, computed per Jugendamt (same list, in the same order)."""
    out: list[Reminder] = []
    for part in partition(snapshot):
        out += plan_reminders(part, rules)
    out.sort(key=lambda r: (r.due, r.subject, r.kind))
    unique: dict[str, Reminder] = {}
    for r in out:
        unique.setdefault(r.key, r)
    return list(unique.values())
