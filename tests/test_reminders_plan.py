"""The pure planner: certificates across the calendar, escalation, procedures, the yearly calendar, evidence."""

from __future__ import annotations

import random
from datetime import date

import pytest
from test_reminders_support import (
    AUDITOR,
    CERTIFIER,
    COORD,
    COORD2,
    FZ,
    LEAD,
    LEAD2,
    cert,
    contingent,
    evidence,
    info,
    kinds,
    of_kind,
    proc,
    snapshot,
)

from certflow.assessment.model import Evidence, Period
from certflow.calendar import KindergartenYear
from certflow.catalogue.model import EvidenceRule, ProcedureKind
from certflow.lifecycle.entities import CertificateState, ProcedureState, Role
from certflow.reminders import (
    PlanningInput,
    Recipient,
    ReminderRules,
    due_on,
    plan_reminders,
    reconcile,
    stale,
)
from certflow.scoring.rules import check_evidence

S = ProcedureState
KGJ25 = KindergartenYear(2025)


def plan(**fields):
    return plan_reminders(snapshot(**fields))


def base(reminders):
    return [r for r in reminders if r.level == 0]


# -- certificates across the calendar ---------------------------------------------------------------------


def test_seal_ending_31_july_has_the_exact_ladder_and_lapses_the_day_after():
    c = cert(date(2023, 6, 1))
    assert c.valid_until == date(2027, 7, 31)
    rs = base(plan(certificates=(c,)))
    assert kinds(rs) == [
        ("recert_opens", date(2025, 10, 1)),
        ("validity_12m", date(2026, 7, 31)),
        ("validity_6m", date(2027, 1, 31)),
        ("validity_3m", date(2027, 4, 30)),
        ("validity_1m", date(2027, 6, 30)),
        ("lapsed", date(2027, 8, 1)),
    ]
    assert all(r.subject == "certificate:FZ-2023-007/2023-06-01" for r in rs)
    assert all(r.user_ids == (LEAD.id,) for r in rs[:-1])
    assert rs[-1].user_ids == (COORD.id, LEAD.id)  # the lapse also goes to the Jugendamt
    assert rs[2].title == "Gütesiegel läuft in 6 Monaten ab (31.07.2027) – Familienzentrum Sonnenblume"
    assert rs[4].title == "Gütesiegel läuft in 1 Monat ab (31.07.2027) – Familienzentrum Sonnenblume"
    assert rs[-1].title == "Gütesiegel abgelaufen am 31.07.2027 – Familienzentrum Sonnenblume"
    assert rs[0].facts["period_start"] == "01.01.2026" and rs[0].facts["period_end"] == "31.01.2027"
    assert rs[1].facts["months_left"] == 12 and rs[1].event_date == date(2027, 7, 31)
    assert rs[-1].facts["funding_eur"] == "20.000 €"


def test_each_step_is_stale_once_the_next_is_due():
    rs = base(plan(certificates=(cert(date(2023, 6, 1)),)))
    until = {r.kind: r.send_until for r in rs}
    assert until["recert_opens"] == date(2026, 7, 30)
    assert until["validity_12m"] == date(2027, 1, 30)
    assert until["validity_1m"] == date(2027, 7, 31)
    assert until["lapsed"] == date(2027, 9, 30)  # 60 days of notice, then old news


def test_issued_1_august_runs_exactly_four_years_issued_2_august_is_extended_to_the_next_kgj():
    first = cert(date(2022, 8, 1))
    assert first.valid_until == date(2026, 7, 31)
    assert kinds(base(plan(certificates=(first,))))[1:] == [
        ("validity_12m", date(2025, 7, 31)), ("validity_6m", date(2026, 1, 31)),
        ("validity_3m", date(2026, 4, 30)), ("validity_1m", date(2026, 6, 30)), ("lapsed", date(2026, 8, 1)),
    ]
    extended = cert(date(2022, 8, 2))
    assert extended.valid_until == date(2027, 7, 31)  # four years end 01.08.2026 -> end of KGJ 2026/27
    rs = base(plan(certificates=(extended,)))
    assert kinds(rs)[0] == ("recert_opens", date(2025, 10, 1))
    assert of_kind(rs, "lapsed")[0].due == date(2027, 8, 1)
    assert of_kind(rs, "validity_12m")[0].due == date(2026, 7, 31)


