"""The certification lifecycle as a pure domain: entities, state machines, guards, rules.

No database, web, mail or PDF: only the standard library, ``transitions`` and
certflow's pure modules. One shared machine per kind of subject
(:data:`PROCEDURE_MACHINE`, :data:`CERTIFICATE_MACHINE`); every refusal is a
:class:`Refused` with a German message. See docs/lifecycle.md.

``mermaid`` (from :mod:`.diagram`) is loaded on first use, so that
``python -m certflow.lifecycle.diagram`` runs without a double import.
"""

from .certificate_machine import (
    CERTIFICATE_EVENT_LABELS, CERTIFICATE_EVENT_ROLES, CERTIFICATE_MACHINE, fire_certificate, issue_certificate,
)
from .contingents import Contingent, carry_over, free_place_refusal, grant, nominate, release, return_place
from .entities import (
    CERTIFICATE_FINAL_STATES, CERTIFICATE_STATE_LABELS, DEFAULT_CATALOGUE_KEY, PROCEDURE_FINAL_STATES,
    PROCEDURE_STATE_LABELS, ROLE_LABELS, Actor, AuditVisit, Certificate, CertificateState, Decision,
    Familienzentrum, Jugendamt, Kita, Outcome, Procedure, ProcedureState, Role, SubmissionSnapshot, Traeger, User,
)
from .guards import SubmissionCheck, check_submission
from .machinery import Clock, Refused, StateChange, local_date, utc_now
from .opening import Opening, open_first_certification, open_recertification, open_restructuring
from .procedure_machine import CONTEXT, EVENT_LABELS, EVENT_ROLES, PROCEDURE_MACHINE, decision_from, fire
from .snapshot import canonical_json, freeze, next_revision, sha256_hex, verify
from .verbund import (
    MAX_MEMBERS, RADIUS_KM, JoinOutcome, LeaveOutcome, RestructuringPlan, audit_sites_refusal,
    composition_problems, composition_refusal, distance_km, haversine_km, join, leave, restructure_to_verbund,
)

__all__ = [
    "CERTIFICATE_EVENT_LABELS", "CERTIFICATE_EVENT_ROLES", "CERTIFICATE_FINAL_STATES", "CERTIFICATE_MACHINE",
    "CERTIFICATE_STATE_LABELS", "CONTEXT", "DEFAULT_CATALOGUE_KEY", "EVENT_LABELS", "EVENT_ROLES", "MAX_MEMBERS",
    "PROCEDURE_FINAL_STATES", "PROCEDURE_MACHINE", "PROCEDURE_STATE_LABELS", "RADIUS_KM", "ROLE_LABELS",
    "Actor", "AuditVisit", "Certificate", "CertificateState", "Clock", "Contingent", "Decision",
    "Familienzentrum", "JoinOutcome", "Jugendamt", "Kita", "LeaveOutcome", "Opening", "Outcome", "Procedure",
    "ProcedureState", "Refused", "RestructuringPlan", "Role", "StateChange", "SubmissionCheck",
    "SubmissionSnapshot", "Traeger", "User",
    "audit_sites_refusal", "canonical_json", "carry_over", "check_submission", "composition_problems",
    "composition_refusal", "decision_from", "distance_km", "fire", "fire_certificate", "free_place_refusal",
    "freeze", "grant", "haversine_km", "issue_certificate", "join", "leave", "local_date", "mermaid",
    "next_revision", "nominate", "open_first_certification", "open_recertification", "open_restructuring",
    "release", "restructure_to_verbund", "return_place", "sha256_hex", "utc_now", "verify",
]


def __getattr__(name: str):
    if name == "mermaid":
        from .diagram import mermaid

        return mermaid
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
