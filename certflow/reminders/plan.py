"""The reminder planner: domain data in, reminders out. Pure and deterministic.

:func:`plan_reminders` derives every reminder the data calls for, past and
future, each with its unique key ``subject|kind|due``. It does not look at the
clock: what is due today is :func:`due_on`'s business, and whether a reminder
was already handed to the outbox is the caller's (``sent``). Call it again
whenever dates or states change (or simply on every scan) and reconcile the
result with the reminder table (:func:`reconcile`).

What is planned (defaults in :class:`~.rules.ReminderRules`; table in docs/reminders.md):

* **Certificates** (to the Kita leads): the re-certification opening
  (:func:`certflow.calendar.recertification_opens`), the ladder 12/6/3/1 months
  before the validity end, and the day after the validity end that the seal has
  lapsed (also to the coordinators). Nothing for a renewed or revoked term, nor
  for a term followed by a later term of the same Familienzentrum.
* **Procedures**, from :func:`certflow.lifecycle.deadlines.deadlines`:
  registration and submission (Kita leads), changes requested and not answered
  (Kita leads), the audit coming up (auditor and Kita leads), the decision
  pending too long (certification body).
* **Coordinator calendar** per Jugendamt and Kindergartenjahr
  (:func:`certflow.calendar.contingent_calendar`): decree expected (until a
  grant is recorded), nominations due to the Land (unless every place is
  taken), unused places to return (only while places are free).
* **Evidence** that will be too old at the end of the next Prüfzeitraum
  (the scoring rule's Stichtag), flagged ahead of time (Kita leads).

**Escalation.** A step that can be acted on (re-certification opening, ladder
steps, registration, submission, changes, decision) is escalated to the
coordinators of the Familienzentrum's Jugendamt ``escalate_after_days`` after
its step day when *nothing has moved* since that day:

* certificate steps: the Familienzentrum's procedure of the re-certification
  year has not progressed beyond ``registered`` (for the opening: does not
  exist) and shows no state change or activity on or after the step day; a
  withdrawn or failed procedure counts as nothing;
* procedure steps: neither the state nor any activity changed on or after the
  deadline (``ProcedureInfo.last_moved < deadline``).

The escalation is planned as soon as the condition holds; when something moves
later, the next planning run drops it (unless it was already sent).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from operator import attrgetter
from datetime import date, timedelta
from types import MappingProxyType
from typing import Any, TypedDict, cast

from ..calendar import (
    KindergartenYear,
    contingent_calendar,
    format_date_de,
    recertification_opens,
    recertification_period,
    recertification_year,
)
from ..catalogue.model import ProcedureKind
from ..lifecycle.contingents import Contingent
from ..lifecycle.deadlines import Deadline, deadlines
from ..lifecycle.entities import (
    PROCEDURE_FINAL_STATES,
    PROCEDURE_STATE_LABELS,
    ROLE_LABELS,
    Certificate,
    CertificateState,
    Familienzentrum,
    Jugendamt,
    ProcedureState,
    Role,
    User,
)
from ._dates import add_months, add_years
from .inputs import EvidenceInfo, PlanningInput, ProcedureInfo
from .model import ESCALATED, Recipient, Reminder, validity_kind
from .rules import REMINDER_RULES, ReminderRules

__all__ = ["Reconciliation", "due_on", "ordered_unique", "plan_reminders", "reconcile", "stale"]

# The calendar's functions are pure; a whole-Land plan asks them about the same few hundred
# dates tens of thousands of times, so the planner keeps their answers (bounded caches).
_format_date_de = lru_cache(maxsize=4096)(format_date_de)
_recertification_period = lru_cache(maxsize=1024)(recertification_period)
_recertification_opens = lru_cache(maxsize=1024)(recertification_opens)
_recertification_year = lru_cache(maxsize=1024)(recertification_year)
_add_months = lru_cache(maxsize=4096)(add_months)

_ONE_DAY = timedelta(days=1)
_LIVE = (CertificateState.VALID, CertificateState.RECERTIFICATION_DUE)
_DEAD_PROCEDURE = (ProcedureState.WITHDRAWN, ProcedureState.NOT_CERTIFIED)
_KIND_LABEL = {ProcedureKind.ERST: "Erst-Zertifizierung", ProcedureKind.RE: "Re-Zertifizierung"}

# Deadline kind (certflow.lifecycle.deadlines) -> reminder kind, lead-days field, who acts, escalates
_PROCEDURE_STEPS: dict[str, tuple[str, str, Role, bool]] = {
    "registration": ("registration_due", "registration_lead_days", Role.KITA_LEAD, True),
    "submission": ("submission_due", "submission_lead_days", Role.KITA_LEAD, True),
    "changes": ("changes_unanswered", "changes_lead_days", Role.KITA_LEAD, True),
    "audit": ("audit_upcoming", "audit_lead_days", Role.KITA_LEAD, False),
    "decision": ("decision_pending", "decision_lead_days", Role.CERTIFIER, True),
}


class _Scope(TypedDict):
    """Whom a reminder concerns, passed on to :class:`Reminder` as keywords."""

    familienzentrum_id: str
    jugendamt_id: str


def _de(d: date | None) -> str | None:
    return None if d is None else _format_date_de(d)


def _euro(amount: int) -> str:
    return f"{amount:,} €".replace(",", ".")


@dataclass(frozen=True, slots=True)
class _Step:
    kind: str
    due: date


def _until_next(steps: Sequence[_Step], last_until: date | None) -> list[date | None]:
    """For steps sorted by day: each step is stale the day the next later step is due."""
    out: list[date | None] = []
    for i, step in enumerate(steps):
        later = [s.due for s in steps[i + 1:] if s.due > step.due]
        out.append(later[0] - _ONE_DAY if later else last_until)
    return out


class _World:
    """Indexes over the snapshot; resolves recipients."""

    def __init__(self, snapshot: PlanningInput, rules: ReminderRules):
        self.rules = rules
        self.jugendaemter: dict[str, Jugendamt] = {j.id: j for j in snapshot.jugendaemter}
        self.familienzentren: dict[str, Familienzentrum] = {f.id: f for f in snapshot.familienzentren}
        self.users: dict[str, User] = {u.id: u for u in snapshot.users}
        self.procedures = sorted(snapshot.procedures, key=lambda i: i.procedure.id)
        self.contingents: dict[tuple[str, KindergartenYear], Contingent] = {
            (c.jugendamt_id, c.kgj): c for c in snapshot.contingents
        }
        self.certificates = sorted(snapshot.certificates, key=lambda c: (c.familienzentrum_id, c.issued, c.number))
        # Indexes for the per-reminder lookups below (a scan over all of NRW must stay linear).
        self._by_role: dict[tuple[Role, str | None], list[User]] = defaultdict(list)
        for u in self.users.values():
            if u.role is Role.KITA_LEAD:
                scope = u.familienzentrum_id
            elif u.role is Role.COORDINATOR:
                scope = u.jugendamt_id
            else:
                scope = None
            self._by_role[(u.role, scope)].append(u)
        self._certs_of: dict[str, list[Certificate]] = defaultdict(list)
        for c in self.certificates:
            self._certs_of[c.familienzentrum_id].append(c)
        self._recipients_of: dict[Role, dict[str | None, tuple[Recipient, ...]]] = {role: {} for role in Role}
        self._common_facts: dict[str, dict[str, Any]] = {}
        self._procs_of: dict[tuple[str, KindergartenYear], list[ProcedureInfo]] = defaultdict(list)
        for i in self.procedures:
            self._procs_of[(i.procedure.familienzentrum_id, i.procedure.kgj)].append(i)

    # -- lookups ---------------------------------------------------------------------------------------

    def fz(self, fz_id: str) -> Familienzentrum:
        try:
            return self.familienzentren[fz_id]
        except KeyError:
            raise ValueError(f"Familienzentrum {fz_id!r} fehlt in den Planungsdaten") from None

    def jugendamt_name(self, ja_id: str) -> str:
        ja = self.jugendaemter.get(ja_id)
        return ja.name if ja else ja_id

    def user_name(self, user_id: str | None) -> str | None:
        if user_id is None:
            return None
        user = self.users.get(user_id)
        return user.name if user else user_id

    def _recipients(self, role: Role, scope_id: str | None, scope: str) -> tuple[Recipient, ...]:
        """The people in ``role`` for ``scope_id`` (or the unfilled role), built once per scope."""
        known = self._recipients_of[role]
        found = known.get(scope_id)
        if found is None:
            found = tuple(sorted({Recipient(role, scope, u.id) for u in self._by_role.get((role, scope_id), ())})) \
                or (Recipient(role, scope),)
            known[scope_id] = found
        return found

    def kita_leads(self, fz_id: str) -> tuple[Recipient, ...]:
        return self._recipients(Role.KITA_LEAD, fz_id, f"familienzentrum:{fz_id}")

    def coordinators(self, ja_id: str) -> tuple[Recipient, ...]:
        return self._recipients(Role.COORDINATOR, ja_id, f"jugendamt:{ja_id}")

    def certifiers(self) -> tuple[Recipient, ...]:
        return self._recipients(Role.CERTIFIER, None, "certifier")

    def auditor(self, procedure_id: str, auditor_id: str | None) -> tuple[Recipient, ...]:
        return (Recipient(Role.AUDITOR, f"procedure:{procedure_id}", auditor_id),)

    def has_successor(self, cert: Certificate) -> bool:
        return any(c.issued > cert.issued and CertificateState(c.state) is not CertificateState.REVOKED
                   for c in self._certs_of.get(cert.familienzentrum_id, ()))

    def renewal_procedure(self, cert: Certificate) -> ProcedureInfo | None:
        """The Familienzentrum's procedure of the re-certification year, the latest opened one."""
        year = _recertification_year(cert.valid_until)
        found = self._procs_of.get((cert.familienzentrum_id, year), [])
        return max(found, key=lambda i: (i.state_since, i.procedure.id)) if found else None

    def common_facts(self, fz: Familienzentrum) -> dict[str, Any]:
        """The facts every reminder about ``fz`` carries (a fresh dict: callers extend it)."""
        facts = self._common_facts.get(fz.id)
        if facts is None:
            facts = {"familienzentrum": fz.name, "jugendamt": self.jugendamt_name(fz.jugendamt_id),
                     "funding_eur": _euro(self.rules.annual_funding_eur)}
            self._common_facts[fz.id] = facts
        return dict(facts)