def test_leap_years():
    leap_issue = cert(date(2020, 2, 29))
    assert leap_issue.valid_until == date(2024, 7, 31)
    assert kinds(base(plan(certificates=(leap_issue,)))) == [
        ("recert_opens", date(2022, 10, 1)), ("validity_12m", date(2023, 7, 31)),
        ("validity_6m", date(2024, 1, 31)), ("validity_3m", date(2024, 4, 30)),
        ("validity_1m", date(2024, 6, 30)), ("lapsed", date(2024, 8, 1)),
    ]
    # a historic validity end on a leap day: month arithmetic clamps like relativedelta
    leap_end = cert(date(2024, 3, 1), valid_until=date(2028, 2, 29))
    assert kinds(base(plan(certificates=(leap_end,)))) == [
        ("recert_opens", date(2026, 10, 1)), ("validity_12m", date(2027, 2, 28)),
        ("validity_6m", date(2027, 8, 29)), ("validity_3m", date(2027, 11, 29)),
        ("validity_1m", date(2028, 1, 29)), ("lapsed", date(2028, 3, 1)),
    ]
    before_leap_day = cert(date(2020, 3, 1), valid_until=date(2024, 2, 28))
    assert of_kind(plan(certificates=(before_leap_day,)), "lapsed")[0].due == date(2024, 2, 29)


def test_nothing_for_a_renewed_or_revoked_term_nor_for_one_followed_by_a_later_term():
    for state in (CertificateState.RENEWED, CertificateState.REVOKED):
        assert plan(certificates=(cert(date(2019, 6, 1), state=state),)) == []
    old = cert(date(2019, 6, 1))  # still 'valid' in the data, but a later term exists
    new = cert(date(2023, 6, 1))
    rs = plan(certificates=(old, new))
    assert {r.subject for r in rs} == {f"certificate:{new.key}"}


def test_an_expired_seal_only_reports_the_lapse():
    rs = plan(certificates=(cert(date(2023, 6, 1), state=CertificateState.EXPIRED),))
    assert kinds(rs) == [("lapsed", date(2027, 8, 1))]


def test_the_opening_survives_the_automatic_state_change_to_recertification_due():
    valid = plan(certificates=(cert(date(2023, 6, 1)),))
    due = plan(certificates=(cert(date(2023, 6, 1), state=CertificateState.RECERTIFICATION_DUE),))
    assert [r.key for r in valid] == [r.key for r in due]


def test_configurable_ladder():
    rules = ReminderRules(ladder_months=(24, 2))
    rs = plan_reminders(snapshot(certificates=(cert(date(2023, 6, 1)),)), rules)
    assert [k for k in kinds(base(rs))] == [
        ("validity_24m", date(2025, 7, 31)), ("recert_opens", date(2025, 10, 1)),
        ("validity_2m", date(2027, 5, 31)), ("lapsed", date(2027, 8, 1)),
    ]


# -- escalation ---------------------------------------------------------------------------------------------


def escalations(rs):
    return [(r.kind, r.due, r.user_ids) for r in rs if r.level == 1]


def test_nothing_moved_escalates_every_certificate_step_to_the_coordinator():
    rs = plan(certificates=(cert(date(2023, 6, 1)),))
    assert escalations(rs) == [
        ("recert_opens.escalated", date(2025, 10, 15), (COORD.id,)),
        ("validity_12m.escalated", date(2026, 8, 14), (COORD.id,)),
        ("validity_6m.escalated", date(2027, 2, 14), (COORD.id,)),
        ("validity_3m.escalated", date(2027, 5, 14), (COORD.id,)),
        ("validity_1m.escalated", date(2027, 7, 14), (COORD.id,)),
    ]
    esc = of_kind(rs, "validity_6m.escalated")[0]
    step = of_kind(rs, "validity_6m")[0]
    assert esc.escalates == step.key and esc.urgent and esc.title.startswith("Eskalation: Gütesiegel läuft")
    assert esc.facts["step_date"] == "31.01.2027" and esc.facts["overdue_days"] == 14
    assert esc.facts["procedure_status"] == "Es ist noch keine Re-Zertifizierung eröffnet."
    assert all(r.role is Role.COORDINATOR for r in esc.recipients)


def test_a_progressing_recertification_is_movement():
    c = cert(date(2023, 6, 1))
    p = proc(S.IN_DEVELOPMENT)
    rs = plan(certificates=(c,), procedures=(info(p, date(2025, 11, 3)),))
    assert [e for e in escalations(rs) if e[0].startswith(("recert", "validity"))] == []


