"""Verbund rules: composition, joining, leaving, restructuring, audit sites.

Facts (/work/shared/domain.md, sections 1 and 3):

* a Verbund has normally ("in der Regel") at most 5 Einrichtungen within a
  3 km radius; exceptions are granted by the ministry or, in rural areas, the
  local Jugendhilfeplanung [D10]; a Verbund is 2 or more facilities [seed pages];
* it has exactly one Zuschussempfänger [P7];
* a joining member carries the Verbund's seal until it expires; a leaving
  member loses it; the seal survives if more than half of the members remain [D11];
* turning an Einzel into a Verbund is a new certification with a new
  Zertifizierungsnummer, ideally at the regular re-certification date [P1];
* the audit visits a Verbund at 2 sites: the Zuschussempfänger and one other [P4].

Decisions: "within a 3 km radius" is read as *every two members at most 3 km
apart* (great-circle distance on lat/lon). The two "in der Regel" rules (at
most 5 members, within 3 km) yield to an exception whose reason is recorded:
a joining Kita beyond them is accepted with ``exception_reason`` (checked
against the members it joins; pairs already in the Verbund were accepted
before), and so is a restructured Verbund. The other rules (at least
2 members, one Zuschussempfänger among them) have no exception. "More than half
of the members" counts the members certified with the seal, i.e. the members
at the moment it was issued: Kitas that joined later do not count, Kitas that
left later (even on the day of issue) do.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date
from itertools import combinations

from ..calendar import KindergartenYear, format_date_de, recertification_year
from ..catalogue.model import Form, ProcedureKind
from .entities import Certificate, CertificateState, Familienzentrum, Kita
from .machinery import Refused

__all__ = [
    "EARTH_RADIUS_KM", "MAX_MEMBERS", "MIN_MEMBERS", "RADIUS_KM", "JoinOutcome", "LeaveOutcome",
    "RestructuringPlan", "audit_sites_refusal", "composition_problems", "composition_refusal", "distance_km",
    "haversine_km", "join", "leave", "restructure_to_verbund",
]

MAX_MEMBERS = 5
MIN_MEMBERS = 2
RADIUS_KM = 3.0
EARTH_RADIUS_KM = 6371.0088  # mean Earth radius (IUGG)


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in km between two points given in degrees."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def distance_km(a: Kita, b: Kita) -> float:
    return haversine_km(a.lat, a.lon, b.lat, b.lon)


def _km(value: float) -> str:
    return f"{value:.1f}".replace(".", ",")


def _members(fz: Familienzentrum, kitas: Iterable[Kita]) -> list[Kita]:
    by_id = {k.id: k for k in kitas}
    missing = [i for i in fz.member_kita_ids if i not in by_id]
    if missing:
        raise ValueError(f"Kita records missing for members {missing} of {fz.id}")
    return [by_id[i] for i in fz.member_kita_ids]


def _radius_deviations(pairs: Iterable[tuple[Kita, Kita]]) -> list[str]:
    out = []
    for a, b in pairs:
        d = distance_km(a, b)
        if d > RADIUS_KM:
            out.append(f"{a.name} und {b.name} liegen {_km(d)} km auseinander (erlaubt: {_km(RADIUS_KM)} km)")
    return out


def _size_deviation(fz: Familienzentrum) -> list[str]:
    n = len(fz.member_kita_ids)
    return [f"Ein Verbund hat höchstens {MAX_MEMBERS} Einrichtungen, {fz.name} hätte {n}"] if n > MAX_MEMBERS else []


def _hard_problems(fz: Familienzentrum) -> list[str]:
    """What no exception can cure: the number of Kitas of an Einzel, at least 2 members, the Zuschussempfänger."""
    ids = fz.member_kita_ids
    zue = fz.zuschussempfaenger_id
    if fz.form is Form.EINZEL:
        out = [] if len(ids) == 1 else [f"Eine Einzeleinrichtung hat genau eine Kita, nicht {len(ids)}"]
        if zue is not None and zue not in ids:
            out.append(f"Zuschussempfänger {zue} gehört nicht zum Familienzentrum {fz.name}")
        return out
    out = []
    if len(ids) < MIN_MEMBERS:
        out.append(f"Ein Verbund braucht mindestens {MIN_MEMBERS} Einrichtungen, {fz.name} hat {len(ids)}")
    if zue is None:
        out.append(f"Der Verbund {fz.name} braucht genau einen Zuschussempfänger")
    elif zue not in ids:
        out.append(f"Zuschussempfänger {zue} ist keine Einrichtung des Verbunds {fz.name}")
    return out


_EXCEPTION_NEEDS_REASON = "eine Ausnahme braucht eine dokumentierte Begründung"
_EXCEPTION_HINT = "In der Regel; eine Ausnahme ist möglich, wenn ihre Begründung erfasst wird"


def composition_problems(fz: Familienzentrum, kitas: Iterable[Kita]) -> list[str]:
    """Everything wrong with the members of ``fz`` (German), empty when the composition is fine.

    A departure from the "in der Regel" rules counts as a problem here; :func:`join` and
    :func:`restructure_to_verbund` accept one with a recorded exception.
    """
    members = _members(fz, kitas)
    out = _hard_problems(fz)
    if fz.form is Form.VERBUND:
        out += _size_deviation(fz)
        if not (fz.radius_exception_reason or "").strip():
            out += [f"{d}; {_EXCEPTION_NEEDS_REASON}" for d in _radius_deviations(combinations(members, 2))]
    return out


def composition_refusal(fz: Familienzentrum, kitas: Iterable[Kita]) -> str | None:
    problems = composition_problems(fz, kitas)
    return "; ".join(problems) if problems else None


def _seal_valid_until(fz: Familienzentrum, certificate: Certificate | None, today: date) -> date | None:
    if certificate is None or certificate.familienzentrum_id != fz.id:
        return None
    live = certificate.state in (CertificateState.VALID, CertificateState.RECERTIFICATION_DUE)
    return certificate.valid_until if live and today <= certificate.valid_until else None


@dataclass(frozen=True, slots=True)
class JoinOutcome:
    familienzentrum: Familienzentrum
    kita_id: str
    seal_valid_until: date | None  # the joining Kita carries the Verbund's seal until then [D11]
    message: str
    exceptions: tuple[str, ...] = ()      # the "in der Regel" rules this join departs from [D10]
    exception_reason: str | None = None   # why that is accepted (recorded in the audit trail)


def _reason_text(reason: str | None) -> str | None:
    return reason.strip() if isinstance(reason, str) and reason.strip() else None


def join(
    fz: Familienzentrum, kitas: Iterable[Kita], joining: Kita, certificate: Certificate | None, today: date,
    *, exception_reason: str | None = None,
) -> JoinOutcome:
    """Add ``joining`` to the Verbund ``fz``; refuse when the Verbund rules would break.

    A sixth member, or one more than 3 km from a member, is accepted when ``exception_reason``
    says why (the rule says "in der Regel" [D10]); the outcome names the rules it departs from.
    """
    kitas = [*kitas, joining]
    if fz.form is not Form.VERBUND:
        raise Refused(
            f"{fz.name} ist eine Einzeleinrichtung; ein Verbund entsteht nur durch eine neue Zertifizierung "
            "mit neuer Zertifizierungsnummer"
        )
    if joining.id in fz.member_kita_ids:
        raise Refused(f"{joining.name} gehört schon zum Verbund {fz.name}")
    grown = replace(fz, member_kita_ids=(*fz.member_kita_ids, joining.id))
    members = _members(grown, kitas)
    hard = _hard_problems(grown)
    if hard:
        raise Refused(f"{joining.name} kann dem Verbund nicht beitreten: {'; '.join(hard)}")
    radius = [] if (fz.radius_exception_reason or "").strip() else _radius_deviations(
        (member, joining) for member in members if member.id != joining.id)
    deviations = tuple(_size_deviation(grown) + radius)
    why = _reason_text(exception_reason)
    if deviations and why is None:
        raise Refused(f"{joining.name} kann dem Verbund nicht beitreten: {'; '.join(deviations)}. {_EXCEPTION_HINT}")
    until = _seal_valid_until(fz, certificate, today)
    text = (f"{joining.name} trägt das Gütesiegel des Verbunds bis {format_date_de(until)}" if until
            else f"{joining.name} ist beigetreten; der Verbund hat derzeit kein gültiges Gütesiegel")
    if deviations:
        text += f"; Ausnahme erfasst ({'; '.join(deviations)}): {why}"
        return JoinOutcome(grown, joining.id, until, text, deviations, why)
    if why is not None:
        text += " (keine Ausnahme nötig: die Regeln sind eingehalten)"
    return JoinOutcome(grown, joining.id, until, text)


@dataclass(frozen=True, slots=True)
class LeaveOutcome:
    familienzentrum: Familienzentrum
    kita_id: str
    seal_kept: bool          # False: the Verbund's seal must be revoked
    remaining_certified: int
    certified_members: int
    message: str


def leave(
    fz: Familienzentrum, leaving_id: str, certified_member_ids: Iterable[str],
    new_zuschussempfaenger_id: str | None = None,
) -> LeaveOutcome:
    """Remove ``leaving_id`` from the Verbund; say whether the seal survives [D11].

    The leaving Kita loses the seal. The Verbund keeps it while MORE than half
    of ``certified_member_ids`` (the members certified with the seal) remain;
    exactly half is not enough. A leaving Zuschussempfänger needs a successor
    among the remaining members.
    """
    certified = set(certified_member_ids)
    if fz.form is not Form.VERBUND:
        raise Refused(f"{fz.name} ist kein Verbund; eine Einzeleinrichtung kann nicht austreten")
    if leaving_id not in fz.member_kita_ids:
        raise Refused(f"Einrichtung {leaving_id} gehört nicht zum Verbund {fz.name}")
    if not certified:
        raise ValueError("certified_member_ids must name the members certified with the seal")
    rest = tuple(i for i in fz.member_kita_ids if i != leaving_id)
    zue = fz.zuschussempfaenger_id
    if zue == leaving_id:
        if new_zuschussempfaenger_id not in rest:
            raise Refused(
                f"Der Zuschussempfänger {leaving_id} tritt aus: bitte einen neuen Zuschussempfänger "
                f"unter den verbleibenden Einrichtungen ({', '.join(rest)}) bestimmen"
            )
        zue = new_zuschussempfaenger_id
    remaining = len(certified & set(rest))
    kept = 2 * remaining > len(certified)
    shrunk = replace(fz, member_kita_ids=rest, zuschussempfaenger_id=zue)
    if kept:
        text = (f"{leaving_id} verliert das Gütesiegel; der Verbund behält es "
                f"({remaining} von {len(certified)} zertifizierten Einrichtungen bleiben)")
    else:
        text = (f"{leaving_id} verliert das Gütesiegel; das Gütesiegel des Verbunds ist zu widerrufen: "
                f"nur {remaining} von {len(certified)} zertifizierten Einrichtungen bleiben, "
                "nötig ist mehr als die Hälfte")
    return LeaveOutcome(shrunk, leaving_id, kept, remaining, len(certified), text)


@dataclass(frozen=True, slots=True)
class RestructuringPlan:
    """What must happen when an Einzeleinrichtung becomes a Verbund [P1]."""

    familienzentrum: Familienzentrum          # the Verbund, without a certificate number yet
    procedure_kind: ProcedureKind             # a new certification: Erst-Zertifizierung, form Verbund
    kgj: KindergartenYear | None              # ideally the regular re-certification year
    new_certificate_number_needed: bool
    previous_certificate_number: str | None
    previous_valid_until: date | None         # the old seal stays valid until then
    contingent_place_needed: bool
    steps: tuple[str, ...]
    exceptions: tuple[str, ...] = ()          # the "in der Regel" rules the new Verbund departs from [D10]


def restructure_to_verbund(
    fz: Familienzentrum, kitas: Iterable[Kita], member_kita_ids: Iterable[str], zuschussempfaenger_id: str,
    certificate: Certificate | None = None, *, exception_reason: str | None = None,
) -> RestructuringPlan:
    """Plan turning the Einzeleinrichtung ``fz`` into a Verbund; refuse an invalid Verbund.

    More than 5 members, or members more than 3 km apart, need ``exception_reason`` [D10]; a radius
    exception is kept as the Verbund's ``radius_exception_reason``.
    """
    if fz.form is not Form.EINZEL:
        raise Refused(f"{fz.name} ist bereits ein Verbund")
    ids = tuple(member_kita_ids)
    if fz.member_kita_ids[0] not in ids:
        raise Refused(f"Die bisherige Einrichtung {fz.member_kita_ids[0]} muss zum neuen Verbund gehören")
    verbund = replace(
        fz, form=Form.VERBUND, member_kita_ids=ids, zuschussempfaenger_id=zuschussempfaenger_id,
        certificate_number=None, radius_exception_reason=None,
    )
    members = _members(verbund, kitas)
    hard = _hard_problems(verbund)
    if hard:
        raise Refused(f"Der neue Verbund ist so nicht möglich: {'; '.join(hard)}")
    radius = _radius_deviations(combinations(members, 2))
    deviations = tuple(_size_deviation(verbund) + radius)
    why = _reason_text(exception_reason)
    if deviations and why is None:
        raise Refused(f"Der neue Verbund ist so nicht möglich: {'; '.join(deviations)}. {_EXCEPTION_HINT}")
    if radius:
        verbund = replace(verbund, radius_exception_reason=why)
    valid_until = certificate.valid_until if certificate is not None else None
    kgj = recertification_year(valid_until) if valid_until else None
    steps = [f"Neue Zertifizierung (Erst-Zertifizierung, Verbund) für {fz.name} eröffnen"
             + (f", möglichst zum regulären Re-Zertifizierungstermin im Kindergartenjahr {kgj}" if kgj else "")]
    steps.append("Nach der Entscheidung eine neue Zertifizierungsnummer vergeben")
    if fz.certificate_number and valid_until:
        steps.append(f"Das bisherige Gütesiegel {fz.certificate_number} bleibt bis {format_date_de(valid_until)} "
                     "gültig und wird von der neuen Urkunde abgelöst; es wird nicht re-zertifiziert")
    if deviations:
        steps.append(f"Ausnahme erfassen ({'; '.join(deviations)}): {why}")
    return RestructuringPlan(
        verbund, ProcedureKind.ERST, kgj, True, fz.certificate_number, valid_until, False, tuple(steps), deviations,
    )


def audit_sites_refusal(fz: Familienzentrum, sites: Iterable[str]) -> str | None:
    """Guard for the audit visit: a Verbund at 2 sites (the Zuschussempfänger and one other
    member), an Einzeleinrichtung at its one Kita [P4]."""
    sites = tuple(sites)
    if len(set(sites)) != len(sites):
        return "Ein Standort der Begehung ist doppelt angegeben"
    strangers = [s for s in sites if s not in fz.member_kita_ids]
    if strangers:
        return f"Standort(e) {', '.join(strangers)} gehören nicht zum Familienzentrum {fz.name}"
    if fz.form is Form.EINZEL:
        if len(sites) != 1:
            return f"Eine Einzeleinrichtung wird an genau einem Standort begangen, nicht an {len(sites)}"
        return None
    if len(sites) != 2:
        return ("Ein Verbund wird an genau 2 Standorten begangen (Zuschussempfänger und eine weitere "
                f"Einrichtung), nicht an {len(sites)}")
    if fz.zuschussempfaenger_id not in sites:
        return f"Die Begehung eines Verbunds schließt den Zuschussempfänger {fz.zuschussempfaenger_id} ein"
    return None