# -- certificates --------------------------------------------------------------------------------------


def _certificate_moved(info: ProcedureInfo | None, step: _Step) -> bool:
    if info is None or ProcedureState(info.procedure.state) in _DEAD_PROCEDURE:
        return False
    if step.kind == "recert_opens":
        return True  # opening the re-certification is what the opening asks for
    if ProcedureState(info.procedure.state) is not ProcedureState.REGISTERED:
        return True
    return info.last_moved >= step.due


def _procedure_status_text(info: ProcedureInfo | None) -> str:
    if info is None:
        return "Es ist noch keine Re-Zertifizierung eröffnet."
    p = info.procedure
    label = PROCEDURE_STATE_LABELS[ProcedureState(p.state)]
    return f"Stand der {_KIND_LABEL[p.kind]}: {label} seit {format_date_de(info.state_since)}."


def _certificate_reminders(world: _World, cert: Certificate) -> list[Reminder]:
    rules = world.rules
    state = CertificateState(cert.state)
    if state not in (*_LIVE, CertificateState.EXPIRED) or world.has_successor(cert):
        return []
    fz = world.fz(cert.familienzentrum_id)
    subject = f"certificate:{cert.key}"
    end = cert.valid_until
    leads = world.kita_leads(fz.id)
    renewal = world.renewal_procedure(cert)
    facts = world.common_facts(fz) | {
        "certificate_number": cert.number, "issued": _de(cert.issued), "valid_until": _de(end),
        "recert_year": str(_recertification_year(end)), "procedure_status": _procedure_status_text(renewal),
        "procedure_state": None if renewal is None else PROCEDURE_STATE_LABELS[ProcedureState(renewal.procedure.state)],
    }
    try:
        start, period_end = _recertification_period(end, rules.recertification)
        opens: date | None = _recertification_opens(end, rules.recertification)
        facts |= {"period_start": _de(start), "period_end": _de(period_end), "documents_from": _de(opens)}
    except ValueError:  # a historic validity end that is no 31 July: no regular re-certification window
        opens = None
        facts |= {"period_start": None, "period_end": None, "documents_from": None}
    scope = _Scope(familienzentrum_id=fz.id, jugendamt_id=fz.jugendamt_id)
    out: list[Reminder] = []

    if state in _LIVE:
        steps = [_Step(validity_kind(m), _add_months(end, -m)) for m in rules.ladder_months]
        if opens is not None:
            steps.append(_Step("recert_opens", opens))
        steps.sort(key=lambda s: (s.due, s.kind))
        for step, until in zip(steps, _until_next(steps, end), strict=True):
            extra: dict[str, Any]
            if step.kind == "recert_opens":
                title = f"Re-Zertifizierung {facts['recert_year']}: Unterlagen ab {_de(step.due)} – {fz.name}"
                extra = {}
            else:
                months = int(step.kind.removeprefix("validity_").removesuffix("m"))
                left = "1 Monat" if months == 1 else f"{months} Monaten"
                title = f"Gütesiegel läuft in {left} ab ({_de(end)}) – {fz.name}"
                extra = {"months_left": months}
            out.append(Reminder(subject, step.kind, step.due, end if step.kind != "recert_opens" else step.due,
                                title, leads, facts | extra | {"days_left": (end - step.due).days},
                                send_until=until, urgent=step.kind == validity_kind(1), **scope))
        escalations = [(s, s.due + timedelta(days=rules.escalate_after_days)) for s in steps]
        escalations = [(s, d) for s, d in escalations if d <= end and not _certificate_moved(renewal, s)]
        esc_steps = [_Step(s.kind + ESCALATED, d) for s, d in escalations]
        base = {r.kind: r for r in out}
        for (step, _), esc, until in zip(escalations, esc_steps, _until_next(esc_steps, end), strict=True):
            out.append(_escalation(world, base[step.kind], step.due, esc.due, until, ROLE_LABELS[Role.KITA_LEAD],
                                   fz.jugendamt_id))

    lapsed = end + _ONE_DAY
    out.append(Reminder(
        subject, "lapsed", lapsed, end, f"Gütesiegel abgelaufen am {_de(end)} – {fz.name}",
        leads + world.coordinators(fz.jugendamt_id), facts | {"lapsed_on": _de(lapsed)},
        send_until=lapsed + timedelta(days=rules.lapsed_notice_days), urgent=True, **scope))
    return out