def test_a_registered_procedure_moves_the_opening_but_not_the_ladder_unless_something_happens():
    c = cert(date(2023, 6, 1))
    registered = info(proc(S.REGISTERED), date(2025, 10, 5))
    rs = plan(certificates=(c,), procedures=(registered,))
    cert_escalations = [e[0] for e in escalations(rs) if not e[0].startswith("submission")]
    assert cert_escalations == ["validity_12m.escalated", "validity_6m.escalated", "validity_3m.escalated",
                                "validity_1m.escalated"]
    active = info(proc(S.REGISTERED), date(2025, 10, 5), activity=date(2026, 8, 1))
    rs = plan(certificates=(c,), procedures=(active,))
    assert [e[0] for e in escalations(rs) if not e[0].startswith("submission")] == [
        "validity_6m.escalated", "validity_3m.escalated", "validity_1m.escalated"]


def test_a_withdrawn_recertification_counts_as_nothing():
    rs = plan(certificates=(cert(date(2023, 6, 1)),), procedures=(info(proc(S.WITHDRAWN), date(2026, 3, 1)),))
    assert len([e for e in escalations(rs)]) == 5


def test_an_overdue_submission_escalates_unless_something_moved():
    p = proc(S.IN_DEVELOPMENT)  # Re: submission due 14 days after the Prüfzeitraum (31.01.2027)
    rs = plan(procedures=(info(p, date(2026, 1, 1)),))
    assert kinds(rs) == [("submission_due", date(2027, 1, 17)), ("submission_due", date(2027, 2, 7)),
                         ("submission_due.escalated", date(2027, 2, 28))]
    esc = rs[-1]
    assert esc.user_ids == (COORD.id,) and esc.facts["responsible"] == "Kita-Leitung"
    assert esc.facts["step_date"] == "14.02.2027" and esc.facts["overdue_days"] == 14
    moved = plan(procedures=(info(p, date(2026, 1, 1), activity=date(2027, 2, 20)),))
    assert [r.kind for r in moved] == ["submission_due", "submission_due"]


def test_escalation_after_n_days_is_configurable():
    p = proc(S.CHANGES_REQUESTED)
    rs = plan_reminders(snapshot(procedures=(info(p, date(2026, 4, 1)),)), ReminderRules(escalate_after_days=3))
    assert kinds(rs) == [("changes_unanswered", date(2026, 4, 22)), ("changes_unanswered.escalated", date(2026, 5, 2))]


# -- procedures ------------------------------------------------------------------------------------------------


def test_registration_and_first_certification_submission():
    nominated = proc(S.NOMINATED, kind=ProcedureKind.ERST, kgj=2025, period=(date(2025, 8, 1), date(2026, 7, 31)))
    rs = plan(procedures=(info(nominated, date(2025, 6, 10)),))
    assert kinds(base(rs)) == [("registration_due", date(2025, 9, 16))]
    assert rs[0].title == "Registrierung bei der Zertifizierungsstelle bis 30.09.2025 – Familienzentrum Sonnenblume"
    developing = proc(S.IN_DEVELOPMENT, kind=ProcedureKind.ERST, kgj=2025,
                      period=(date(2025, 8, 1), date(2026, 7, 31)))
    rs = plan(procedures=(info(developing, date(2025, 10, 1)),))
    assert kinds(base(rs)) == [("submission_due", date(2026, 3, 3)), ("submission_due", date(2026, 3, 24))]
    assert all(r.user_ids == (LEAD.id,) for r in base(rs))
    assert rs[0].send_until == date(2026, 3, 23) and rs[1].send_until == date(2026, 3, 31)
    assert rs[1].facts["days_left"] == 7 and rs[1].facts["deadline"] == "31.03.2026"


def test_changes_requested_and_not_answered():
    rs = plan(procedures=(info(proc(S.CHANGES_REQUESTED), date(2026, 4, 1)),))
    (r,) = base(rs)
    assert (r.kind, r.due, r.event_date, r.user_ids) == ("changes_unanswered", date(2026, 4, 22),
                                                        date(2026, 4, 29), (LEAD.id,))


