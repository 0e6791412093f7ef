"""German sentences for what a use case did: the entrypoints' shared wording of a service Result.

The services return data (:class:`certflow.services.common.Result`: an event name, the facts it
needs, the state changes and the subjects touched); the command line prints
:func:`describe`'s sentence, the web shows it as a flash message. Refusals are worded by the
domain itself (:class:`certflow.lifecycle.Refused`), and so are the Verbund rules' outcomes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from .calendar import format_date_de
from .lifecycle.certificate_machine import CERTIFICATE_MACHINE
from .lifecycle.machinery import StateChange
from .lifecycle.procedure_machine import PROCEDURE_MACHINE

if TYPE_CHECKING:
    from .lifecycle.contingents import Contingent
    from .lifecycle.entities import Certificate, Procedure
    from .services.common import Result

__all__ = ["change_text", "describe"]

_T = TypeVar("_T")


def change_text(change: StateChange) -> str:
    """``"Verfahren V-2025-001: nominiert → registriert"`` for a state change."""
    if change.subject_kind == "certificate":
        label, what = CERTIFICATE_MACHINE.state_label, "Gütesiegel"
    else:
        label, what = PROCEDURE_MACHINE.state_label, "Verfahren"
    to = label(change.to_state)
    if change.from_state is None:
        return f"{what} {change.subject_id}: angelegt ({to})"
    if change.from_state == change.to_state:
        return f"{what} {change.subject_id}: {to} (geändert)"
    return f"{what} {change.subject_id}: {label(change.from_state)} → {to}"


def _first_change(r: Result) -> str:
    return change_text(r.changes[0])


def _carried(r: Result, value: _T | None, what: str) -> _T:
    """``value``, a subject the event's wording needs; a result without it is a programming error."""
    if value is None:
        raise ValueError(f"result '{r.event}' carries no {what}")
    return value


def _procedure(r: Result) -> Procedure:
    return _carried(r, r.procedure, "procedure")


def _certificate(r: Result) -> Certificate:
    return _carried(r, r.certificate, "certificate")


def _contingent(r: Result) -> Contingent:
    return _carried(r, r.contingent, "contingent")


def _created(r: Result, f: Mapping[str, Any]) -> str:
    return f"{f['label']} {f['name']} ({f['id']}) angelegt"


def _user_added(r: Result, f: Mapping[str, Any]) -> str:
    return f"Benutzer {f['name']} ({f['id']}, {f['role']}) angelegt"


def _kitas_imported(r: Result, f: Mapping[str, Any]) -> str:
    return f"{r.count} Kita(s) aus {f['source']} eingelesen"


def _familienzentrum_created(r: Result, f: Mapping[str, Any]) -> str:
    what = "Einzeleinrichtung" if f["form"] == "einzel" else f"Verbund mit {f['members']} Einrichtungen"
    return f"Familienzentrum {f['name']} ({f['id']}) angelegt: {what}"


def _verbund_joined(r: Result, f: Mapping[str, Any]) -> str:
    return f["outcome"]


def _verbund_left(r: Result, f: Mapping[str, Any]) -> str:
    if f.get("revoked"):
        return f"{f['outcome']}; Gütesiegel {f['revoked']} widerrufen"
    if f.get("valid_until") is None:
        return f"{f['kita']} ist ausgetreten; der Verbund hat derzeit kein gültiges Gütesiegel"
    if f.get("seal_kept"):
        return f"{f['outcome']} (gültig bis {format_date_de(f['valid_until'])})"
    return f["outcome"]


def _granted(r: Result, f: Mapping[str, Any]) -> str:
    c = _contingent(r)
    return f"{f['jugendamt']}, {c.kgj}: {r.count} Platz/Plätze zugeteilt ({c.describe()}, frei: {c.free})"


def _returned(r: Result, f: Mapping[str, Any]) -> str:
    c = _contingent(r)
    return f"{f['jugendamt']}, {c.kgj}: {r.count} Platz/Plätze zurückgegeben ({c.describe()})"


def _carried_over(r: Result, f: Mapping[str, Any]) -> str:
    c = _contingent(r)
    return (f"{f['jugendamt']}: {r.count} zurückgegebene(r) Platz/Plätze aus {f['from_kgj']} in {c.kgj} "
            f"erneut angeboten (frei in {c.kgj}: {c.free})")


def _nominated(r: Result, f: Mapping[str, Any]) -> str:
    p = _procedure(r)
    return (f"{f['familienzentrum']} für {p.kgj} nominiert: Verfahren {p.id} "
            f"(Kontingent {f['jugendamt']}: {_contingent(r).describe()})")


def _submitted(r: Result, f: Mapping[str, Any]) -> str:
    verdict = "erfüllt" if f["passed"] else "nicht erfüllt"
    files = f"; {r.count} Beleg(e) gespeichert" if r.count else ""
    return (f"{_first_change(r)}; Revision {f['revision']} eingefroren (SHA-256 {f['sha256'][:12]}…, "
            f"Bewertung: {verdict}){files}")


def _audit_scheduled(r: Result, f: Mapping[str, Any]) -> str:
    return f"{_first_change(r)}; Begehung am {format_date_de(f['date'])} durch {f['auditor']}"


def _audit_recorded(r: Result, f: Mapping[str, Any]) -> str:
    return (f"{_first_change(r)}; Begehung am {format_date_de(f['date'])} an {', '.join(f['sites'])}, "
            f"{r.count} Bewertung(en) erfasst")


def _verdicts_recorded(r: Result, f: Mapping[str, Any]) -> str:
    return f"Verfahren {_procedure(r).id}: {r.count} Bewertung(en) erfasst"


