"""Read scopes, role by role: each sees its own and nothing else."""

from datetime import date

import pytest

from certflow.calendar import KindergartenYear
from certflow.catalogue.model import Form, ProcedureKind
from certflow.lifecycle.access import may_see_familienzentrum, may_see_procedure, visibility_refusal
from certflow.lifecycle.entities import Familienzentrum, Procedure, Role, User

FZ_A = Familienzentrum("fz-a", "FZ A", Form.EINZEL, ("k1",), "k1", "ja-1")
FZ_B = Familienzentrum("fz-b", "FZ B", Form.VERBUND, ("k2", "k3"), "k2", "ja-2")


def proc(pid, fz, auditor=None):
    return Procedure(pid, fz.id, ProcedureKind.ERST, "x@1", KindergartenYear(2025), date(2025, 8, 1),
                     date(2026, 7, 31), auditor_id=auditor)


P_A, P_B = proc("p-a", FZ_A, auditor="aud-1"), proc("p-b", FZ_B, auditor="aud-2")

USERS = {
    "lead-a": User("lead-a", "Leitung A", Role.KITA_LEAD, familienzentrum_id="fz-a"),
    "coord-1": User("coord-1", "Koordination 1", Role.COORDINATOR, jugendamt_id="ja-1"),
    "aud-1": User("aud-1", "Auditorin 1", Role.AUDITOR),
    "cert": User("cert", "Zertifizierungsstelle", Role.CERTIFIER),
    "admin": User("admin", "Admin", Role.ADMIN),
    "coord-x": User("coord-x", "Koordination ohne Amt", Role.COORDINATOR),
}

# Which of FZ A / FZ B each user sees.
EXPECTED = {"lead-a": (True, False), "coord-1": (True, False), "aud-1": (True, False),
            "cert": (True, True), "admin": (True, True), "coord-x": (False, False)}


@pytest.mark.parametrize("uid", list(USERS))
def test_familienzentrum_scope(uid):
    user = USERS[uid]
    seen = (may_see_familienzentrum(user, FZ_A, [P_A]), may_see_familienzentrum(user, FZ_B, [P_B]))
    assert seen == EXPECTED[uid]


@pytest.mark.parametrize("uid", list(USERS))
def test_procedure_scope(uid):
    user = USERS[uid]
    assert (may_see_procedure(user, P_A, FZ_A), may_see_procedure(user, P_B, FZ_B)) == EXPECTED[uid]


def test_auditor_sees_only_assigned_procedures_of_a_familienzentrum():
    other = proc("p-a2", FZ_A, auditor="aud-9")
    assert may_see_procedure(USERS["aud-1"], P_A, FZ_A)
    assert not may_see_procedure(USERS["aud-1"], other, FZ_A)


def test_refusal_message():
    assert visibility_refusal(USERS["lead-a"], FZ_B) == "Kein Zugriff: Leitung A (Kita-Leitung) darf Familienzentrum fz-b nicht sehen"
    assert visibility_refusal(USERS["lead-a"], FZ_A) is None
    assert visibility_refusal(USERS["aud-1"], FZ_B, P_B) == "Kein Zugriff: Auditorin 1 (Auditor) darf Verfahren p-b nicht sehen"


def test_mismatched_procedure_is_a_programming_error():
    with pytest.raises(ValueError):
        may_see_procedure(USERS["cert"], P_A, FZ_B)
