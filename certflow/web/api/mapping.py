"""From the services' data to the API's JSON shapes (:mod:`.schemas`)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from ... import messages
from ...lifecycle import CERTIFICATE_STATE_LABELS, PROCEDURE_STATE_LABELS
from ...services.api_views import FamilienzentrumView, Page
from . import schemas

__all__ = ["certificate", "contingent", "familienzentrum", "kita", "page", "procedure", "result", "summary"]

T = TypeVar("T")
S = TypeVar("S")


def page(found: Page[T], convert: Callable[[T], S]) -> dict[str, Any]:
    return {"items": [convert(item) for item in found.items], "total": found.total, "page": found.page,
            "per_page": found.per_page}


def summary(row) -> schemas.FamilienzentrumSummary:
    return schemas.FamilienzentrumSummary(
        id=row.familienzentrum_id, name=row.name, jugendamt=row.jugendamt, form=str(row.form), members=row.members,
        procedure_id=row.procedure_id, procedure_state=str(row.state) if row.state else None,
        procedure_state_label=row.state_label, next_deadline=str(row.next_deadline) if row.next_deadline else None,
        certificate_number=row.certificate_number,
        certificate_state=str(row.certificate_state) if row.certificate_state else None,
        seal_valid_until=row.seal_valid_until)


def familienzentrum(view: FamilienzentrumView) -> schemas.FamilienzentrumPublic:
    fz = view.familienzentrum
    return schemas.FamilienzentrumPublic(
        id=fz.id, name=fz.name, form=str(fz.form), jugendamt_id=fz.jugendamt_id, jugendamt=view.jugendamt,
        member_kita_ids=list(fz.member_kita_ids), zuschussempfaenger_id=fz.zuschussempfaenger_id,
        certificate_number=fz.certificate_number, procedure_ids=list(view.procedure_ids),
        certificate_numbers=list(view.certificate_numbers))


def kita(k) -> schemas.KitaPublic:
    return schemas.KitaPublic(id=k.id, name=k.name, traeger_id=k.traeger_id, jugendamt_id=k.jugendamt_id,
                              street=k.street, postcode=k.postcode, city=k.city, lat=k.lat, lon=k.lon)


def procedure(p, familienzentrum_name: str | None = None) -> schemas.ProcedurePublic:
    return schemas.ProcedurePublic(
        id=p.id, familienzentrum_id=p.familienzentrum_id, familienzentrum=familienzentrum_name, kind=str(p.kind),
        catalogue_key=p.catalogue_key, kgj=str(p.kgj),
        period_start=p.period_start, period_end=p.period_end, state=str(p.state),
        state_label=PROCEDURE_STATE_LABELS.get(p.state, str(p.state)), auditor_id=p.auditor_id,
        planned_audit_date=p.planned_audit_date, submitted_revision=p.submitted_revision, version=p.version)


def certificate(c) -> schemas.CertificatePublic:
    return schemas.CertificatePublic(number=c.number, familienzentrum_id=c.familienzentrum_id, issued=c.issued,
                                     valid_until=c.valid_until, state=str(c.state),
                                     state_label=CERTIFICATE_STATE_LABELS.get(c.state, str(c.state)))


def contingent(c) -> schemas.ContingentPublic:
    return schemas.ContingentPublic(jugendamt_id=c.jugendamt_id, kgj=str(c.kgj), granted=c.granted,
                                    carried_in=c.carried_in, nominated=c.nominated, returned=c.returned,
                                    carried_out=c.carried_out, free=c.free)


def result(r) -> schemas.ResultPublic:
    return schemas.ResultPublic(event=r.event, message=messages.describe(r), warnings=list(r.warnings),
                                procedure=procedure(r.procedure) if r.procedure is not None else None,
                                certificate_number=r.certificate.number if r.certificate is not None else None)


def strings(values: Iterable[Any]) -> list[str]:
    return [str(v) for v in values]