def _escalation(world: _World, base: Reminder, step_day: date, due: date, until: date | None, responsible: str,
                jugendamt_id: str) -> Reminder:
    """Escalate ``base``, whose step fell on ``step_day``, to the coordinators on ``due``."""
    facts = cast(MappingProxyType, base.facts).copy() | {  # the model's proxy: copy() is a dict, made in C
        "step_title": base.title, "step_date": _de(step_day), "reminded_on": _de(base.due),
        "event_date": _de(base.event_date), "escalated_after_days": world.rules.escalate_after_days,
        "responsible": responsible, "overdue_days": (due - step_day).days,
    }
    return Reminder(base.subject, base.kind + ESCALATED, due, base.event_date, f"Eskalation: {base.title}",
                    world.coordinators(jugendamt_id), facts, level=1, send_until=until,
                    familienzentrum_id=base.familienzentrum_id, jugendamt_id=jugendamt_id, urgent=True,
                    escalates=base.key)


# -- procedures ----------------------------------------------------------------------------------------


def _procedure_title(kind: str, d: Deadline, fz: Familienzentrum, info: ProcedureInfo) -> str:
    due = _de(d.due)
    return {
        "registration_due": f"Registrierung bei der Zertifizierungsstelle bis {due} – {fz.name}",
        "submission_due": f"Selbstbewertung einreichen bis {due} – {fz.name}",
        "changes_unanswered": f"Nachbesserung bis {due} einreichen – {fz.name}",
        "audit_upcoming": f"Begehung am {due} – {fz.name}",
        "decision_pending": f"Entscheidung fällig seit {due} (Begehung am {_de(info.state_since)}) – {fz.name}",
    }[kind]