def test_audit_upcoming_goes_to_auditor_and_kita_lead():
    p = proc(S.AUDIT_SCHEDULED, auditor=AUDITOR.id)
    (r,) = plan(procedures=(info(p, date(2027, 2, 20), audit=date(2027, 3, 18)),))
    assert (r.kind, r.due, r.send_until) == ("audit_upcoming", date(2027, 3, 11), date(2027, 3, 18))
    assert r.user_ids == (AUDITOR.id, LEAD.id)
    assert {x.role for x in r.recipients} == {Role.AUDITOR, Role.KITA_LEAD}
    assert r.facts["auditor"] == "Bea Prüfer" and r.urgent
    # no agreed date yet: nothing to remind of
    assert plan(procedures=(info(p, date(2027, 2, 20)),)) == []
    # no auditor assigned: the role stays visible as unresolved
    (r,) = plan(procedures=(info(proc(S.AUDIT_SCHEDULED), date(2027, 2, 20), audit=date(2027, 3, 18)),))
    assert r.unresolved == (Recipient(Role.AUDITOR, "procedure:P-1"),)


def test_decision_pending_too_long_goes_to_the_certification_body():
    rs = plan(procedures=(info(proc(S.AUDITED), date(2027, 3, 18)),))
    assert kinds(rs) == [("decision_pending", date(2027, 6, 10)), ("decision_pending.escalated", date(2027, 6, 24))]
    assert rs[0].user_ids == (CERTIFIER.id,) and rs[0].send_until is None
    assert rs[1].user_ids == (COORD.id,) and rs[1].facts["responsible"] == "Zertifizierungsstelle"


def test_finished_procedures_have_no_reminders():
    for state in (S.CERTIFIED, S.NOT_CERTIFIED, S.WITHDRAWN):
        assert plan(procedures=(info(proc(state), date(2026, 1, 1)),)) == []


def test_unknown_familienzentrum_is_a_clear_error():
    with pytest.raises(ValueError, match="FZ-9"):
        plan(certificates=(cert(date(2023, 6, 1), fz="FZ-9"),))


def test_a_missing_kita_lead_is_kept_as_an_unresolved_role():
    rs = plan_reminders(PlanningInput(familienzentren=(FZ,), certificates=(cert(date(2023, 6, 1)),)))
    r = of_kind(rs, "validity_6m")[0]
    assert r.user_ids == () and r.unresolved == (Recipient(Role.KITA_LEAD, "familienzentrum:FZ-1"),)


# -- the coordinators' calendar ---------------------------------------------------------------------------


def test_yearly_calendar_without_a_recorded_decree():
    rs = plan(calendar_years=(KGJ25,), jugendaemter=snapshot().jugendaemter[:1])
    assert kinds(rs) == [("decree_expected", date(2025, 3, 1)), ("nominations_due", date(2025, 5, 18)),
                         ("nominations_due", date(2025, 6, 8))]
    assert all(r.subject == "jugendamt:JA-1:2025/26" and r.user_ids == (COORD.id,) for r in rs)
    assert rs[2].title == "Nominierungen für 2025/26 bis 15.06.2025 an das Land melden"
    assert rs[2].event_date == date(2025, 6, 15)


def test_unused_places_only_while_places_are_free():
    some_free = plan(calendar_years=(KGJ25,), contingents=(contingent(granted=3, nominated=1),))
    assert [(r.kind, r.due) for r in some_free if r.jugendamt_id == "JA-1"] == [
        ("nominations_due", date(2025, 5, 18)), ("places_unused", date(2025, 6, 1)),
        ("nominations_due", date(2025, 6, 8))]
    unused = of_kind(some_free, "places_unused")[0]
    assert unused.facts["places_free"] == 2 and unused.title.startswith("2 freie Plätze für 2025/26")
    full = plan(calendar_years=(KGJ25,), contingents=(contingent(granted=3, nominated=3),))
    assert [r for r in full if r.jugendamt_id == "JA-1"] == []
    returned = plan(calendar_years=(KGJ25,), contingents=(contingent(granted=3, nominated=1, returned=2),))
    assert [r for r in returned if r.jugendamt_id == "JA-1"] == []
    # the other Jugendamt has no contingent recorded: its decree is still expected
    assert {r.kind for r in full if r.jugendamt_id == "JA-2"} == {"decree_expected", "nominations_due"}
    assert all(r.user_ids == (COORD2.id,) for r in full if r.jugendamt_id == "JA-2")


# -- evidence -------------------------------------------------------------------------------------------------


def test_evidence_too_old_at_the_next_pruefzeitraum_is_flagged_ahead_of_time():
    (r,) = plan(evidence=(evidence(date(2019, 11, 3)),))
    assert (r.kind, r.due, r.event_date, r.send_until) == (
        "evidence_expiring", date(2026, 5, 6), date(2027, 1, 31), date(2027, 1, 31))
    assert r.subject == "evidence:P-1:Fortbildung Elternberatung" and r.user_ids == (LEAD.id,)
    assert r.facts["oldest_allowed"] == "31.01.2020"
    assert plan(evidence=(evidence(date(2020, 1, 31)),)) == []  # exactly seven years: still counts
    (r,) = plan(evidence=(evidence(date(2019, 11, 3), sha="ab" * 32),))
    assert r.subject == "evidence:P-1:" + "ab" * 32


