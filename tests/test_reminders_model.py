"""The Reminder value, the rules and the purity of certflow.reminders."""

from __future__ import annotations

import ast
import json
import sys
from datetime import date
from pathlib import Path

import pytest
from test_reminders_support import cert, info, proc, snapshot

from certflow.lifecycle.entities import ProcedureState, Role
from certflow.reminders import (
    REMINDER_RULES,
    Recipient,
    Reminder,
    ReminderRules,
    base_kind,
    family_of,
    plan_reminders,
    validity_kind,
)
from certflow.reminders._dates import add_months

PACKAGE = Path(__file__).parent.parent / "certflow" / "reminders"


def make(**fields) -> Reminder:
    base = dict(subject="procedure:P-1", kind="submission_due", due=date(2027, 2, 7), event_date=date(2027, 2, 14),
                title="Selbstbewertung einreichen bis 14.02.2027 – Familienzentrum Sonnenblume",
                recipients=(Recipient(Role.KITA_LEAD, "familienzentrum:FZ-1", "u-lead"),),
                facts={"deadline": "14.02.2027", "days_left": 7})
    base.update(fields)
    return Reminder(**base)


def test_key_is_subject_kind_due():
    assert make().key == "procedure:P-1|submission_due|2027-02-07"
    with pytest.raises(ValueError):
        make(subject="a|b")
    with pytest.raises(ValueError, match="unknown reminder kind"):
        make(kind="gibt_es_nicht")


def test_reminders_are_values():
    a, b = make(), make(facts={"days_left": 7, "deadline": "14.02.2027"})
    assert a == b and hash(a) == hash(b)
    with pytest.raises(TypeError):
        a.facts["deadline"] = "x"  # read-only
    twice = make(recipients=(Recipient(Role.KITA_LEAD, "familienzentrum:FZ-1", "u-lead"),) * 2)
    assert len(twice.recipients) == 1


def test_round_trip_through_json():
    rs = plan_reminders(snapshot(certificates=(cert(date(2023, 6, 1)),),
                                 procedures=(info(proc(ProcedureState.IN_DEVELOPMENT), date(2026, 1, 1)),)))
    for r in rs:
        again = Reminder.from_dict(json.loads(json.dumps(r.to_dict())))
        assert again == r and again.facts == r.facts and again.key == r.key


def test_kinds_and_families():
    assert validity_kind(6) == "validity_6m" and family_of("validity_6m") == "certificate"
    assert family_of("lapsed") == "certificate" and family_of("audit_upcoming") == "procedure"
    assert family_of("places_unused") == "calendar" and family_of("evidence_expiring") == "evidence"
    assert family_of("validity_1m.escalated") == "escalation" and base_kind("validity_1m.escalated") == "validity_1m"


def test_rules_validate_and_read_configuration():
    assert REMINDER_RULES.ladder_months == (12, 6, 3, 1)
    rules = ReminderRules.from_mapping({"ladder_months": [1, 6], "escalate_after_days": 7, "audit_lead_days": 3})
    assert rules.ladder_months == (6, 1) and rules.audit_lead_days == (3,) and rules.escalate_after_days == 7
    with pytest.raises(ValueError, match="Unbekannte Erinnerungsregel"):
        ReminderRules.from_mapping({"ladder": [1]})
    with pytest.raises(ValueError, match="doppelt"):
        ReminderRules(ladder_months=(6, 6))
    with pytest.raises(ValueError, match="mindestens 1 Tag"):
        ReminderRules(escalate_after_days=0)
    with pytest.raises(ValueError, match="keine ganze Zahl"):
        ReminderRules(submission_lead_days=(-1,))


def test_month_arithmetic_clamps_to_the_month_end():
    assert add_months(date(2027, 7, 31), -3) == date(2027, 4, 30)
    assert add_months(date(2028, 2, 29), -12) == date(2027, 2, 28)
    assert add_months(date(2027, 1, 31), 1) == date(2027, 2, 28)
    assert add_months(date(2027, 12, 15), 1) == date(2028, 1, 15)


def test_the_planner_is_pure():
    """certflow.reminders imports the standard library and certflow's pure modules only."""
    allowed_certflow = ("certflow.calendar", "certflow.catalogue", "certflow.lifecycle", "certflow.reminders")
    for path in PACKAGE.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    assert node.level == 1 or node.module in ("calendar", "catalogue.model", "lifecycle.contingents",
                                                                "lifecycle.deadlines", "lifecycle.entities"), \
                        (path.name, node.module)
                    if node.level == 2:
                        names = ["certflow." + node.module]
                    else:
                        continue
                else:
                    names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top == "certflow":
                    assert name.startswith(allowed_certflow), (path.name, name)
                else:
                    assert top in sys.stdlib_module_names or top == "__future__", (path.name, name)