def _signed_off(r: Result, f: Mapping[str, Any]) -> str:
    return (f"Begehung im Verfahren {_procedure(r).id} abgezeichnet ({r.count} Bewertung(en)); "
            f"Begehung, Bewertungen und Auditpaket sind jetzt eingefroren; SHA-256 des Auditpakets: {f['sha256']}")


def _decided(r: Result, f: Mapping[str, Any]) -> str:
    if r.certificate is None:
        return _first_change(r)
    cert = r.certificate
    text = (f"{_first_change(r)}; Gütesiegel {cert.number} ausgestellt am {format_date_de(cert.issued)}, "
            f"gültig bis {format_date_de(cert.valid_until)}")
    if f.get("renewed"):
        text += f"; die vorige Urkunde ({f['renewed']}) ist erneuert"
    return text


def _withdrawn(r: Result, f: Mapping[str, Any]) -> str:
    text = _first_change(r)
    if r.contingent is not None:
        text += f"; der Platz im Kontingent {_procedure(r).kgj} ist wieder frei ({r.contingent.describe()})"
    return text


def _recertification_opened(r: Result, f: Mapping[str, Any]) -> str:
    p, cert = _procedure(r), _certificate(r)
    return (f"Re-Zertifizierung {p.id} für {f['familienzentrum']} eröffnet (Kindergartenjahr {p.kgj}, Prüfzeitraum "
            f"{format_date_de(p.period_start)}–{format_date_de(p.period_end)}, Gütesiegel {cert.number} "
            f"gültig bis {format_date_de(cert.valid_until)})")


def _certificates_advanced(r: Result, f: Mapping[str, Any]) -> str:
    day = format_date_de(f["day"])
    if not f["seals"]:
        return f"Stand {day}: keine Gütesiegel fortzuschreiben"
    lines = []
    for what, number, fz_id, valid_until in f["seals"]:
        if what == "expired":
            lines.append(f"{number} ({fz_id}) abgelaufen am {format_date_de(valid_until)}")
        else:
            lines.append(f"{number} ({fz_id}): Re-Zertifizierung fällig (gültig bis {format_date_de(valid_until)})")
    return f"Stand {day}: " + "; ".join(lines)


_WORDING: dict[str, Callable[[Result, Mapping[str, Any]], str]] = {
    "record.created": _created,
    "user.created": _user_added,
    "kitas.imported": _kitas_imported,
    "familienzentrum.created": _familienzentrum_created,
    "verbund.joined": _verbund_joined,
    "verbund.left": _verbund_left,
    "verbund.restructured": lambda r, f: f["outcome"],
    "contingent.granted": _granted,
    "contingent.returned": _returned,
    "contingent.carried_over": _carried_over,
    "procedure.nominated": _nominated,
    "procedure.changed": lambda r, f: _first_change(r),
    "procedure.submitted": _submitted,
    "procedure.audit_scheduled": _audit_scheduled,
    "procedure.audit_recorded": _audit_recorded,
    "procedure.verdicts_recorded": _verdicts_recorded,
    "procedure.signed_off": _signed_off,
    "procedure.decided": _decided,
    "procedure.withdrawn": _withdrawn,
    "certificate.recertification_opened": _recertification_opened,
    "certificates.advanced": _certificates_advanced,
    "comment.added": lambda r, f: (f"Kommentar zu Kriterium {f['criterion']} im Verfahren {_procedure(r).id} "
                                   "gespeichert"),
    "feedback.saved": lambda r, f: (f"Rückmeldung zum Qualitätsprofil im Verfahren {_procedure(r).id} gespeichert "
                                    f"(Fassung {f['version']})"),
    "calendar_subscription.created": lambda r, f: (f"Kalender-Abo „{f['label']}“ angelegt. Den Link sehen Sie nur "
                                                   "jetzt: bitte gleich in Ihr Kalenderprogramm übernehmen"),
    "calendar_subscription.revoked": lambda r, f: f"Kalender-Abo „{f['label']}“ beendet: der Link gilt nicht mehr",
    "user.created_invited": lambda r, f: (f"Benutzer {f['name']} ({f['id']}, {f['role']}) angelegt; Link zur "
                                          f"Erstanmeldung an {f['email']} versandt (gültig bis "
                                          f"{format_date_de(f['until'])})"),
    "user.changed": lambda r, f: (f"Benutzer {f['name']} ({f['id']}) geändert: {f['before']} → {f['after']}. "
                                  "Die Anmeldungen der Person sind beendet"
                                  + (f", {f['tokens']} Zugangsschlüssel widerrufen" if f["tokens"] else "")),
    "user.invited": lambda r, f: (f"Link {'zur Erstanmeldung' if f['purpose'] == 'first_login' else 'zum Zurücksetzen'}"
                                  f" an {f['name']} ({f['email']}) versandt (gültig bis {format_date_de(f['until'])})"),
    # the Kita lead's self-assessment in the web (certflow.services.self_assessment)
    "self_assessment.saved": lambda r, f: (f"Entwurf der Selbstbewertung gespeichert (Verfahren {f['procedure']}, "
                                           f"Revision {f['revision']}, Bereich {f['area']})"),
    "self_assessment.evidence_added": lambda r, f: (
        f"Beleg „{f['title']}“ zu Kriterium {f['criterion']} im Entwurf gespeichert"
        + (f"; die Datei {f['file']} ist vorgemerkt und kommt mit dem Einreichen in den Belegspeicher"
           if f.get("file") else " (ohne Datei: bei der Begehung vorzulegen)")),
}


def describe(result: Result) -> str:
    """The German sentence for ``result`` (the event's wording; a plain list of state changes otherwise)."""
    wording = _WORDING.get(result.event)
    if wording is not None:
        return wording(result, result.facts)
    if result.changes:
        return "; ".join(change_text(c) for c in result.changes)
    return result.event