@pytest.mark.parametrize("period_end", [date(2027, 1, 31), date(2028, 2, 29), date(2028, 3, 1)])
def test_evidence_flag_agrees_with_the_scoring_rule(period_end):
    rule = EvidenceRule(kind="fortbildung", max_age_years=7)
    start = date(period_end.year - 8, 1, 1)
    for offset in range(0, 800, 1):
        day = date.fromordinal(start.toordinal() + offset)
        ev = Evidence(items=["1.1"], kind="fortbildung", title="F", date=day)
        period = Period(start=date(period_end.year - 1, 1, 1), end=period_end)
        too_old = bool(check_evidence(rule, [ev], period, "Fortbildung"))
        flagged = bool(plan(evidence=(evidence(day, period_end=period_end),)))
        assert flagged == too_old, day


# -- the whole plan ----------------------------------------------------------------------------------------


def rich_snapshot(shuffle: random.Random | None = None):
    fields = dict(
        certificates=[cert(date(2023, 6, 1)), cert(date(2022, 8, 2), number="FZ-2022-011", fz="FZ-2"),
                      cert(date(2019, 6, 1), state=CertificateState.RENEWED)],
        procedures=[info(proc(S.AUDIT_SCHEDULED, auditor=AUDITOR.id), date(2027, 2, 20), audit=date(2027, 3, 18)),
                    info(proc(S.IN_DEVELOPMENT, pid="P-2", fz="FZ-2", kgj=2026), date(2026, 1, 1))],
        contingents=[contingent(granted=3, nominated=1), contingent(granted=2, ja="JA-2")],
        calendar_years=[KGJ25, KGJ25.next()],
        evidence=[evidence(date(2019, 11, 3)), evidence(date(2019, 11, 3)), evidence(date(2018, 5, 5), title="B")],
    )
    if shuffle:
        for value in fields.values():
            shuffle.shuffle(value)
    return snapshot(**{k: tuple(v) for k, v in fields.items()})


def test_deterministic_ordered_and_unique():
    first = plan_reminders(rich_snapshot())
    for seed in range(5):
        again = plan_reminders(rich_snapshot(random.Random(seed)))
        assert [r.to_dict() for r in again] == [r.to_dict() for r in first]
    keys = [r.key for r in first]
    assert len(keys) == len(set(keys))
    assert first == sorted(first, key=lambda r: (r.due, r.subject, r.kind))
    assert len(of_kind(first, "evidence_expiring")) == 2  # the same record listed twice is one reminder
    assert {LEAD2.id, COORD2.id} <= {u for r in first for u in r.user_ids}


def test_due_on_filters_by_day_sent_keys_and_staleness():
    rs = plan(certificates=(cert(date(2023, 6, 1)),))
    today = date(2027, 2, 1)
    due = due_on(rs, today)
    # the older steps were superseded; the 12-month escalation runs until the 6-month one is due
    assert [r.kind for r in due] == ["validity_12m.escalated", "validity_6m"]
    assert [r.kind for r in stale(rs, today)] == ["recert_opens", "recert_opens.escalated", "validity_12m"]
    assert due_on(rs, today, sent={r.key for r in due}) == []
    assert [r.kind for r in due_on(rs, date(2027, 2, 14))] == ["validity_6m", "validity_6m.escalated"]
    assert [r.kind for r in due_on(rs, date(2027, 8, 1))] == ["lapsed"]


def test_reconcile_adds_refreshes_and_drops_only_unsent_rows():
    p = proc(S.IN_DEVELOPMENT)
    before = plan(procedures=(info(p, date(2026, 1, 1)),))
    stored = {before[0].key: True, before[1].key: False, before[2].key: False}
    after = plan(procedures=(info(p, date(2026, 1, 1), activity=date(2027, 2, 20)),))  # moved: no escalation
    result = reconcile(after, stored)
    assert result.add == () and [r.key for r in result.refresh] == [before[1].key]
    assert result.drop == (before[2].key,)
    fresh = reconcile(before, {})
    assert [r.key for r in fresh.add] == [r.key for r in before] and fresh.drop == ()
