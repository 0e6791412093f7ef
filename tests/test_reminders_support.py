"""Builders shared by the reminder and notify tests (this module holds no tests itself)."""

from __future__ import annotations

from datetime import date

from certflow.calendar import KindergartenYear, validity_end
from certflow.catalogue.model import Form, ProcedureKind
from certflow.lifecycle.contingents import Contingent
from certflow.lifecycle.entities import (
    Certificate,
    CertificateState,
    Familienzentrum,
    Jugendamt,
    Procedure,
    ProcedureState,
    Role,
    User,
)
from certflow.reminders import EvidenceInfo, PlanningInput, ProcedureInfo, Reminder

JA = Jugendamt("JA-1", "Jugendamt Musterstadt")
JA2 = Jugendamt("JA-2", "Kreisjugendamt Lippe")
FZ = Familienzentrum("FZ-1", "Familienzentrum Sonnenblume", Form.EINZEL, ("K-1",), "K-1", "JA-1")
FZ2 = Familienzentrum("FZ-2", "Familienzentrum Regenbogen", Form.EINZEL, ("K-2",), "K-2", "JA-2")
LEAD = User("u-lead", "Anna Müller", Role.KITA_LEAD, familienzentrum_id="FZ-1")
LEAD2 = User("u-lead2", "Özlem Yıldız", Role.KITA_LEAD, familienzentrum_id="FZ-2")
COORD = User("u-coord", "Jörg Weiß", Role.COORDINATOR, jugendamt_id="JA-1")
COORD2 = User("u-coord2", "Käthe Groß", Role.COORDINATOR, jugendamt_id="JA-2")
AUDITOR = User("u-aud", "Bea Prüfer", Role.AUDITOR)
CERTIFIER = User("u-cert", "Zora Zertifizierer", Role.CERTIFIER)
USERS = (LEAD, LEAD2, COORD, COORD2, AUDITOR, CERTIFIER)


def snapshot(**fields) -> PlanningInput:
    base = dict(jugendaemter=(JA, JA2), familienzentren=(FZ, FZ2), users=USERS)
    base.update(fields)
    return PlanningInput(**base)


def cert(issued: date, state=CertificateState.VALID, number="FZ-2023-007", fz="FZ-1",
         valid_until: date | None = None) -> Certificate:
    return Certificate(number, fz, issued, valid_until or validity_end(issued), state)


def proc(state: ProcedureState, *, kind=ProcedureKind.RE, kgj=2026, period=(date(2026, 1, 1), date(2027, 1, 31)),
         auditor: str | None = None, pid="P-1", fz="FZ-1") -> Procedure:
    return Procedure(pid, fz, kind, "familienzentrum-nrw@2020", KindergartenYear(kgj), *period, state=state,
                     auditor_id=auditor)


def info(p: Procedure, since: date, activity: date | None = None, audit: date | None = None) -> ProcedureInfo:
    return ProcedureInfo(p, since, activity, audit)


def evidence(day: date, period_end=date(2027, 1, 31), years=7, title="Fortbildung Elternberatung",
             sha: str | None = None) -> EvidenceInfo:
    return EvidenceInfo("P-1", "FZ-1", title, day, years, period_end, kind="fortbildung", sha256=sha)


def contingent(granted=0, nominated=0, returned=0, kgj=2025, ja="JA-1") -> Contingent:
    return Contingent(ja, KindergartenYear(kgj), granted=granted, nominated=nominated, returned=returned)


def kinds(reminders: list[Reminder]) -> list[tuple[str, date]]:
    return [(r.kind, r.due) for r in reminders]


def of_kind(reminders: list[Reminder], kind: str) -> list[Reminder]:
    return [r for r in reminders if r.kind == kind]