def _procedure_reminders(world: _World, info: ProcedureInfo) -> list[Reminder]:
    p = info.procedure
    state = ProcedureState(p.state)
    if state in PROCEDURE_FINAL_STATES:
        return []
    rules = world.rules
    fz = world.fz(p.familienzentrum_id)
    subject = f"procedure:{p.id}"
    scope = _Scope(familienzentrum_id=fz.id, jugendamt_id=fz.jugendamt_id)
    facts = world.common_facts(fz) | {
        "procedure_id": p.id, "procedure_kind": _KIND_LABEL[p.kind], "kgj": str(p.kgj),
        "state": PROCEDURE_STATE_LABELS[state], "state_since": _de(info.state_since),
        "period_start": _de(p.period_start), "period_end": _de(p.period_end),
        "auditor": world.user_name(p.auditor_id), "audit_date": _de(info.planned_audit),
    }
    out: list[Reminder] = []
    for d in deadlines([(p, info.state_since, info.planned_audit)], [], rules.deadlines):
        kind, lead_field, acting, escalates = _PROCEDURE_STEPS[d.kind]
        if kind == "audit_upcoming":
            recipients = world.auditor(p.id, p.auditor_id) + world.kita_leads(fz.id)
        elif acting is Role.CERTIFIER:
            recipients = world.certifiers()
        else:
            recipients = world.kita_leads(fz.id)
        title = _procedure_title(kind, d, fz, info)
        steps = [_Step(kind, d.due - timedelta(days=lead)) for lead in getattr(rules, lead_field)]
        last_until = None if kind == "decision_pending" else d.due
        step_facts = facts | {"deadline": _de(d.due), "deadline_label": d.label}
        base: Reminder | None = None
        for step, until in zip(steps, _until_next(steps, last_until), strict=True):
            base = Reminder(subject, kind, step.due, d.due, title, recipients,
                            step_facts | {"days_left": (d.due - step.due).days}, send_until=until,
                            urgent=kind in ("audit_upcoming", "decision_pending"), **scope)
            out.append(base)
        if escalates and base is not None and info.last_moved < d.due:
            esc_due = d.due + timedelta(days=rules.escalate_after_days)
            out.append(_escalation(world, base, d.due, esc_due, None, ROLE_LABELS[acting], fz.jugendamt_id))
    return out


