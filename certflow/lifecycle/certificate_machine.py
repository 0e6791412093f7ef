"""The certificate's state machine: ONE module-level ``transitions`` machine for every seal term.

States: ``valid`` -> ``recertification_due`` (the re-certification window is
open) -> ``renewed`` (superseded by the next term's certificate); ``valid`` or
``recertification_due`` -> ``renewed`` by ``supersede`` when a restructured
Verbund's new certification issues a seal with a new number [P1]; ``valid`` or
``recertification_due`` -> ``expired`` (validity end passed without renewal) or
``revoked`` (e.g. a Verbund lost more than half of its certified members).

A seal is valid 4 years, extended to the end of the Kindergartenjahr in which
they end (DVO KiBiz § 11) [D11]; the dates come from :mod:`certflow.calendar`.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from transitions.core import EventData

from ..calendar import format_date_de, recertification_opens, validity_end
from . import guards
from .entities import (
    CERTIFICATE_FINAL_STATES,
    CERTIFICATE_STATE_LABELS,
    Certificate,
    CertificateState,
    Role,
    User,
)
from .machinery import (
    Clock,
    ContextSpec,
    LifecycleMachine,
    Refused,
    StateChange,
    arg,
    fire_event,
    local_date,
    refuse_if,
    subject_of,
    utc_now,
)

__all__ = ["CERTIFICATE_EVENT_LABELS", "CERTIFICATE_EVENT_ROLES", "CERTIFICATE_MACHINE", "fire_certificate",
           "issue_certificate"]

C = CertificateState
_LIVE = [C.VALID.value, C.RECERTIFICATION_DUE.value]

CERTIFICATE_EVENT_LABELS = {
    "open_recertification": "Re-Zertifizierung eröffnen",
    "renew": "Verlängern",
    "supersede": "Durch neue Zertifizierung ablösen",
    "expire": "Ablaufen lassen",
    "revoke": "Widerrufen",
}

CERTIFICATE_EVENT_ROLES: dict[str, frozenset[Role]] = {
    "open_recertification": frozenset({Role.CERTIFIER, Role.ADMIN}),
    "renew": frozenset({Role.CERTIFIER}),
    "supersede": frozenset({Role.CERTIFIER}),
    "expire": frozenset({Role.CERTIFIER, Role.ADMIN}),
    "revoke": frozenset({Role.CERTIFIER}),
}


def _cert(event: EventData) -> Certificate:
    return subject_of(event, Certificate)


def _today(event: EventData) -> date:
    return local_date(arg(event, "run").at)


def recertification_window(event: EventData) -> bool:
    cert, today = _cert(event), _today(event)
    opens = recertification_opens(cert.valid_until)
    if today < opens:
        raise Refused(f"Die Re-Zertifizierung des Gütesiegels {cert.number} beginnt frühestens am "
                      f"{format_date_de(opens)}")
    return validity_not_over(event)


def validity_not_over(event: EventData) -> bool:
    cert = _cert(event)
    if _today(event) > cert.valid_until:
        raise Refused(f"Das Gütesiegel {cert.number} ist am {format_date_de(cert.valid_until)} abgelaufen")
    return True


def successor_follows(event: EventData) -> bool:
    cert, successor = _cert(event), arg(event, "successor")
    if successor.familienzentrum_id != cert.familienzentrum_id:
        raise Refused(f"Die neue Urkunde gehört zu {successor.familienzentrum_id}, nicht zu {cert.familienzentrum_id}")
    if successor.valid_until <= cert.valid_until or successor.issued < cert.issued:
        raise Refused(f"Die neue Urkunde (gültig bis {format_date_de(successor.valid_until)}) muss auf das "
                      f"Gütesiegel {cert.number} (gültig bis {format_date_de(cert.valid_until)}) folgen")
    return True


def new_number_follows(event: EventData) -> bool:
    """The seal of a new certification (a restructured Verbund) has a new Zertifizierungsnummer [P1]."""
    cert, successor = _cert(event), arg(event, "successor")
    if successor.number == cert.number:
        raise Refused(f"Die neue Urkunde hat dieselbe Nummer {cert.number}: das ist eine Verlängerung, keine Ablösung")
    return successor_follows(event)


def validity_over(event: EventData) -> bool:
    cert = _cert(event)
    if _today(event) <= cert.valid_until:
        raise Refused(f"Das Gütesiegel {cert.number} ist noch bis {format_date_de(cert.valid_until)} gültig")
    return True


def _authorize(event: EventData) -> None:
    actor, name = arg(event, "actor"), event.event.name
    refuse_if(guards.actor_refusal(actor, CERTIFICATE_EVENT_ROLES[name], CERTIFICATE_EVENT_LABELS[name]))


_TRANSITIONS: list[dict[str, Any]] = [
    {"trigger": "open_recertification", "source": C.VALID.value, "dest": C.RECERTIFICATION_DUE.value,
     "conditions": [recertification_window]},
    {"trigger": "renew", "source": C.RECERTIFICATION_DUE.value, "dest": C.RENEWED.value,
     "conditions": [validity_not_over, successor_follows]},
    {"trigger": "supersede", "source": _LIVE, "dest": C.RENEWED.value,
     "conditions": [validity_not_over, new_number_follows]},
    {"trigger": "expire", "source": _LIVE, "dest": C.EXPIRED.value, "conditions": [validity_over]},
    {"trigger": "revoke", "source": _LIVE, "dest": C.REVOKED.value},
]

CERTIFICATE_MACHINE = LifecycleMachine(
    subject_kind="certificate", state_enum=CertificateState, state_labels=CERTIFICATE_STATE_LABELS,
    final_states=frozenset(s.value for s in CERTIFICATE_FINAL_STATES), initial=C.VALID.value,
    transitions=_TRANSITIONS, event_labels=CERTIFICATE_EVENT_LABELS,
    context={"renew": ContextSpec(frozenset({"successor"})), "supersede": ContextSpec(frozenset({"successor"}))},
    subject_id=lambda c: c.key, authorize=_authorize,
)
"""The one machine every certificate is fired through."""


def fire_certificate(certificate: Certificate, event: str, actor: User, reason: str, *,
                     clock: Clock = utc_now, **context: Any) -> StateChange:
    """Fire ``event`` on ``certificate``; ``renew`` and ``supersede`` need ``successor=`` the certificate
    that follows it (``supersede``: with a new number)."""
    return fire_event(CERTIFICATE_MACHINE, certificate, event, actor, reason, clock, context)


def issue_certificate(number: str, familienzentrum_id: str, issued: date) -> Certificate:
    """A new seal term issued on ``issued``, valid to :func:`certflow.calendar.validity_end`."""
    return Certificate(number, familienzentrum_id, issued, validity_end(issued))
