from datetime import date

from certflow.calendar import KindergartenYear
from certflow.catalogue.model import ProcedureKind
from certflow.lifecycle.deadlines import Deadline, deadlines, next_deadline
from certflow.lifecycle.entities import Certificate, CertificateState, Procedure, ProcedureState


def proc(state, kind=ProcedureKind.ERST, kgj=2025, period=(date(2025, 8, 1), date(2026, 7, 31))):
    return Procedure("P-1", "FZ-1", kind, "x@1", KindergartenYear(kgj), *period, state=state)


def only(state, since=None, planned=None, **kw):
    (d,) = deadlines([(proc(state, **kw), since, planned)], [])
    return d.kind, d.due


def test_procedure_deadlines_by_state():
    assert only(ProcedureState.NOMINATED) == ("registration", date(2025, 9, 30))
    assert only(ProcedureState.IN_DEVELOPMENT) == ("submission", date(2026, 3, 31))
    re = dict(kind=ProcedureKind.RE, period=(date(2026, 1, 1), date(2027, 1, 31)), kgj=2026)
    assert only(ProcedureState.REGISTERED, **re) == ("submission", date(2027, 2, 14))
    assert only(ProcedureState.CHANGES_REQUESTED, since=date(2026, 4, 1)) == ("changes", date(2026, 4, 29))
    assert only(ProcedureState.AUDIT_SCHEDULED, planned=date(2026, 5, 12)) == ("audit", date(2026, 5, 12))
    assert only(ProcedureState.AUDITED, since=date(2026, 2, 14)) == ("decision", date(2026, 5, 9))


def test_final_procedures_have_no_deadline():
    for s in (ProcedureState.CERTIFIED, ProcedureState.NOT_CERTIFIED, ProcedureState.WITHDRAWN):
        assert deadlines([(proc(s), None, None)], []) == []


def test_certificate_deadlines_and_next():
    cert = Certificate("FZ-2023-007", "FZ-1", date(2023, 6, 1), date(2027, 7, 31))
    ds = deadlines([], [cert])
    assert [(d.kind, d.due) for d in ds] == [("recertification_opens", date(2025, 10, 1)),
                                           ("validity_end", date(2027, 7, 31))]
    assert next_deadline(ds, date(2025, 10, 1)).kind == "recertification_opens"
    assert next_deadline(ds, date(2025, 10, 2)).kind == "validity_end"
    assert next_deadline(ds, date(2027, 8, 1)).kind == "validity_end"  # overdue: still shown
    assert str(ds[1]) == "Gültigkeit des Gütesiegels bis 31.07.2027"
    cert.state = CertificateState.EXPIRED
    assert deadlines([], [cert]) == [] and next_deadline([], date(2027, 8, 1)) is None


def test_deadlines_are_sorted_across_subjects():
    cert = Certificate("N", "FZ-1", date(2022, 9, 1), date(2026, 7, 31), state=CertificateState.RECERTIFICATION_DUE)
    ds = deadlines([(proc(ProcedureState.IN_DEVELOPMENT), None, None)], [cert])
    assert ds == sorted(ds) and isinstance(ds[0], Deadline)
    assert [d.kind for d in ds] == ["submission", "validity_end"]