# -- the coordinators' yearly calendar -----------------------------------------------------------------


def _calendar_reminders(world: _World, ja: Jugendamt, kgj: KindergartenYear) -> list[Reminder]:
    rules = world.rules
    cal = contingent_calendar(kgj, rules.contingent)
    contingent = world.contingents.get((ja.id, kgj))
    subject = f"jugendamt:{ja.id}:{kgj}"
    coordinators = world.coordinators(ja.id)
    facts = {
        "jugendamt": ja.name, "kgj": str(kgj), "decree_expected": _de(cal.decree_expected),
        "nominations_due": _de(cal.nominations_due), "return_deadline": _de(cal.return_deadline),
        "reoffered_in": str(cal.reoffered_in), "funding_eur": _euro(rules.annual_funding_eur),
        "places_total": None if contingent is None else contingent.total,
        "places_nominated": None if contingent is None else contingent.nominated,
        "places_free": None if contingent is None else contingent.free,
    }
    out: list[Reminder] = []

    def add(kind: str, event: date, leads: Iterable[int], title: str, until: date | None) -> None:
        steps = [_Step(kind, event - timedelta(days=lead)) for lead in leads]
        for step, step_until in zip(steps, _until_next(steps, until), strict=True):
            out.append(Reminder(subject, kind, step.due, event, title, coordinators,
                                facts | {"days_left": (event - step.due).days}, send_until=step_until,
                                jugendamt_id=ja.id))

    if contingent is None or contingent.granted == 0:
        add("decree_expected", cal.decree_expected, rules.decree_lead_days,
            f"Kontingent-Erlass für {kgj} erwartet (um den {_de(cal.decree_expected)})", cal.nominations_due)
    if contingent is None or contingent.total == 0 or contingent.free > 0:
        add("nominations_due", cal.nominations_due, rules.nominations_lead_days,
            f"Nominierungen für {kgj} bis {_de(cal.nominations_due)} an das Land melden", cal.nominations_due)
    if contingent is not None and contingent.free > 0:
        places = "1 freier Platz" if contingent.free == 1 else f"{contingent.free} freie Plätze"
        add("places_unused", cal.return_deadline, rules.returns_lead_days,
            f"{places} für {kgj}: bis {_de(cal.return_deadline)} nominieren oder zurückgeben", cal.return_deadline)
    return out


# -- evidence -----------------------------------------------------------------------------------------


