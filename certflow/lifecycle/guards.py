"""The guards of the lifecycle: each returns ``None`` (allowed) or a German refusal message.

The machines (:mod:`.procedure_machine`, :mod:`.certificate_machine`) and the
openers (:mod:`.opening`) call them and raise :class:`~.machinery.Refused` with
the message. They are pure and can be called on their own, e.g. to grey out a
button with the reason as its tooltip.

"No postponement" of a re-certification [P2] means here:

* a re-certification belongs to the Kindergartenjahr that ends on the seal's
  validity end (:func:`certflow.calendar.recertification_year`); opening one
  for a later year is refused while the seal is valid, so withdrawing and
  restarting cannot move it (restarting in the *same* year keeps the deadline
  and is allowed);
* it is opened when its window opens, with the documents
  (:func:`certflow.calendar.recertification_opens`), not earlier, e.g. on the
  day the seal was issued; the Zertifizierungsstelle may force an earlier
  opening with a reason (:func:`recertification_window_refusal`);
* its Prüfzeitraum may be moved, but never to end after the validity end;
* once the seal has lapsed there is nothing to re-certify: only a new
  Erst-Zertifizierung (with a contingent place) remains.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import date

from ..assessment.model import Assessment, Period, Status
from ..calendar import KindergartenYear, format_date_de, recertification_opens, recertification_year
from ..catalogue.checks import applies
from ..catalogue.model import Catalogue, ProcedureKind
from ..scoring import Report, Scorer
from .contingents import Contingent, free_place_refusal
from .entities import (
    CERTIFICATE_STATE_LABELS,
    PROCEDURE_FINAL_STATES,
    PROCEDURE_STATE_LABELS,
    AuditVisit,
    Certificate,
    CertificateState,
    Familienzentrum,
    Kita,
    Procedure,
    Role,
    SubmissionSnapshot,
    User,
)
from .snapshot import canonical_json, sha256_hex
from .verbund import audit_sites_refusal

__all__ = [
    "SubmissionCheck", "actor_refusal", "assigned_auditor_refusal", "auditor_conflict", "certifiable_refusal",
    "check_submission", "decider_role_refusal", "first_certification_refusal", "four_eyes_refusal",
    "open_procedure_refusal", "period_change_refusal", "recertification_start_refusal",
    "recertification_window_refusal", "snapshot_refusal",
    "submission_refusal", "visit_refusal",
]

_KIND = {ProcedureKind.ERST: "Erst-Zertifizierung", ProcedureKind.RE: "Re-Zertifizierung"}
_LIVE_CERTIFICATE = (CertificateState.VALID, CertificateState.RECERTIFICATION_DUE)


def _listing(values: list[str], limit: int = 10) -> str:
    shown = ", ".join(values[:limit])
    return shown + (f" und {len(values) - limit} weitere" if len(values) > limit else "")


def actor_refusal(actor: User, roles: Collection[Role], action: str,
                  fz: Familienzentrum | None = None) -> str | None:
    """The actor has one of ``roles`` and, as Kita lead or coordinator, belongs to ``fz``."""
    if actor.role not in roles:
        allowed = ", ".join(r.label for r in Role if r in roles)
        return f"{action} ist der Rolle '{actor.role.label}' nicht erlaubt (erlaubt: {allowed})"
    where = fz.name if fz is not None else "dieses Familienzentrum"
    if actor.role is Role.KITA_LEAD and (fz is None or actor.familienzentrum_id != fz.id):
        return f"{actor.name} leitet nicht das Familienzentrum {where}"
    if actor.role is Role.COORDINATOR and (fz is None or actor.jugendamt_id != fz.jugendamt_id):
        return f"{actor.name} gehört nicht zum Jugendamt des Familienzentrums {where}"
    return None


@dataclass(frozen=True, slots=True)
class SubmissionCheck:
    refusal: str | None
    warnings: tuple[str, ...]
    report: Report | None  # None when the check refused before scoring (wrong catalogue or variant)

    @property
    def passed(self) -> bool:
        """Whether the self-assessment meets the requirements (False when it was not scored)."""
        return self.report is not None and self.report.passed


def check_submission(
    procedure: Procedure, fz: Familienzentrum, catalogue: Catalogue, assessment: Assessment,
) -> SubmissionCheck:
    """Whether the self-assessment may be submitted: the pinned catalogue, the right variant,
    an answer for every item of every applicable criterion (chosen profiles only) and, for
    every item answered as met, a document for each evidence rule (of its kind or of one of
    its alternatives' kinds).

    A failing score does not refuse: it comes back as a warning with the report.
    """
    given = f"{assessment.catalogue}@{assessment.catalogue_version}"
    if procedure.catalogue_key != given or catalogue.key != given:
        return SubmissionCheck(
            f"Das Verfahren ist auf den Katalog {procedure.catalogue_key} festgelegt; "
            f"die Selbstbewertung nutzt {given}, geprüft würde mit {catalogue.key}", (), None)
    if assessment.procedure is not procedure.kind or assessment.form is not fz.form:
        return SubmissionCheck(
            f"Die Selbstbewertung ist für {_KIND[assessment.procedure]} ({assessment.form.value}), "
            f"das Verfahren ist eine {_KIND[procedure.kind]} ({fz.form.value})", (), None)
    report = Scorer(catalogue).score(assessment, Period(start=procedure.period_start, end=procedure.period_end))
    items = {item.id: item for _, _, crit in catalogue.all_criteria() for item in crit.all_items()}
    unanswered: list[str] = []
    no_evidence: list[str] = []
    for area in report.areas:
        criteria = [*area.criteria, *(c for p in area.profiles if p.chosen for c in p.criteria)]
        for item_id in (i.id for c in criteria for i in c.items):
            status = assessment.status_of(item_id)
            if status is Status.OFFEN:
                unanswered.append(item_id)
            elif status is Status.ERFUELLT:
                for rule in items[item_id].evidence:
                    if applies(rule.applies_to, assessment.variant) and not any(
                        ev.kind in rule.kinds and item_id in ev.items for ev in assessment.evidence
                    ):
                        kinds = " oder ".join(catalogue.evidence_kinds.get(k, k) for k in rule.kinds)
                        no_evidence.append(f"{item_id} ({kinds})")
    problems = []
    if unanswered:
        problems.append(f"keine Angabe zu {_listing(unanswered)}")
    if no_evidence:
        problems.append(f"Belege fehlen: {_listing(no_evidence)}")
    refusal = f"Einreichen nicht möglich: {'; '.join(problems)}" if problems else None
    warnings: tuple[str, ...] = ()
    if not report.passed:
        blocking = [d.subject for d in report.deficits if d.blocking]
        warnings = (
            "Die Selbstbewertung erfüllt die Anforderungen noch nicht"
            + (f" (offen: {_listing(blocking)})" if blocking else "")
            + "; sie wird trotzdem eingereicht",
        )
    return SubmissionCheck(refusal, warnings, report)


def submission_refusal(procedure: Procedure, fz: Familienzentrum, catalogue: Catalogue,
                       assessment: Assessment) -> str | None:
    return check_submission(procedure, fz, catalogue, assessment).refusal


def snapshot_refusal(procedure: Procedure, assessment: Assessment, snapshot: SubmissionSnapshot,
                     passed: bool) -> str | None:
    """The frozen snapshot is this procedure's next revision of exactly this assessment."""
    if snapshot.procedure_id != procedure.id:
        return f"Die Fassung gehört zum Verfahren {snapshot.procedure_id}, nicht zu {procedure.id}"
    last = procedure.submitted_revision or 0
    if snapshot.revision <= last:
        return (f"Revision {snapshot.revision} ist nicht neu (zuletzt eingereicht: {last}); "
                "eine Änderung wird als neue Revision eingereicht")
    if snapshot.sha256 != sha256_hex(canonical_json(assessment)):
        return f"Die eingefrorene Fassung (Revision {snapshot.revision}) stimmt nicht mit der Selbstbewertung überein"
    if snapshot.passed is not passed:
        return f"Das Ergebnis in Revision {snapshot.revision} stimmt nicht mit der Bewertung überein"
    return None


def auditor_conflict(auditor: User, fz: Familienzentrum, kitas: Iterable[Kita]) -> str | None:
    """The auditor may not work for the Träger or the Jugendamt of any of the Familienzentrum's Kitas."""
    if auditor.role is not Role.AUDITOR:
        return f"{auditor.name} ist nicht als Auditor tätig (Rolle '{auditor.role.label}')"
    members = [k for k in kitas if k.id in fz.member_kita_ids]
    if {k.id for k in members} != set(fz.member_kita_ids):
        raise ValueError(f"Kita records missing for members of {fz.id}")
    if auditor.familienzentrum_id == fz.id:
        return f"Befangenheit: {auditor.name} gehört zum Familienzentrum {fz.name}"
    for kita in members:
        if auditor.traeger_id is not None and auditor.traeger_id == kita.traeger_id:
            return f"Befangenheit: {auditor.name} gehört zum Träger der Kita {kita.name}"
        if auditor.jugendamt_id is not None and auditor.jugendamt_id in (kita.jugendamt_id, fz.jugendamt_id):
            return f"Befangenheit: {auditor.name} gehört zum Jugendamt der Kita {kita.name}"
    return None


def assigned_auditor_refusal(actor: User, procedure: Procedure) -> str | None:
    if actor.role is not Role.AUDITOR or actor.id != procedure.auditor_id:
        return f"Die Begehung erfasst der beauftragte Auditor ({procedure.auditor_id}), nicht {actor.name}"
    return None


def visit_refusal(procedure: Procedure, fz: Familienzentrum, visit: AuditVisit, today: date) -> str | None:
    if visit.procedure_id != procedure.id:
        return f"Die Begehung gehört zum Verfahren {visit.procedure_id}, nicht zu {procedure.id}"
    if visit.auditor_id != procedure.auditor_id:
        return f"Die Begehung hat {visit.auditor_id} durchgeführt, beauftragt ist {procedure.auditor_id}"
    if visit.date > today:
        return f"Die Begehung am {format_date_de(visit.date)} liegt in der Zukunft"
    return audit_sites_refusal(fz, visit.sites)


def decider_role_refusal(decider: User) -> str | None:
    if decider.role is not Role.CERTIFIER:
        return f"Die Entscheidung trifft die Zertifizierungsstelle; {decider.name} hat die Rolle '{decider.role.label}'"
    return None


def four_eyes_refusal(decider: User, procedure: Procedure) -> str | None:
    if procedure.auditor_id is not None and decider.id == procedure.auditor_id:
        return f"Vier-Augen-Prinzip: {decider.name} hat die Begehung durchgeführt und darf nicht selbst entscheiden"
    return None


def certifiable_refusal(procedure: Procedure, snapshot: SubmissionSnapshot) -> str | None:
    """Certify only on the last submitted revision, and only if it passed the scoring."""
    if snapshot.procedure_id != procedure.id or snapshot.revision != procedure.submitted_revision:
        return (f"Entschieden wird über die zuletzt eingereichte Fassung (Revision {procedure.submitted_revision}), "
                f"nicht über Revision {snapshot.revision} von {snapshot.procedure_id}")
    if not snapshot.passed:
        return (f"Zertifizieren nicht möglich: die eingereichte Selbstbewertung (Revision {snapshot.revision}) "
                "erfüllt die Anforderungen nicht")
    return None


def open_procedure_refusal(fz: Familienzentrum, procedures: Iterable[Procedure]) -> str | None:
    for p in procedures:
        if p.familienzentrum_id == fz.id and p.state not in PROCEDURE_FINAL_STATES:
            return (f"Für {fz.name} läuft bereits das Verfahren {p.id} "
                    f"(Zustand '{PROCEDURE_STATE_LABELS[p.state]}')")
    return None


def first_certification_refusal(fz: Familienzentrum, contingent: Contingent, kgj: KindergartenYear,
                                jugendamt_name: str | None = None) -> str | None:
    if fz.certificate_number:
        return f"{fz.name} hat bereits ein Gütesiegel ({fz.certificate_number}); fällig ist eine Re-Zertifizierung"
    if contingent.jugendamt_id != fz.jugendamt_id or contingent.kgj != kgj:
        return (f"Das Kontingent ({contingent.jugendamt_id}, {contingent.kgj}) passt nicht zum Jugendamt "
                f"{fz.jugendamt_id} und zum Kindergartenjahr {kgj}")
    return free_place_refusal(contingent, jugendamt_name)


def recertification_start_refusal(fz: Familienzentrum, certificate: Certificate, kgj: KindergartenYear,
                                  today: date) -> str | None:
    """A re-certification starts only for a live seal and only in its due year (no postponement)."""
    if certificate.familienzentrum_id != fz.id:
        return f"Das Gütesiegel {certificate.number} gehört nicht zu {fz.name}"
    until = format_date_de(certificate.valid_until)
    if certificate.state not in _LIVE_CERTIFICATE or today > certificate.valid_until:
        state = CERTIFICATE_STATE_LABELS[certificate.state]
        return (f"Das Gütesiegel {certificate.number} ist nicht mehr gültig (gültig bis {until}, Zustand '{state}'); "
                "möglich ist nur eine neue Erst-Zertifizierung")
    due = recertification_year(certificate.valid_until)
    if kgj > due:
        return (f"Eine Re-Zertifizierung kann nicht verschoben werden: das Gütesiegel {certificate.number} ist bis "
                f"{until} gültig, die Re-Zertifizierung gehört in das Kindergartenjahr {due}, nicht {kgj}")
    if kgj < due:
        return (f"Die Re-Zertifizierung des Gütesiegels {certificate.number} (gültig bis {until}) gehört in das "
                f"Kindergartenjahr {due}, nicht {kgj}")
    return None


def recertification_window_refusal(certificate: Certificate, today: date) -> str | None:
    """A re-certification opens with its window (the documents arrive three months before the
    Prüfzeitraum, :func:`certflow.calendar.recertification_opens`), not before; forcing it is possible."""
    opens = recertification_opens(certificate.valid_until)
    if today < opens:
        return (f"Die Re-Zertifizierung des Gütesiegels {certificate.number} (gültig bis "
                f"{format_date_de(certificate.valid_until)}) beginnt frühestens am {format_date_de(opens)}; "
                "vorher nur erzwungen, mit Begründung")
    return None


def period_change_refusal(procedure: Procedure, start: date, end: date,
                          certificate: Certificate | None = None) -> str | None:
    """A re-certification's Prüfzeitraum may not end after the seal's validity end [P2]; an
    Erst-Zertifizierung may run at most one more Kindergartenjahr [K2] (PROVISIONAL)."""
    if end < start:
        return f"Der Prüfzeitraum endet ({format_date_de(end)}) vor seinem Beginn ({format_date_de(start)})"
    if procedure.kind is ProcedureKind.RE:
        if certificate is None:
            raise ValueError("a re-certification's period change needs the certificate")
        if end > certificate.valid_until:
            return (f"Eine Re-Zertifizierung kann nicht verschoben werden: der Prüfzeitraum darf nicht über das "
                    f"Ende des Gütesiegels {certificate.number} am {format_date_de(certificate.valid_until)} "
                    f"hinausgehen (beantragt: bis {format_date_de(end)})")
        return None
    limit = procedure.kgj.next().end
    if end > limit:
        return (f"Eine Erst-Zertifizierung kann höchstens um ein Kindergartenjahr verlängert werden, "
                f"also bis {format_date_de(limit)} (beantragt: bis {format_date_de(end)})")
    return None