def _evidence_reminders(world: _World, ev: EvidenceInfo) -> list[Reminder]:
    cutoff = add_years(ev.period_end, -ev.max_age_years)  # the scoring rule: too old when date < cutoff
    if ev.date >= cutoff:
        return []
    fz = world.fz(ev.familienzentrum_id)
    due = ev.period_end - timedelta(days=world.rules.evidence_lookahead_days)
    facts = world.common_facts(fz) | {
        "procedure_id": ev.procedure_id, "evidence_title": ev.title, "evidence_kind": ev.kind,
        "evidence_date": _de(ev.date), "max_age_years": ev.max_age_years, "stichtag": _de(ev.period_end),
        "oldest_allowed": _de(cutoff), "counts_until": _de(add_years(ev.date, ev.max_age_years)),
        "days_left": (ev.period_end - due).days,
    }
    title = f"Nachweis „{ev.title}“ ist zum {_de(ev.period_end)} zu alt – {fz.name}"
    return [Reminder(f"evidence:{ev.procedure_id}:{ev.sha256 or ev.title}", "evidence_expiring", due,
                     ev.period_end, title, world.kita_leads(fz.id), facts, send_until=ev.period_end,
                     familienzentrum_id=fz.id, jugendamt_id=fz.jugendamt_id)]


# -- entry points -------------------------------------------------------------------------------------


_order = attrgetter("due", "subject", "kind")
"""The planner's order, (due, subject, kind): the parts of the key, so equal keys sort next to each other."""


def ordered_unique(reminders: Iterable[Reminder]) -> list[Reminder]:
    """``reminders`` in the planner's order, the first of each key only."""
    out: list[Reminder] = []
    last = None
    for r in sorted(reminders, key=_order):
        order = _order(r)
        if order != last:
            out.append(r)
            last = order
    return out


def plan_reminders(snapshot: PlanningInput, rules: ReminderRules = REMINDER_RULES) -> list[Reminder]:
    """Every reminder the snapshot calls for, ordered by (due, subject, kind), keys unique.

    Deterministic: the same snapshot gives the same list, whatever the order of its
    tuples. Raises :class:`ValueError` when a certificate, procedure or evidence record
    names a Familienzentrum the snapshot does not contain.
    """
    world = _World(snapshot, rules)
    out: list[Reminder] = []
    for cert in world.certificates:
        out += _certificate_reminders(world, cert)
    for info in world.procedures:
        out += _procedure_reminders(world, info)
    for ja in sorted(snapshot.jugendaemter, key=lambda j: j.id):
        for kgj in sorted(set(snapshot.calendar_years)):
            out += _calendar_reminders(world, ja, kgj)
    for ev in sorted(snapshot.evidence, key=lambda e: (e.procedure_id, e.sha256 or "", e.title, e.date)):
        out += _evidence_reminders(world, ev)
    return ordered_unique(out)  # the same evidence listed twice is one reminder


def due_on(reminders: Iterable[Reminder], as_of: date, sent: Collection[str] = frozenset()) -> list[Reminder]:
    """The reminders to hand to the outbox on ``as_of``: due by then, not sent, not stale.

    ``sent``: keys already handed to the outbox. ``as_of`` is the local day in NRW
    (:func:`certflow.lifecycle.machinery.local_date`).
    """
    return sorted((r for r in reminders if r.due <= as_of and r.key not in sent and not r.is_stale(as_of)),
                  key=_order)


def stale(reminders: Iterable[Reminder], as_of: date, sent: Collection[str] = frozenset()) -> list[Reminder]:
    """Unsent reminders whose time has passed (a later step took over): mark them skipped, visibly."""
    return sorted((r for r in reminders if r.key not in sent and r.is_stale(as_of)), key=_order)


@dataclass(frozen=True, slots=True)
class Reconciliation:
    """What to change in the reminder table after planning.

    * ``add``: planned reminders whose key is not stored yet (insert);
    * ``refresh``: planned reminders already stored and not yet sent (update title,
      recipients, facts: a person may have changed);
    * ``drop``: stored, unsent keys the plan no longer contains (a date or state
      changed, something moved): delete or mark obsolete.

    Sent reminders are history: never changed, never dropped.
    """

    add: tuple[Reminder, ...] = ()
    refresh: tuple[Reminder, ...] = ()
    drop: tuple[str, ...] = field(default=())


def reconcile(planned: Iterable[Reminder], stored: Mapping[str, bool]) -> Reconciliation:
    """Compare a fresh plan with the table: ``stored`` maps each stored key to whether it was sent."""
    by_key = {r.key: r for r in planned}
    add = tuple(r for k, r in by_key.items() if k not in stored)
    refresh = tuple(r for k, r in by_key.items() if k in stored and not stored[k])
    drop = tuple(sorted(k for k, sent in stored.items() if not sent and k not in by_key))
    return Reconciliation(add, refresh, drop)
